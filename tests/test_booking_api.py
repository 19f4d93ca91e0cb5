"""Booking through the API with the applicant's secret, and from the CLI: the real Desk
and worker on Temporal's time-skipping server, so the approval email's release and the
appointment's day come when the test says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import httpx
import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.api import create_app
from reschedule_desk.console.access import Role
from reschedule_desk.desk import Desk
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.settings import Settings
from tests.conftest import bearer, filed_request, intake_token, running_worker, settings_for, staff_token
from tests.console.test_browser import _NoSearchAttributes
from tests.test_cli import _cli
from tests.workflows.test_booking import days_after_window, publish, sleep_until
from tests.workflows.test_reschedule_request import approval_emailed
from workflows.reschedule_request import RescheduleRequestWorkflow

OFFICER = "officer.kim"
EIGHT = time(8, 0)


@dataclass
class Booking:
    api: httpx.AsyncClient
    env: WorkflowEnvironment
    settings: Settings
    officer: dict[str, str]

    async def approved_and_emailed(self) -> tuple[str, dict[str, str], WorkflowHandle]:
        """A request submitted by the scheduling site, approved by an officer, its approval
        email sent: the case number, the applicant's secret header, the workflow."""
        document = filed_request(self.settings.database_url, now=await self.env.get_current_time())
        submitted = await self.api.post(
            "/api/requests", json=document, headers=bearer(intake_token(self.settings.database_url))
        )
        assert submitted.status_code == 201, submitted.text
        case_number = document["case_number"]
        handle = self.env.client.get_workflow_handle(workflow_id_for(case_number))
        for _ in range(200):
            approved = await self.api.post(f"/api/requests/{case_number}/approve", json={}, headers=self.officer)
            if approved.status_code == 200:
                break
        assert approved.status_code == 200, approved.text
        await approval_emailed(self.env, handle)
        return case_number, {"X-Applicant-Secret": submitted.json()["applicant_secret"]}, handle


@pytest.fixture
async def booking(time_skipping_env: WorkflowEnvironment, desk_settings: Settings) -> AsyncIterator[Booking]:
    config = time_skipping_env.client.config()
    client = Client(**{**config, "interceptors": [*config["interceptors"], _NoSearchAttributes()]})
    app = create_app(desk=Desk(client, desk_settings), settings=desk_settings)
    officer = bearer(staff_token(desk_settings.database_url, OFFICER, Role.OFFICER, ["nairobi"]))
    async with running_worker(time_skipping_env.client, desk_settings):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://desk") as api:
            yield Booking(api, time_skipping_env, desk_settings, officer)
    app.state.console.close()


async def test_the_applicant_books_from_the_open_slots_with_the_secret_and_cancels(booking: Booking) -> None:
    case_number, applicant, handle = await booking.approved_and_emailed()
    nothing = (await booking.api.get(f"/api/requests/{case_number}/open-slots", headers=applicant)).json()
    assert nothing["slots"] == []
    assert nothing["message"] == "There are no appointments available. Please check again in 72 hours."

    status = await handle.query(RescheduleRequestWorkflow.status)
    (day,) = days_after_window(booking.settings, "nairobi", status, 5)
    publish(booking.settings, "nairobi", [day], [EIGHT, time(9, 0)], 2, await booking.env.get_current_time())
    offered = (await booking.api.get(f"/api/requests/{case_number}/open-slots", headers=applicant)).json()
    assert offered["book_by"] and offered["message"] is None
    assert [(slot["day"], slot["time"], slot["seats_left"]) for slot in offered["slots"]] == [
        (day.isoformat(), "08:00:00", 2), (day.isoformat(), "09:00:00", 2),
    ]

    booked = await booking.api.post(
        f"/api/requests/{case_number}/book", json={"day": day.isoformat(), "time": "08:00"}, headers=applicant
    )
    assert booked.status_code == 200, booked.text
    assert booked.json()["status"] == "BOOKED" and booked.json()["appointment"]["day"] == day.isoformat()
    again = await booking.api.post(
        f"/api/requests/{case_number}/book", json={"day": day.isoformat(), "time": "09:00"}, headers=applicant
    )
    assert again.status_code == 409 and "not AWAITING_BOOKING" in again.json()["detail"]

    cancelled = await booking.api.post(f"/api/requests/{case_number}/cancel-booking", headers=applicant)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "AWAITING_BOOKING"
    assert cancelled.json()["book_by"]


async def test_a_wrong_secret_books_nothing(booking: Booking) -> None:
    case_number, _, handle = await booking.approved_and_emailed()
    status = await handle.query(RescheduleRequestWorkflow.status)
    (day,) = days_after_window(booking.settings, "nairobi", status, 5)
    publish(booking.settings, "nairobi", [day], [EIGHT], 2, await booking.env.get_current_time())
    refused = await booking.api.post(
        f"/api/requests/{case_number}/book",
        json={"day": day.isoformat(), "time": "08:00"},
        headers={"X-Applicant-Secret": "not-the-secret"},
    )
    assert refused.status_code == 401
    assert (await handle.query(RescheduleRequestWorkflow.status)).status is RequestState.AWAITING_BOOKING


async def test_a_booking_body_that_is_not_a_day_and_time_is_refused_naming_the_field(booking: Booking) -> None:
    case_number, applicant, _ = await booking.approved_and_emailed()
    refused = await booking.api.post(
        f"/api/requests/{case_number}/book", json={"day": "next tuesday", "time": "08:00"}, headers=applicant
    )
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "day"]


async def test_an_officer_records_attendance_through_the_api_on_the_day_only(booking: Booking) -> None:
    case_number, applicant, handle = await booking.approved_and_emailed()
    status = await handle.query(RescheduleRequestWorkflow.status)
    (day,) = days_after_window(booking.settings, "nairobi", status, 5)
    publish(booking.settings, "nairobi", [day], [EIGHT], 2, await booking.env.get_current_time())
    await booking.api.post(f"/api/requests/{case_number}/book", json={"day": day.isoformat(), "time": "08:00"}, headers=applicant)

    early = await booking.api.post(
        f"/api/requests/{case_number}/record-attendance", json={"attended": True}, headers=booking.officer
    )
    assert early.status_code == 409 and "cannot record attendance" in early.json()["detail"]
    zone = booking.settings.posts.post("nairobi").zone
    await sleep_until(booking.env, datetime.combine(day, time(11, 0), tzinfo=zone))
    recorded = await booking.api.post(
        f"/api/requests/{case_number}/record-attendance", json={"attended": True}, headers=booking.officer
    )
    assert recorded.status_code == 200 and recorded.json()["status"] == "ATTENDED"
    assert recorded.json()["history"][-1]["actor"] == OFFICER


async def test_the_cli_books_and_records_attendance(
    booking: Booking, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_number, _, handle = await booking.approved_and_emailed()
    settings = settings_for(booking.env, booking.settings)
    status = await handle.query(RescheduleRequestWorkflow.status)
    (day,) = days_after_window(booking.settings, "nairobi", status, 5)
    publish(booking.settings, "nairobi", [day], [EIGHT], 2, await booking.env.get_current_time())

    code, _, err = await _cli(settings, monkeypatch, "book", case_number, "--day", day.isoformat(), "--time", "8 am")
    assert code == 2 and "--time: '8 am' is not a time of day" in err
    code, out, _ = await _cli(settings, monkeypatch, "book", case_number, "--day", day.isoformat(), "--time", "08:00")
    assert code == 0 and '"BOOKED"' in out
    code, _, err = await _cli(
        settings, monkeypatch, "record-attendance", case_number, "--officer", OFFICER, "--outcome", "missed"
    )
    assert code == 1 and "cannot record attendance" in err
    zone = booking.settings.posts.post("nairobi").zone
    await sleep_until(booking.env, datetime.combine(day + timedelta(days=1), time(9, 0), tzinfo=zone))
    code, out, _ = await _cli(
        settings, monkeypatch, "record-attendance", case_number, "--officer", OFFICER, "--outcome", "missed"
    )
    assert code == 0 and '"MISSED"' in out
