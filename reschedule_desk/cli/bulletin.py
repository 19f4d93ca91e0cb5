"""`reschedule bulletin import|show`: the Visa Bulletin's final action dates, month by
month (the CSV's columns are in domain/case_file.py)."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from reschedule_desk.cli.users import REFUSED, sessions_of
from reschedule_desk.domain.case_file import CURRENT, parse_bulletin_csv
from reschedule_desk.settings import Settings
from reschedule_desk.storage import case_file


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    bulletin = verbs.add_parser("bulletin", help="the Visa Bulletin's final action dates")
    bulletin_verbs = bulletin.add_subparsers(dest="bulletin_verb", required=True)

    load = bulletin_verbs.add_parser(
        "import", help="keep the months of a CSV file (month, category, chargeability, final_action_date)"
    )
    load.add_argument("file", type=Path)
    load.set_defaults(run=_import)

    show = bulletin_verbs.add_parser("show", help="the bulletin in force on a day (today by default)")
    show.add_argument("--on", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD")
    show.set_defaults(run=_show)


def _import(args: argparse.Namespace, settings: Settings) -> int:
    rows = parse_bulletin_csv(args.file.read_text(encoding="utf-8-sig"), args.file.name)
    with sessions_of(settings).begin() as session:
        report = case_file.import_bulletin(session, rows)
    months = ", ".join(f"{month:%Y-%m}" for month in report.months) or "none"
    print(
        f"added {report.added}, changed {report.changed}, unchanged {report.unchanged}, "
        f"removed {report.removed}; months {months}"
    )
    return 0


def _show(args: argparse.Namespace, settings: Settings) -> int:
    on = args.on or date.today()
    with sessions_of(settings)() as session:
        rows = case_file.bulletin_in_force(session, on)
    if not rows:
        print(f"reschedule: no Visa Bulletin kept is in force on {on}", file=sys.stderr)
        return REFUSED
    print(f"Visa Bulletin {rows[0].month:%Y-%m}, in force on {on}")
    for row in rows:
        print(f"{row.category}\t{row.chargeability}\t{row.final_action_date or CURRENT}")
    return 0
