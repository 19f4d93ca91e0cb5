"""The console's pages and forms: a FastAPI router of server-rendered Jinja2 pages.

Every page needs a signed-in account and asks the access rules first; every form carries
the session's CSRF token; every decision goes to the workflow through the Desk as an
Update that carries the signed-in account's name, never a name from the form. When the
workflow's validator refuses, the page says why and nothing has changed.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.audit.auditor import Auditor
from reschedule_desk.audit.render import TIMELINE_PAGE_CSP, timeline_html
from reschedule_desk.authorization import authorize_action, post_of_request
from reschedule_desk.callers import CredentialRefused, token_holder
from reschedule_desk.console import views
from reschedule_desk.console.access import (
    Forbidden,
    Permission,
    Principal,
    Role,
    can,
    require,
    visible_posts,
)
from reschedule_desk.console.security import (
    CSRF_FIELD,
    EMAIL_PREVIEW_HEADERS,
    SECURITY_HEADERS,
    SESSION_COOKIE,
    SESSION_MAX_AGE_SECONDS,
    ConsoleSession,
    CsrfRejected,
    SessionCookies,
    SignInThrottle,
)
from reschedule_desk.desk import ActionRefused, CaseNotFound, Desk
from reschedule_desk.domain.decisions import (
    Approval,
    Assignment,
    Attendance,
    Claim,
    Denial,
    InfoRequest,
    WindowExtension,
)
from reschedule_desk.domain.lifecycle import WAITING_STATES, RequestState
from reschedule_desk.domain.posts import Post, PostsConfig, UnknownPost
from reschedule_desk.settings import TEMPLATES_DIR, Settings
from reschedule_desk.temporal import connect, data_converter
from reschedule_desk.storage import accounts, appointment_book, case_file, queue, tokens
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import CaseFileRow, OutboxMessage

# Autoescape everything: the default only escapes names ending in .html, not ours (.html.j2).
templates = Jinja2Templates(env=Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True))
STYLESHEET = TEMPLATES_DIR / "console" / "console.css"

# What the page says after a decision went through (the redirect carries only the key).
DONE = {
    "approve": "Approved. The approval email goes out at its release time.",
    "deny": "Denied. The applicant is emailed the reason.",
    "request_info": "Information requested. The applicant is emailed what is needed.",
    "claim": "You are working this request now.",
    "assign": "Reassigned.",
    "extend_window": "Window extended.",
}


@dataclass
class ConsoleState:
    """What the console keeps for the app's life: on app.state.console."""

    settings: Settings
    throttle: SignInThrottle = field(default_factory=SignInThrottle)
    # Invalid API tokens and applicant secrets, per address (reschedule_desk/callers.py).
    credential_throttle: SignInThrottle = field(default_factory=SignInThrottle)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @cached_property
    def engine(self):
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return make_sessionmaker(self.engine)

    @cached_property
    def cookies(self) -> SessionCookies:
        return SessionCookies(self.settings.session_secret())

    @cached_property
    def calendars(self) -> views.Calendars:
        return views.Calendars(self.settings.posts)

    @cached_property
    def auditor(self) -> Auditor:
        """Histories from the desk's archive first, Temporal's when it has none."""
        return Auditor(self.sessions, data_converter(self.settings), lambda: connect(self.settings))

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()


class NotSignedIn(Exception):
    pass


class PageNotFound(LookupError):
    pass


def _console(request: Request) -> ConsoleState:
    return request.app.state.console


def _session(request: Request) -> ConsoleSession:
    return request.state.console_session


class ConsoleRoute(APIRoute):
    """Loads the session before a console route and writes it back after; turns the
    console's refusals into pages; adds the security headers to every response."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()

        async def console_route(request: Request) -> Response:
            console = _console(request)
            session = console.cookies.load(request.cookies.get(SESSION_COOKIE))
            request.state.console_session = session
            try:
                response = await handle(request)
            except NotSignedIn:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/sign-in?{urlencode({'next': target})}", status_code=303)
            except (Forbidden, CsrfRejected) as refusal:
                response = _error_page(request, 403, f"Not allowed: {refusal}.")
            except PageNotFound as missing:
                response = _error_page(request, 404, str(missing))
            except RequestValidationError as error:
                response = _error_page(request, 400, f"The form or address is not complete: {_problems(error.errors())}.")
            if session.changed:
                response.set_cookie(
                    SESSION_COOKIE,
                    console.cookies.dump(session),
                    max_age=SESSION_MAX_AGE_SECONDS,
                    path="/",
                    httponly=True,
                    samesite="strict",
                    secure=request.url.scheme == "https",
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return console_route


router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


# -- who is asking ------------------------------------------------------------------------


def signed_in(request: Request) -> Principal:
    """The signed-in account, or NotSignedIn (the route sends the browser to sign in)."""
    session = _session(request)
    if session.account_id is None:
        raise NotSignedIn()
    with _console(request).sessions() as db:
        account = accounts.signed_in_account(db, session.account_id, session.session_version)
        if account is None:  # disabled, or signed out elsewhere
            session.sign_out()
            raise NotSignedIn()
        principal = accounts.principal_of(account)
    request.state.principal = principal
    return principal


def codec_reader(request: Request) -> str:
    """For the payload codec endpoint (reschedule_desk/codec_server.py), which is no console
    page: the name of the officer, supervisor or auditor calling, by their Bearer token
    (Temporal's CLI: --codec-auth "Bearer <token>") or their console session (Temporal's UI
    in the same browser); 401 or 403 otherwise."""
    authorization = request.headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise CredentialRefused("the codec endpoint takes Authorization: Bearer <token>")
        principal = token_holder(request, token.strip()).principal
        if principal is None:
            raise HTTPException(status_code=403, detail="an intake client's token may not read applicants' payloads")
    else:
        request.state.console_session = _console(request).cookies.load(request.cookies.get(SESSION_COOKIE))
        try:
            principal = signed_in(request)
        except NotSignedIn:
            raise CredentialRefused(
                "the codec endpoint needs an officer's or auditor's token, or their console session"
            ) from None
    if not can(principal, Permission.VIEW_REQUEST):
        raise HTTPException(status_code=403, detail=f"the {principal.role.value} role may not read applicants' payloads")
    return principal.name


async def csrf_checked(request: Request) -> None:
    form = await request.form()
    token = form.get(CSRF_FIELD)
    _session(request).check_csrf(token if isinstance(token, str) else None)


SignedIn = Annotated[Principal, Depends(signed_in)]
CHECKED_FORM = [Depends(csrf_checked)]


def _desk(request: Request) -> Desk:
    return request.app.state.desk


# -- rendering ----------------------------------------------------------------------------


def _render(request: Request, template: str, status_code: int = 200, **context) -> HTMLResponse:
    principal: Principal | None = getattr(request.state, "principal", None)
    return templates.TemplateResponse(
        request,
        f"console/{template}",
        {
            "principal": principal,
            "csrf_token": _session(request).csrf_token,
            "csrf_field": CSRF_FIELD,
            "nav": _nav(principal, request.url.path, _console(request).settings.posts) if principal else [],
            **context,
        },
        status_code=status_code,
    )


def _nav(principal: Principal, path: str, posts: PostsConfig) -> list[tuple[str, str, bool]]:
    pages = [
        ("Queue", "/", Permission.VIEW_QUEUE),
        ("Overview", "/overview", Permission.VIEW_OVERVIEW),
        ("Accounts", "/accounts", Permission.MANAGE_ACCOUNTS),
    ]
    nav = [(label, href, path == href) for label, href, permission in pages if can(principal, permission)]
    # The appointment book of each post whose requests the account sees, and its day's appointments.
    books = [
        link
        for code in visible_posts(principal, posts.posts)
        for link in (
            (f"Slots · {code}", f"/posts/{code}/slots"),
            (f"Appointments · {code}", f"/posts/{code}/appointments"),
        )
    ]
    return nav + [(label, href, path == href) for label, href in books]


def _error_page(request: Request, status_code: int, message: str) -> HTMLResponse:
    return _render(request, "error.html.j2", status_code=status_code, message=message)


def _problems(errors) -> str:
    return "; ".join(f"{error['loc'][-1]}: {error['msg']}" for error in errors)


@router.get("/console.css")
def stylesheet() -> FileResponse:
    return FileResponse(STYLESHEET, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


# -- signing in and out -------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never another site after signing in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


@router.get("/sign-in")
def sign_in_page(request: Request, next: str | None = None) -> Response:
    if _session(request).account_id is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _render(request, "sign_in.html.j2", next=_safe_next(next))


@router.post("/sign-in", dependencies=CHECKED_FORM)
def sign_in(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    console = _console(request)
    address = request.client.host if request.client else "unknown"
    if console.throttle.retry_after(address) > 0:
        error = "Too many failed sign-ins from this computer. Try again in 15 minutes."
        return _render(request, "sign_in.html.j2", 429, next=_safe_next(next), name=name, error=error)
    with console.sessions.begin() as db:
        result = accounts.sign_in(db, name, password, console.clock())
        if result.account is not None:
            _session(request).sign_in(result.account.id, result.account.session_version)
            return RedirectResponse(_safe_next(next), status_code=303)
    console.throttle.failed(address)
    if result.outcome is accounts.SignInOutcome.LOCKED:
        minutes = int(accounts.LOCKOUT.total_seconds() // 60)
        error = f"Too many failed sign-ins: this account is locked for {minutes} minutes. Try again later."
    else:
        error = "The name or the password is wrong, or the account is disabled."
    return _render(request, "sign_in.html.j2", 401, next=_safe_next(next), name=name, error=error)


@router.post("/sign-out", dependencies=CHECKED_FORM)
def sign_out(request: Request) -> Response:
    session = _session(request)
    if session.account_id is not None:
        with _console(request).sessions.begin() as db:
            accounts.end_sessions(db, session.account_id)
    session.sign_out()
    return RedirectResponse("/sign-in", status_code=303)


# -- the queue ----------------------------------------------------------------------------


@router.get("/")
def queue_page(
    request: Request,
    principal: SignedIn,
    status: str | None = None,
    post: str | None = None,
    after: str | None = None,
    before: str | None = None,
) -> Response:
    if not can(principal, Permission.VIEW_QUEUE) and can(principal, Permission.MANAGE_ACCOUNTS):
        return RedirectResponse("/accounts", status_code=303)  # an admin's page
    require(principal, Permission.VIEW_QUEUE)
    console = _console(request)
    my_posts = visible_posts(principal, console.settings.posts.posts)
    posts = my_posts
    if post:
        require(principal, Permission.VIEW_REQUEST, post)
        if post not in my_posts:
            raise PageNotFound(f"There is no post {post}.")
        posts = [post]
    state = None
    if status:
        try:
            state = RequestState(status)
        except ValueError:
            raise PageNotFound(f"There is no status {status}.") from None
    try:
        after_cursor = queue.QueueCursor.decode(after) if after else None
        before_cursor = queue.QueueCursor.decode(before) if before else None
    except ValueError:
        raise PageNotFound("That page of the queue does not exist; start again from the first page.") from None
    with console.sessions() as db:
        page = queue.open_requests(db, posts, status=state, after=after_cursor, before=before_cursor)
        counts = queue.counts_by_status(db, posts)
    now = console.clock()
    filters = {key: value for key, value in (("status", status), ("post", post)) if value}

    def link(**extra: str) -> str:
        return "/?" + urlencode({**filters, **extra})

    return _render(
        request,
        "queue.html.j2",
        items=views.queue_items(page.rows, console.settings.posts, console.calendars, now),
        counts=counts,
        my_posts=[console.settings.posts.post(code) for code in my_posts],
        status=status or "",
        post=post or "",
        next_link=link(after=page.next_cursor.encode()) if page.next_cursor else None,
        previous_link=link(before=page.previous_cursor.encode()) if page.previous_cursor else None,
        first_link=link() if after or before else None,
        status_link=lambda state: "/?" + urlencode({**({"post": post} if post else {}), "status": state.value}),
    )


# -- one request --------------------------------------------------------------------------


def _request_page(
    request: Request, principal: Principal, case_number: str, status_code: int = 200, **context
) -> HTMLResponse:
    console = _console(request)
    with console.sessions() as db:
        row = queue.latest_request(db, case_number)
        if row is None:
            raise PageNotFound(f"No request for case {case_number.upper()} has been screened yet.")
        require(principal, Permission.VIEW_REQUEST, row.post)
        page = views.request_page(db, row, console.settings.posts, console.calendars, console.clock())
        if can(principal, Permission.ASSIGN, row.post):
            page.workers = accounts.workers_at(db, row.post)
    return _render(
        request,
        "request.html.j2",
        status_code=status_code,
        page=page,
        can_decide=can(principal, Permission.DECIDE, row.post) and page.state is RequestState.PENDING_REVIEW,
        can_claim=can(principal, Permission.CLAIM, row.post)
        and page.state in WAITING_STATES
        and row.assigned_officer != principal.name,
        can_supervise=can(principal, Permission.ASSIGN, row.post) and page.state in WAITING_STATES,
        can_audit=can(principal, Permission.VIEW_AUDIT),
        **context,
    )


@router.get("/requests/{case_number}")
def request_page(request: Request, principal: SignedIn, case_number: str, done: str | None = None) -> Response:
    return _request_page(request, principal, case_number, notice=DONE.get(done or ""))


@router.get("/requests/{case_number}/emails/{message_key}")
def email_preview(request: Request, principal: SignedIn, case_number: str, message_key: str) -> Response:
    """An email's HTML part exactly as the applicant received it, for the request page's frame."""
    with _console(request).sessions() as db:
        row = queue.latest_request(db, case_number)
        message = db.get(OutboxMessage, message_key)
        if row is None or message is None or message.request_id != row.request_id or message.html_body is None:
            raise PageNotFound("No such email for this request.")
        require(principal, Permission.VIEW_REQUEST, row.post)
        return HTMLResponse(message.html_body, headers=EMAIL_PREVIEW_HEADERS)


@router.get("/requests/{case_number}/timeline")
async def timeline_page(request: Request, principal: SignedIn, case_number: str) -> Response:
    """The auditor's timeline, reconstructed from the workflow history alone."""
    require(principal, Permission.VIEW_AUDIT)
    auditor = _console(request).auditor
    try:
        found = await auditor.history(case_number)
    except CaseNotFound:
        raise PageNotFound(f"No request for case {case_number}.") from None
    page = timeline_html(await auditor.timeline(found), found)
    return HTMLResponse(page, headers={**SECURITY_HEADERS, "Content-Security-Policy": TIMELINE_PAGE_CSP})


async def _act(
    request: Request,
    principal: Principal,
    case_number: str,
    action: str,
    decision: Callable[[], BaseModel],
    assignee: str | None = None,
) -> Response:
    """Send one Update for the signed-in account, after the access rules allow it."""

    def authorize() -> None:
        with _console(request).sessions() as db:
            authorize_action(db, principal, post_of_request(db, case_number), action, assignee)

    try:
        await run_in_threadpool(authorize)
        update = decision()
        await _desk(request).act(case_number, action, update)
    except (ValidationError, ValueError) as invalid:
        message = _problems(invalid.errors()) if isinstance(invalid, ValidationError) else str(invalid)
        return await run_in_threadpool(_request_page, request, principal, case_number, 422, error=message)
    except ActionRefused as refusal:
        # The workflow's own reason, e.g. another officer decided a moment ago.
        return await run_in_threadpool(
            _request_page, request, principal, case_number, 409, error=f"Nothing was changed: {refusal}."
        )
    except CaseNotFound as missing:
        raise PageNotFound(str(missing)) from None
    return RedirectResponse(f"/requests/{case_number.upper()}?{urlencode({'done': action})}", status_code=303)


Text = Annotated[str, Form(max_length=4000)]


@router.post("/requests/{case_number}/approve", dependencies=CHECKED_FORM)
async def approve(request: Request, principal: SignedIn, case_number: str, note: Text = "") -> Response:
    return await _act(
        request, principal, case_number, "approve",
        lambda: Approval(officer_id=principal.name, note=note.strip() or None),
    )


@router.post("/requests/{case_number}/deny", dependencies=CHECKED_FORM)
async def deny(
    request: Request, principal: SignedIn, case_number: str, standard_reason: Text = "", written_reason: Text = ""
) -> Response:
    def denial() -> Denial:
        reason = written_reason.strip() or standard_reason.strip()
        if not reason:
            raise ValueError("a denial needs a reason: choose one of the post's standard reasons or write one")
        return Denial(officer_id=principal.name, reason=reason)

    return await _act(request, principal, case_number, "deny", denial)


@router.post("/requests/{case_number}/request-info", dependencies=CHECKED_FORM)
async def request_info(request: Request, principal: SignedIn, case_number: str, needed: Text = "") -> Response:
    def info_request() -> InfoRequest:
        if not needed.strip():
            raise ValueError("say what the applicant must send")
        return InfoRequest(officer_id=principal.name, needed=needed)

    return await _act(request, principal, case_number, "request_info", info_request)


@router.post("/requests/{case_number}/claim", dependencies=CHECKED_FORM)
async def claim(request: Request, principal: SignedIn, case_number: str) -> Response:
    return await _act(request, principal, case_number, "claim", lambda: Claim(officer_id=principal.name))


@router.post("/requests/{case_number}/assign", dependencies=CHECKED_FORM)
async def assign(request: Request, principal: SignedIn, case_number: str, officer: Annotated[str, Form()] = "") -> Response:
    return await _act(
        request, principal, case_number, "assign",
        lambda: Assignment(supervisor_id=principal.name, officer_id=officer), assignee=officer,
    )


@router.post("/requests/{case_number}/extend-window", dependencies=CHECKED_FORM)
async def extend_window(
    request: Request,
    principal: SignedIn,
    case_number: str,
    business_days: Annotated[str, Form()] = "",
    reason: Text = "",
) -> Response:
    def extension() -> WindowExtension:
        if not reason.strip():
            raise ValueError("say why the window is extended")
        return WindowExtension(supervisor_id=principal.name, business_days=business_days, reason=reason)

    return await _act(request, principal, case_number, "extend_window", extension)


# -- the case file ------------------------------------------------------------------------

# What the case file page says after a change was recorded (the redirect carries the key).
RECORDED = {
    "cspa_confirmation": "CSPA confirmation recorded.",
    "contact": "Contact recorded.",
}


def _filed_case(db: Session, case_number: str) -> CaseFileRow | None:
    try:
        return case_file.case_file(db, case_number)
    except ValueError:  # not a case number at all
        return None


def _case_file_page(
    request: Request, principal: Principal, case_number: str, status_code: int = 200, **context
) -> HTMLResponse:
    console = _console(request)
    with console.sessions() as db:
        row = _filed_case(db, case_number)
        if row is None:
            raise PageNotFound(f"There is no case {case_number.upper()} in the case file.")
        require(principal, Permission.VIEW_REQUEST, row.post)
        page = views.case_file_page(
            row, case_file.case_file_changes(db, row.case_number), console.settings.posts, console.clock()
        )
        has_request = queue.latest_request(db, row.case_number) is not None
    return _render(
        request,
        "case_file.html.j2",
        status_code=status_code,
        page=page,
        has_request=has_request,
        # Recording changes what screening reads of the case: the work of those who decide
        # the post's requests, never an auditor's.
        can_record=can(principal, Permission.DECIDE, row.post),
        **context,
    )


@router.get("/cases/{case_number}")
def case_file_page(request: Request, principal: SignedIn, case_number: str, done: str | None = None) -> Response:
    return _case_file_page(request, principal, case_number, notice=RECORDED.get(done or ""))


def _record(
    request: Request, principal: Principal, case_number: str, kind: str, record: Callable[[Session, datetime], object]
) -> Response:
    """Record one change to the case file for the signed-in account, after the access
    rules allow it; a refusal shows the page again, with nothing changed."""
    console = _console(request)
    try:
        with console.sessions.begin() as db:
            row = _filed_case(db, case_number)
            if row is None:
                raise PageNotFound(f"There is no case {case_number.upper()} in the case file.")
            require(principal, Permission.DECIDE, row.post)
            # The post's own date decides what is "in the future", not UTC's.
            record(db, console.clock().astimezone(console.settings.posts.post(row.post).zone))
            number = row.case_number
    except ValueError as refusal:
        return _case_file_page(request, principal, case_number, 422, error=f"Nothing was recorded: {refusal}.")
    return RedirectResponse(f"/cases/{number}?{urlencode({'done': kind})}", status_code=303)


def _form_date(value: str, what: str) -> date:
    if not value.strip():
        raise ValueError(f"give {what} (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{what} {value.strip()!r} is not a date (YYYY-MM-DD)") from None


def _form_position(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError("choose the child whose CSPA eligibility was confirmed") from None


@router.post("/cases/{case_number}/cspa-confirmation", dependencies=CHECKED_FORM)
def record_cspa_confirmation(
    request: Request,
    principal: SignedIn,
    case_number: str,
    position: Annotated[str, Form()] = "",
    confirmed_on: Annotated[str, Form()] = "",
    note: Text = "",
) -> Response:
    return _record(
        request, principal, case_number, "cspa_confirmation",
        lambda db, at: case_file.record_cspa_confirmation(
            db, case_number, _form_position(position), _form_date(confirmed_on, "the CSPA confirmation date"),
            principal.name, at, note,
        ),
    )


@router.post("/cases/{case_number}/contact", dependencies=CHECKED_FORM)
def record_contact(
    request: Request, principal: SignedIn, case_number: str, contacted_on: Annotated[str, Form()] = "", note: Text = ""
) -> Response:
    return _record(
        request, principal, case_number, "contact",
        lambda db, at: case_file.record_contact(
            db, case_number, _form_date(contacted_on, "the contact date"), principal.name, at, note
        ),
    )


# -- the appointment book -----------------------------------------------------------------

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
BOOK_YEARS = 5  # the book's pages reach this many years either side of today at the post


def _book_post(request: Request, code: str) -> Post:
    try:
        return _console(request).settings.posts.post(code)
    except UnknownPost:
        raise PageNotFound(f"There is no post {code}.") from None


def _book_range(request: Request, post: Post, from_text: str | None, to_text: str | None) -> tuple[date, date]:
    """The days the page shows: `from_text` to `to_text` (YYYY-MM-DD), by default today at
    the post and its next business days; ValueError, saying why, for a range it cannot show."""
    console = _console(request)
    now = console.clock()
    today = now.astimezone(post.zone).date()
    first = _form_date(from_text, "the first day") if from_text and from_text.strip() else today
    _within_reach(first, today)
    if to_text and to_text.strip():
        last = _form_date(to_text, "the last day")
        _within_reach(last, today)
    else:
        last = views.book_last_day(console.calendars.covering(post.code, first, first + timedelta(days=60)), first)
    if last < first:
        raise ValueError(f"the first day {first} is after the last day {last}")
    if (last - first).days >= appointment_book.MAX_DAYS:
        raise ValueError(f"{first} to {last} is more than {appointment_book.MAX_DAYS} days: show a year at most")
    return first, last


def _within_reach(day: date, today: date) -> None:
    if abs((day - today).days) > BOOK_YEARS * 366:
        raise ValueError(f"{day} is more than {BOOK_YEARS} years from today, {today}")


def _book_page(
    request: Request, principal: Principal, post: Post, first: date, last: date, status_code: int = 200,
    notice_of: Callable[[views.AppointmentBookPage], str | None] = lambda page: None,
    form: dict[str, str] | None = None, **context,
) -> HTMLResponse:
    console = _console(request)
    calendar = console.calendars.covering(post.code, first, last)
    with console.sessions() as db:
        page = views.appointment_book_page(
            post, calendar, appointment_book.slots(db, post, first, last), first, last, console.clock()
        )
    return _render(
        request,
        "slots.html.j2",
        status_code=status_code,
        page=page,
        # Publishing and closing: Permission.MANAGE_SLOTS at the post (its supervisors).
        can_manage=can(principal, Permission.MANAGE_SLOTS, post.code),
        max_capacity=appointment_book.MAX_CAPACITY,
        form=form or {},
        notice=notice_of(page),
        **context,
    )


def _book_refusal(
    request: Request, principal: Principal, post: Post, view_from: str, view_to: str, status_code: int, error: str,
    **context,
) -> HTMLResponse:
    """The book again, as it was shown, with why nothing was written."""
    try:
        first, last = _book_range(request, post, view_from, view_to)
    except ValueError:
        first, last = _book_range(request, post, None, None)
    return _book_page(request, principal, post, first, last, status_code, error=error, **context)


@router.get("/posts/{post}/slots")
def slots_page(
    request: Request,
    principal: SignedIn,
    post: str,
    from_day: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    to: Annotated[str | None, Query(max_length=40)] = None,
    published: str | None = None,
    already: str | None = None,
    closed: str | None = None,
    at: str | None = None,
) -> Response:
    book = _book_post(request, post)
    require(principal, Permission.VIEW_REQUEST, book.code)
    try:
        first, last = _book_range(request, book, from_day, to)
    except ValueError as bad:
        return _error_page(request, 400, f"The book cannot show that: {bad}.")

    def notice_of(page: views.AppointmentBookPage) -> str | None:
        # After a redirect from publishing or closing: the counts it reports, or the slot it closed.
        if published is not None and published.isdigit() and (already or "0").isdigit():
            return views.published_notice(page, int(published), int(already or "0"))
        if closed and at:
            try:
                day = date.fromisoformat(closed)
            except ValueError:
                return None
            slot = page.slot(day, at)
            shown = next((d for d in page.days if d.day == day), None)
            if slot is not None and shown is not None and slot.state == "closed":
                return views.closed_notice(shown, slot)
        return None

    return _book_page(request, principal, book, first, last, notice_of=notice_of)


def _form_times(value: str) -> list[time]:
    """The slots' times from "08:00, 08:30"."""
    moments = []
    for text in (part.strip() for part in value.split(",")):
        if not text:
            continue
        match = _CLOCK.match(text)
        try:
            if match is None:
                raise ValueError
            moments.append(time(int(match[1]), int(match[2])))
        except ValueError:
            raise ValueError(f"{text!r} is not a time of day: give HH:MM, e.g. 08:30") from None
    return moments


def _form_capacity(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"the capacity {value.strip()!r} is not a whole number of applicants") from None


ShortField = Annotated[str, Form(max_length=1000)]


@router.post("/posts/{post}/slots", dependencies=CHECKED_FORM)
def publish_slots(
    request: Request,
    principal: SignedIn,
    post: str,
    first_day: ShortField = "",
    last_day: ShortField = "",
    times: ShortField = "",
    capacity: ShortField = "",
    view_from: ShortField = "",
    view_to: ShortField = "",
) -> Response:
    """Slots at `times` on each business day from `first_day` to `last_day` (that day
    alone when empty), for the signed-in supervisor of the post."""
    book = _book_post(request, post)
    require(principal, Permission.MANAGE_SLOTS, book.code)
    console = _console(request)
    form = {"first_day": first_day, "last_day": last_day, "times": times, "capacity": capacity}
    try:
        first = _form_date(first_day, "the first day")
        last = _form_date(last_day, "the last day") if last_day.strip() else first
        moments, seats = _form_times(times), _form_capacity(capacity)
        now = console.clock()
        today = now.astimezone(book.zone).date()
        _within_reach(first, today)
        _within_reach(last, today)
        calendar = console.calendars.covering(book.code, first, last)
        with console.sessions.begin() as db:
            report = appointment_book.publish_slots(
                db, book, calendar, first, last, moments, seats, principal.name, now
            )
            counts = {"published": len(report.published), "already": len(report.already_published)}
    except (ValueError, appointment_book.Refused) as refusal:
        return _book_refusal(
            request, principal, book, view_from, view_to, 422, f"Nothing was published: {refusal}.", form=form
        )
    except IntegrityError:  # another supervisor published one of these slots at the same moment
        return _book_refusal(
            request, principal, book, view_from, view_to, 409,
            "Nothing was published: some of these slots were published by someone else a moment ago; "
            "publish again to add the others.",
            form=form,
        )
    query = {"from": first.isoformat(), "to": last.isoformat(), **counts}
    return RedirectResponse(f"/posts/{book.code}/slots?{urlencode(query)}", status_code=303)


@router.post("/posts/{post}/slots/close", dependencies=CHECKED_FORM)
def close_slot(
    request: Request,
    principal: SignedIn,
    post: str,
    day: ShortField = "",
    slot_time: Annotated[str, Form(alias="time", max_length=1000)] = "",
    view_from: ShortField = "",
    view_to: ShortField = "",
) -> Response:
    """Close one slot to new bookings, for the signed-in supervisor of the post; the
    bookings it holds stay."""
    book = _book_post(request, post)
    require(principal, Permission.MANAGE_SLOTS, book.code)
    console = _console(request)
    try:
        on = _form_date(day, "the slot's day")
        moments = _form_times(slot_time)
        if len(moments) != 1:
            raise ValueError("give the slot's time, one HH:MM")
        at_time = moments[0]
        with console.sessions.begin() as db:
            appointment_book.close_slot(db, book, on, at_time, principal.name, console.clock())
    except (ValueError, appointment_book.UnknownSlot) as refusal:
        return _book_refusal(request, principal, book, view_from, view_to, 422, f"Nothing was closed: {refusal}.")
    try:  # back to the days the page showed
        shown = dict(zip(("from", "to"), (day.isoformat() for day in _book_range(request, book, view_from, view_to))))
    except ValueError:
        shown = {}
    query = {**shown, "closed": on.isoformat(), "at": f"{at_time:%H:%M}"}
    return RedirectResponse(f"/posts/{book.code}/slots?{urlencode(query)}", status_code=303)


# -- the day's appointments ----------------------------------------------------------------


def _appointment_day(request: Request, post: Post, day_text: str | None) -> date:
    """The day the list shows: `day_text` (YYYY-MM-DD), by default today at the post;
    ValueError, saying why, for a day it cannot show."""
    today = _console(request).clock().astimezone(post.zone).date()
    day = _form_date(day_text, "the day") if day_text and day_text.strip() else today
    _within_reach(day, today)
    return day


def _appointments_page(
    request: Request, principal: Principal, post: Post, day: date, status_code: int = 200,
    notice_of: Callable[[views.AppointmentDayPage], str | None] = lambda page: None, **context,
) -> HTMLResponse:
    console = _console(request)
    calendar = console.calendars.covering(post.code, day - timedelta(days=31), day + timedelta(days=31))
    with console.sessions() as db:
        page = views.appointment_day_page(
            post,
            calendar,
            appointment_book.slots(db, post, day, day),
            appointment_book.held_bookings_on(db, post, day),
            day,
            console.clock(),
        )
    return _render(
        request,
        "appointments.html.j2",
        status_code=status_code,
        page=page,
        # Recording attendance: Permission.RECORD_ATTENDANCE at the post (its officers and supervisors).
        can_record=can(principal, Permission.RECORD_ATTENDANCE, post.code),
        notice=notice_of(page),
        **context,
    )


@router.get("/posts/{post}/appointments")
def appointments_page(
    request: Request,
    principal: SignedIn,
    post: str,
    day: Annotated[str | None, Query(max_length=40)] = None,
    recorded: Annotated[str | None, Query(max_length=40)] = None,
    outcome: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    """The post's appointments of one day: each slot and the bookings it holds, and for
    those who take attendance, a form per booking to record whether the applicants came."""
    book = _book_post(request, post)
    require(principal, Permission.VIEW_REQUEST, book.code)
    try:
        shown = _appointment_day(request, book, day)
    except ValueError as bad:
        return _error_page(request, 400, f"The list cannot show that: {bad}.")

    def notice_of(page: views.AppointmentDayPage) -> str | None:
        # After a redirect from recording: only for a case the list shows.
        return views.attendance_notice(page, recorded, outcome or "") if recorded else None

    return _appointments_page(request, principal, book, shown, notice_of=notice_of)


# The attendance form's two buttons, and what each records.
ATTENDED = {"attended": True, "missed": False}


@router.post("/posts/{post}/appointments/attendance", dependencies=CHECKED_FORM)
async def record_attendance(
    request: Request,
    principal: SignedIn,
    post: str,
    case_number: ShortField = "",
    outcome: ShortField = "",
    note: Text = "",
    day: ShortField = "",
) -> Response:
    """Record, for the signed-in officer or supervisor of the post, whether the applicants
    of a booked case came to their appointment; the workflow refuses before the day."""
    book = _book_post(request, post)
    try:
        shown = _appointment_day(request, book, day)
    except ValueError:
        shown = _appointment_day(request, book, None)

    def again(status_code: int, error: str) -> Awaitable[HTMLResponse]:
        return run_in_threadpool(_appointments_page, request, principal, book, shown, status_code, error=error)

    def authorize() -> None:
        with _console(request).sessions() as db:
            authorize_action(db, principal, post_of_request(db, case_number), "record_attendance")

    try:
        if not case_number.strip():
            raise ValueError("name the case whose attendance is recorded")
        await run_in_threadpool(authorize)
        if outcome not in ATTENDED:
            raise ValueError("choose attended or missed")
        attendance = Attendance(officer_id=principal.name, attended=ATTENDED[outcome], note=note.strip() or None)
        await _desk(request).act(case_number, "record_attendance", attendance)
    except (ValidationError, ValueError) as invalid:
        message = _problems(invalid.errors()) if isinstance(invalid, ValidationError) else str(invalid)
        return await again(422, f"Nothing was recorded: {message}.")
    except ActionRefused as refusal:
        # The workflow's own reason, e.g. the appointment's day has not come yet.
        return await again(409, f"Nothing was recorded: {refusal}.")
    except CaseNotFound as missing:
        raise PageNotFound(str(missing)) from None
    query = {"day": shown.isoformat(), "recorded": case_number.strip().upper(), "outcome": outcome}
    return RedirectResponse(f"/posts/{book.code}/appointments?{urlencode(query)}", status_code=303)


# -- the supervisor overview --------------------------------------------------------------


@router.get("/overview")
def overview_page(request: Request, principal: SignedIn) -> Response:
    require(principal, Permission.VIEW_OVERVIEW)
    console = _console(request)
    now = console.clock()
    overviews = []
    with console.sessions() as db:
        for code in visible_posts(principal, console.settings.posts.posts):
            post = console.settings.posts.post(code)
            calendar = console.calendars.covering(code, now.date(), now.date())
            rows = queue.due_by(db, code, views.soon_due_until(calendar, post, now))
            load = queue.open_counts_by_officer(db, [code])
            overviews.append(
                views.post_overview(
                    post,
                    views.queue_items(rows, console.settings.posts, console.calendars, now),
                    {officer: count for (_, officer), count in load.items()},
                )
            )
    return _render(request, "overview.html.j2", overviews=overviews)


# -- accounts (admin) ---------------------------------------------------------------------


def _accounts_page(request: Request, status_code: int = 200, **context) -> HTMLResponse:
    console = _console(request)
    with console.sessions() as db:
        listed = [(account, accounts.principal_of(account)) for account in accounts.accounts(db)]
        api_tokens = tokens.staff_tokens(db)
        clients = tokens.intake_clients(db)
    return _render(
        request, "accounts.html.j2", status_code=status_code, listed=listed, roles=list(Role),
        posts=list(console.settings.posts.posts.values()), api_tokens=api_tokens, clients=clients,
        now=console.clock(), **context,
    )


@router.get("/accounts")
def accounts_page(request: Request, principal: SignedIn) -> Response:
    require(principal, Permission.MANAGE_ACCOUNTS)
    return _accounts_page(request)


@router.post("/accounts", dependencies=CHECKED_FORM)
def add_account(
    request: Request,
    principal: SignedIn,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form()],
    password: Annotated[str, Form(max_length=1024)],
    posts: Annotated[list[str], Form()] = [],
) -> Response:
    require(principal, Permission.MANAGE_ACCOUNTS)
    console = _console(request)
    try:
        for code in posts:
            console.settings.posts.post(code)
        with console.sessions.begin() as db:
            accounts.add_account(db, name, Role(role), posts, password, console.clock())
    except (ValueError, KeyError) as refusal:
        return _accounts_page(request, 422, error=str(refusal))
    return _accounts_page(request, notice=f"Account {name} added.")


@router.post("/accounts/{name}/disable", dependencies=CHECKED_FORM)
def disable_account(request: Request, principal: SignedIn, name: str) -> Response:
    return _set_disabled(request, principal, name, True)


@router.post("/accounts/{name}/enable", dependencies=CHECKED_FORM)
def enable_account(request: Request, principal: SignedIn, name: str) -> Response:
    return _set_disabled(request, principal, name, False)


@router.post("/accounts/{name}/tokens/{label}/revoke", dependencies=CHECKED_FORM)
def revoke_token(request: Request, principal: SignedIn, name: str, label: str) -> Response:
    require(principal, Permission.MANAGE_ACCOUNTS)
    try:
        with _console(request).sessions.begin() as db:
            tokens.revoke_staff_tokens(db, name, label)
    except accounts.UnknownAccount as missing:
        raise PageNotFound(str(missing)) from None
    return RedirectResponse("/accounts", status_code=303)


@router.post("/intake-clients/{name}/revoke", dependencies=CHECKED_FORM)
def revoke_intake_client(request: Request, principal: SignedIn, name: str) -> Response:
    require(principal, Permission.MANAGE_ACCOUNTS)
    console = _console(request)
    try:
        with console.sessions.begin() as db:
            tokens.revoke_intake_client(db, name, console.clock())
    except tokens.UnknownClient as missing:
        raise PageNotFound(str(missing)) from None
    return RedirectResponse("/accounts", status_code=303)


def _set_disabled(request: Request, principal: Principal, name: str, disabled: bool) -> Response:
    require(principal, Permission.MANAGE_ACCOUNTS)
    if disabled and name == principal.name:
        return _accounts_page(request, 422, error="You cannot disable your own account.")
    console = _console(request)
    try:
        with console.sessions.begin() as db:
            accounts.set_disabled(db, name, disabled, console.clock())
    except accounts.UnknownAccount as missing:
        raise PageNotFound(str(missing)) from None
    return RedirectResponse("/accounts", status_code=303)
