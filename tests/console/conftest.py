"""The console on a migrated SQLite database, with accounts of each role and requests
stored as the workflow's activities store them.

Most console tests need no Temporal server: the Desk is replaced by one that records the
Updates it is asked to send (or refuses them as the workflow's validator would). The
browser test (test_browser.py) runs the real thing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.api import create_app
from reschedule_desk.console.access import Role
from reschedule_desk.desk import ActionRefused
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.case_file import CaseFile
from reschedule_desk.domain.lifecycle import RequestState, RuleOutcome, Transition
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.domain.records import EmailKind, EmailOrder, TransitionEntry
from reschedule_desk.settings import Settings
from reschedule_desk.storage import accounts, case_file, repository
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.repository import OutboxDraft
from tests.conftest import TEST_PASSWORD, make_case, reschedule_request

PASSWORD = TEST_PASSWORD

# The console's clock in these tests: Monday 23 November 2026, 09:00 in Nairobi.
NOW = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)

# Accounts of each role, by name: (role, posts).
ACCOUNTS: dict[str, tuple[Role, list[str]]] = {
    "officer.kim": (Role.OFFICER, ["nairobi"]),
    "officer.njeri": (Role.OFFICER, ["nairobi"]),
    "officer.sok": (Role.OFFICER, ["phnom-penh"]),
    "supervisor.otieno": (Role.SUPERVISOR, ["nairobi"]),
    "auditor.lee": (Role.AUDITOR, []),
    "admin.ana": (Role.ADMIN, []),
}


@dataclass
class RecordingDesk:
    """Stands in for the Desk: keeps every Update the console sends, or refuses it with
    `refusal` as the workflow's validator would."""

    sent: list[tuple[str, str, BaseModel]] = field(default_factory=list)
    refusal: str | None = None

    async def act(self, case_number: str, action: str, decision: BaseModel) -> None:
        if self.refusal:
            raise ActionRefused(self.refusal)
        self.sent.append((case_number, action, decision))


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id still, but with the smallest cost: the tests sign in hundreds of times.
    Production keeps argon2-cffi's defaults."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def console_settings(desk_settings: Settings) -> Settings:
    return replace(desk_settings, secret_key="a test key, not a secret")


@pytest.fixture
def db(console_settings: Settings) -> sessionmaker[Session]:
    engine = make_engine(console_settings.database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def make_account(db: sessionmaker[Session]) -> Callable[..., None]:
    def make(name: str, role: Role, posts: list[str], password: str = PASSWORD) -> None:
        with db.begin() as session:
            accounts.add_account(session, name, role, posts, password, NOW)

    return make


@pytest.fixture
def staff(make_account) -> None:
    for name, (role, posts) in ACCOUNTS.items():
        make_account(name, role, posts)


@pytest.fixture
def desk() -> RecordingDesk:
    return RecordingDesk()


@pytest.fixture
def app(console_settings: Settings, desk: RecordingDesk, staff):
    app = create_app(desk=desk, settings=console_settings)
    app.state.console.clock = lambda: NOW
    yield app
    app.state.console.close()


class Browser:
    """An httpx client that keeps the console's cookie and fills in the CSRF token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf_token: str | None = None

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(path, **kwargs)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if found:
            self.csrf_token = found.group(1)
        return response

    async def submit(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST a form as the page would: with the session's CSRF token."""
        return await self.client.post(path, data={"csrf_token": self.csrf_token, **(data or {})}, **kwargs)

    async def sign_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/sign-in")
        response = await self.submit("/sign-in", {"name": name, "password": password})
        await self.get("/sign-in", follow_redirects=True)  # the token is new after signing in
        return response


@pytest.fixture
async def browser(app) -> AsyncIterator[Callable[[], Browser]]:
    """A factory of browsers, each with cookies of its own."""
    clients: list[httpx.AsyncClient] = []

    def new() -> Browser:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1")
        clients.append(client)
        return Browser(client)

    yield new
    for client in clients:
        await client.aclose()


@pytest.fixture
async def signed_in(browser) -> Callable[[str], Browser]:
    async def sign_in(name: str) -> Browser:
        page = browser()
        response = await page.sign_in(name)
        assert response.status_code == 303, response.text
        return page

    return sign_in


# Requests as the activities store them -------------------------------------------------


def screening() -> list[RuleOutcome]:
    return [
        RuleOutcome(rule="original_appointment_passed", passed=True, explanation="The appointment on 2 November 2026 has passed."),
        RuleOutcome(rule="children_can_derive_status", passed=True, explanation="No child on the letter is 21 or older."),
    ]


@pytest.fixture
def store_request(db: sessionmaker[Session], posts: PostsConfig) -> Callable[..., str]:
    """Store a request screened eligible at `submitted_at`, giving `reason`, for a case filed
    with `changes` (make_case), then in `state`, its window ending at `window_ends_at`; returns the case
    number."""

    def store(
        post: str = "nairobi",
        *,
        submitted_at: datetime = NOW - timedelta(days=3),
        state: RequestState = RequestState.PENDING_REVIEW,
        window_ends_at: datetime | None = None,
        assigned_to: str | None = None,
        reason: str = "My medicals were on hold on the day of my appointment.",
        **changes: Any,
    ) -> str:
        case = make_case(post, now=submitted_at.replace(tzinfo=None), **changes)
        request = reschedule_request(post, case=case, reason=reason)
        calendar = build_post_calendar(posts.post(post), date(2025, 1, 1), date(2028, 12, 31))
        windows = posts.post(post).windows
        release_at = calendar.release_time(submitted_at, windows.approval_release_business_days)
        window_ends_at = window_ends_at or calendar.window_end(submitted_at, windows.review_business_days)
        reminder_at = calendar.reminder_time(window_ends_at, windows.reminder_lead_business_days)
        request_id = f"run-{request.case_number}"
        deadlines = dict(window_ends_at=window_ends_at, reminder_at=reminder_at, approval_email_release_at=release_at)
        with db.begin() as session:
            case_file.import_cases(session, [CaseFile.model_validate(case)], post, submitted_at)
            first = TransitionEntry(
                request_id=request_id,
                workflow_id=request.workflow_id,
                transition=Transition(
                    step=1, at=submitted_at, from_state=RequestState.SUBMITTED,
                    to_state=RequestState.PENDING_REVIEW, actor="system", action="screen",
                ),
                request=request,
                rules=screening(),
                email=EmailOrder(kind=EmailKind.ACKNOWLEDGEMENT),
                **deadlines,
            )
            repository.record_transition(
                session,
                first,
                OutboxDraft(
                    kind=EmailKind.ACKNOWLEDGEMENT,
                    recipient=request.contact_email,
                    subject=f"Case {request.case_number}: we received your request",
                    text_body="We received your request.",
                    html_body='<p style="color: #1b1b1b">We received your request.</p>',
                ),
            )
            step = 1
            if assigned_to:
                step += 1
                repository.record_transition(session, _next(first, step, "claim", assigned_to, RequestState.PENDING_REVIEW, assigned_to=assigned_to), None)
            if state is not RequestState.PENDING_REVIEW:
                step += 1
                repository.record_transition(
                    session, _next(first, step, "request_info", "officer.kim", state, assigned_to=assigned_to), None
                )
        return request.case_number

    return store


def _next(first: TransitionEntry, step: int, action: str, actor: str, state: RequestState, **changes) -> TransitionEntry:
    return first.model_copy(
        update=dict(
            transition=first.transition.model_copy(
                update=dict(step=step, action=action, actor=actor, from_state=RequestState.PENDING_REVIEW, to_state=state,
                            at=first.transition.at + timedelta(hours=step))
            ),
            request=None,
            rules=[],
            email=None,
            **changes,
        )
    )
