"""Appointment timing at the posts: when booking closes, and until when a change is allowed."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from reschedule_desk.domain.appointments import (
    booking_closes_at,
    change_rule_text,
    closing_rule_text,
    last_change_on,
    may_change_on,
    still_bookable,
)
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.posts import PreviousWorkingDayClosing

NAIROBI = ZoneInfo("Africa/Nairobi")
PHNOM_PENH = ZoneInfo("Asia/Phnom_Penh")


def test_nairobi_the_closing_time_for_appointments_is_48_hours(nairobi, nairobi_calendar):
    appointment = datetime(2026, 8, 5, 8, 30)  # the post's local time
    assert booking_closes_at(nairobi, nairobi_calendar, appointment) == datetime(
        2026, 8, 3, 8, 30, tzinfo=NAIROBI
    )


def test_nairobi_48_hours_counts_weekends_and_holidays_too(nairobi, nairobi_calendar):
    monday = datetime(2026, 11, 30, 9, 0)
    assert booking_closes_at(nairobi, nairobi_calendar, monday) == datetime(
        2026, 11, 28, 9, 0, tzinfo=NAIROBI
    )


def test_an_appointment_with_an_offset_is_read_in_the_posts_time_zone(nairobi, nairobi_calendar):
    appointment = datetime(2026, 8, 5, 5, 30, tzinfo=UTC)  # 08:30 in Nairobi
    closes = booking_closes_at(nairobi, nairobi_calendar, appointment)
    assert closes == datetime(2026, 8, 3, 8, 30, tzinfo=NAIROBI)
    assert closes.tzinfo == NAIROBI


def test_phnom_penh_the_closing_time_is_11_am_the_previous_working_day(phnom_penh, phnom_penh_calendar):
    monday = datetime(2026, 8, 10, 9, 0)
    assert booking_closes_at(phnom_penh, phnom_penh_calendar, monday) == datetime(
        2026, 8, 7, 11, 0, tzinfo=PHNOM_PENH
    )


def test_phnom_penh_the_previous_working_day_skips_water_festival_and_thanksgiving(
    phnom_penh, phnom_penh_calendar
):
    friday = datetime(2026, 11, 27, 9, 0)
    assert booking_closes_at(phnom_penh, phnom_penh_calendar, friday) == datetime(
        2026, 11, 20, 11, 0, tzinfo=PHNOM_PENH
    )


def test_cancel_or_reschedule_at_least_three_working_days_prior_to_the_appointment_date(
    nairobi, nairobi_calendar
):
    friday = datetime(2026, 8, 14, 8, 30)
    assert last_change_on(nairobi, nairobi_calendar, friday) == date(2026, 8, 11)  # Tuesday
    monday = datetime(2026, 8, 17, 8, 30)
    assert last_change_on(nairobi, nairobi_calendar, monday) == date(2026, 8, 12)  # Wednesday


def test_working_days_for_a_change_skip_christmas_and_boxing_day(nairobi, nairobi_calendar):
    wednesday = datetime(2027, 12, 29, 8, 30)
    assert last_change_on(nairobi, nairobi_calendar, wednesday) == date(2027, 12, 22)


def test_otherwise_wait_until_the_appointment_date_has_passed(nairobi, nairobi_calendar):
    friday = datetime(2026, 8, 14, 8, 30)
    assert may_change_on(nairobi, nairobi_calendar, friday, date(2026, 8, 11))
    assert not may_change_on(nairobi, nairobi_calendar, friday, date(2026, 8, 12))
    assert not may_change_on(nairobi, nairobi_calendar, friday, date(2026, 8, 14))
    assert may_change_on(nairobi, nairobi_calendar, friday, date(2026, 8, 15))


def test_phnom_penh_the_previous_working_day_over_the_new_year_is_the_last_day_of_the_old_one(
    phnom_penh, phnom_penh_calendar
):
    monday = datetime(2027, 1, 4, 9, 0)  # Friday 1 January is New Year's Day (KH and US)
    assert booking_closes_at(phnom_penh, phnom_penh_calendar, monday) == datetime(
        2026, 12, 31, 11, 0, tzinfo=PHNOM_PENH
    )


def test_phnom_penh_the_previous_working_day_skips_peace_day(phnom_penh, phnom_penh_calendar):
    wednesday = datetime(2026, 12, 30, 9, 0)  # Tuesday 29 December is Peace Day in Cambodia
    assert booking_closes_at(phnom_penh, phnom_penh_calendar, wednesday) == datetime(
        2026, 12, 28, 11, 0, tzinfo=PHNOM_PENH
    )


def test_nairobi_48_hours_before_a_monday_after_the_new_year_is_the_saturday(nairobi, nairobi_calendar):
    assert booking_closes_at(nairobi, nairobi_calendar, datetime(2027, 1, 4, 8, 0)) == datetime(
        2027, 1, 2, 8, 0, tzinfo=NAIROBI
    )


def test_three_working_days_prior_reach_back_over_new_years_day_into_the_old_year(nairobi, nairobi_calendar):
    tuesday = datetime(2027, 1, 5, 8, 30)
    assert last_change_on(nairobi, nairobi_calendar, tuesday) == date(2026, 12, 30)


@pytest.mark.parametrize(
    ("post", "appointment"),
    [("nairobi", datetime(2026, 8, 5, 8, 30)), ("phnom-penh", datetime(2026, 8, 10, 9, 0))],
)
def test_a_booking_one_second_before_the_closing_time_is_taken_and_one_second_after_is_not(
    posts, post, appointment
):
    rules = posts.post(post)
    calendar = build_post_calendar(rules, date(2026, 1, 1), date(2027, 12, 31))
    closes = booking_closes_at(rules, calendar, appointment)
    day, at = appointment.date(), appointment.time()
    assert still_bookable(rules, calendar, day, at, closes - timedelta(seconds=1))
    assert not still_bookable(rules, calendar, day, at, closes)
    assert not still_bookable(rules, calendar, day, at, closes + timedelta(seconds=1))


def test_closing_rule_text_nairobi(nairobi):
    assert closing_rule_text(nairobi) == (
        "The closing time for appointments is 48 hours before the appointment."
    )


def test_closing_rule_text_phnom_penh(phnom_penh):
    assert closing_rule_text(phnom_penh) == (
        "The closing time for appointments is 11:00 a.m. the previous working day before the "
        "interview date."
    )


def test_closing_rule_text_in_the_afternoon(phnom_penh):
    post = phnom_penh.model_copy(
        update={"appointment_closing": PreviousWorkingDayClosing(kind="previous_working_day_at", at=time(14, 30))}
    )
    assert "2:30 p.m. the previous working day" in closing_rule_text(post)


def test_change_rule_text(nairobi):
    assert change_rule_text(nairobi) == (
        "If you cannot attend the rescheduled appointment, please cancel or reschedule it at least "
        "three working days before your appointment date. Otherwise, you will need to wait until "
        "the appointment date has passed to reschedule."
    )


def test_change_rule_text_one_working_day(nairobi):
    post = nairobi.model_copy(update={"cancel_notice_working_days": 1})
    assert "at least one working day before" in change_rule_text(post)
