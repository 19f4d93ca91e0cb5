"""`python -m bench.replay worker|sandbox` prints "<events per second> <first activation ms>"
for the recorded histories, measured in this fresh process (run by bench/__main__.py):
with the worker's runner, which rebuilds a run from its history when it is not cached, or
in the sandbox the auditor's replay uses (reschedule_desk/temporal.py).

Events per second: every recorded history replayed through one replayer, ROUNDS times; the
median round is printed, since this shared machine's speed varies from one second to the
next (the same code gave 600 to 980 events/s in back-to-back runs timed as a total).

First activation: what a worker already set up spends on the first workflow task of a new
run (the input decrypted and validated, the run to its first commands, those encoded; in the
sandbox, the workflow module loaded again first). The replayer first replays the shortest
history whole, untimed: that pays the once-per-process costs (the build id hashed over every
loaded module, the core's replay worker, the sandbox's validation instance). Then the first
task (first three events) of each other history is timed; the median is printed, since a
full garbage collection of this process now and then lands on one sample.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from reschedule_desk.settings import PROJECT_ROOT
from reschedule_desk.temporal import SANDBOXED_RUNNER, WORKER_RUNNER
from tests.conftest import TEST_DATA_CONVERTER  # the histories' own (public) test key
from workflows.reschedule_request import RescheduleRequestWorkflow

ROUNDS = 20
# WorkflowExecutionStarted, WorkflowTaskScheduled, WorkflowTaskStarted: the first task.
FIRST_TASK_EVENTS = 3
RUNNERS = {"worker": WORKER_RUNNER, "sandbox": SANDBOXED_RUNNER}


async def main(runner: str) -> None:
    histories = [
        WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted((PROJECT_ROOT / "tests" / "histories").glob("*.json"))
    ]
    replayer = Replayer(
        workflows=[RescheduleRequestWorkflow], data_converter=TEST_DATA_CONVERTER, workflow_runner=RUNNERS[runner]
    )
    first_activation = await _first_activation(replayer, histories)

    events = sum(len(history.events) for history in histories)
    round_seconds = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        async with replayer.workflow_replay_iterator(_each(histories)) as results:
            async for result in results:
                if result.replay_failure:
                    raise result.replay_failure
        round_seconds.append(time.perf_counter() - started)
    print(f"{events / statistics.median(round_seconds):.1f} {first_activation * 1000:.1f}")


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
    asyncio.run(main(sys.argv[1]))
