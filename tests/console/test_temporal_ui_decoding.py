"""Temporal's own UI shows a request's workflow input decoded to the officer signed in to
the console, and to nobody else.

The whole of `make run` on loopback and free ports: the real dev server as `make run`
starts it (run._temporal_dev_server: the bundled binary, its UI calling the desk's codec
endpoint), the desk's app under uvicorn and the real worker. The workflow input is sealed
by the desk's codec; only the codec endpoint, with the console's session cookie, opens it.
Debian's chromium, driven by Playwright, signs in to the console, then opens the
request's workflow in Temporal's UI: sealed until the UI is told, once, in its own "Codec
Server" settings, to include credentials (the dev server cannot tell it so), then
decoded. A browser nobody signed in to, with the same setting, sees it sealed. A
screenshot of each is kept in var/screenshots/temporal-ui-*.png.
"""

from __future__ import annotations

import asyncio
import base64
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from temporalio.client import Client

from reschedule_desk import run
from reschedule_desk.api import create_app
from reschedule_desk.console.access import Role
from reschedule_desk.console.security import SESSION_COOKIE
from reschedule_desk.desk import Desk
from reschedule_desk.settings import Settings
from reschedule_desk.temporal import connect, ensure_search_attributes
from tests.conftest import free_port, reschedule_request, running_worker
from tests.console.conftest import PASSWORD
from tests.faults.processes import stop
from tests.console.test_browser import CHROMIUM_ARGS, SCREENSHOTS, WIDE, chromium  # noqa: F401 (fixture)

START_SECONDS = 60  # the dev server, its UI and the app, each
UI_SECONDS = 30  # the UI's page, its history and the codec's answer
TEST_SECONDS = 180  # the browser's part, all of it
REASON = "Medical hold at the panel physician, case under review."


@dataclass
class Running:
    api: str  # the desk's app: the console and the codec endpoint
    ui: str  # Temporal's UI
    namespace: str
    desk: Desk
    client: Client
    # Every call the codec endpoint answered: (with the console's cookie?, status).
    codec_calls: list[tuple[bool, int]] = field(default_factory=list)


async def _answers(url: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answers at {url} after {seconds:.0f}s")
            await asyncio.sleep(0.2)


@pytest.fixture
async def running(console_settings: Settings, make_account) -> AsyncIterator[Running]:
    """The dev server with its UI, the app on api_port, and the worker; one officer."""
    api_port, ui_port = free_port(), free_port()
    settings = replace(console_settings, temporal_address=f"127.0.0.1:{free_port()}")
    make_account("officer.kim", Role.OFFICER, ["nairobi"])
    server = run._temporal_dev_server(settings, ui_port=ui_port, api_port=api_port)
    try:
        await asyncio.to_thread(run._wait_for_port, settings.temporal_address, START_SECONDS)
        client = await asyncio.wait_for(connect(settings, frontend_starting_seconds=START_SECONDS), START_SECONDS)
        await ensure_search_attributes(client)
        ui = f"http://127.0.0.1:{ui_port}"
        await _answers(ui, START_SECONDS)
        app = create_app(desk=Desk(client, settings), settings=settings)
        # This UI's origin, not make run's (install_codec_endpoint's ui_origins).
        app.state.codec_ui_origins = (ui,)
        codec_calls: list[tuple[bool, int]] = []

        @app.middleware("http")
        async def record_codec_calls(request, call_next):
            response = await call_next(request)
            if request.method == "POST" and request.url.path.startswith("/codec/"):
                codec_calls.append((SESSION_COOKIE in request.cookies, response.status_code))
            return response

        api = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning"))
        async with running_worker(client, settings):
            serving = asyncio.create_task(api.serve())
            try:
                await asyncio.wait_for(_until(lambda: api.started), START_SECONDS)
                api_url = f"http://127.0.0.1:{api_port}"
                yield Running(api_url, ui, settings.temporal_namespace, app.state.desk, client, codec_calls)
            finally:
                api.should_exit = True
                await asyncio.wait_for(serving, 15)
    finally:
        stop(server, signal.SIGINT)


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.02)


async def sign_in(context, console: str) -> None:
    page = await context.new_page()
    await page.goto(f"{console}/sign-in")
    await page.get_by_label("Name").fill("officer.kim")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Queue").wait_for()
    await page.close()


async def send_credentials_to_the_codec(page, endpoint: str) -> None:
    """What each user does once per browser: the dev server's UI cannot be told to send
    cookies with codec calls (`temporal server start-dev` has no flag for it), its own
    "Codec Server" settings can. Kept in the UI's local storage."""
    await page.locator('[data-testid^="data-encoder-status"]').first.click()
    await page.get_by_test_id("use-local-endpoint-input").check()
    await page.get_by_test_id("data-encoder-endpoint-input").fill(endpoint)
    include = page.get_by_role("switch", name="Include cross-origin credentials")
    await page.locator("#data-encoder-settings").get_by_text("Include cross-origin credentials").click()
    assert await include.is_checked()
    await page.locator("#data-encoder-settings").get_by_role("button", name="Apply").click()
    await page.reload()


async def test_the_temporal_ui_shows_the_decoded_input_to_a_signed_in_officer_only(
    chromium: Path, running: Running
) -> None:
    await asyncio.wait_for(_officer_and_stranger(chromium, running), TEST_SECONDS)


async def _officer_and_stranger(chromium: Path, running: Running) -> None:
    from playwright.async_api import async_playwright, expect

    started = time.monotonic()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    request = reschedule_request(reason=REASON)
    await running.desk.submit(request)
    history = await running.client.get_workflow_handle(request.workflow_id).fetch_history()
    (stored,) = history.events[0].workflow_execution_started_event_attributes.input.payloads
    assert stored.metadata["encoding"] == b"binary/encrypted" and REASON.encode() not in stored.data
    sealed = base64.b64encode(stored.data).decode()
    workflow = f"{running.ui}/namespaces/{running.namespace}/workflows/{request.workflow_id}"
    codec = f"{running.api}/codec"

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            # An officer signed in to the console, then in Temporal's UI as make run starts it.
            officer = await browser.new_context(viewport=WIDE)
            officer.set_default_timeout(UI_SECONDS * 1000)
            await sign_in(officer, running.api)
            page = await officer.new_page()
            await page.goto(workflow)
            # Without the UI's own setting it sends no cookie: the codec refuses, input sealed.
            # (The dev server's UI config has includeCredentials false and no flag to change it.)
            await expect(page.get_by_test_id("data-encoder-status-error")).to_be_visible(timeout=UI_SECONDS * 1000)
            await expect(page.get_by_text(sealed[:32]).first).to_be_visible()
            assert REASON not in await page.content()
            await page.screenshot(path=SCREENSHOTS / "temporal-ui-without-credentials.png", full_page=True)
            assert running.codec_calls and set(running.codec_calls) == {(False, 401)}
            running.codec_calls.clear()

            await send_credentials_to_the_codec(page, codec)
            await expect(page.get_by_text(REASON).first).to_be_visible(timeout=UI_SECONDS * 1000)
            await expect(page.get_by_text(f'"case_number": "{request.case_number}"').first).to_be_visible()
            await expect(page.get_by_test_id("data-encoder-status-success")).to_be_attached()
            await page.screenshot(path=SCREENSHOTS / "temporal-ui-decoded.png", full_page=True)
            assert (True, 200) in running.codec_calls
            running.codec_calls.clear()

            # The same UI and setting in a browser nobody signed in to: nothing decoded.
            stranger = await browser.new_context(viewport=WIDE)
            stranger.set_default_timeout(UI_SECONDS * 1000)
            page = await stranger.new_page()
            await page.goto(workflow)
            await send_credentials_to_the_codec(page, codec)
            await expect(page.get_by_test_id("data-encoder-status-error")).to_be_visible(timeout=UI_SECONDS * 1000)
            # It shows the input as stored: sealed.
            await expect(page.get_by_text(sealed[:32]).first).to_be_visible()
            assert REASON not in await page.content()
            assert request.case_number not in (await page.content()).replace(request.workflow_id, "")
            await page.screenshot(path=SCREENSHOTS / "temporal-ui-signed-out.png", full_page=True)
            assert running.codec_calls and set(running.codec_calls) == {(False, 401)}
        finally:
            await browser.close()
    print(f"\nTemporal UI test: {time.monotonic() - started:.1f} s, screenshots in {SCREENSHOTS}")
