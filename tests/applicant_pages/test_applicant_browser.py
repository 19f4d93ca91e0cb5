"""The applicant's pages in a real headless browser (Debian's chromium, by Playwright) on
the real path: a request submitted through the API and approved by an officer through
the API; Temporal's time-skipping server passes the 5 business days and the approval
email goes out; a supervisor publishes slots; then in the browser the applicant signs in
with the secret of the acknowledgement email, sees the calendar, books, sees the booked
appointment, opens the printable version, cancels, books again and moves it. Each page at
1280 px and 390 px wide, kept in var/screenshots/applicant-*.png; every page fits 390 px.
Neither the secret's address nor any log line holds the secret.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.api import create_app
from reschedule_desk.console.access import Role
from reschedule_desk.desk import Desk
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.settings import Settings
from reschedule_desk.storage import appointment_book
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from tests.conftest import bearer, filed_request, free_port, intake_token, running_worker, staff_token
from tests.console.test_browser import (  # noqa: F401 (chromium is a fixture)
    CHROMIUM_ARGS,
    NARROW,
    SCREENSHOTS,
    WIDE,
    _NoSearchAttributes,
    chromium,
    fits,
    pending_review,
)
from tests.privacy.test_logs import everything_logged

SLOT_TIMES = ["08:00", "08:30", "09:00"]


@dataclass
class Served:
    url: str
    app: FastAPI
    settings: Settings


@pytest.fixture
async def served(
    time_skipping_env: WorkflowEnvironment, console_settings: Settings, smtp_server
) -> AsyncIterator[Served]:
    """The whole app (API, console, applicant's pages) served by uvicorn on 127.0.0.1, with
    the real Desk and worker on the time-skipping server, and mail going over SMTP to the
    test sink. Uvicorn's own logging is left to the test's (its access lines included)."""
    settings = replace(console_settings, smtp_url=smtp_server.url)
    config = time_skipping_env.client.config()
    client = Client(**{**config, "interceptors": [*config["interceptors"], _NoSearchAttributes()]})
    app = create_app(desk=Desk(client, settings), settings=settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="info", access_log=True)
    )
    async with running_worker(time_skipping_env.client, settings):
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        try:
            yield Served(f"http://127.0.0.1:{port}", app, settings)
        finally:
            server.should_exit = True
            await serving


async def state_is(api: httpx.AsyncClient, case: str, staff: dict[str, str], state: str) -> dict:
    for _ in range(400):
        response = await api.get(f"/api/requests/{case}", headers=staff)
        if response.status_code == 200 and response.json()["status"] == state:
            return response.json()
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case} never reached {state}: {response.json().get('status')}")


def secret_of_acknowledgement(smtp_server, case: str) -> str:
    for message in smtp_server.messages:
        if case in message["Subject"]:
            found = re.search(r"secret code: (\S+)", message.get_body(("plain",)).get_content())
            if found:
                return found.group(1)
    raise AssertionError(f"no acknowledgement with a secret for {case}")


def publish_slots(settings: Settings, posts: PostsConfig, now: datetime) -> list[str]:
    """Slots at SLOT_TIMES on the post's business days from a week after `now` (the test
    server's clock): well before the booking window ends, and well after the notice to
    cancel. Returns the days published, YYYY-MM-DD."""
    post = posts.post("nairobi")
    today = now.astimezone(post.zone).date()
    calendar = build_post_calendar(post, today - timedelta(days=400), today + timedelta(days=400))
    first = today + timedelta(days=7)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            times = [datetime.strptime(text, "%H:%M").time() for text in SLOT_TIMES]
            report = appointment_book.publish_slots(
                session, post, calendar, first, first + timedelta(days=4), times, 4, "supervisor.otieno", now
            )
            return sorted({slot.day.isoformat() for slot in report.published})
    finally:
        engine.dispose()


async def both_widths(pages, name: str) -> None:
    """The same page at 1280 and 390 px: screenshots of both, and it fits the phone."""
    wide, phone = pages
    await phone.goto(wide.url)
    await wide.screenshot(path=SCREENSHOTS / f"applicant-{name}.png", full_page=True)
    await phone.screenshot(path=SCREENSHOTS / f"applicant-{name}-390px.png", full_page=True)
    assert await fits(phone, NARROW["width"]), f"the {name} page scrolls sideways at 390 px"


async def test_the_applicant_signs_in_books_prints_cancels_and_books_again_in_the_browser(
    chromium: Path,
    served: Served,
    time_skipping_env: WorkflowEnvironment,
    smtp_server,
    posts: PostsConfig,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from playwright.async_api import async_playwright, expect

    caplog.set_level(logging.DEBUG)
    env = time_skipping_env
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    settings = served.settings
    document = filed_request(settings.database_url, now=await env.get_current_time())
    case = document["case_number"]
    auditor = bearer(staff_token(settings.database_url, "auditor.lee", Role.AUDITOR, []))
    officer = bearer(staff_token(settings.database_url, "officer.kim", Role.OFFICER, ["nairobi"]))
    async with httpx.AsyncClient(base_url=served.url) as api:
        submitted = await api.post("/api/requests", json=document, headers=bearer(intake_token(settings.database_url)))
        assert submitted.status_code == 201
        await pending_review(api, case, auditor)
        approved = await api.post(f"/api/requests/{case}/approve", json={"note": "Medical hold"}, headers=officer)
        assert approved.status_code == 200, approved.text
        # The test server skips time only when told: past the approval email's release.
        release_at = datetime.fromisoformat(approved.json()["approval_email_release_at"])
        await env.sleep(release_at - await env.get_current_time() + timedelta(minutes=1))
        awaiting = await state_is(api, case, auditor, "AWAITING_BOOKING")
    assert any("reschedule approved" in message["Subject"] for message in smtp_server.messages)
    secret = secret_of_acknowledgement(smtp_server, case)
    assert secret == submitted.json()["applicant_secret"]

    # The pages' clock is the test server's, as the workflow's is.
    skipped = await env.get_current_time() - datetime.now(UTC)
    served.app.state.console.clock = lambda: datetime.now(UTC) + skipped
    days = publish_slots(settings, posts, await env.get_current_time())
    assert len(days) >= 3, days

    addresses: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            contexts = [await browser.new_context(viewport=WIDE), await browser.new_context(viewport=NARROW)]
            for context in contexts:
                context.on("request", lambda request: addresses.append(request.url))
            pages = [await context.new_page() for context in contexts]
            page = pages[0]

            # Signing in, on both screens (each has a session of its own).
            for each in pages:
                await each.goto(f"{served.url}/applicant")
                await expect(each.get_by_role("heading", name="Check your request")).to_be_visible()
            await pages[0].screenshot(path=SCREENSHOTS / "applicant-sign-in.png", full_page=True)
            await pages[1].screenshot(path=SCREENSHOTS / "applicant-sign-in-390px.png", full_page=True)
            assert await fits(pages[1], NARROW["width"])
            for each in pages:
                await each.get_by_label("Case number").fill(case)
                await each.get_by_label("Secret code").fill(secret)
                await each.get_by_role("button", name="Sign in").click()
                await expect(each.get_by_role("heading", name=f"Case {case}")).to_be_visible()

            # Approved: the request says so, and until when to book.
            await expect(page.get_by_role("heading", name="Approved: choose your new appointment")).to_be_visible()
            await expect(page.get_by_text("choose your appointment before")).to_be_visible()
            await both_widths(pages, "request-approved")

            # The calendar: the published days, their times as buttons.
            await page.get_by_role("link", name="Choose an appointment").click()
            await expect(page.get_by_role("heading", name="Open appointments")).to_be_visible()
            first_day = page.locator(".day").first
            await expect(first_day.get_by_role("link")).to_have_count(len(SLOT_TIMES))
            await both_widths(pages, "calendar")

            # Book the first day's 08:30.
            await first_day.get_by_role("link", name="08:30").click()
            await expect(page.get_by_role("heading", name="Book this appointment")).to_be_visible()
            await expect(page.get_by_text("The last day to cancel or reschedule this appointment is")).to_be_visible()
            await both_widths(pages, "choose")
            await page.get_by_role("button", name="Book this appointment").click()
            await expect(page.get_by_role("status")).to_contain_text("Your appointment is booked.")
            await expect(page.get_by_role("heading", name="Appointment booked")).to_be_visible()
            await expect(page.locator(".appointment .when")).to_contain_text("08:30 (Africa/Nairobi)")
            await expect(page.get_by_text("The closing time for appointments is 48 hours")).to_be_visible()
            await both_widths(pages, "booked")

            # The printable version: on paper, no header, navigation nor buttons.
            await page.get_by_role("link", name="Printable version").click()
            await expect(page.get_by_role("heading", name="Appointment Confirmation")).to_be_visible()
            await expect(page.locator(".confirmation")).to_contain_text(case)
            await expect(page.locator(".confirmation")).to_contain_text("Wanjiru Kamau")
            await expect(page.locator(".confirmation")).to_contain_text("08:30 (Africa/Nairobi")
            await both_widths(pages, "confirmation")
            await page.emulate_media(media="print")
            await expect(page.locator("header.bar")).to_be_hidden()
            await expect(page.get_by_role("button")).to_have_count(0)
            await expect(page.get_by_role("link", name="Back to your request")).to_be_hidden()
            await page.screenshot(path=SCREENSHOTS / "applicant-confirmation-print.png", full_page=True)
            await page.emulate_media(media="screen")

            # Cancel: the appointment goes, and the calendar is back.
            await page.get_by_role("link", name="Back to your request").click()
            await page.get_by_role("button", name="Cancel this appointment").click()
            await expect(page.get_by_role("status")).to_contain_text("Your appointment is cancelled.")
            await expect(page.get_by_role("heading", name="Approved: choose your new appointment")).to_be_visible()
            await both_widths(pages, "cancelled")

            # Book again, on the second day this time, then move it to the third.
            await page.get_by_role("link", name="Choose an appointment").click()
            await page.locator(".day").nth(1).get_by_role("link", name="09:00").click()
            await page.get_by_role("button", name="Book this appointment").click()
            await expect(page.get_by_role("status")).to_contain_text("Your appointment is booked.")
            await page.get_by_role("link", name="Reschedule this appointment").click()
            await expect(page.get_by_role("heading", name="Choose another appointment")).to_be_visible()
            await page.locator(".day").nth(2).get_by_role("link", name="08:00").click()
            await page.get_by_role("button", name="Move my appointment here").click()
            await expect(page.get_by_role("status")).to_contain_text("Your appointment has been moved.")
            await expect(page.locator(".appointment .when")).to_contain_text("08:00 (Africa/Nairobi)")
            await both_widths(pages, "rescheduled")
        finally:
            await browser.close()

    async with httpx.AsyncClient(base_url=served.url) as api:
        final = await state_is(api, case, auditor, "BOOKED")
    assert (final["appointment"]["day"], final["appointment"]["time"]) == (days[2], "08:00:00")
    actions = [step["action"] for step in final["history"]]
    assert actions[-4:] == ["book", "cancel_booking", "book", "reschedule_booking"], actions
    assert awaiting["window_ends_at"] is not None

    assert addresses and not [address for address in addresses if secret in address]
    logged = everything_logged(caplog)
    assert "/applicant/request" in logged, "uvicorn's access lines were captured"
    assert secret not in logged
