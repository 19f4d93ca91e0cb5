"""Determinism is a test: every history recorded under tests/histories/ must replay
against today's workflow code with today's data converter."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from reschedule_desk.temporal import DATA_CONVERTER, WORKFLOW_RUNNER
from tests.conftest import HISTORIES_DIR
from workflows.reschedule_request import RescheduleRequestWorkflow

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
    } <= names


@pytest.mark.parametrize("history_file", RECORDED, ids=[path.stem for path in RECORDED])
async def test_recorded_history_replays_against_todays_workflow_code(history_file: Path) -> None:
    history = WorkflowHistory.from_json(history_file.stem, history_file.read_text(encoding="utf-8"))
    replayer = Replayer(
        workflows=[RescheduleRequestWorkflow], data_converter=DATA_CONVERTER, workflow_runner=WORKFLOW_RUNNER
    )
    await replayer.replay_workflow(history)
