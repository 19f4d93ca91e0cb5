"""The applicant's pages on a migrated SQLite database, with requests stored as the
workflow's activities store them and slots published in the post's appointment book.

The quick tests replace the Desk with one that answers from statuses the test sets and
records the Updates it is asked to send (or refuses them as the workflow would). The
browser test (test_applicant_browser.py) runs the real thing on Temporal's time-skipping
server.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.api import create_app
from reschedule_desk.desk import ActionRefused, CaseNotFound
from reschedule_desk.domain.appointments import Appointment
from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.settings import Settings
from reschedule_desk.storage import appointment_book
from tests.console.conftest import NOW, console_settings, db, store_request  # noqa: F401 (fixtures)


@dataclass
class FakeDesk:
    """Stands in for the Desk: each case's latest request id and status as the test sets
    them; keeps every Update sent, or refuses it with `refusal` as the workflow would."""

    request_ids: dict[str, str] = field(default_factory=dict)
    statuses: dict[str, RequestStatus] = field(default_factory=dict)
    sent: list[tuple[str, str, BaseModel, str | None]] = field(default_factory=list)
    refusal: str | None = None

    async def request_id(self, case_number: str) -> str:
        if case_number not in self.request_ids:
            raise CaseNotFound(f"no request for case {case_number}")
        return self.request_ids[case_number]

    async def status(self, case_number: str) -> RequestStatus:
        if case_number not in self.statuses:
            raise CaseNotFound(f"no request for case {case_number}")
        return self.statuses[case_number]

    async def act(self, case_number: str, action: str, decision: BaseModel, request_id: str | None = None):
        if self.refusal:
            raise ActionRefused(self.refusal)
        self.sent.append((case_number, action, decision, request_id))
        return self.statuses[case_number]


@pytest.fixture
def desk() -> FakeDesk:
    return FakeDesk()


@pytest.fixture
def app(console_settings: Settings, desk: FakeDesk):
    app = create_app(desk=desk, settings=console_settings)
    app.state.console.clock = lambda: NOW
    yield app
    app.state.console.close()


@dataclass
class StoredRequest:
    case_number: str
    request_id: str
    secret: str


@pytest.fixture
def awaiting_booking(app, desk: FakeDesk, store_request) -> Callable[..., StoredRequest]:
    """A request stored as the activities store it, that the desk says is approved and
    waiting for its booking until `book_by` (or in `state`, holding `appointment`)."""

    def make(
        post: str = "nairobi",
        *,
        state: RequestState = RequestState.AWAITING_BOOKING,
        book_by: datetime = NOW + timedelta(days=28),
        appointment: Appointment | None = None,
    ) -> StoredRequest:
        case_number = store_request(post)
        request_id = f"run-{case_number}"
        desk.request_ids[case_number] = request_id
        desk.statuses[case_number] = RequestStatus(
            case_number=case_number,
            post=post,
            status=state,
            submitted_at=NOW - timedelta(days=10),
            window_ends_at=book_by if state is RequestState.AWAITING_BOOKING else None,
            appointment=appointment,
        )
        return StoredRequest(case_number, request_id, app.state.applicant_secrets.for_request(request_id))

    return make


@pytest.fixture
def publish(db: sessionmaker[Session], posts: PostsConfig) -> Callable[..., None]:
    """Slots in the post's appointment book, published at NOW by the post's supervisor."""

    def publish_slots(post: str, first_day: date, last_day: date, times: Sequence[time], capacity: int = 4) -> None:
        calendar = build_post_calendar(posts.post(post), date(2026, 1, 1), date(2027, 12, 31))
        with db.begin() as session:
            appointment_book.publish_slots(
                session, posts.post(post), calendar, first_day, last_day, list(times), capacity, "supervisor.otieno", NOW
            )

    return publish_slots


class Visitor:
    """An httpx client that keeps the applicant's cookie, fills in the CSRF token, and
    remembers every address it asked for."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf_token: str | None = None
        self.addresses: list[str] = []

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        response = await self.client.get(path, **kwargs)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        if found:
            self.csrf_token = found.group(1)
        return response

    async def submit(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        """POST a form as the page would: with the session's CSRF token."""
        return await self.client.post(path, data={"csrf_token": self.csrf_token, **(data or {})}, **kwargs)

    async def sign_in(self, case_number: str, secret: str) -> httpx.Response:
        await self.get("/applicant")
        response = await self.submit("/applicant/sign-in", {"case_number": case_number, "secret": secret})
        await self.get("/applicant", follow_redirects=True)  # the token is new after signing in
        return response


@pytest.fixture
async def visitor(app) -> AsyncIterator[Callable[[], Visitor]]:
    """A factory of visitors, each with cookies of its own."""
    clients: list[httpx.AsyncClient] = []

    def new() -> Visitor:
        visitor: Visitor

        async def remember(request: httpx.Request) -> None:
            visitor.addresses.append(str(request.url))

        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", event_hooks={"request": [remember]}
        )
        clients.append(client)
        visitor = Visitor(client)
        return visitor

    yield new
    for client in clients:
        await client.aclose()
