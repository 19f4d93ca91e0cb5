"""`reschedule slots add|list|close`: the post's appointment book from the command line,
for an enabled supervisor of the post; a day the post does not work refused with the
holiday's name, bad input refused with nothing written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from reschedule_desk.console.access import Role
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.settings import Settings
from reschedule_desk.storage import accounts, appointment_book, repository
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import InterviewSlot
from tests.conftest import TEST_PASSWORD, reschedule_request
from tests.storage.conftest import REQUESTED_AT, step_entry

SUPERVISOR = "supervisor.otieno"


@pytest.fixture
def sessions(desk_settings: Settings):
    engine = make_engine(desk_settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def staff(sessions) -> None:
    """A supervisor of Nairobi, and others who may not publish Nairobi's slots."""
    now = datetime.now(UTC)
    with sessions.begin() as session:
        accounts.add_account(session, SUPERVISOR, Role.SUPERVISOR, ["nairobi"], TEST_PASSWORD, now)
        accounts.add_account(session, "supervisor.sok", Role.SUPERVISOR, ["phnom-penh"], TEST_PASSWORD, now)
        accounts.add_account(session, "officer.kim", Role.OFFICER, ["nairobi"], TEST_PASSWORD, now)
        accounts.add_account(session, "supervisor.gone", Role.SUPERVISOR, ["nairobi"], TEST_PASSWORD, now)
        accounts.set_disabled(session, "supervisor.gone", True, now)


def slot_count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(InterviewSlot))


def nairobi_calendar(desk_settings: Settings):
    today = date.today()
    return build_post_calendar(desk_settings.posts.post("nairobi"), today, today + timedelta(days=800))


def business_day(desk_settings: Settings) -> date:
    """A business day at Nairobi a week or more from today."""
    calendar = nairobi_calendar(desk_settings)
    return calendar.business_days_after(date.today() + timedelta(days=7), 1)


def next_christmas() -> date:
    """The next Christmas Day at least a week away: a holiday in Kenya and the US."""
    soon = date.today() + timedelta(days=7)
    christmas = date(soon.year, 12, 25)
    return christmas if christmas >= soon else date(soon.year + 1, 12, 25)


def test_adding_slots_over_a_range_skips_christmas_and_the_weekend_naming_them(
    reschedule, staff, sessions, desk_settings
) -> None:
    christmas = next_christmas()
    first_day, last_day = christmas - timedelta(days=3), christmas + timedelta(days=3)
    calendar = nairobi_calendar(desk_settings)
    week = [first_day + timedelta(days=n) for n in range(7)]
    business = [day for day in week if calendar.is_business_day(day)]

    code, out, err = reschedule(
        "slots", "add", "--post", "nairobi", "--from", first_day, "--to", last_day,
        "--times", "08:00, 08:30", "--capacity", "4", "--by", SUPERVISOR,
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        f"published {2 * len(business)} slots at nairobi from {first_day} to {last_day}, 0 already published"
    )
    assert any(
        line.startswith(f"skipped {christmas:%A} {christmas}: Christmas Day (KE); Christmas Day (US)") for line in lines
    )
    assert sum("a weekend" in line for line in lines) == 2
    assert slot_count(sessions) == 2 * len(business)

    code, out, _ = reschedule("slots", "list", "--post", "nairobi", "--from", first_day, "--to", last_day)
    assert code == 0
    assert out.splitlines() == [
        f"{day}\t{moment}\t0/4\topen" for day in business for moment in ("08:00", "08:30")
    ]


def test_a_single_holiday_is_refused_with_its_name(reschedule, staff, sessions) -> None:
    christmas = next_christmas()
    code, out, err = reschedule(
        "slots", "add", "--post", "nairobi", "--from", christmas, "--times", "08:00", "--capacity", "4",
        "--by", SUPERVISOR,
    )
    assert (code, out) == (1, "")
    assert err.startswith(
        f"reschedule: {christmas:%A} {christmas} is not a business day at U.S. Embassy Nairobi: "
        "Christmas Day (KE); Christmas Day (US)"
    )
    assert slot_count(sessions) == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"--capacity": "51"}, "the capacity must be 1 to 50 applicants, not 51"),
        ({"--capacity": "0"}, "the capacity must be 1 to 50 applicants, not 0"),
        ({"--times": "8h00"}, "--times: '8h00' is not a time of day: give HH:MM, e.g. 08:30"),
        ({"--times": "25:00"}, "--times: '25:00' is not a time of day"),
        ({"--times": "07:00"}, "07:00 is outside U.S. Embassy Nairobi's opening hours, 08:00 to 16:30"),
        ({"--times": "08:00,08:00"}, "08:00 is given more than once"),
        ({"--from": "2026-13-01"}, "--from: '2026-13-01' is not a day: give YYYY-MM-DD"),
        ({"--from": "2020-01-06"}, "2020-01-06 has passed at U.S. Embassy Nairobi"),
        ({"--post": "atlantis"}, "unknown post 'atlantis'"),
    ],
)
def test_bad_input_is_refused_naming_it_and_nothing_is_written(
    reschedule, staff, sessions, desk_settings, changes, message
) -> None:
    options = {
        "--post": "nairobi", "--from": business_day(desk_settings).isoformat(), "--times": "08:00",
        "--capacity": "4", "--by": SUPERVISOR, **changes,
    }
    code, out, err = reschedule("slots", "add", *[part for pair in options.items() for part in pair])
    assert (code, out) == (2, "")
    assert message in err
    assert slot_count(sessions) == 0


@pytest.mark.parametrize(
    ("by", "message"),
    [
        ("officer.kim", "officer.kim is not a supervisor: only a supervisor of nairobi publishes and closes its slots"),
        ("supervisor.sok", "nairobi is not one of supervisor.sok's posts"),
        ("supervisor.gone", "supervisor.gone is not an enabled account of the desk"),
        ("nobody.at.all", "nobody.at.all is not an enabled account of the desk"),
    ],
)
def test_only_an_enabled_supervisor_of_the_post_adds_or_closes_slots(
    reschedule, staff, sessions, desk_settings, by, message
) -> None:
    day = business_day(desk_settings)
    add = ("slots", "add", "--post", "nairobi", "--from", day, "--times", "08:00", "--capacity", "4")
    assert reschedule(*add, "--by", by) == (1, "", f"reschedule: {message}\n")
    assert slot_count(sessions) == 0
    assert reschedule(*add, "--by", SUPERVISOR)[0] == 0
    close = ("slots", "close", "--post", "nairobi", "--day", day, "--time", "08:00")
    assert reschedule(*close, "--by", by) == (1, "", f"reschedule: {message}\n")
    with sessions() as session:
        assert appointment_book.slots(session, "nairobi")[0].closed_at is None


def test_adding_a_slot_again_reports_it_and_adds_none(reschedule, staff, sessions, desk_settings) -> None:
    day = business_day(desk_settings)
    add = ("slots", "add", "--post", "nairobi", "--from", day, "--by", SUPERVISOR)
    assert reschedule(*add, "--times", "08:00", "--capacity", "4")[0] == 0
    code, out, _ = reschedule(*add, "--times", "08:00,09:00", "--capacity", "6")
    assert code == 0
    assert out.splitlines() == [
        f"published 1 slot at nairobi from {day} to {day}, 1 already published",
        f"already published {day:%A} {day} 08:00: open",
    ]
    with sessions() as session:
        kept = appointment_book.slots(session, "nairobi")
        assert [(slot.time.isoformat("minutes"), slot.capacity) for slot in kept] == [("08:00", 4), ("09:00", 6)]


def test_listing_shows_booked_seats_of_capacity_and_closing_keeps_the_bookings(
    reschedule, staff, sessions, desk_settings
) -> None:
    day = business_day(desk_settings)
    assert reschedule(
        "slots", "add", "--post", "nairobi", "--from", day, "--times", "08:00,08:30", "--capacity", "3",
        "--by", SUPERVISOR,
    )[0] == 0
    request = reschedule_request("nairobi", now=REQUESTED_AT)
    entry = step_entry("run-1", 1, RequestState.PENDING_REVIEW, from_state=RequestState.SUBMITTED, request=request)
    with sessions.begin() as session:
        repository.record_transition(session, entry, None)
        eight = appointment_book.slots(session, "nairobi")[0]
        appointment_book.book(session, eight.id, "run-1", request.case_number, 3, datetime.now(UTC))

    assert reschedule("slots", "list", "--post", "nairobi")[1].splitlines() == [
        f"{day}\t08:00\t3/3\tfull", f"{day}\t08:30\t0/3\topen"
    ]
    close = ("slots", "close", "--post", "nairobi", "--day", day, "--time", "08:00", "--by", SUPERVISOR)
    code, out, err = reschedule(*close)
    assert (code, err) == (0, "")
    assert out.startswith(
        f"closed {day:%A} {day} 08:00 at nairobi: 3/3 booked, the bookings stay; closed by {SUPERVISOR} "
    )
    code, out, _ = reschedule(*close)
    assert out.startswith(f"already closed {day:%A} {day} 08:00 at nairobi")
    listed = reschedule("slots", "list", "--post", "nairobi", "--from", day, "--to", day)[1].splitlines()
    assert listed[0].startswith(f"{day}\t08:00\t3/3\tclosed by {SUPERVISOR} ")
    with sessions() as session:
        assert appointment_book.held_booking(session, "run-1").seats == 3


def test_closing_a_slot_not_in_the_book_is_refused(reschedule, staff, desk_settings) -> None:
    day = business_day(desk_settings)
    assert reschedule(
        "slots", "close", "--post", "nairobi", "--day", day, "--time", "08:00", "--by", SUPERVISOR
    ) == (1, "", f"reschedule: nairobi has no slot on {day} at 08:00\n")


def test_listing_an_empty_book_says_so(reschedule, desk_settings) -> None:
    day = business_day(desk_settings)
    assert reschedule("slots", "list", "--post", "phnom-penh", "--from", day) == (
        0, f"no slots at phnom-penh from {day}\n", ""
    )
