"""Signing in with the case number and the applicant secret: one refusal for every wrong
pair, slowed down with the API's wrong secrets, a signed cookie of its own, CSRF, and the
secret in no address and no log line."""

from __future__ import annotations

import logging
from datetime import date, time

import pytest
from itsdangerous import URLSafeTimedSerializer

from reschedule_desk.applicant_pages.session import APPLICANT_COOKIE, WRONG_PAIR
from reschedule_desk.console.security import SignInThrottle
from reschedule_desk.domain.decisions import BookingChoice
from tests.privacy.test_logs import everything_logged

PAGES = [
    "/applicant/request",
    "/applicant/appointments",
    "/applicant/appointments/choose?day=2026-11-30&time=08:30",
    "/applicant/confirmation",
]


async def test_the_case_number_and_its_secret_sign_in_to_the_request_page(visitor, awaiting_booking) -> None:
    stored = awaiting_booking()
    page = visitor()
    await page.get("/applicant")
    response = await page.submit("/applicant/sign-in", {"case_number": stored.case_number, "secret": stored.secret})
    assert response.status_code == 303 and response.headers["location"] == "/applicant/request"
    shown = await page.get("/applicant/request")
    assert shown.status_code == 200 and f"Case {stored.case_number}" in shown.text


async def test_the_case_number_may_be_typed_in_lower_case_and_with_spaces(visitor, awaiting_booking) -> None:
    stored = awaiting_booking()
    typed = f" {stored.case_number[:3].lower()} {stored.case_number[3:]} "
    assert (await visitor().sign_in(typed, stored.secret)).status_code == 303


async def test_the_session_cookie_is_signed_httponly_samesite_and_only_for_the_applicant_pages(
    visitor, awaiting_booking
) -> None:
    stored = awaiting_booking()
    response = await visitor().sign_in(stored.case_number, stored.secret)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{APPLICANT_COOKIE}=")
    assert all(part in cookie.lower() for part in ("httponly", "samesite=strict", "path=/applicant"))
    assert stored.secret not in cookie


@pytest.mark.parametrize("wrong", ["secret", "case", "malformed case", "empty secret"])
async def test_a_wrong_pair_is_one_generic_refusal_that_sets_no_cookie(visitor, awaiting_booking, wrong: str) -> None:
    stored, other = awaiting_booking(), awaiting_booking()
    case_number, secret = {
        "secret": (stored.case_number, other.secret),  # another request's secret
        "case": ("NRB0000000001", stored.secret),
        "malformed case": ("not a case", stored.secret),
        "empty secret": (stored.case_number, ""),
    }[wrong]
    page = visitor()
    await page.get("/applicant")
    refused = await page.submit("/applicant/sign-in", {"case_number": case_number, "secret": secret})
    assert refused.status_code == 401
    assert WRONG_PAIR in refused.text
    assert "set-cookie" not in refused.headers
    assert (await page.get("/applicant/request")).status_code == 303


async def test_wrong_pairs_are_slowed_down_together_with_the_apis_wrong_secrets(app, visitor, awaiting_booking) -> None:
    app.state.console.credential_throttle = SignInThrottle(limit=3)
    stored = awaiting_booking()
    page = visitor()
    # One wrong secret through the API counts as much as one through the page.
    api = await page.client.get(
        f"/api/requests/{stored.case_number}/applicant-status", headers={"X-Applicant-Secret": "wrong"}
    )
    assert api.status_code == 401
    assert (await page.sign_in(stored.case_number, "wrong")).status_code == 401
    assert (await page.sign_in(stored.case_number, "wrong")).status_code == 429
    # Past the limit, not even the right secret is checked.
    slowed = await page.sign_in(stored.case_number, stored.secret)
    assert slowed.status_code == 429 and "Too many wrong attempts" in slowed.text


@pytest.mark.parametrize("path", PAGES)
async def test_no_page_shows_without_signing_in(visitor, path: str) -> None:
    response = await visitor().get(path)
    assert response.status_code == 303 and response.headers["location"] == "/applicant"


async def test_a_forged_cookie_is_not_a_session(visitor, awaiting_booking) -> None:
    stored = awaiting_booking()
    page = visitor()
    await page.sign_in(stored.case_number, stored.secret)
    page.client.cookies.set(APPLICANT_COOKIE, page.client.cookies[APPLICANT_COOKIE][:-2] + "xx", path="/applicant")
    assert (await page.get("/applicant/request")).status_code == 303


async def test_a_cookie_signed_for_the_console_does_not_open_the_applicant_pages(
    visitor, awaiting_booking, console_settings
) -> None:
    stored = awaiting_booking()
    # The same key, the console's salt: what the applicant's cookie would hold, otherwise.
    forged = URLSafeTimedSerializer(console_settings.session_secret(), salt="reschedule-desk.console.session").dumps(
        {"c": "a token", "r": stored.request_id, "n": stored.case_number}
    )
    page = visitor()
    page.client.cookies.set(APPLICANT_COOKIE, forged, path="/applicant")
    assert (await page.get("/applicant/request")).status_code == 303


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(visitor, awaiting_booking, desk) -> None:
    stored = awaiting_booking()
    page = visitor()
    await page.sign_in(stored.case_number, stored.secret)
    forged = await page.client.post("/applicant/appointments/book", data={"day": "2026-11-30", "time": "08:30"})
    assert forged.status_code == 403
    assert desk.sent == []


async def test_sign_in_needs_the_forms_csrf_token(visitor, awaiting_booking) -> None:
    stored = awaiting_booking()
    page = visitor()
    response = await page.client.post(
        "/applicant/sign-in", data={"case_number": stored.case_number, "secret": stored.secret}
    )
    assert response.status_code == 403
    assert (await page.get("/applicant/request")).status_code == 303


async def test_a_newer_request_for_the_case_ends_the_session_of_the_older_one(visitor, awaiting_booking, desk) -> None:
    stored = awaiting_booking()
    page = visitor()
    await page.sign_in(stored.case_number, stored.secret)
    desk.request_ids[stored.case_number] = "run-a-newer-request"
    assert (await page.get("/applicant/request")).status_code == 303
    assert (await page.get("/applicant/request")).status_code == 303, "signed out for good"


async def test_signing_out_ends_the_session(visitor, awaiting_booking) -> None:
    stored = awaiting_booking()
    page = visitor()
    await page.sign_in(stored.case_number, stored.secret)
    assert (await page.submit("/applicant/sign-out")).status_code == 303
    assert (await page.get("/applicant/request")).status_code == 303


async def test_the_secret_is_in_no_address_and_no_log_line(
    caplog: pytest.LogCaptureFixture, visitor, awaiting_booking, publish, desk
) -> None:
    caplog.set_level(logging.DEBUG)
    stored = awaiting_booking()
    publish("nairobi", date(2026, 11, 30), date(2026, 11, 30), [time(8, 30)])
    page = visitor()
    await page.sign_in(stored.case_number, "a wrong secret first")
    await page.sign_in(stored.case_number, stored.secret)
    for path in PAGES[:3]:
        assert (await page.get(path)).status_code == 200, path
    booked = await page.submit("/applicant/appointments/book", {"day": "2026-11-30", "time": "08:30"})
    assert booked.status_code == 303
    choice = BookingChoice(day=date(2026, 11, 30), time=time(8, 30))
    assert desk.sent == [(stored.case_number, "book", choice, stored.request_id)]

    assert page.addresses and not [address for address in page.addresses if stored.secret in address]
    assert stored.secret not in everything_logged(caplog)
