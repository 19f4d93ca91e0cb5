"""`reschedule submit|status|approve|...`: requests and the actions on them.

These verbs talk to Temporal directly: whoever can reach its frontend can send the same
Updates without this CLI (README, "Who may call what"). The CLI itself acts only for an
enabled account of the right role and post.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from pydantic import BaseModel

from reschedule_desk.applicant_secrets import applicant_secrets
from reschedule_desk.authorization import acting_account, authorize_action, post_of_request
from reschedule_desk.cli.slots import parse_clock, parse_day
from reschedule_desk.cli.users import sessions_of
from reschedule_desk.desk import Desk
from reschedule_desk.domain.decisions import (
    Approval,
    Assignment,
    Attendance,
    BookingCancellation,
    BookingChoice,
    Claim,
    Denial,
    InfoProvided,
    InfoRequest,
    WindowExtension,
    Withdrawal,
)
from reschedule_desk.domain.lifecycle import RequestStatus, SubmittedRequest
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import connect


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    submit = verbs.add_parser("submit", help="submit a request from a JSON file (the API's shape)")
    submit.add_argument("file", type=Path)
    submit.set_defaults(run=_submit)

    status = verbs.add_parser("status", help="show a request's status")
    status.add_argument("case_number")
    status.set_defaults(run=_status)

    def action(verb: str, summary: str, *options: tuple[str, dict]) -> None:
        parser = verbs.add_parser(verb, help=summary)
        parser.add_argument("case_number")
        for flag, keywords in options:
            parser.add_argument(flag, **keywords)
        parser.set_defaults(run=_act)

    officer = ("--officer", {"required": True})
    supervisor = ("--supervisor", {"required": True})
    action("approve", "approve a request", officer, ("--note", {}))
    action("deny", "deny a request, with the reason the applicant reads", officer, ("--reason", {"required": True}))
    action(
        "request-info",
        "ask the applicant for more information",
        officer,
        ("--needed", {"required": True, "help": "what the applicant must send"}),
    )
    action("provide-info", "the applicant's answer to an information request", ("--answer", {"required": True}))
    action("withdraw", "the applicant withdraws the request", ("--reason", {}))
    action("claim", "an officer takes a request to work on", officer)
    action("assign", "a supervisor gives a request to an officer", supervisor, officer)
    action(
        "extend-window",
        "a supervisor moves the current window's end by N business days",
        supervisor,
        ("--business-days", {"required": True, "type": int}),
        ("--reason", {"required": True}),
    )
    day = ("--day", {"required": True, "metavar": "YYYY-MM-DD", "help": "the post's local date"})
    at_time = ("--time", {"required": True, "metavar": "HH:MM", "help": "the post's local time"})
    action("book", "book an open appointment for every applicant of the request", day, at_time)
    action("reschedule-booking", "move the booked appointment to another open one", day, at_time)
    action("cancel-booking", "give the booked appointment back", ("--reason", {}))
    action(
        "record-attendance",
        "an officer records whether the applicants came to their appointment",
        officer,
        ("--outcome", {"required": True, "choices": ["attended", "missed"]}),
        ("--note", {}),
    )


def _decision(args: argparse.Namespace) -> tuple[str, BaseModel]:
    """The workflow Update a verb sends, with its model (validated before connecting)."""
    match args.verb:
        case "approve":
            return "approve", Approval(officer_id=args.officer, note=args.note)
        case "deny":
            return "deny", Denial(officer_id=args.officer, reason=args.reason)
        case "request-info":
            return "request_info", InfoRequest(officer_id=args.officer, needed=args.needed)
        case "provide-info":
            return "provide_info", InfoProvided(answer=args.answer)
        case "withdraw":
            return "withdraw", Withdrawal(reason=args.reason)
        case "claim":
            return "claim", Claim(officer_id=args.officer)
        case "assign":
            return "assign", Assignment(supervisor_id=args.supervisor, officer_id=args.officer)
        case "book" | "reschedule-booking":
            choice = BookingChoice(day=parse_day(args.day, "--day"), time=parse_clock(args.time, "--time"))
            return args.verb.replace("-", "_"), choice
        case "cancel-booking":
            return "cancel_booking", BookingCancellation(reason=args.reason)
        case "record-attendance":
            return "record_attendance", Attendance(
                officer_id=args.officer, attended=args.outcome == "attended", note=args.note
            )
        case "extend-window":
            return "extend_window", WindowExtension(
                supervisor_id=args.supervisor, business_days=args.business_days, reason=args.reason
            )
    raise AssertionError(args.verb)


async def _desk(settings: Settings) -> Desk:
    return Desk(await connect(settings), settings)


def _submit(args: argparse.Namespace, settings: Settings) -> int:
    request = RescheduleRequest.model_validate_json(args.file.read_text(encoding="utf-8"))
    settings.posts.post(request.post)  # an unknown post is refused before connecting

    async def submit() -> tuple[RequestStatus, str]:
        return await (await _desk(settings)).submit(request)

    status, request_id = asyncio.run(submit())
    secret = applicant_secrets(settings).for_request(request_id)
    print(SubmittedRequest(**status.model_dump(), applicant_secret=secret).model_dump_json(indent=2))
    return 0


def _status(args: argparse.Namespace, settings: Settings) -> int:
    async def status() -> BaseModel:
        return await (await _desk(settings)).status(args.case_number)

    print(asyncio.run(status()).model_dump_json(indent=2))
    return 0


def _authorize(args: argparse.Namespace, settings: Settings, action: str) -> None:
    """A staff verb talks to Temporal directly, an operator's power: it still acts only for
    an enabled account whose role and posts allow it (Forbidden, naming what is missing).
    The applicant's verbs name no one."""
    actor = args.supervisor if action in ("assign", "extend_window") else getattr(args, "officer", None)
    if actor is None:
        return
    with sessions_of(settings)() as session:
        principal = acting_account(session, actor)
        post = post_of_request(session, args.case_number)
        authorize_action(session, principal, post, action, args.officer if action == "assign" else None)


def _act(args: argparse.Namespace, settings: Settings) -> int:
    action, decision = _decision(args)
    _authorize(args, settings, action)

    async def act() -> BaseModel:
        return await (await _desk(settings)).act(args.case_number, action, decision)

    print(asyncio.run(act()).model_dump_json(indent=2))
    return 0
