"""The desk's archive of workflow histories: written once, read for years.

Temporal keeps a closed history for its retention period only (a day on the dev server),
so the desk keeps its own copy, as Temporal exported it: payloads stay encoded (encrypted)
and are read through the desk's data converter. There is no update and no delete here;
archiving a history again adds a row only when its content changed (a run that moved on).
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reschedule_desk.storage.tables import ArchivedHistory


def content_hash(history_json: str) -> str:
    return hashlib.sha256(history_json.encode("utf-8")).hexdigest()


def keep(
    session: Session,
    *,
    request_id: str,
    case_number: str,
    workflow_id: str,
    run_id: str,
    started_at: datetime,
    closed: bool,
    event_count: int,
    history_json: str,
    archived_at: datetime,
) -> ArchivedHistory:
    """Archive one history; the same content archived again (another worker's archiver,
    a backfill) returns the row already kept."""
    digest = content_hash(history_json)
    kept = _kept(session, run_id, digest)
    if kept is not None:
        return kept
    row = ArchivedHistory(
        request_id=request_id,
        case_number=case_number,
        workflow_id=workflow_id,
        run_id=run_id,
        started_at=started_at,
        closed=closed,
        event_count=event_count,
        history_json=history_json,
        content_hash=digest,
        archived_at=archived_at,
    )
    try:
        with session.begin_nested():  # a savepoint: losing a race keeps the caller's transaction
            session.add(row)
    except IntegrityError:
        return _kept(session, run_id, digest)
    return row


def _kept(session: Session, run_id: str, digest: str) -> ArchivedHistory | None:
    return session.scalar(
        select(ArchivedHistory).where(ArchivedHistory.run_id == run_id, ArchivedHistory.content_hash == digest)
    )


def best_of_request(session: Session, request_id: str) -> ArchivedHistory | None:
    """The request's closed history, or else its latest snapshot."""
    return session.scalar(
        select(ArchivedHistory)
        .where(ArchivedHistory.request_id == request_id)
        .order_by(ArchivedHistory.closed.desc(), ArchivedHistory.event_count.desc(), ArchivedHistory.id.desc())
        .limit(1)
    )


def latest_request_of_case(session: Session, case_number: str) -> str | None:
    """The request id of the case's most recent request in the archive."""
    return session.scalar(
        select(ArchivedHistory.request_id)
        .where(ArchivedHistory.case_number == case_number.strip().upper())
        .order_by(ArchivedHistory.started_at.desc(), ArchivedHistory.id.desc())
        .limit(1)
    )


def archived_request_ids(session: Session) -> list[str]:
    """Every request with a history in the archive, oldest first."""
    first_kept = func.min(ArchivedHistory.id)
    rows = session.execute(
        select(ArchivedHistory.request_id, first_kept).group_by(ArchivedHistory.request_id).order_by(first_kept)
    )
    return [request_id for request_id, _ in rows]


def closed_runs(session: Session, run_ids: list[str]) -> set[str]:
    """Which of these runs the archive already holds closed (and so never needs again)."""
    if not run_ids:
        return set()
    rows = session.scalars(
        select(ArchivedHistory.run_id).where(ArchivedHistory.run_id.in_(run_ids), ArchivedHistory.closed)
    )
    return set(rows)
