"""`audit replay`: a change to the workflow that schedules its commands differently from a
recorded history is caught, with the first event where code and history part; and the
command fails (exit status 1) so that it can gate a deployment."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path


from reschedule_desk import cli
from reschedule_desk.audit.replay import replay
from tests.audit.conftest import recorded
from tests.audit.workflow_variants import SendsEachEmailBeforeTheNextStep
from tests.conftest import HISTORIES_DIR, TEST_DATA_CONVERTER


async def test_activities_scheduled_in_another_order_are_caught_at_the_first_diverging_event() -> None:
    (outcome,) = await replay([recorded("approved")], TEST_DATA_CONVERTER, [SendsEachEmailBeforeTheNextStep])
    assert not outcome.deterministic
    # Event 27 is where the recorded run scheduled record_transition for the approval,
    # and the changed code sends the acknowledgement first.
    assert (outcome.diverging_event.event_id, outcome.diverging_event.event_type) == (27, "ACTIVITY_TASK_SCHEDULED")
    assert "does not match activity type of activity command 'send_email'" in outcome.error


async def test_only_the_histories_that_reach_the_change_fail() -> None:
    # An ineligible request's one email went out last either way; a denied one's
    # acknowledgement went out beside the wait for a decision.
    outcomes = await replay([recorded("denied"), recorded("ineligible")], TEST_DATA_CONVERTER, [SendsEachEmailBeforeTheNextStep])
    assert [outcome.deterministic for outcome in outcomes] == [False, True]


def run_cli(settings, monkeypatch, *argv: str) -> tuple[int, str]:
    monkeypatch.setattr(cli.Settings, "from_env", classmethod(lambda cls, environ=None: settings))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(list(argv))
    return code, out.getvalue()


def test_replay_of_a_history_file_passes_with_exit_status_0(desk_settings, monkeypatch) -> None:
    code, out = run_cli(desk_settings, monkeypatch, "audit", "replay", "--file", str(HISTORIES_DIR / "approved.json"))
    assert code == 0
    assert out.splitlines() == [
        "ok    approved run 0f4c3155-a4d8-4b11-9d01-2867c0d833f1 (51 events)",
        "1 replayed (51 events), 0 failed",
    ]


def test_replay_that_fails_exits_1_and_names_the_first_diverging_event(desk_settings, monkeypatch, tmp_path: Path) -> None:
    # A history in which the approval's record_transition and the acknowledgement's
    # send_email traded places: today's code cannot have written it.
    history = json.loads((HISTORIES_DIR / "approved.json").read_text(encoding="utf-8"))
    events = {event["eventId"]: event for event in history["events"]}
    first, second = (events[n]["activityTaskScheduledEventAttributes"]["activityType"] for n in ("27", "28"))
    first["name"], second["name"] = second["name"], first["name"]
    swapped = tmp_path / "swapped.json"
    swapped.write_text(json.dumps(history), encoding="utf-8")

    code, out = run_cli(desk_settings, monkeypatch, "audit", "replay", "--file", str(swapped))
    assert code == 1
    assert out.splitlines()[1] == "      first diverging event: #27 ACTIVITY_TASK_SCHEDULED at 2026-11-21T20:11:07.526000+00:00"
    assert out.splitlines()[-1] == "1 replayed (51 events), 1 failed"
