"""`reschedule slots add|list|close`: the post's appointment book, the interview slots
approved applicants book (storage/appointment_book.py).

Adding and closing slots act for an enabled account (`--by`) that the access rules let
manage the post's slots (console/access.py, Permission.MANAGE_SLOTS: a supervisor of the
post), the rule the console's slot page asks, as the request verbs act only for an enabled
account of the right role and post.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from reschedule_desk.authorization import acting_account
from reschedule_desk.cli.users import REFUSED, sessions_of
from reschedule_desk.console.access import Forbidden, Permission, can, roles_with
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.posts import Post
from reschedule_desk.settings import Settings
from reschedule_desk.storage import appointment_book
from reschedule_desk.storage.tables import InterviewSlot

_CLOCK = re.compile(r"^(\d{2}):(\d{2})$")


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    slots = verbs.add_parser("slots", help="the post's appointment book: interview slots")
    slot_verbs = slots.add_subparsers(dest="slots_verb", required=True)

    add = slot_verbs.add_parser(
        "add",
        help="publish slots at the given times of each business day from --from to --to; "
        "days the post does not work are skipped, with the reason",
    )
    add.add_argument("--post", required=True, help="e.g. nairobi")
    add.add_argument("--from", dest="first_day", required=True, metavar="YYYY-MM-DD")
    add.add_argument("--to", dest="last_day", metavar="YYYY-MM-DD", help="the last day; --from alone by default")
    add.add_argument("--times", required=True, metavar="HH:MM,...", help="the post's local times, e.g. 08:00,08:30")
    add.add_argument(
        "--capacity", required=True, type=int, metavar="N",
        help=f"applicants per slot, 1 to {appointment_book.MAX_CAPACITY}",
    )
    add.add_argument("--by", required=True, metavar="ACCOUNT", help="the supervisor of the post publishing them")
    add.set_defaults(run=_add)

    listing = slot_verbs.add_parser("list", help="the post's slots, booked seats of capacity, open or closed")
    listing.add_argument("--post", required=True)
    listing.add_argument("--from", dest="first_day", metavar="YYYY-MM-DD", help="today at the post by default")
    listing.add_argument("--to", dest="last_day", metavar="YYYY-MM-DD", help="no end by default")
    listing.set_defaults(run=_list)

    close = slot_verbs.add_parser("close", help="close a slot to new bookings; the bookings it holds stay")
    close.add_argument("--post", required=True)
    close.add_argument("--day", required=True, metavar="YYYY-MM-DD")
    close.add_argument("--time", required=True, metavar="HH:MM")
    close.add_argument("--by", required=True, metavar="ACCOUNT", help="the supervisor of the post closing it")
    close.set_defaults(run=_close)


def _add(args: argparse.Namespace, settings: Settings) -> int:
    post = settings.posts.post(args.post)  # an unknown post is bad input, named
    first_day = parse_day(args.first_day, "--from")
    last_day = parse_day(args.last_day, "--to") if args.last_day else first_day
    times = [parse_clock(text, "--times") for text in args.times.split(",")]
    # A range too long is refused by publish_slots; the calendar need not cover it.
    calendar = build_post_calendar(
        post, first_day, max(first_day, min(last_day, first_day + timedelta(days=appointment_book.MAX_DAYS)))
    )
    try:
        with sessions_of(settings).begin() as session:
            _manager_of(session, args.by, post)
            report = appointment_book.publish_slots(
                session, post, calendar, first_day, last_day, times, args.capacity, args.by, datetime.now(UTC)
            )
    except appointment_book.Refused as refusal:
        print(f"reschedule: {refusal}", file=sys.stderr)
        return REFUSED
    print(
        f"published {_slots(len(report.published))} at {post.code} from {first_day} to {last_day}, "
        f"{len(report.already_published)} already published"
    )
    for day, reason in report.skipped.items():
        print(f"skipped {day:%A} {day}: {reason}")
    for slot in report.already_published:
        print(f"already published {slot.day:%A} {slot.day} {slot.time:%H:%M}: {_state(slot)}")
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    post = settings.posts.post(args.post)
    first_day = parse_day(args.first_day, "--from") if args.first_day else datetime.now(post.zone).date()
    last_day = parse_day(args.last_day, "--to") if args.last_day else None
    with sessions_of(settings)() as session:
        rows = appointment_book.slots(session, post, first_day, last_day)
    if not rows:
        until = f" to {last_day}" if last_day else ""
        print(f"no slots at {post.code} from {first_day}{until}")
    for slot in rows:
        print(f"{slot.day}\t{slot.time:%H:%M}\t{slot.seats_booked}/{slot.capacity}\t{_state(slot)}")
    return 0


def _close(args: argparse.Namespace, settings: Settings) -> int:
    post = settings.posts.post(args.post)
    day = parse_day(args.day, "--day")
    at_time = parse_clock(args.time, "--time")
    try:
        with sessions_of(settings).begin() as session:
            _manager_of(session, args.by, post)
            before = appointment_book.slot_at(session, post, day, at_time)
            already = before is not None and before.closed_at is not None
            slot = appointment_book.close_slot(session, post, day, at_time, args.by, datetime.now(UTC))
    except appointment_book.UnknownSlot as unknown:
        print(f"reschedule: {unknown}", file=sys.stderr)
        return REFUSED
    what = "already closed" if already else "closed"
    print(
        f"{what} {slot.day:%A} {slot.day} {slot.time:%H:%M} at {post.code}: "
        f"{slot.seats_booked}/{slot.capacity} booked, the bookings stay; {_state(slot)}"
    )
    return 0


def _manager_of(session: Session, name: str, post: Post) -> None:
    """Forbidden, saying why, unless `name` is an enabled account that may manage the
    post's slots (Permission.MANAGE_SLOTS at `post`)."""
    principal = acting_account(session, name)
    if can(principal, Permission.MANAGE_SLOTS, post.code):
        return
    if can(principal, Permission.MANAGE_SLOTS):  # the role may, at other posts
        raise Forbidden(f"{post.code} is not one of {principal.name}'s posts")
    holders = " or ".join(role.value for role in roles_with(Permission.MANAGE_SLOTS))
    raise Forbidden(
        f"{principal.name} is not a {holders}: only a {holders} of {post.code} publishes and closes its slots"
    )


def _slots(count: int) -> str:
    return f"{count} slot{'' if count == 1 else 's'}"


def _state(slot: InterviewSlot) -> str:
    if slot.closed_at is not None:
        return f"closed by {slot.closed_by} {slot.closed_at:%Y-%m-%d %H:%M} UTC"
    return "full" if slot.seats_left <= 0 else "open"


def parse_day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{option}: {text!r} is not a day: give YYYY-MM-DD") from None


def parse_clock(text: str, option: str) -> time:
    match = _CLOCK.match(text.strip())
    try:
        if match is None:
            raise ValueError
        return time(int(match[1]), int(match[2]))
    except ValueError:
        raise ValueError(f"{option}: {text.strip()!r} is not a time of day: give HH:MM, e.g. 08:30") from None
