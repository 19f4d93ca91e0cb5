"""Prints "<events per second> <first activation ms>" for the recorded histories, measured
in this fresh process (run by bench/__main__.py).

Events per second: every recorded history replayed ROUNDS times through one replayer.

First activation: what a worker that is already set up spends on the first workflow task
of a new run, from the task arriving to its commands coming back: the sandbox loading the
workflow for the run, the input decrypted and validated, `__init__`, the run up to its
first command, the commands encoded. It is measured by replaying only the first workflow
task (the first three events) of each recorded history but the shortest, one after the
other, through a replayer that has just replayed the shortest history whole, untimed. The
untimed replay pays what a worker pays once per process, at start: the replayer hashing the
bytecode of every loaded module into its build id, the core's replay worker, the sandbox's
validation instance of the workflow, the first use of the codec. Each timed replay also
includes the replayer's own overhead (pushing the history to the core, evicting the run
afterwards: about 2 ms), so the figure slightly overstates a worker's. The median is printed:
now and then a full garbage collection of this process (50 to 150 ms here) lands on one of
the samples, and it is not the sandbox's cost.

What the sandbox keeps between runs: nothing of its own. Every new run gets a new sandbox,
with its own importer and its own `sys.modules`, where the workflow module
(`workflows.reschedule_request`, and its package) is imported and evaluated again; the other
modules it imports are passed through, i.e. looked up among the process's own, imported once
(the list is in reschedule_desk/temporal.py, and tests/test_sandbox.py checks it). So each
timed run pays the whole per-run load of the sandbox, as every new request on a worker does.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from reschedule_desk.settings import PROJECT_ROOT
from reschedule_desk.temporal import WORKFLOW_RUNNER
from tests.conftest import TEST_DATA_CONVERTER  # the histories' own (public) test key
from workflows.reschedule_request import RescheduleRequestWorkflow

ROUNDS = 20
# WorkflowExecutionStarted, WorkflowTaskScheduled, WorkflowTaskStarted: the first task.
FIRST_TASK_EVENTS = 3


async def main() -> None:
    histories = [
        WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted((PROJECT_ROOT / "tests" / "histories").glob("*.json"))
    ]
    replayer = Replayer(
        workflows=[RescheduleRequestWorkflow], data_converter=TEST_DATA_CONVERTER, workflow_runner=WORKFLOW_RUNNER
    )
    first_activation = await _first_activation(replayer, histories)

    started = time.perf_counter()
    for _ in range(ROUNDS):
        async with replayer.workflow_replay_iterator(_each(histories)) as results:
            async for result in results:
                if result.replay_failure:
                    raise result.replay_failure
    elapsed = time.perf_counter() - started
    events = ROUNDS * sum(len(history.events) for history in histories)
    print(f"{events / elapsed:.1f} {first_activation * 1000:.1f}")


async def _first_activation(replayer: Replayer, histories: list[WorkflowHistory]) -> float:
    """The median, in seconds, of the first workflow task of a new run (module docstring)."""
    shortest = min(histories, key=lambda history: len(history.events))
    pushed: list[float] = []
    done: list[float] = []

    async def set_up_then_first_tasks() -> AsyncIterator[WorkflowHistory]:
        yield shortest  # untimed: the once-per-process set-up
        for history in histories:
            if history is not shortest:
                pushed.append(time.perf_counter())  # the replayer pushes it as soon as it has it
                yield WorkflowHistory(history.workflow_id, history.events[:FIRST_TASK_EVENTS])

    async with replayer.workflow_replay_iterator(set_up_then_first_tasks()) as results:
        async for result in results:
            if result.replay_failure:
                raise result.replay_failure
            done.append(time.perf_counter())
    return statistics.median(end - start for start, end in zip(pushed, done[1:], strict=True))


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


if __name__ == "__main__":
    asyncio.run(main())
