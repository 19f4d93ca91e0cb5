"""`reschedule audit ...`: archive, replay, explain and verify requests' workflow histories.

Exit status 1 when a history does not replay or the app's rows do not match it, so that
`reschedule audit replay --all` can gate a deployment.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from reschedule_desk.audit import render
from reschedule_desk.audit.auditor import Auditor
from reschedule_desk.audit.export import write_bundle
from reschedule_desk.audit.histories import RequestHistory
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import ArchivedHistory
from reschedule_desk.temporal import connect, data_converter

FAILED = 1


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    audit = verbs.add_parser("audit", help="archive, replay, explain and verify workflow histories")
    audit_verbs = audit.add_subparsers(dest="audit_verb", required=True)

    def verb(name: str, summary: str, run, *, case: str = "one") -> argparse.ArgumentParser:
        """case: "one" CASE; "optional" CASE, or --all or --file instead; "none"."""
        parser = audit_verbs.add_parser(name, help=summary)
        if case == "one":
            parser.add_argument("case_number", metavar="CASE")
        elif case == "optional":
            parser.add_argument("case_number", metavar="CASE", nargs="?")
        if case != "none":
            parser.add_argument("--request", metavar="ID", help="that request of the case, not its latest")
        parser.set_defaults(run=run)
        return parser

    def history_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--live", action="store_true", help="Temporal's history, not the archive's")
        parser.add_argument("--file", type=Path, help="a history JSON file instead (an export bundle's history.json)")

    verb("archive", "archive a request's history from Temporal now, open or closed", _archive)
    verb("backfill", "archive every closed history Temporal still has", _backfill, case="none")

    replay = verb("replay", "replay histories against today's workflow code", _replay, case="optional")
    replay.add_argument("--all", action="store_true", help="every history in the archive")
    history_options(replay)

    timeline = verb("timeline", "what happened to a request, from its history alone", _timeline, case="optional")
    history_options(timeline)
    output = timeline.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="for machines")
    output.add_argument("--html", action="store_true", help="a stand-alone page")

    verify = verb("verify", "check the app's audit rows, emails and bookings against the history", _verify, case="optional")
    verify.add_argument("--all", action="store_true", help="every request in the app's tables")

    export = verb("export", "write a bundle for auditors: history, timeline, replay, verification", _export)
    export.add_argument("--out", type=Path, default=Path("."), help="the directory for the zip file")


def _auditor(settings: Settings) -> Auditor:
    sessions = make_sessionmaker(make_engine(settings.database_url))
    return Auditor(sessions, data_converter(settings), lambda: connect(settings))


def _one_of(args: argparse.Namespace, *options: str) -> None:
    given = [option for option in ("case_number", *options) if getattr(args, option)]
    if len(given) != 1:
        raise ValueError(f"give a CASE or {' or '.join('--' + option for option in options)}")


async def _found(args: argparse.Namespace, auditor: Auditor) -> RequestHistory:
    if args.file:
        return RequestHistory.from_file(args.file)
    return await auditor.history(args.case_number, args.request, args.live)


def _archive(args: argparse.Namespace, settings: Settings) -> int:
    print(_archived(asyncio.run(_auditor(settings).archive(args.case_number, args.request))))
    return 0


def _backfill(args: argparse.Namespace, settings: Settings) -> int:
    kept = asyncio.run(_auditor(settings).backfill(settings.task_queue))
    for each in kept:
        print(_archived(each))
    print(f"{len(kept)} closed histories archived")
    return 0


def _archived(kept: ArchivedHistory) -> str:
    state = "closed" if kept.closed else "still open"
    return (
        f"archived {kept.case_number} request {kept.request_id}: "
        f"{kept.event_count} events, {state}, sha256 {kept.content_hash}"
    )


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    auditor = _auditor(settings)

    async def replay() -> list:
        return await auditor.replay(auditor.archived() if args.all else [await _found(args, auditor)])

    _one_of(args, "all", "file")
    outcomes = asyncio.run(replay())
    for outcome in outcomes:
        print(render.replay_line(outcome))
    failed = sum(not outcome.deterministic for outcome in outcomes)
    print(f"{len(outcomes)} replayed ({sum(o.event_count for o in outcomes)} events), {failed} failed")
    return FAILED if failed else 0


def _timeline(args: argparse.Namespace, settings: Settings) -> int:
    auditor = _auditor(settings)

    async def timeline() -> str:
        found = await _found(args, auditor)
        read = await auditor.timeline(found)
        if args.json:
            return read.model_dump_json(indent=2) + "\n"
        return render.timeline_html(read, found) if args.html else render.timeline_text(read, found)

    _one_of(args, "file")
    print(asyncio.run(timeline()), end="")
    return 0


def _verify(args: argparse.Namespace, settings: Settings) -> int:
    _one_of(args, "all")
    auditor = _auditor(settings)

    async def verify() -> list:
        if args.all:
            return [await auditor.verify(request_id) for request_id in auditor.requests()]
        return [await auditor.verify(args.request or auditor.request_of(args.case_number))]

    verifications = asyncio.run(verify())
    for verification in verifications:
        print(render.verification_text(verification), end="")
    failed = sum(not verification.ok for verification in verifications)
    if args.all:
        print(f"{len(verifications)} requests verified; {failed} with mismatches")
    return FAILED if failed else 0


def _export(args: argparse.Namespace, settings: Settings) -> int:
    auditor = _auditor(settings)

    async def export() -> Path:
        found = await auditor.history(args.case_number, args.request)
        timeline = await auditor.timeline(found)
        (replay,) = await auditor.replay([found])
        verification = await auditor.verify(timeline.request_id)
        return write_bundle(args.out, found, timeline, replay, verification)

    print(asyncio.run(export()))
    return 0
