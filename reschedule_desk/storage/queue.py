"""Read-side queries of the console: the queue of open requests, counts, what comes due.

A request's row is written once screening is done, so the open requests in the table are
the waiting ones (PENDING_REVIEW, INFO_REQUESTED). Only they have a window (the workflow
records none once a request closes), so ordering by the end of the window, with the
request id to break ties, is "most urgent first", and the index on (post, window_ends_at,
request_id) serves it, one post at a time. Pages are keyset pages:
the next one starts after the last row shown, so page 200 costs what page 1 costs.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from reschedule_desk.domain.lifecycle import WAITING_STATES, RequestState
from reschedule_desk.storage.tables import RequestRow

PAGE_SIZE = 25
_CURSOR_TIME = "%Y%m%dT%H%M%S%fZ"


@dataclass(frozen=True)
class QueueCursor:
    """A place in the queue: the row it names and where the page goes from it."""

    window_ends_at: datetime
    request_id: str

    def encode(self) -> str:
        return f"{self.window_ends_at.astimezone(UTC).strftime(_CURSOR_TIME)}_{self.request_id}"

    @classmethod
    def decode(cls, text: str) -> QueueCursor:
        """Raises ValueError for anything encode() did not make."""
        moment, _, request_id = text.partition("_")
        if not request_id:
            raise ValueError(f"not a queue position: {text!r}")
        return cls(datetime.strptime(moment, _CURSOR_TIME).replace(tzinfo=UTC), request_id)


@dataclass(frozen=True)
class QueueRow:
    request_id: str
    case_number: str
    post: str
    status: RequestState
    window_ends_at: datetime
    assigned_officer: str | None
    submitted_at: datetime

    @property
    def cursor(self) -> QueueCursor:
        return QueueCursor(self.window_ends_at, self.request_id)


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: QueueCursor | None  # the page after this one starts after it
    previous_cursor: QueueCursor | None  # the page before this one ends before it


_COLUMNS = (
    RequestRow.request_id,
    RequestRow.case_number,
    RequestRow.post,
    RequestRow.status,
    RequestRow.window_ends_at,
    RequestRow.assigned_officer,
    RequestRow.submitted_at,
)


def _open_at(posts: Collection[str], status: RequestState | None = None):
    states = [status] if status is not None else sorted(WAITING_STATES)
    return and_(
        RequestRow.post.in_(list(posts)),
        RequestRow.status.in_(states),
        RequestRow.window_ends_at.is_not(None),
    )


def open_requests(
    session: Session,
    posts: Collection[str],
    *,
    status: RequestState | None = None,
    after: QueueCursor | None = None,
    before: QueueCursor | None = None,
    limit: int = PAGE_SIZE,
) -> QueuePage:
    """One page of the open requests of `posts`, the window ending soonest first:
    the first page, the page after `after`, or the page before `before`.

    One index range per post (a handful), merged here: a single query over several posts
    would make the database sort every open request after the cursor.
    """
    backwards = before is not None
    rows = sorted(
        (row for post in posts for row in _post_page(session, post, status, after, before, limit + 1)),
        key=lambda row: (row.window_ends_at, row.request_id),
        reverse=backwards,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
        return QueuePage(
            rows,
            next_cursor=rows[-1].cursor if rows else None,
            previous_cursor=rows[0].cursor if more else None,
        )
    return QueuePage(
        rows,
        next_cursor=rows[-1].cursor if more else None,
        previous_cursor=rows[0].cursor if after is not None and rows else None,
    )


def _post_page(
    session: Session,
    post: str,
    status: RequestState | None,
    after: QueueCursor | None,
    before: QueueCursor | None,
    limit: int,
) -> list[QueueRow]:
    query = select(*_COLUMNS).where(_open_at([post], status))
    # ">=" / "<=" on the window first lets both databases start the range at the cursor.
    if before is not None:
        query = query.where(
            RequestRow.window_ends_at <= before.window_ends_at,
            or_(RequestRow.window_ends_at < before.window_ends_at, RequestRow.request_id < before.request_id),
        ).order_by(RequestRow.window_ends_at.desc(), RequestRow.request_id.desc())
    else:
        if after is not None:
            query = query.where(
                RequestRow.window_ends_at >= after.window_ends_at,
                or_(RequestRow.window_ends_at > after.window_ends_at, RequestRow.request_id > after.request_id),
            )
        query = query.order_by(RequestRow.window_ends_at, RequestRow.request_id)
    return [QueueRow(*row) for row in session.execute(query.limit(limit))]


def counts_by_status(session: Session, posts: Collection[str]) -> dict[RequestState, int]:
    """How many open requests of `posts` are in each open state (zero included)."""
    counted = dict(
        session.execute(
            select(RequestRow.status, func.count()).where(_open_at(posts)).group_by(RequestRow.status)
        ).all()
    )
    return {state: counted.get(state, 0) for state in sorted(WAITING_STATES, reverse=True)}


def due_by(session: Session, post: str, until: datetime) -> list[QueueRow]:
    """The open requests of `post` whose window ends by `until`, soonest first."""
    query = (
        select(*_COLUMNS)
        .where(_open_at([post]), RequestRow.window_ends_at <= until)
        .order_by(RequestRow.window_ends_at, RequestRow.request_id)
    )
    return [QueueRow(*row) for row in session.execute(query)]


def open_counts_by_officer(session: Session, posts: Collection[str]) -> dict[tuple[str, str | None], int]:
    """Open requests per (post, officer working them); None is nobody yet."""
    rows = session.execute(
        select(RequestRow.post, RequestRow.assigned_officer, func.count())
        .where(_open_at(posts))
        .group_by(RequestRow.post, RequestRow.assigned_officer)
    )
    return {(post, officer): count for post, officer, count in rows}


def latest_request(session: Session, case_number: str) -> RequestRow | None:
    """The case's most recent request (a case may be requested again after one closes)."""
    return session.scalar(
        select(RequestRow)
        .where(RequestRow.case_number == case_number.strip().upper())
        .order_by(RequestRow.submitted_at.desc())
        .limit(1)
    )
