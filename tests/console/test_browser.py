"""The console in a real headless browser: Debian's chromium driven by Playwright.

An officer signs in, finds in the queue a request submitted through the API, and approves
it; the workflow (on Temporal's time-skipping server, with the real worker) completes the
approval and exactly one approval email reaches the SMTP sink, after the 5-business-day
release. The queue and the decision forms are checked at 390 px wide. A screenshot of each
page is kept in var/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from reschedule_desk.api import create_app
from reschedule_desk.console.access import Role
from reschedule_desk.desk import Desk
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.settings import PROJECT_ROOT, Settings
from tests.conftest import bearer, filed_request, free_port, intake_token, running_worker, staff_token
from tests.console.conftest import PASSWORD
from tests.workflows.test_reschedule_request import approval_emailed, send_email_times

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"
NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, installed through apt when missing. Playwright never downloads one."""
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    if not CHROMIUM.exists():
        environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]):
            subprocess.run(command, check=True, env=environment, stdout=subprocess.DEVNULL)
    return CHROMIUM


class _NoSearchAttributes(Interceptor):
    """The time-skipping test server cannot index the desk's search attributes: start
    requests as the desk does, without them (as tests/workflows do)."""

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        return _StartWithoutSearchAttributes(next)


class _StartWithoutSearchAttributes(OutboundInterceptor):
    async def start_workflow(self, input: StartWorkflowInput) -> WorkflowHandle:
        input.search_attributes = None
        return await super().start_workflow(input)


@pytest.fixture
async def console_url(
    time_skipping_env: WorkflowEnvironment, console_settings: Settings, smtp_server, make_account
) -> AsyncIterator[str]:
    """The whole app (API and console) served by uvicorn on 127.0.0.1, with the real Desk
    and worker on the time-skipping server, and mail going over SMTP to the test sink."""
    settings = replace(console_settings, smtp_url=smtp_server.url)
    make_account("officer.kim", Role.OFFICER, ["nairobi"])
    make_account("supervisor.otieno", Role.SUPERVISOR, ["nairobi"])
    make_account("admin.ana", Role.ADMIN, [])
    config = time_skipping_env.client.config()
    client = Client(**{**config, "interceptors": [*config["interceptors"], _NoSearchAttributes()]})
    app = create_app(desk=Desk(client, settings), settings=settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    async with running_worker(time_skipping_env.client, settings):
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.02)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await serving


async def pending_review(api: httpx.AsyncClient, case_number: str, staff: dict[str, str]) -> None:
    for _ in range(200):
        response = await api.get(f"/api/requests/{case_number}", headers=staff)
        if response.status_code == 200 and response.json()["status"] == "PENDING_REVIEW":
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_number} never reached PENDING_REVIEW")


async def sign_in(context, base: str, name: str):
    page = await context.new_page()
    await page.goto(f"{base}/")
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_load_state()
    return page


async def fits(page, width: int) -> bool:
    return await page.evaluate(f"document.documentElement.scrollWidth <= {width}")


async def test_an_officer_approves_in_the_browser_and_one_approval_email_follows_the_release(
    chromium: Path, console_url: str, time_skipping_env: WorkflowEnvironment, smtp_server, console_settings: Settings
) -> None:
    from playwright.async_api import async_playwright, expect

    started = time.monotonic()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    document = filed_request(console_settings.database_url, now=await time_skipping_env.get_current_time())
    case = document["case_number"]
    async with httpx.AsyncClient(base_url=console_url) as api:
        intake = bearer(intake_token(console_settings.database_url))
        assert (await api.post("/api/requests", json=document, headers=intake)).status_code == 201
        auditor = bearer(staff_token(console_settings.database_url, "auditor.lee", Role.AUDITOR, []))
        await pending_review(api, case, auditor)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            wide = await browser.new_context(viewport=WIDE)
            page = await wide.new_page()
            await page.goto(f"{console_url}/requests/{case}")
            await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            await page.screenshot(path=SCREENSHOTS / "sign-in.png")

            page = await sign_in(wide, console_url, "officer.kim")
            await expect(page.get_by_role("heading", name="Queue")).to_be_visible()
            row = page.get_by_role("row").filter(has=page.get_by_role("link", name=case))
            await expect(row).to_contain_text("due in")
            await page.screenshot(path=SCREENSHOTS / "queue.png", full_page=True)

            await page.get_by_role("link", name=case).click()
            await expect(page.get_by_role("heading", name=f"Case {case}", exact=True)).to_be_visible()
            await expect(page.get_by_role("cell", name="Wanjiru Kamau")).to_be_visible()
            await expect(page.get_by_text("5 business days after", exact=False).first).to_be_visible()
            # The acknowledgement as the applicant saw it, in its sandboxed frame.
            await expect(page.frame_locator("iframe").first.get_by_text("Dear Wanjiru Kamau")).to_be_visible()
            await page.screenshot(path=SCREENSHOTS / "request.png", full_page=True)
            # A full-page capture leaves sandboxed frames blank: the email gets its own.
            await page.locator("iframe").first.screenshot(path=SCREENSHOTS / "email-acknowledgement.png")

            # A phone-sized screen: the queue and the decision forms still fit and read.
            narrow = await browser.new_context(viewport=NARROW)
            phone = await sign_in(narrow, console_url, "officer.kim")
            await expect(phone.get_by_role("link", name=case)).to_be_visible()
            assert await fits(phone, NARROW["width"]), "the queue scrolls sideways at 390 px"
            await phone.screenshot(path=SCREENSHOTS / "queue-390px.png", full_page=True)
            await phone.get_by_role("link", name=case).click()
            approve = phone.get_by_role("button", name="Approve")
            await approve.scroll_into_view_if_needed()
            await expect(approve).to_be_in_viewport()
            await expect(phone.get_by_label("Reason for the denial (the applicant reads it)")).to_be_visible()
            await expect(phone.frame_locator("iframe").first.get_by_text("Dear Wanjiru Kamau")).to_be_attached()
            assert await fits(phone, NARROW["width"]), "the decision forms scroll sideways at 390 px"
            await phone.screenshot(path=SCREENSHOTS / "request-390px.png", full_page=True)

            await page.get_by_label("Note (optional)").fill("Medical hold confirmed")
            await page.get_by_role("button", name="Approve").click()
            await expect(page.get_by_role("status")).to_contain_text("Approved.")
            await expect(page.locator(".summary")).to_contain_text("approved")
            await page.screenshot(path=SCREENSHOTS / "approved.png", full_page=True)

            # Time passes on the test server, past the approval email's release.
            handle = time_skipping_env.client.get_workflow_handle(workflow_id_for(case), result_type=RequestStatus)
            final = await approval_emailed(time_skipping_env, handle)

            await page.reload()
            await expect(page.get_by_text("reschedule approved, please schedule a new appointment").first).to_be_visible()
            for frame in (page.frame_locator("iframe").first, page.frame_locator("iframe").last):
                await expect(frame.get_by_text("Dear Wanjiru Kamau")).to_be_visible()
            await page.screenshot(path=SCREENSHOTS / "request-after-release.png", full_page=True)
            await page.locator("iframe").last.screenshot(path=SCREENSHOTS / "email-approval.png")

            supervisor = await sign_in(await browser.new_context(viewport=WIDE), console_url, "supervisor.otieno")
            await supervisor.get_by_role("link", name="Overview").click()
            await expect(supervisor.get_by_role("heading", name="U.S. Embassy Nairobi")).to_be_visible()
            await supervisor.screenshot(path=SCREENSHOTS / "overview.png", full_page=True)

            admin = await sign_in(await browser.new_context(viewport=WIDE), console_url, "admin.ana")
            await expect(admin.get_by_role("heading", name="Accounts")).to_be_visible()
            await admin.screenshot(path=SCREENSHOTS / "accounts.png", full_page=True)
        finally:
            await browser.close()

    assert final.status is RequestState.AWAITING_BOOKING and final.approval_email_sent
    approval = final.history[-2]
    assert (approval.action, approval.actor, approval.note) == ("approve", "officer.kim", "Medical hold confirmed")
    subjects = [message["Subject"] for message in smtp_server.messages]
    approvals = [subject for subject in subjects if "reschedule approved" in subject]
    assert len(approvals) == 1, subjects
    assert len(subjects) == 2, "the acknowledgement and the approval, nothing else"
    assert (await send_email_times(handle))[-1] >= final.approval_email_release_at
    print(f"\nbrowser test: {time.monotonic() - started:.1f} s, screenshots in {SCREENSHOTS}")
