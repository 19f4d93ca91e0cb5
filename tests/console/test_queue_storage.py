"""The queue's keyset pages on SQLite and PostgreSQL, and the index that keeps them fast."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.storage import queue
from reschedule_desk.storage.tables import RequestRow

START = datetime(2026, 11, 23, 13, 30, tzinfo=UTC)


def bulk_requests(sessions: sessionmaker[Session], count: int, *, closed: int = 0, post: str = "nairobi") -> None:
    """`count` open requests whose windows end in groups of ten at the same instant (ties),
    and `closed` closed ones, which have no window."""
    rows = []
    for number in range(count + closed):
        is_open = number < count
        rows.append(
            dict(
                request_id=str(uuid.uuid4()),
                workflow_id=f"reschedule-NRB{number:010d}",
                case_number=f"NRB{number:010d}",
                post=post,
                status=(RequestState.INFO_REQUESTED if number % 3 == 0 else RequestState.PENDING_REVIEW)
                if is_open
                else RequestState.APPROVED,
                reason_category="missed_appointment",
                reason="r",
                visa_class="IR1",
                contact_email="a@example.com",
                petitioner_fingerprint="0" * 64,
                submitted_at=START - timedelta(days=5),
                window_ends_at=START + timedelta(hours=number // 10) if is_open else None,
                request_document="{}",
                updated_at=START,
                last_step=1,
            )
        )
    with sessions.begin() as session:
        session.execute(insert(RequestRow), rows)


def expected_order(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        rows = session.execute(
            text("SELECT request_id FROM reschedule_requests WHERE window_ends_at IS NOT NULL ORDER BY window_ends_at, request_id")
        )
        return [row[0] for row in rows]


def test_keyset_pages_visit_every_open_request_once_in_order(sessions) -> None:
    bulk_requests(sessions, 95, closed=20)
    seen, cursor = [], None
    with sessions() as session:
        while True:
            page = queue.open_requests(session, ["nairobi"], after=cursor, limit=20)
            seen += [row.request_id for row in page.rows]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen == expected_order(sessions)


def test_the_page_before_is_the_page_that_was_shown(sessions) -> None:
    bulk_requests(sessions, 50)
    with sessions() as session:
        first = queue.open_requests(session, ["nairobi"], limit=20)
        second = queue.open_requests(session, ["nairobi"], after=first.next_cursor, limit=20)
        back = queue.open_requests(session, ["nairobi"], before=second.previous_cursor, limit=20)
    assert back.rows == first.rows and back.previous_cursor is None
    assert back.next_cursor == first.next_cursor


def test_counts_per_status_count_only_open_requests_of_the_posts(sessions) -> None:
    bulk_requests(sessions, 30, closed=7)
    bulk_requests(sessions, 4, post="phnom-penh")
    with sessions() as session:
        counts = queue.counts_by_status(session, ["nairobi"])
    assert counts == {RequestState.PENDING_REVIEW: 20, RequestState.INFO_REQUESTED: 10}


def test_a_cursor_survives_its_round_trip_through_a_link() -> None:
    cursor = queue.QueueCursor(START + timedelta(microseconds=7), "c0a8-run_id")
    assert queue.QueueCursor.decode(cursor.encode()) == cursor


def test_a_late_page_of_thousands_reads_the_index_not_the_table(db) -> None:
    """SQLite's plan for page 150 of 4,000 open requests (and 4,000 closed): a search of
    the (post, window_ends_at, request_id) index from the cursor, and no sort."""
    bulk_requests(db, 4000, closed=4000)
    with db() as session:
        cursor = queue.open_requests(session, ["nairobi"], limit=3000).next_cursor
    statements = []

    def keep(connection, cursor_, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    engine = db.kw["bind"]
    event.listen(engine, "before_cursor_execute", keep)
    try:
        with db() as session:
            page = queue.open_requests(session, ["nairobi"], after=cursor)
            statement, parameters = statements[-1]
            plan = " | ".join(row[-1] for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(page.rows) == queue.PAGE_SIZE
    assert "USING INDEX ix_reschedule_requests_post_window_ends_at_request_id (post=? AND window_ends_at>?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
