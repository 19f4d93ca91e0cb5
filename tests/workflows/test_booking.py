"""After the approval email: the applicant books, changes and keeps the appointment, on
Temporal's time-skipping test server with the real activities and appointment book.

The posts' rules, in the pages' words: "Once you receive the e-mail, return to the
website and schedule a new appointment"; "the closing time for appointments is 48 hours"
(Nairobi), "11:00 a.m. the previous working day" (Phnom Penh); "cancel or reschedule your
appointment at least three working days prior to your appointment date. Otherwise, you
will need to wait until the appointment date has passed".
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.domain.appointments import booking_closes_at, last_change_on
from reschedule_desk.domain.calendar import PostCalendar, build_post_calendar
from reschedule_desk.domain.decisions import Approval, Attendance, BookingCancellation, BookingChoice
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import Settings
from reschedule_desk.storage import appointment_book
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import InterviewSlot, SlotBooking
from tests.conftest import filed_reschedule_request, running_worker
from tests.workflows.test_reschedule_request import (
    OFFICER,
    approval_emailed,
    emails_sent,
    keep_history,
    submit,
    submitted_for_review,
)
from workflows.reschedule_request import RescheduleRequestWorkflow

EIGHT, NINE = time(8, 0), time(9, 0)


def post_calendar(settings: Settings, post: str, today: date) -> PostCalendar:
    return build_post_calendar(settings.posts.post(post), today, today + timedelta(days=400))


def publish(settings: Settings, post: str, days: list[date], times: list[time], capacity: int, now: datetime) -> None:
    """A supervisor publishes the slots, as `reschedule slots add` does."""
    engine = make_engine(settings.database_url)
    calendar = post_calendar(settings, post, now.astimezone(settings.posts.post(post).zone).date())
    with make_sessionmaker(engine).begin() as session:
        for day in days:
            appointment_book.publish_slots(
                session, settings.posts.post(post), calendar, day, day, times, capacity, "supervisor.otieno", now
            )
    engine.dispose()


def book_rows(settings: Settings) -> tuple[list[SlotBooking], dict[tuple[date, time], int]]:
    """Every booking, oldest first, and each slot's booked seats."""
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        bookings = list(session.scalars(select(SlotBooking).order_by(SlotBooking.id)))
        seats = {(slot.day, slot.time): slot.seats_booked for slot in session.scalars(select(InterviewSlot))}
        session.expunge_all()
    engine.dispose()
    return bookings, seats


async def sleep_until(env: WorkflowEnvironment, moment: datetime) -> None:
    wait = moment - await env.get_current_time()
    if wait > timedelta(0):
        await env.sleep(wait)


async def step_taken(handle: WorkflowHandle, action: str) -> RequestStatus:
    for _ in range(200):
        status = await handle.query(RescheduleRequestWorkflow.status)
        if any(step.action == action for step in status.history):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {action} step")


async def booking_open(
    env: WorkflowEnvironment, settings: Settings, request: RescheduleRequest | None = None
) -> tuple[WorkflowHandle, RequestStatus]:
    """A request approved, its approval email sent, its booking window open."""
    handle, _ = await submitted_for_review(env, settings, request)
    await handle.execute_update(RescheduleRequestWorkflow.approve, Approval(officer_id=OFFICER))
    return handle, await approval_emailed(env, handle)


def days_after_window(settings: Settings, post: str, status: RequestStatus, *counts: int) -> list[date]:
    """Business days that many business days after the booking window's end."""
    zone = settings.posts.post(post).zone
    window_end = status.window_ends_at.astimezone(zone).date()
    calendar = post_calendar(settings, post, window_end)
    return [calendar.business_days_after(window_end, count) for count in counts]


async def refusal(handle: WorkflowHandle, update, argument) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, argument)
    return str(refused.value.cause)


async def test_approved_reminded_booked_cancelled_rebooked_attended(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, opened = await booking_open(env, desk_settings)
        first, second = days_after_window(desk_settings, "nairobi", opened, 5, 8)
        publish(desk_settings, "nairobi", [first, second], [EIGHT, NINE], 5, await env.get_current_time())

        await sleep_until(env, opened.reminder_at + timedelta(seconds=1))
        await step_taken(handle, "remind")
        booked = await handle.execute_update(RescheduleRequestWorkflow.book, BookingChoice(day=first, time=EIGHT))
        assert booked.status is RequestState.BOOKED
        assert (booked.appointment.day, booked.appointment.time, booked.appointment.seats) == (first, EIGHT, 1)
        assert booked.window_ends_at is None, "a booked appointment runs no window"

        cancelled = await handle.execute_update(
            RescheduleRequestWorkflow.cancel_booking, BookingCancellation(reason="A family emergency")
        )
        assert cancelled.status is RequestState.AWAITING_BOOKING and cancelled.appointment is None
        assert cancelled.window_ends_at > opened.window_ends_at, "a cancellation opens the booking window again"

        await handle.execute_update(RescheduleRequestWorkflow.book, BookingChoice(day=second, time=NINE))
        zone = desk_settings.posts.post("nairobi").zone
        await sleep_until(env, datetime.combine(second, time(9, 40), tzinfo=zone))
        await handle.execute_update(
            RescheduleRequestWorkflow.record_attendance, Attendance(officer_id=OFFICER, attended=True)
        )
        final = await handle.result()

    assert final.status is RequestState.ATTENDED and final.appointment.day == second
    assert [step.action for step in final.history] == [
        "screen", "approve", "open_booking", "remind", "book", "cancel_booking", "book", "record_attended",
    ]
    assert emails_sent(desk_settings) == [
        "acknowledgement", "approved", "booking_reminder", "booked", "booking_cancelled", "booked",
    ]
    bookings, seats = book_rows(desk_settings)
    assert [(b.slot.day, b.cancelled_at is not None) for b in bookings] == [(first, True), (second, False)]
    assert seats[(first, EIGHT)] == 0, "the cancelled seat went back to the book"
    assert seats[(second, NINE)] == 1
    await keep_history(handle, "booking_attended")


async def test_an_approval_never_booked_is_reminded_then_expires_with_an_email(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, opened = await booking_open(env, desk_settings)
        final = await handle.result()

    assert final.status is RequestState.EXPIRED
    assert [step.action for step in final.history][-3:] == ["open_booking", "remind", "expire"]
    assert final.history[-1].rule == "booking_window_ran_out"
    assert final.history[-1].at >= opened.window_ends_at
    assert emails_sent(desk_settings)[-2:] == ["booking_reminder", "expired"]
    await keep_history(handle, "booking_expired")


async def test_too_late_to_cancel_means_waiting_until_the_appointment_date_has_passed_then_missed(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    post = desk_settings.posts.post("nairobi")
    async with running_worker(env.client, desk_settings):
        request = filed_reschedule_request(desk_settings.database_url, now=await env.get_current_time())
        handle, opened = await booking_open(env, desk_settings, request)
        first, later = days_after_window(desk_settings, "nairobi", opened, 5, 9)
        publish(desk_settings, "nairobi", [first, later], [EIGHT], 5, await env.get_current_time())
        await handle.execute_update(RescheduleRequestWorkflow.book, BookingChoice(day=first, time=EIGHT))

        calendar = post_calendar(desk_settings, "nairobi", first - timedelta(days=30))
        last_day = last_change_on(post, calendar, datetime.combine(first, EIGHT))
        await sleep_until(env, datetime.combine(last_day + timedelta(days=1), time(10, 0), tzinfo=post.zone))
        too_late = await refusal(handle, RescheduleRequestWorkflow.cancel_booking, BookingCancellation())
        assert "at least three working days" in too_late
        assert "wait until the appointment date has passed" in too_late
        assert "wait until the appointment date has passed" in await refusal(
            handle, RescheduleRequestWorkflow.reschedule_booking, BookingChoice(day=later, time=EIGHT)
        )
        assert "cannot record attendance" in await refusal(
            handle, RescheduleRequestWorkflow.record_attendance, Attendance(officer_id=OFFICER, attended=False)
        )

        # The appointment's date has passed: the applicant may reschedule again.
        await sleep_until(env, datetime.combine(first + timedelta(days=1), time(10, 0), tzinfo=post.zone))
        moved = await handle.execute_update(
            RescheduleRequestWorkflow.reschedule_booking, BookingChoice(day=later, time=EIGHT)
        )
        assert moved.status is RequestState.BOOKED and moved.appointment.day == later
        await sleep_until(env, datetime.combine(later, time(12, 0), tzinfo=post.zone))
        await handle.execute_update(
            RescheduleRequestWorkflow.record_attendance, Attendance(officer_id=OFFICER, attended=False)
        )
        final = await handle.result()

        assert final.status is RequestState.MISSED
        assert emails_sent(desk_settings)[-3:] == ["booked", "booked", "missed"]
        bookings, seats = book_rows(desk_settings)
        assert [b.cancelled_at is not None for b in bookings] == [True, False]
        assert seats[(first, EIGHT)] == 0 and seats[(later, EIGHT)] == 1
        await keep_history(handle, "booking_rescheduled_missed")

        # "Missed again": a new request for the case can be made (the desk refuses a
        # second one only while a request of the case is running).
        again = await submit(env, desk_settings, request)
        assert again.result_run_id != handle.result_run_id


@pytest.mark.parametrize("post", ["nairobi", "phnom-penh"])
async def test_booking_one_second_before_the_closing_time_is_taken_one_second_after_is_refused(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings, post: str
) -> None:
    env = time_skipping_env
    rules = desk_settings.posts.post(post)
    now = await env.get_current_time()
    async with running_worker(env.client, desk_settings):
        early, opened = await booking_open(env, desk_settings, filed_reschedule_request(desk_settings.database_url, post, now=now))
        late, _ = await booking_open(env, desk_settings, filed_reschedule_request(desk_settings.database_url, post, now=now))
        # A Monday inside the booking window: Phnom Penh's closing falls on the Friday
        # before, over the weekend.
        today = (await env.get_current_time()).astimezone(rules.zone).date()
        monday = today + timedelta(days=7 + (7 - today.weekday()) % 7)
        calendar = post_calendar(desk_settings, post, today)
        while not calendar.is_business_day(monday):
            monday += timedelta(days=7)
        publish(desk_settings, post, [monday], [EIGHT], 5, await env.get_current_time())
        closes = booking_closes_at(rules, calendar, datetime.combine(monday, EIGHT))
        if post == "phnom-penh":
            assert closes.time() == time(11, 0) and closes.date() < monday - timedelta(days=2)

        await sleep_until(env, closes - timedelta(seconds=1))
        booked = await early.execute_update(RescheduleRequestWorkflow.book, BookingChoice(day=monday, time=EIGHT))
        assert booked.status is RequestState.BOOKED
        await sleep_until(env, closes + timedelta(seconds=1))
        refused = await refusal(late, RescheduleRequestWorkflow.book, BookingChoice(day=monday, time=EIGHT))
        assert "closed" in refused and "The closing time for appointments is" in refused
        assert (await late.query(RescheduleRequestWorkflow.status)).status is RequestState.AWAITING_BOOKING


async def test_a_full_slot_is_refused_and_with_nothing_open_says_check_again_in_72_hours(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        first, opened = await booking_open(env, desk_settings)
        second, _ = await booking_open(env, desk_settings)
        (day,) = days_after_window(desk_settings, "nairobi", opened, 5)
        publish(desk_settings, "nairobi", [day], [EIGHT], 1, await env.get_current_time())
        await first.execute_update(RescheduleRequestWorkflow.book, BookingChoice(day=day, time=EIGHT))
        refused = await refusal(second, RescheduleRequestWorkflow.book, BookingChoice(day=day, time=EIGHT))

    assert "0 of 1 seats left" in refused
    assert "There are no appointments available. Please check again in 72 hours." in refused
    assert book_rows(desk_settings)[1][(day, EIGHT)] == 1, "never oversold"


async def test_a_day_the_post_does_not_work_is_refused_with_the_reason(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    async with running_worker(env.client, desk_settings):
        handle, opened = await booking_open(env, desk_settings)
        (day,) = days_after_window(desk_settings, "nairobi", opened, 5)
        saturday = day + timedelta(days=(5 - day.weekday()) % 7)
        refused = await refusal(handle, RescheduleRequestWorkflow.book, BookingChoice(day=saturday, time=EIGHT))
    assert f"{saturday} is not a business day at U.S. Embassy Nairobi (a weekend)" in refused


async def test_cases_of_one_petitioner_share_one_appointment(
    time_skipping_env: WorkflowEnvironment, desk_settings: Settings
) -> None:
    env = time_skipping_env
    now = await env.get_current_time()
    async with running_worker(env.client, desk_settings):
        elder, opened = await booking_open(
            env, desk_settings, filed_reschedule_request(desk_settings.database_url, now=now, petitioner_id="P-SHARED")
        )
        younger, _ = await booking_open(
            env, desk_settings, filed_reschedule_request(desk_settings.database_url, now=now, petitioner_id="P-SHARED")
        )
        (day,) = days_after_window(desk_settings, "nairobi", opened, 5)
        publish(desk_settings, "nairobi", [day], [EIGHT, NINE], 5, await env.get_current_time())
        booked = await elder.execute_update(RescheduleRequestWorkflow.book, BookingChoice(day=day, time=EIGHT))
        elsewhere = await refusal(younger, RescheduleRequestWorkflow.book, BookingChoice(day=day, time=NINE))
        joined = await younger.execute_update(RescheduleRequestWorkflow.book, BookingChoice(day=day, time=EIGHT))

    assert f"case {booked.case_number} of the same petitioner is booked on" in elsewhere
    assert "share one appointment" in elsewhere
    assert joined.appointment.slot_id == booked.appointment.slot_id
    assert book_rows(desk_settings)[1] == {(day, EIGHT): 2, (day, NINE): 0}
