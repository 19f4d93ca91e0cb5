"""The calendar of open appointments, booking, moving and cancelling from the pages, the
workflow's refusals on the page, and the printable confirmation (with a stand-in Desk;
test_applicant_browser.py runs the real workflow)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from reschedule_desk.domain.appointments import Appointment, change_rule_text, closing_rule_text
from reschedule_desk.domain.decisions import BookingCancellation, BookingChoice
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.settings import TEMPLATES_DIR
from tests.applicant_pages.conftest import NOW

# NOW is Monday 23 November 2026, 09:00 in Nairobi (13:00 in Phnom Penh).
BOOK_BY = datetime(2026, 12, 18, 13, 30, tzinfo=UTC)


def slot_label(day: str, at: str) -> str:
    return f'aria-label="{day} at {at}"'


async def signed_in(visitor, stored):
    page = visitor()
    assert (await page.sign_in(stored.case_number, stored.secret)).status_code == 303
    return page


async def test_no_open_slot_says_check_again_in_the_posts_hours(visitor, awaiting_booking) -> None:
    page = await signed_in(visitor, awaiting_booking())
    shown = await page.get("/applicant/appointments")
    assert shown.status_code == 200
    assert "There are no appointments available. Please check again in 72 hours." in shown.text


async def test_the_calendar_offers_open_slots_by_day_from_today_to_the_booking_horizon(
    visitor, awaiting_booking, publish
) -> None:
    publish("nairobi", date(2026, 11, 30), date(2026, 12, 1), [time(8, 0), time(8, 30)])
    publish("nairobi", date(2026, 12, 21), date(2026, 12, 21), [time(8, 0)])  # after the book-by day
    publish("nairobi", date(2027, 3, 25), date(2027, 3, 25), [time(8, 0)])  # past the 120-day horizon
    page = await signed_in(visitor, awaiting_booking(book_by=BOOK_BY))
    shown = (await page.get("/applicant/appointments")).text
    for day in ("Monday 30 November 2026", "Tuesday 1 December 2026"):
        assert f"{day}</h3>" in shown
        assert slot_label(day, "08:00") in shown and slot_label(day, "08:30") in shown
    assert shown.index("Monday 30 November 2026") < shown.index("Tuesday 1 December 2026")
    assert "Monday 21 December 2026</h3>" in shown, "the book-by day limits when to book, not the appointment"
    assert "25 March 2027" not in shown
    assert "Book before Friday 18 December 2026, 16:30 (Africa/Nairobi)" in shown
    assert "/applicant/appointments/choose?day=2026-11-30&amp;time=08:30" in shown


@pytest.mark.parametrize(
    ("post", "closed", "open_"),
    [
        # 48 hours before: Wednesday 08:30 closed at Monday 08:30, 10:00 closes at 10:00.
        ("nairobi", (date(2026, 11, 25), time(8, 30)), (date(2026, 11, 25), time(10, 0))),
        # 11:00 the previous working day: Water Festival and Thanksgiving put Friday's
        # previous working day back on Friday 20 November; Monday 30's is Friday 27.
        ("phnom-penh", (date(2026, 11, 27), time(8, 0)), (date(2026, 11, 30), time(8, 0))),
    ],
)
async def test_a_slot_past_the_posts_closing_time_is_not_offered(
    visitor, awaiting_booking, publish, post: str, closed: tuple[date, time], open_: tuple[date, time]
) -> None:
    for day, at in (closed, open_):
        publish(post, day, day, [at])
    page = await signed_in(visitor, awaiting_booking(post))
    shown = (await page.get("/applicant/appointments")).text

    def label(day: date, at: time) -> str:
        return slot_label(f"{day:%A} {day.day} {day:%B %Y}", f"{at:%H:%M}")

    assert label(*open_) in shown
    assert label(*closed) not in shown


async def test_choosing_a_time_shows_it_with_the_posts_rules_before_booking(visitor, awaiting_booking, publish) -> None:
    publish("nairobi", date(2026, 11, 30), date(2026, 11, 30), [time(8, 30)])
    page = await signed_in(visitor, awaiting_booking())
    shown = (await page.get("/applicant/appointments/choose?day=2026-11-30&time=08:30")).text
    assert "Monday 30 November 2026, 08:30 (Africa/Nairobi)" in shown
    # Three working days before Monday 30 November: Thursday 26 is Thanksgiving.
    assert "The last day to cancel or reschedule this appointment is Tuesday 24 November 2026." in shown
    assert 'action="/applicant/appointments/book"' in shown


async def test_booking_sends_the_choice_to_the_signed_in_request_only(visitor, awaiting_booking, desk) -> None:
    stored = awaiting_booking()
    page = await signed_in(visitor, stored)
    response = await page.submit("/applicant/appointments/book", {"day": "2026-11-30", "time": "08:30"})
    assert response.status_code == 303 and response.headers["location"] == "/applicant/request?done=booked"
    choice = BookingChoice(day=date(2026, 11, 30), time=time(8, 30))
    assert desk.sent == [(stored.case_number, "book", choice, stored.request_id)]


async def test_a_booked_request_moves_and_cancels_its_appointment(visitor, awaiting_booking, desk) -> None:
    stored = awaiting_booking(state=RequestState.BOOKED, appointment=appointment_on(date(2026, 12, 7), time(9, 0)))
    page = await signed_in(visitor, stored)
    moved = await page.submit("/applicant/appointments/reschedule", {"day": "2026-12-08", "time": "08:00"})
    assert moved.headers["location"] == "/applicant/request?done=rescheduled"
    cancelled = await page.submit("/applicant/appointments/cancel", {"reason": "I am ill that week."})
    assert cancelled.headers["location"] == "/applicant/request?done=cancelled"
    assert [(action, decision) for _, action, decision, _ in desk.sent] == [
        ("reschedule_booking", BookingChoice(day=date(2026, 12, 8), time=time(8, 0))),
        ("cancel_booking", BookingCancellation(reason="I am ill that week.")),
    ]


async def test_the_workflows_refusal_is_shown_on_the_page(visitor, awaiting_booking, desk) -> None:
    stored = awaiting_booking(state=RequestState.BOOKED, appointment=appointment_on(date(2026, 11, 25), time(9, 0)))
    page = await signed_in(visitor, stored)
    desk.refusal = (
        "cannot cancel_booking: the last day to cancel or reschedule the appointment on 2026-11-25 was 2026-11-19. "
        "Otherwise, you will need to wait until the appointment date has passed to reschedule."
    )
    refused = await page.submit("/applicant/appointments/cancel")
    assert refused.status_code == 409
    assert "The appointment was not cancelled. The last day to cancel or reschedule" in refused.text
    assert "wait until the appointment date has passed" in refused.text


async def test_a_time_not_from_the_calendar_is_refused_before_the_workflow(visitor, awaiting_booking, desk) -> None:
    page = await signed_in(visitor, awaiting_booking())
    refused = await page.submit("/applicant/appointments/book", {"day": "2026-11-30", "time": "8.30am"})
    assert refused.status_code == 422 and "Choose a time from the calendar" in refused.text
    assert desk.sent == []


async def test_the_booked_request_shows_its_appointment_beside_the_posts_rules(
    visitor, awaiting_booking, posts
) -> None:
    stored = awaiting_booking(state=RequestState.BOOKED, appointment=appointment_on(date(2026, 11, 30), time(8, 30)))
    page = await signed_in(visitor, stored)
    shown = (await page.get("/applicant/request")).text
    nairobi = posts.post("nairobi")
    assert "Monday 30 November 2026, 08:30 (Africa/Nairobi)" in shown
    assert closing_rule_text(nairobi) in shown and change_rule_text(nairobi) in shown
    assert "The last day to cancel or reschedule this appointment is Tuesday 24 November 2026." in shown
    assert 'href="/applicant/confirmation"' in shown


async def test_the_printable_confirmation_names_the_case_applicants_post_and_local_time(
    visitor, awaiting_booking
) -> None:
    stored = awaiting_booking(state=RequestState.BOOKED, appointment=appointment_on(date(2026, 11, 30), time(8, 30)))
    page = await signed_in(visitor, stored)
    shown = (await page.get("/applicant/confirmation")).text
    for fact in (
        "Appointment Confirmation",
        stored.case_number,
        "Wanjiru Kamau",
        "U.S. Embassy Nairobi",
        "Monday 30 November 2026",
        "08:30 (Africa/Nairobi, the post's local time)",
        "The closing time for appointments is 48 hours before the appointment.",
    ):
        assert fact in shown, fact


def test_the_print_style_sheet_leaves_out_the_header_and_every_button() -> None:
    sheet = (TEMPLATES_DIR / "applicant" / "applicant.css").read_text()
    printed = sheet[sheet.index("@media print") :]
    assert all(part in printed for part in (".bar", "nav", "form", "button", "a.button", "display: none"))


async def test_without_an_appointment_the_confirmation_leads_back_to_the_request(visitor, awaiting_booking) -> None:
    page = await signed_in(visitor, awaiting_booking())
    response = await page.get("/applicant/confirmation")
    assert response.status_code == 303 and response.headers["location"] == "/applicant/request"


def appointment_on(day: date, at: time) -> Appointment:
    return Appointment(booking_id=1, slot_id=1, post="nairobi", day=day, time=at, seats=1, booked_at=NOW)
