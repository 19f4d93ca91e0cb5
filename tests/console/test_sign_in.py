"""Signing in and out, the session cookie, lock-out and slowdown, CSRF, security headers."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from reschedule_desk.console.security import SignInThrottle
from reschedule_desk.storage import accounts
from tests.console.conftest import NOW, PASSWORD

PAGES = ["/", "/overview", "/accounts", "/requests/NRB2024000001", "/requests/NRB2024000001/emails/key"]

FORMS = [
    "/sign-out",
    "/requests/NRB2024000001/approve",
    "/requests/NRB2024000001/deny",
    "/requests/NRB2024000001/request-info",
    "/requests/NRB2024000001/claim",
    "/requests/NRB2024000001/assign",
    "/requests/NRB2024000001/extend-window",
    "/accounts",
    "/accounts/officer.kim/disable",
    "/accounts/officer.kim/enable",
]


@pytest.mark.parametrize("path", PAGES)
async def test_nothing_is_visible_without_signing_in(browser, path: str) -> None:
    response = await browser().get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/sign-in?next=")


async def test_signing_in_leads_back_to_the_page_asked_for(browser) -> None:
    page = browser()
    await page.get("/sign-in")
    response = await page.submit("/sign-in", {"name": "officer.kim", "password": PASSWORD, "next": "/?status=PENDING_REVIEW"})
    assert response.status_code == 303 and response.headers["location"] == "/?status=PENDING_REVIEW"
    assert "officer.kim · officer · nairobi" in (await page.get("/")).text


@pytest.mark.parametrize("elsewhere", ["https://evil.example/", "//evil.example/", "/\\evil.example"])
async def test_signing_in_never_leads_to_another_site(browser, elsewhere: str) -> None:
    page = browser()
    await page.get("/sign-in")
    response = await page.submit("/sign-in", {"name": "officer.kim", "password": PASSWORD, "next": elsewhere})
    assert response.headers["location"] == "/"


async def test_the_session_cookie_is_signed_httponly_and_samesite(browser) -> None:
    page = browser()
    await page.get("/sign-in")
    response = await page.submit("/sign-in", {"name": "officer.kim", "password": PASSWORD})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie


async def test_a_forged_cookie_is_not_a_session(browser) -> None:
    page = browser()
    await page.sign_in("officer.kim")
    page.client.cookies.set("desk_session", page.client.cookies["desk_session"][:-2] + "xx")
    assert (await page.get("/")).status_code == 303


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(browser) -> None:
    page = browser()
    wrong = await page.sign_in("officer.kim", "not the password at all")
    unknown = await browser().sign_in("nobody.here", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "The name or the password is wrong" in wrong.text and "The name or the password is wrong" in unknown.text
    assert (await page.get("/")).status_code == 303


async def test_five_failures_lock_the_account_even_for_the_right_password(browser) -> None:
    for _ in range(accounts.MAX_FAILED_SIGN_INS - 1):
        assert (await browser().sign_in("officer.kim", "guess guess guess")).status_code == 401
    locked = await browser().sign_in("officer.kim", "guess guess guess")
    assert "this account is locked for 15 minutes" in locked.text
    right = await browser().sign_in("officer.kim", PASSWORD)
    assert right.status_code == 401 and "locked" in right.text


async def test_the_lock_ends_after_fifteen_minutes(app, browser) -> None:
    for _ in range(accounts.MAX_FAILED_SIGN_INS):
        await browser().sign_in("officer.kim", "guess guess guess")
    app.state.console.clock = lambda: NOW + accounts.LOCKOUT + timedelta(seconds=1)
    assert (await browser().sign_in("officer.kim", PASSWORD)).status_code == 303


async def test_one_address_failing_with_many_names_is_slowed_down(app, browser) -> None:
    app.state.console.throttle = SignInThrottle(limit=3)
    for name in ("a.one", "b.two", "c.three"):
        assert (await browser().sign_in(name, PASSWORD)).status_code == 401
    slowed = await browser().sign_in("officer.kim", PASSWORD)
    assert slowed.status_code == 429 and "Too many failed sign-ins from this computer" in slowed.text


def test_the_slowdown_forgets_failures_older_than_its_window() -> None:
    now = [0.0]
    throttle = SignInThrottle(limit=2, window=60, clock=lambda: now[0])
    throttle.failed("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 60 and throttle.retry_after("10.0.0.2") == 0
    now[0] = 61
    assert throttle.retry_after("10.0.0.1") == 0


async def test_signing_out_ends_the_session_even_for_a_copied_cookie(browser) -> None:
    page = browser()
    await page.sign_in("officer.kim")
    copied = page.client.cookies["desk_session"]
    assert (await page.submit("/sign-out")).headers["location"] == "/sign-in"
    assert (await page.get("/")).status_code == 303
    thief = browser()
    thief.client.cookies.set("desk_session", copied)
    assert (await thief.get("/")).status_code == 303


async def test_disabling_an_account_ends_its_sessions_and_sign_ins(signed_in, browser) -> None:
    officer = await signed_in("officer.kim")
    admin = await signed_in("admin.ana")
    await admin.get("/accounts")
    assert (await admin.submit("/accounts/officer.kim/disable")).status_code == 303
    assert (await officer.get("/")).status_code == 303
    assert (await browser().sign_in("officer.kim")).status_code == 401


@pytest.mark.parametrize("path", FORMS)
async def test_a_form_without_the_csrf_token_is_refused(signed_in, desk, path: str) -> None:
    page = await signed_in("supervisor.otieno")
    response = await page.client.post(path, data={"note": "ok", "reason": "r", "officer": "officer.kim"})
    assert response.status_code == 403 and "this form has expired or did not come from the console" in response.text
    assert desk.sent == []
    assert (await page.get("/")).status_code == 200, "still signed in: the refused form changed nothing"


@pytest.mark.parametrize("path", FORMS)
async def test_a_form_with_a_wrong_csrf_token_is_refused(signed_in, desk, path: str) -> None:
    page = await signed_in("supervisor.otieno")
    other = await signed_in("officer.kim")  # a real token, but of another session
    response = await page.client.post(path, data={"csrf_token": other.csrf_token, "note": "ok"})
    assert response.status_code == 403
    assert desk.sent == []


async def test_the_sign_in_form_needs_its_csrf_token_too(browser) -> None:
    page = browser()
    await page.get("/sign-in")
    response = await page.client.post("/sign-in", data={"name": "officer.kim", "password": PASSWORD})
    assert response.status_code == 403


@pytest.mark.parametrize("path", ["/sign-in", "/"])
async def test_console_pages_carry_security_headers(signed_in, path: str) -> None:
    page = await signed_in("officer.kim")
    headers = (await page.get(path, follow_redirects=True)).headers
    assert "default-src 'none'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"


def test_without_a_configured_key_one_is_made_once_kept_private_and_never_shown(desk_settings) -> None:
    key = desk_settings.session_secret()
    kept = desk_settings.var_dir / "secret_key"
    assert kept.read_text() == key and len(key) >= 64
    assert kept.stat().st_mode & 0o777 == 0o600
    assert desk_settings.session_secret() == key, "the same key after a restart: sessions survive it"
    configured = replace(desk_settings, secret_key="from RESCHEDULE_SECRET_KEY")
    assert configured.session_secret() == "from RESCHEDULE_SECRET_KEY"
    assert "RESCHEDULE_SECRET_KEY" not in repr(configured) and key not in repr(desk_settings)
