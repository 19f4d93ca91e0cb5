"""The workflow sandbox evaluates nothing but the workflow module itself.

For every new run the sandbox imports the workflow module again in a `sys.modules` of its
own; any other module it evaluated there would be evaluated again for every run. So every
third-party module and our own pure ones must be passed through (reschedule_desk/temporal.py).

Checked by behaviour: the recorded histories replay in the sandbox the tests and the
auditor's replay use, while a finder at the head of `sys.meta_path` notes each module
Python looks for while the sandbox's importer is in charge, which happens only for a module
about to be evaluated inside. A module passed through is found among the process's own
modules and never looked for there (one imported for the first time while passing through
is looked for with the importer set aside).
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._importer import Importer

from reschedule_desk.temporal import SANDBOXED_RUNNER
from tests.conftest import HISTORIES_DIR, TEST_DATA_CONVERTER
from workflows.reschedule_request import RescheduleRequestWorkflow

RECORDED = sorted(HISTORIES_DIR.glob("*.json"))

# The workflow module, and its package, which Python imports before it: the package cannot
# be passed through alone, since the importer passes a passed-through package's modules
# through too (its __init__ is a docstring). No standard library module is evaluated
# inside: the default restrictions pass the whole standard library through.
WORKFLOW_MODULES = {"workflows", RescheduleRequestWorkflow.__module__}


class _EvaluatedInSandbox(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.modules: set[str] = set()

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: object = None) -> None:
        if Importer.current_importer() is not None:
            self.modules.add(fullname)
        return None  # the finders after it do the finding


@contextmanager
def evaluated_in_sandbox() -> Iterator[set[str]]:
    finder = _EvaluatedInSandbox()
    sys.meta_path.insert(0, finder)
    try:
        yield finder.modules
    finally:
        sys.meta_path.remove(finder)


async def replay(paths: list[Path], runner: SandboxedWorkflowRunner) -> None:
    histories = [WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8")) for path in paths]
    replayer = Replayer(
        workflows=[RescheduleRequestWorkflow],
        data_converter=TEST_DATA_CONVERTER,
        workflow_runner=runner,
        build_id="test-sandbox",  # spares hashing every loaded module into a default one
    )
    await replayer.replay_workflows(_each(histories))  # raises on a replay failure


async def _each(histories: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for history in histories:
        yield history


async def test_the_sandbox_evaluates_only_the_workflow_module_on_every_recorded_path() -> None:
    with evaluated_in_sandbox() as modules:
        await replay(RECORDED, SANDBOXED_RUNNER)
    assert modules == WORKFLOW_MODULES, f"evaluated inside the sandbox, not passed through: {sorted(modules - WORKFLOW_MODULES)}"


@pytest.mark.filterwarnings("ignore:Module .* was imported after initial workflow load")
async def test_a_module_left_out_of_the_passthrough_list_is_seen_evaluated_inside() -> None:
    # The check's own check, and why email_validator is on the list: pydantic imports it
    # lazily, during the run, the first time it validates an EmailStr.
    restrictions = SANDBOXED_RUNNER.restrictions
    without = dataclasses.replace(restrictions, passthrough_modules=restrictions.passthrough_modules - {"email_validator"})
    with evaluated_in_sandbox() as modules:
        await replay([HISTORIES_DIR / "approved.json"], SandboxedWorkflowRunner(restrictions=without))
    assert WORKFLOW_MODULES < modules
    assert "email_validator" in modules
