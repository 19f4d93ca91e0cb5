"""The archive keeps each history once, as Temporal exported it, and only ever adds rows.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from temporalio.client import WorkflowHistory

from reschedule_desk.audit.histories import RequestHistory, keep
from reschedule_desk.storage import archive
from reschedule_desk.storage.tables import ArchivedHistory
from tests.audit.conftest import recorded
from tests.conftest import TEST_DATA_CONVERTER

APPROVED_REQUEST = "0f4c3155-a4d8-4b11-9d01-2867c0d833f1"


def count(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ArchivedHistory))


async def test_a_history_is_kept_as_exported_with_its_hash_and_what_finds_it(sessions) -> None:
    history = recorded("approved")
    kept = await keep(sessions, history, TEST_DATA_CONVERTER)
    assert (kept.request_id, kept.case_number, kept.workflow_id) == (APPROVED_REQUEST, "NRB4824500001", "recorded-approved")
    assert kept.closed and kept.event_count == 51
    assert kept.history_json == history.to_json()
    assert kept.content_hash == archive.content_hash(history.to_json())
    assert kept.started_at == datetime(2026, 11, 21, 20, 11, 7, 257000, tzinfo=UTC)
    found = RequestHistory.from_archive(kept)
    assert list(found.history.events) == list(history.events)


async def test_the_same_history_archived_again_is_kept_once(sessions) -> None:
    first = await keep(sessions, recorded("approved"), TEST_DATA_CONVERTER)
    again = await keep(sessions, recorded("approved"), TEST_DATA_CONVERTER)
    assert again.id == first.id and count(sessions) == 1


async def test_a_snapshot_of_an_open_request_is_followed_by_its_closed_history(sessions) -> None:
    history = recorded("approved")
    open_snapshot = WorkflowHistory(history.workflow_id, history.events[:40])
    await keep(sessions, open_snapshot, TEST_DATA_CONVERTER)
    with sessions() as session:
        assert not archive.best_of_request(session, APPROVED_REQUEST).closed
    await keep(sessions, history, TEST_DATA_CONVERTER)
    assert count(sessions) == 2  # the snapshot stays: nothing is replaced
    with sessions() as session:
        best = archive.best_of_request(session, APPROVED_REQUEST)
        assert best.closed and best.event_count == 51
        assert archive.closed_runs(session, [APPROVED_REQUEST, "another-run"]) == {APPROVED_REQUEST}
        assert archive.latest_request_of_case(session, " nrb4824500001 ") == APPROVED_REQUEST
        assert archive.archived_request_ids(session) == [APPROVED_REQUEST]


async def test_an_archiver_that_loses_the_race_to_another_returns_the_row_the_other_kept(sessions, monkeypatch) -> None:
    first = await keep(sessions, recorded("approved"), TEST_DATA_CONVERTER)
    looked_up, looks = archive._kept, []

    def kept_after_the_first_look(session, run_id, digest):
        looks.append(run_id)  # the other archiver's row is not there yet when this one first looks
        return None if len(looks) == 1 else looked_up(session, run_id, digest)

    monkeypatch.setattr(archive, "_kept", kept_after_the_first_look)
    again = await keep(sessions, recorded("approved"), TEST_DATA_CONVERTER)
    assert len(looks) == 2  # looked, lost the race on insert, looked again
    assert again.id == first.id and count(sessions) == 1
