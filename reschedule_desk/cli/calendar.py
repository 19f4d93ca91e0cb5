"""`reschedule calendar ...`: the posts' business-day calendars, the workflow's own code."""

from __future__ import annotations

import argparse
from datetime import date, timedelta

from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.settings import Settings


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    calendar = verbs.add_parser("calendar", help="the posts' business-day calendars")
    calendar_verbs = calendar.add_subparsers(dest="calendar_verb", required=True)
    add_days = calendar_verbs.add_parser(
        "add-business-days", help="print the N-th business day of a post strictly after a date"
    )
    add_days.add_argument("--post", required=True)
    add_days.add_argument("--from", dest="start", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD")
    add_days.add_argument("count", type=int, metavar="N")
    add_days.set_defaults(run=_print_business_days_after)


def add_business_days(settings: Settings, post_code: str, start: date, count: int) -> date:
    if count < 0:
        raise ValueError("N must not be negative")
    post = settings.posts.post(post_code)
    # Room for N business days even across long holiday seasons.
    calendar = build_post_calendar(post, start, start + timedelta(days=count * 3 + 60))
    return calendar.business_days_after(start, count)


def _print_business_days_after(args: argparse.Namespace, settings: Settings) -> int:
    print(add_business_days(settings, args.post, args.start, args.count).isoformat())
    return 0
