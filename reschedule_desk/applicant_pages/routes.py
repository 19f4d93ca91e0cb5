"""The applicant's pages and forms: a FastAPI router of server-rendered Jinja2 pages at
/applicant.

Every page but the sign-in needs the applicant's session (session.py) and reads the
request's status from its workflow; every form carries the session's CSRF token; booking,
moving and cancelling go to the workflow through the Desk as Updates to the signed-in
request only. When the workflow refuses, the page says why and nothing has changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, ValidationError

from reschedule_desk.applicant_pages import views
from reschedule_desk.applicant_pages.session import (
    APPLICANT_COOKIE,
    COOKIE_PATH,
    SESSION_MAX_AGE_SECONDS,
    ApplicantCookies,
    ApplicantSession,
    SignInRefused,
    checked_request_id,
)
from reschedule_desk.console.routes import ConsoleState
from reschedule_desk.console.security import CSRF_FIELD, SECURITY_HEADERS, CsrfRejected
from reschedule_desk.desk import ActionRefused, CaseNotFound, Desk
from reschedule_desk.domain.appointments import change_rule_text, closing_rule_text
from reschedule_desk.domain.decisions import BookingCancellation, BookingChoice
from reschedule_desk.domain.lifecycle import ApplicantStatus, RequestState
from reschedule_desk.domain.posts import Post
from reschedule_desk.mail.rendering import post_time
from reschedule_desk.settings import TEMPLATES_DIR
from reschedule_desk.storage import repository

# Autoescape everything: the default only escapes names ending in .html, not ours (.html.j2).
_environment = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True)
_environment.filters["post_time"] = post_time
_environment.filters["day_text"] = views.day_text
# The posts' appointment rules have one wording, shared with the emails and the console.
_environment.globals.update(closing_rule_text=closing_rule_text, change_rule_text=change_rule_text)
templates = Jinja2Templates(env=_environment)
STYLESHEET = TEMPLATES_DIR / "applicant" / "applicant.css"

# What the request page says after a change went through (the redirect carries the key).
DONE = {
    "booked": "Your appointment is booked. Print the confirmation and bring it to your interview.",
    "rescheduled": "Your appointment has been moved. Print the new confirmation.",
    "cancelled": "Your appointment is cancelled. You may choose another one.",
}
# What did not happen, before the workflow's reason.
NOT_DONE = {
    "book": "The appointment was not booked.",
    "reschedule_booking": "The appointment was not moved.",
    "cancel_booking": "The appointment was not cancelled.",
}
_CLOCK = re.compile(r"^\d{2}:\d{2}$")


class NotSignedIn(Exception):
    pass


def _console(request: Request) -> ConsoleState:
    """The console's state: its database, calendars, clock and the slowdown of wrong
    credentials, shared with the applicant's pages."""
    return request.app.state.console


def _cookies(request: Request) -> ApplicantCookies:
    app_state = request.app.state
    if getattr(app_state, "applicant_cookies", None) is None:
        app_state.applicant_cookies = ApplicantCookies(_console(request).settings.session_secret())
    return app_state.applicant_cookies


def _session(request: Request) -> ApplicantSession:
    return request.state.applicant_session


def _desk(request: Request) -> Desk:
    return request.app.state.desk


class ApplicantRoute(APIRoute):
    """Loads the applicant's session before a route and writes it back after; turns
    refusals into pages; adds the console's security headers to every response."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()

        async def applicant_route(request: Request) -> Response:
            cookies = _cookies(request)
            session = cookies.load(request.cookies.get(APPLICANT_COOKIE))
            request.state.applicant_session = session
            try:
                response = await handle(request)
            except NotSignedIn:
                response = RedirectResponse("/applicant", status_code=303)
            except CsrfRejected as refusal:
                response = _error_page(request, 403, f"Not possible: {refusal}.")
            except RequestValidationError as error:
                problems = _problems(error.errors())
                response = _error_page(request, 400, f"The form or address is not complete: {problems}.")
            if session.changed:
                response.set_cookie(
                    APPLICANT_COOKIE,
                    cookies.dump(session),
                    max_age=SESSION_MAX_AGE_SECONDS,
                    path=COOKIE_PATH,
                    httponly=True,
                    samesite="strict",
                    secure=request.url.scheme == "https",
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return applicant_route


router = APIRouter(prefix="/applicant", route_class=ApplicantRoute, include_in_schema=False)


# -- who is asking ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """The signed-in applicant's request, as its workflow says it is now."""

    request_id: str
    case_number: str
    status: ApplicantStatus
    post: Post


async def signed_in(request: Request) -> SignedIn:
    """The session's request, or NotSignedIn (the route sends the browser to sign in): also
    when the case has had a newer request since, which its own secret opens."""
    session = _session(request)
    if not session.signed_in:
        raise NotSignedIn()
    desk = _desk(request)
    try:
        latest = await desk.request_id(session.case_number)
        status = await desk.status(session.case_number)
    except CaseNotFound:
        latest = None
    if latest != session.request_id:
        session.sign_out()
        raise NotSignedIn()
    post = _console(request).settings.posts.post(status.post)
    return SignedIn(session.request_id, session.case_number, ApplicantStatus.of(status), post)


async def csrf_checked(request: Request) -> None:
    form = await request.form()
    token = form.get(CSRF_FIELD)
    _session(request).check_csrf(token if isinstance(token, str) else None)


Applicant = Annotated[SignedIn, Depends(signed_in)]
CHECKED_FORM = [Depends(csrf_checked)]


# -- rendering ----------------------------------------------------------------------------


def _render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    session = _session(request)
    return templates.TemplateResponse(
        request,
        f"applicant/{template}",
        {
            "case_number": session.case_number if session.signed_in else None,
            "csrf_token": session.csrf_token,
            "csrf_field": CSRF_FIELD,
            **context,
        },
        status_code=status_code,
    )


def _error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return _render(request, "error.html.j2", status_code=status_code, message=message)


def _problems(errors) -> str:
    # Where and what, never the value typed (it may be the secret).
    return "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in errors)


@router.get("/applicant.css")
def stylesheet() -> FileResponse:
    return FileResponse(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


# -- signing in and out -------------------------------------------------------------------


@router.get("")
def sign_in_page(request: Request) -> Response:
    if _session(request).signed_in:
        return RedirectResponse("/applicant/request", status_code=303)
    return _render(request, "sign_in.html.j2")


@router.post("/sign-in", dependencies=CHECKED_FORM)
async def sign_in(
    request: Request,
    case_number: Annotated[str, Form(max_length=40)] = "",
    secret: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    # As the letter prints it or as typed: spaces and lower case are the same number.
    case = "".join(case_number.split()).upper()
    try:
        request_id = await checked_request_id(request, _desk(request), case, secret.strip())
    except SignInRefused as refusal:
        return _render(request, "sign_in.html.j2", refusal.status_code, error=str(refusal), entered_case=case)
    _session(request).sign_in(request_id, case)
    return RedirectResponse("/applicant/request", status_code=303)


@router.post("/sign-out", dependencies=CHECKED_FORM)
def sign_out(request: Request) -> Response:
    _session(request).sign_out()
    return RedirectResponse("/applicant", status_code=303)


# -- the request --------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFacts:
    """What the app database says of the request: who is on it."""

    applicants: list[str]


def _request_facts(request: Request, request_id: str) -> RequestFacts:
    with _console(request).sessions() as db:
        row = repository.request_row(db, request_id)
        names = [applicant.full_name for applicant in row.applicants] if row is not None else []
    return RequestFacts(applicants=names)


def _appointment(request: Request, applicant: SignedIn) -> views.AppointmentView | None:
    appointment = applicant.status.appointment
    if appointment is None:
        return None
    console = _console(request)
    calendar = console.calendars.covering(applicant.post.code, appointment.day, appointment.day)
    return views.appointment_view(applicant.post, calendar, appointment, console.clock())


async def _request_page(request: Request, applicant: SignedIn, status_code: int = 200, **context) -> HTMLResponse:
    facts = await run_in_threadpool(_request_facts, request, applicant.request_id)
    return _render(
        request,
        "request.html.j2",
        status_code=status_code,
        status=applicant.status,
        post=applicant.post,
        labels=views.STATE_LABELS,
        expired_from=views.expired_from(applicant.status),
        applicants=facts.applicants,
        appointment=_appointment(request, applicant),
        **context,
    )


@router.get("/request")
async def request_page(request: Request, applicant: Applicant, done: str | None = None) -> Response:
    return await _request_page(request, applicant, notice=DONE.get(done or ""))


@router.get("/confirmation")
async def confirmation_page(request: Request, applicant: Applicant) -> Response:
    """The printable appointment confirmation (the posts' "Printable Version")."""
    if applicant.status.status is not RequestState.BOOKED or applicant.status.appointment is None:
        return RedirectResponse("/applicant/request", status_code=303)
    facts = await run_in_threadpool(_request_facts, request, applicant.request_id)
    return _render(
        request,
        "confirmation.html.j2",
        status=applicant.status,
        post=applicant.post,
        applicants=facts.applicants,
        appointment=_appointment(request, applicant),
    )


# -- the calendar of open appointments ---------------------------------------------------


def _open_days(request: Request, applicant: SignedIn) -> list[views.OpenDay]:
    console = _console(request)
    now = console.clock()
    first, last = views.calendar_range(applicant.post, now)
    calendar = console.calendars.covering(applicant.post.code, first, last)
    with console.sessions() as db:
        row = repository.request_row(db, applicant.request_id)
        seats = max(1, len(row.applicants)) if row is not None else 1
        return views.open_days(
            db, applicant.post, calendar, first, last, seats, now, held=applicant.status.appointment
        )


async def _appointments_page(request: Request, applicant: SignedIn, status_code: int = 200, **context) -> Response:
    state = applicant.status.status
    if state not in views.CAN_BOOK | views.CAN_CHANGE:
        return RedirectResponse("/applicant/request", status_code=303)
    days = await run_in_threadpool(_open_days, request, applicant)
    return _render(
        request,
        "appointments.html.j2",
        status_code=status_code,
        status=applicant.status,
        post=applicant.post,
        days=days,
        moving=state in views.CAN_CHANGE,
        appointment=_appointment(request, applicant),
        no_slots=views.no_slots_text(applicant.post),
        **context,
    )


@router.get("/appointments")
async def appointments_page(request: Request, applicant: Applicant) -> Response:
    return await _appointments_page(request, applicant)


def _form_choice(day: str, at: str) -> tuple[date, time]:
    try:
        chosen_day = date.fromisoformat(day.strip())
    except ValueError:
        raise ValueError("choose a day from the calendar") from None
    if not _CLOCK.match(at.strip()):
        raise ValueError("choose a time from the calendar")
    try:
        return chosen_day, time.fromisoformat(at.strip())
    except ValueError:
        raise ValueError("choose a time from the calendar") from None


@router.get("/appointments/choose")
async def choose_page(
    request: Request,
    applicant: Applicant,
    day: Annotated[str, Query(max_length=40)] = "",
    at: Annotated[str, Query(alias="time", max_length=40)] = "",
) -> Response:
    """The appointment picked in the calendar, its rules, and the button that books it."""
    state = applicant.status.status
    if state not in views.CAN_BOOK | views.CAN_CHANGE:
        return RedirectResponse("/applicant/request", status_code=303)
    try:
        chosen_day, chosen_time = _form_choice(day, at)
    except ValueError as bad:
        return await _appointments_page(request, applicant, 422, error=f"{str(bad).capitalize()}.")
    console = _console(request)
    calendar = console.calendars.covering(applicant.post.code, chosen_day, chosen_day)
    return _render(
        request,
        "choose.html.j2",
        status=applicant.status,
        post=applicant.post,
        moving=state in views.CAN_CHANGE,
        day=chosen_day,
        day_value=chosen_day.isoformat(),
        time_value=f"{chosen_time:%H:%M}",
        when=post_time(datetime.combine(chosen_day, chosen_time, tzinfo=applicant.post.zone), applicant.post),
        rules=views.rules_for(applicant.post, calendar, chosen_day, chosen_time, console.clock()),
        current=_appointment(request, applicant),
    )


# -- booking, moving, cancelling ---------------------------------------------------------


def _reason_of(refusal: ActionRefused, action: str) -> str:
    """The workflow's reason, without its "cannot book: " (the page says what failed)."""
    reason = str(refusal).removeprefix(f"cannot {action}: ").strip()
    reason = reason[:1].upper() + reason[1:]
    return reason if reason.endswith(".") else f"{reason}."


async def _act(
    request: Request, applicant: SignedIn, action: str, decision: Callable[[], BaseModel], done: str
) -> Response:
    """Send one Update to the signed-in request; a refusal shows the page again, with why."""
    on_refusal = _request_page if action == "cancel_booking" else _appointments_page
    try:
        update = decision()
        await _desk(request).act(applicant.case_number, action, update, applicant.request_id)
    except ValueError as invalid:  # pydantic's ValidationError is one
        message = _problems(invalid.errors()) if isinstance(invalid, ValidationError) else str(invalid)
        error = f"{NOT_DONE[action]} {message[:1].upper()}{message[1:]}."
        return await on_refusal(request, applicant, 422, error=error)
    except ActionRefused as refusal:
        # The workflow's own reason: the closing time passed, the slot filled, too late to change.
        fresh = await signed_in(request)
        return await on_refusal(request, fresh, 409, error=f"{NOT_DONE[action]} {_reason_of(refusal, action)}")
    return RedirectResponse(f"/applicant/request?{urlencode({'done': done})}", status_code=303)


ShortField = Annotated[str, Form(max_length=40)]
TimeField = Annotated[str, Form(alias="time", max_length=40)]
Text = Annotated[str, Form(max_length=2000)]


def _choice(day: str, at: str) -> Callable[[], BookingChoice]:
    def choice() -> BookingChoice:
        chosen_day, chosen_time = _form_choice(day, at)
        return BookingChoice(day=chosen_day, time=chosen_time)

    return choice


@router.post("/appointments/book", dependencies=CHECKED_FORM)
async def book(request: Request, applicant: Applicant, day: ShortField = "", at: TimeField = "") -> Response:
    return await _act(request, applicant, "book", _choice(day, at), "booked")


@router.post("/appointments/reschedule", dependencies=CHECKED_FORM)
async def reschedule(request: Request, applicant: Applicant, day: ShortField = "", at: TimeField = "") -> Response:
    return await _act(request, applicant, "reschedule_booking", _choice(day, at), "rescheduled")


@router.post("/appointments/cancel", dependencies=CHECKED_FORM)
async def cancel(request: Request, applicant: Applicant, reason: Text = "") -> Response:
    return await _act(
        request, applicant, "cancel_booking", lambda: BookingCancellation(reason=reason.strip() or None), "cancelled"
    )
