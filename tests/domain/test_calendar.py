"""Business days of a post: "It will take at least 5 business days before you receive this
e-mail" — counted on the post's calendar, in the post's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reschedule_desk.domain.calendar import OutsideCalendar, PostCalendar, build_post_calendar
from reschedule_desk.domain.posts import Closure, Weekday

NAIROBI = ZoneInfo("Africa/Nairobi")
PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")
RELEASE_DAYS = 5


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_the_shipped_posts_release_approvals_five_business_days_after_the_request(nairobi, phnom_penh):
    assert nairobi.windows.approval_release_business_days == RELEASE_DAYS
    assert phnom_penh.windows.approval_release_business_days == RELEASE_DAYS


# 3 to 7 August 2026 has no Kenyan, Cambodian or US holiday.


def test_submitted_on_a_saturday_the_approval_is_released_the_following_friday_at_opening_time(
    nairobi_calendar,
):
    saturday = local(NAIROBI, 2026, 8, 1, 10, 0)
    assert nairobi_calendar.release_time(saturday, RELEASE_DAYS) == local(NAIROBI, 2026, 8, 7, 8, 0)


def test_submitted_on_a_monday_the_approval_is_released_the_next_monday(nairobi_calendar):
    monday = local(NAIROBI, 2026, 8, 3, 15, 45)
    assert nairobi_calendar.release_time(monday, RELEASE_DAYS) == local(NAIROBI, 2026, 8, 10, 8, 0)


def test_us_thanksgiving_pushes_the_release_in_nairobi(nairobi_calendar):
    saturday = local(NAIROBI, 2026, 11, 21, 9, 0)
    release = nairobi_calendar.release_time(saturday, RELEASE_DAYS)
    assert release == local(NAIROBI, 2026, 11, 30, 8, 0)
    assert nairobi_calendar.skipped_between(date(2026, 11, 21), release.date()) == {
        date(2026, 11, 26): "Thanksgiving Day (US)"
    }


def test_the_water_festival_and_thanksgiving_push_the_release_in_phnom_penh(phnom_penh_calendar):
    friday = local(PHNOM_PENH, 2026, 11, 20, 14, 0)
    release = phnom_penh_calendar.release_time(friday, RELEASE_DAYS)
    # Water Festival Monday to Wednesday, Thanksgiving on Thursday: Friday is the first day.
    assert release == local(PHNOM_PENH, 2026, 12, 3, 8, 0)
    skipped = phnom_penh_calendar.skipped_between(friday.date(), release.date())
    assert [name for name in skipped.values() if "Water Festival" in name] == ["Water Festival (KH)"] * 3
    assert skipped[date(2026, 11, 26)] == "Thanksgiving Day (US)"


def test_khmer_new_year_pushes_the_release_in_phnom_penh(phnom_penh_calendar):
    monday = local(PHNOM_PENH, 2026, 4, 13, 11, 0)
    assert phnom_penh_calendar.release_time(monday, RELEASE_DAYS) == local(PHNOM_PENH, 2026, 4, 23, 8, 0)
    assert not phnom_penh_calendar.is_business_day(date(2026, 4, 14))


def test_jamhuri_day_observed_on_monday_pushes_the_release_in_nairobi(nairobi_calendar):
    # Jamhuri Day 2027 is a Sunday; Kenya observes it on Monday 13 December.
    friday = local(NAIROBI, 2027, 12, 10, 12, 0)
    assert nairobi_calendar.release_time(friday, RELEASE_DAYS) == local(NAIROBI, 2027, 12, 20, 8, 0)
    assert "Jamhuri Day (observed)" in nairobi_calendar.non_business_days[date(2027, 12, 13)]


def test_christmas_and_boxing_day_push_the_release_in_nairobi(nairobi_calendar):
    # 2027: US Christmas observed Friday 24th, Kenyan Boxing Day observed Monday 27th.
    monday = local(NAIROBI, 2027, 12, 20, 12, 0)
    assert nairobi_calendar.release_time(monday, RELEASE_DAYS) == local(NAIROBI, 2027, 12, 29, 8, 0)


def test_a_submission_at_23_30_utc_is_already_the_next_day_in_nairobi(nairobi_calendar):
    monday_night_utc = datetime(2026, 8, 3, 23, 30, tzinfo=UTC)  # Tuesday 02:30 in Nairobi
    assert nairobi_calendar.local_date(monday_night_utc) == date(2026, 8, 4)
    assert nairobi_calendar.release_time(monday_night_utc, RELEASE_DAYS) == local(NAIROBI, 2026, 8, 11, 8, 0)


def test_a_submission_at_23_30_utc_is_already_the_next_day_in_phnom_penh(phnom_penh_calendar):
    monday_night_utc = datetime(2026, 8, 3, 23, 30, tzinfo=UTC)  # Tuesday 06:30 in Phnom Penh
    assert phnom_penh_calendar.local_date(monday_night_utc) == date(2026, 8, 4)
    assert phnom_penh_calendar.release_time(monday_night_utc, RELEASE_DAYS) == local(
        PHNOM_PENH, 2026, 8, 11, 8, 0
    )


def test_local_midnight_in_nairobi_is_21_00_utc(nairobi_calendar):
    assert nairobi_calendar.local_date(datetime(2026, 8, 3, 20, 59, tzinfo=UTC)) == date(2026, 8, 3)
    assert nairobi_calendar.local_date(datetime(2026, 8, 3, 21, 0, tzinfo=UTC)) == date(2026, 8, 4)


def test_a_configured_closure_is_not_a_business_day(nairobi):
    closed = nairobi.model_copy(
        update={"closures": [Closure(date=date(2026, 8, 5), reason="Staff training")]}
    )
    calendar = build_post_calendar(closed, date(2026, 7, 1), date(2026, 9, 30))
    assert not calendar.is_business_day(date(2026, 8, 5))
    assert calendar.non_business_days[date(2026, 8, 5)] == "Post closed: Staff training"
    saturday = local(NAIROBI, 2026, 8, 1, 10, 0)
    assert calendar.release_time(saturday, RELEASE_DAYS) == local(NAIROBI, 2026, 8, 10, 8, 0)


def test_a_closure_outside_the_snapshot_is_left_out(nairobi):
    closed = nairobi.model_copy(update={"closures": [Closure(date=date(2027, 1, 4), reason="Move")]})
    calendar = build_post_calendar(closed, date(2026, 7, 1), date(2026, 9, 30))
    assert date(2027, 1, 4) not in calendar.non_business_days


def test_a_friday_and_saturday_weekend(nairobi):
    post = nairobi.model_copy(update={"weekend": [Weekday.FRIDAY, Weekday.SATURDAY]})
    calendar = build_post_calendar(post, date(2026, 7, 1), date(2026, 9, 30))
    assert not calendar.is_business_day(date(2026, 8, 7))  # Friday
    assert calendar.is_business_day(date(2026, 8, 9))  # Sunday
    thursday = local(NAIROBI, 2026, 8, 6, 10, 0)
    assert calendar.release_time(thursday, RELEASE_DAYS) == local(NAIROBI, 2026, 8, 13, 8, 0)


def test_asking_outside_the_snapshot_raises_outside_calendar(nairobi_calendar):
    with pytest.raises(OutsideCalendar, match="outside the nairobi calendar"):
        nairobi_calendar.is_business_day(date(2025, 12, 31))
    with pytest.raises(OutsideCalendar):
        nairobi_calendar.business_days_after(date(2027, 12, 28), 5)
    with pytest.raises(OutsideCalendar):
        nairobi_calendar.business_days_before(date(2026, 1, 3), 5)


def test_a_negative_count_of_business_days_is_refused(nairobi_calendar):
    with pytest.raises(ValueError):
        nairobi_calendar.business_days_after(date(2026, 8, 3), -1)


def test_the_snapshot_survives_a_json_round_trip(nairobi_calendar):
    assert PostCalendar.model_validate_json(nairobi_calendar.model_dump_json()) == nairobi_calendar


# Properties, on both shipped posts' real calendars. Dates keep a margin of two months
# (more than 30 business days) from the ends of the snapshot.

counts = st.integers(min_value=0, max_value=30)
starts = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 10, 31))
middles = st.dates(min_value=date(2026, 3, 1), max_value=date(2027, 10, 31))
calendar_names = st.sampled_from(["nairobi_calendar", "phnom_penh_calendar"])


@pytest.fixture(scope="session")
def calendars(nairobi_calendar, phnom_penh_calendar) -> dict[str, PostCalendar]:
    return {"nairobi_calendar": nairobi_calendar, "phnom_penh_calendar": phnom_penh_calendar}


def business_days_in(calendar: PostCalendar, after: date, up_to: date) -> int:
    days = (after + timedelta(days=i) for i in range(1, (up_to - after).days + 1))
    return sum(calendar.is_business_day(day) for day in days)


@given(name=calendar_names, start=starts, count=st.integers(min_value=1, max_value=30))
def test_business_days_after_lands_on_a_business_day_strictly_later(calendars, name, start, count):
    calendar = calendars[name]
    result = calendar.business_days_after(start, count)
    assert calendar.is_business_day(result)
    assert result > start


@given(name=calendar_names, start=starts)
def test_zero_business_days_after_is_the_day_itself(calendars, name, start):
    assert calendars[name].business_days_after(start, 0) == start


@given(name=calendar_names, start=starts, count=counts)
def test_business_days_after_is_monotonic(calendars, name, start, count):
    calendar = calendars[name]
    assert calendar.business_days_after(start, count) < calendar.business_days_after(start, count + 1)


@given(name=calendar_names, start=starts, count=counts)
def test_exactly_n_business_days_lie_between_a_day_and_n_business_days_after(
    calendars, name, start, count
):
    calendar = calendars[name]
    result = calendar.business_days_after(start, count)
    assert business_days_in(calendar, start, result) == count


@given(name=calendar_names, day=middles, count=counts)
def test_business_days_before_is_the_inverse_on_business_days(calendars, name, day, count):
    calendar = calendars[name]
    if not calendar.is_business_day(day):
        day = calendar.business_days_after(day, 1)
    assert calendar.business_days_before(calendar.business_days_after(day, count), count) == day
    assert calendar.business_days_after(calendar.business_days_before(day, count), count) == day


instants = st.datetimes(
    min_value=datetime(2026, 1, 2), max_value=datetime(2027, 10, 31), timezones=st.just(UTC)
)


@given(
    name=calendar_names,
    started_at=instants,
    window=st.integers(min_value=2, max_value=30),
    data=st.data(),
)
def test_the_reminder_falls_inside_the_window(calendars, name, started_at, window, data):
    calendar = calendars[name]
    lead = data.draw(st.integers(min_value=1, max_value=window - 1))
    window_end = calendar.window_end(started_at, window)
    reminder = calendar.reminder_time(window_end, lead)
    assert started_at < reminder < window_end
    assert window_end.time() == calendar.closing_time
    assert reminder.time() == calendar.opening_time
    assert calendar.is_business_day(reminder.date()) and calendar.is_business_day(window_end.date())


@given(name=calendar_names, submitted_at=instants, count=st.integers(min_value=1, max_value=30))
def test_the_release_is_at_opening_time_after_the_submission(calendars, name, submitted_at, count):
    calendar = calendars[name]
    release = calendar.release_time(submitted_at, count)
    assert release > submitted_at
    assert release.time() == calendar.opening_time == time(8, 0)


def test_the_days_a_post_does_not_work_are_named_with_the_reason(nairobi_calendar):
    days, others = nairobi_calendar.business_days_between(date(2026, 11, 23), date(2026, 11, 29))
    assert days == [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 27)]
    assert others == {
        date(2026, 11, 26): "Thanksgiving Day (US)",
        date(2026, 11, 28): "a weekend",
        date(2026, 11, 29): "a weekend",
    }
