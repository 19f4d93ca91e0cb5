"""`reschedule`: the desk's verbs for scripts, the same as the API's.

Exit status: 0 done, 1 refused or not found (the reason on standard error), 2 bad usage
or bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel, ValidationError

from reschedule_desk.desk import ActionRefused, CaseNotFound, Desk, RequestAlreadyOpen
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.decisions import Approval, Denial, InfoProvided, InfoRequest, Withdrawal
from reschedule_desk.domain.posts import PostsConfigError, UnknownPost
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import connect

REFUSED = 1
BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reschedule", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)

    submit = verbs.add_parser("submit", help="submit a request from a JSON file (the API's shape)")
    submit.add_argument("file", type=Path)

    status = verbs.add_parser("status", help="show a request's status")
    status.add_argument("case_number")

    approve = verbs.add_parser("approve", help="approve a request")
    approve.add_argument("case_number")
    approve.add_argument("--officer", required=True)
    approve.add_argument("--note")

    deny = verbs.add_parser("deny", help="deny a request, with the reason the applicant reads")
    deny.add_argument("case_number")
    deny.add_argument("--officer", required=True)
    deny.add_argument("--reason", required=True)

    request_info = verbs.add_parser("request-info", help="ask the applicant for more information")
    request_info.add_argument("case_number")
    request_info.add_argument("--officer", required=True)
    request_info.add_argument("--needed", required=True, help="what the applicant must send")

    provide_info = verbs.add_parser("provide-info", help="the applicant's answer to an information request")
    provide_info.add_argument("case_number")
    provide_info.add_argument("--answer", required=True)

    withdraw = verbs.add_parser("withdraw", help="the applicant withdraws the request")
    withdraw.add_argument("case_number")
    withdraw.add_argument("--reason")

    calendar = verbs.add_parser("calendar", help="the posts' business-day calendars")
    calendar_verbs = calendar.add_subparsers(dest="calendar_verb", required=True)
    add_days = calendar_verbs.add_parser(
        "add-business-days", help="print the N-th business day of a post strictly after a date"
    )
    add_days.add_argument("--post", required=True)
    add_days.add_argument("--from", dest="start", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    add_days.add_argument("count", type=int, metavar="N")
    return parser


def _decision(args: argparse.Namespace) -> tuple[str, BaseModel]:
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
    raise AssertionError(args.verb)


def add_business_days(settings: Settings, post_code: str, start: date, count: int) -> date:
    if count < 0:
        raise ValueError("N must not be negative")
    post = settings.posts.post(post_code)
    # Room for N business days even across long holiday seasons.
    calendar = build_post_calendar(post, start, start + timedelta(days=count * 3 + 60))
    return calendar.business_days_after(start, count)


async def _run_against_temporal(args: argparse.Namespace, settings: Settings) -> str:
    # Bad input is refused before anything connects.
    if args.verb == "submit":
        request = RescheduleRequest.model_validate_json(args.file.read_text(encoding="utf-8"))
        settings.posts.post(request.post)
    elif args.verb != "status":
        action, decision = _decision(args)
    desk = Desk(await connect(settings), settings)
    if args.verb == "submit":
        result = await desk.submit(request)
    elif args.verb == "status":
        result = await desk.status(args.case_number)
    else:
        result = await desk.act(args.case_number, action, decision)
    return result.model_dump_json(indent=2)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.verb == "calendar":
            print(add_business_days(settings, args.post, args.start, args.count).isoformat())
        else:
            print(asyncio.run(_run_against_temporal(args, settings)))
    except (ValidationError, ValueError, UnknownPost, PostsConfigError, OSError) as error:
        print(f"reschedule: {error}", file=sys.stderr)
        return BAD_INPUT
    except (ActionRefused, CaseNotFound, RequestAlreadyOpen) as error:
        print(f"reschedule: {error}", file=sys.stderr)
        return REFUSED
    except RuntimeError as error:  # the Temporal client's "failed client connect"
        print(f"reschedule: cannot reach Temporal at {settings.temporal_address}: {error}", file=sys.stderr)
        return REFUSED
    return 0


if __name__ == "__main__":
    sys.exit(main())
