"""`reschedule cases import|show`: the post's case file, imported from the post's own
export (CSV or JSON; the columns are in domain/case_file.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from reschedule_desk.cli.users import REFUSED, sessions_of
from reschedule_desk.domain.case_file import parse_case_file
from reschedule_desk.settings import Settings
from reschedule_desk.storage import case_file


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    cases = verbs.add_parser("cases", help="the post's case file")
    case_verbs = cases.add_subparsers(dest="cases_verb", required=True)

    load = case_verbs.add_parser(
        "import", help="add or update cases from the post's export (.csv or .json); all or nothing"
    )
    load.add_argument("file", type=Path)
    load.add_argument("--post", required=True, help="the post whose export it is, e.g. nairobi")
    load.set_defaults(run=_import)

    show = case_verbs.add_parser("show", help="show a case's file and its Packet 4 roster")
    show.add_argument("case_number")
    show.set_defaults(run=_show)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    settings.posts.post(args.post)  # an unknown post is bad input, named
    # utf-8-sig: spreadsheets often start their CSV exports with a byte order mark.
    cases = parse_case_file(args.file.read_text(encoding="utf-8-sig"), args.file.name)
    try:
        with sessions_of(settings).begin() as session:
            report = case_file.import_cases(session, cases, args.post, datetime.now(UTC))
    except case_file.CaseOfAnotherPost as refusal:
        print(f"reschedule: {refusal}", file=sys.stderr)
        return REFUSED
    print(f"added {len(report.added)}, changed {len(report.changed)}, unchanged {len(report.unchanged)}")
    for number in report.changed:
        print(f"changed {number}")
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    with sessions_of(settings)() as session:
        row = case_file.case_file(session, args.case_number)
        if row is None:
            print(f"reschedule: no case {args.case_number} in the case file", file=sys.stderr)
            return REFUSED
        case = case_file.case_of(row)
    print(f"post\t{row.post}")
    for name, value in case:
        if name != "applicants":
            print(f"{name}\t{_text(value)}")
    print(f"imported_at\t{row.imported_at:%Y-%m-%d %H:%M} UTC")
    print(f"updated_at\t{row.updated_at:%Y-%m-%d %H:%M} UTC")
    for applicant in case.applicants:
        confirmed = applicant.cspa_confirmed_on
        cspa = f"cspa confirmed {confirmed}" if confirmed else "no cspa confirmation"
        print(
            f"applicant\t{applicant.relationship.value}\t{applicant.full_name}\t{applicant.date_of_birth}"
            f"\t{applicant.marital_status.value}\t{cspa}"
        )
    return 0


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(value)
