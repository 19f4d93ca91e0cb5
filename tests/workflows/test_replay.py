"""Determinism is a test: every history recorded under tests/histories/ must replay
against today's workflow code with today's data converter, through `reschedule audit
replay`'s own machinery. The histories recorded before a workflow.patched change prove that it kept running requests
replaying: all but ignored_signal_audited and the case_file_* ones for IGNORED_SIGNALS_AUDITED,
all but the case_file_* ones for SCREENED_FROM_CASE_FILE, all but the booking_* ones for
BOOKING_AFTER_APPROVAL. The payloads of each are in the format of its day: plain before encryption,
labelled with the key id (ignored_signal_audited), headed and compressed against a
dictionary (approved_headed_payloads)."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory

from reschedule_desk.audit.replay import replay
from tests.conftest import HISTORIES_DIR, TEST_DATA_CONVERTER

RECORDED = sorted(HISTORIES_DIR.glob("*.json"))


def test_every_lifecycle_path_has_a_recorded_history() -> None:
    names = {path.stem for path in RECORDED}
    assert {
        "approved",
        "ineligible",
        "denied",
        "denied_by_signal",
        "info_requested_answered_approved",
        "info_requested_expired",
        "review_expired",
        "withdrawn",
        "claimed_reassigned_approved",
        "extended_then_expired",
        "ignored_signal_audited",
    } <= names
    # Every path again, screened from the post's case file.
    before_case_file = {name for name in names if not name.startswith(("case_file_", "booking_"))}
    assert {f"case_file_{name}" for name in before_case_file} - {"case_file_approved_headed_payloads"} <= names
    # And on after the approval email (tests/workflows/test_booking.py).
    assert {"booking_attended", "booking_expired", "booking_rescheduled_missed"} <= names


@pytest.mark.parametrize("history_file", RECORDED, ids=[path.stem for path in RECORDED])
async def test_recorded_history_replays_against_todays_workflow_code(history_file: Path) -> None:
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text(encoding="utf-8"))
    (outcome,) = await replay([history], TEST_DATA_CONVERTER)
    assert outcome.deterministic, f"{outcome.error}; first diverging event: {outcome.diverging_event}"
