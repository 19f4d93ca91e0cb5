"""Does a recorded history still replay against today's workflow code?

Temporal's Replayer runs the workflow code over the history with the worker's own data
converter (and so its codec), in the sandbox, which also refuses what would make a run
depend on anything but its history (reschedule_desk/temporal.py). When the code asks for
something other than what the history recorded, the first event where they part is found by
replaying ever longer beginnings of the history: the shortest one that fails ends with it.
That works whatever the wording of the SDK's error, which names the event only sometimes.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from functools import cache

from pydantic import BaseModel
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Replayer

from reschedule_desk.audit.timeline import event_type_name
from reschedule_desk.temporal import SANDBOXED_RUNNER
from workflows.reschedule_request import RescheduleRequestWorkflow

# A history shorter than its first workflow task gives the replayer nothing to run.
_SHORTEST_PREFIX = 3

# The SDK wraps the core's message in a debug dump of the failure.
_CORE_MESSAGE = re.compile(r'message: "(?P<message>(?:[^"\\]|\\.)*)"')


class DivergingEvent(BaseModel):
    event_id: int
    event_type: str  # e.g. TIMER_STARTED
    at: datetime


class ReplayOutcome(BaseModel):
    workflow_id: str
    run_id: str
    event_count: int
    deterministic: bool
    error: str | None = None
    diverging_event: DivergingEvent | None = None


async def replay(
    histories: Sequence[WorkflowHistory],
    converter: DataConverter,
    workflows: Sequence[type] = (RescheduleRequestWorkflow,),
) -> list[ReplayOutcome]:
    """Replay each history against `workflows` (today's code unless a test says otherwise)."""
    replayer = Replayer(
        workflows=list(workflows),
        data_converter=converter,
        workflow_runner=SANDBOXED_RUNNER,
        runtime=_quiet_runtime(),
        # Named, so the replayer does not hash every loaded module into a build id first
        # (a third of a second); the desk does not version workflows by build id.
        build_id="reschedule-audit-replay",
    )
    outcomes = []
    async with replayer.workflow_replay_iterator(_iterate(histories)) as results:
        async for result in results:
            history = result.history
            outcomes.append(
                ReplayOutcome(
                    workflow_id=history.workflow_id,
                    run_id=history.run_id,
                    event_count=len(history.events),
                    deterministic=result.replay_failure is None,
                    error=_message(result.replay_failure) if result.replay_failure else None,
                )
            )
    for outcome, history in zip(outcomes, histories, strict=True):
        if not outcome.deterministic:
            outcome.diverging_event = await _first_diverging_event(replayer, history)
    return outcomes


async def _iterate(histories: Sequence[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def _first_diverging_event(replayer: Replayer, history: WorkflowHistory) -> DivergingEvent | None:
    """The last event of the shortest failing beginning of the history (a bisection:
    a beginning that holds the diverging event fails, a shorter one replays)."""

    async def fails(length: int) -> bool:
        prefix = WorkflowHistory(history.workflow_id, history.events[:length])
        return (await replayer.replay_workflow(prefix, raise_on_replay_failure=False)).replay_failure is not None

    low, high = _SHORTEST_PREFIX, len(history.events)  # the whole history fails
    if await fails(low):
        return None  # it fails before its first workflow task ends: no one event to name
    while high - low > 1:
        middle = (low + high) // 2
        if await fails(middle):
            high = middle
        else:
            low = middle
    event = history.events[high - 1]
    return DivergingEvent(
        event_id=event.event_id, event_type=event_type_name(event), at=event.event_time.ToDatetime(tzinfo=UTC)
    )


def _message(failure: Exception) -> str:
    found = _CORE_MESSAGE.search(str(failure))
    return found["message"].replace('\\"', '"') if found else str(failure)


@cache
def _quiet_runtime() -> Runtime:
    """The replayer's own runtime, which keeps the core's warnings about the failing
    workflow tasks it is asked to replay out of the auditor's terminal."""
    errors_only = TelemetryFilter(core_level="ERROR", other_level="ERROR")
    return Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(filter=errors_only)))
