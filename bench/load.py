"""Bounded, self-stopping load on loopback: submit requests, decide them, time it."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime, timedelta

import httpx
from sqlalchemy import Engine, create_engine, func, select
from sqlalchemy.orm import Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError

from reschedule_desk.desk import Desk
from reschedule_desk.domain import search
from reschedule_desk.domain.case_file import CaseFile
from reschedule_desk.domain.decisions import Approval
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus
from reschedule_desk.domain.request import RescheduleRequest, workflow_id_for
from reschedule_desk.storage import case_file
from reschedule_desk.storage.tables import RequestRow

_run = random.randrange(10**4)
_serial = itertools.count(1)


def new_case_number() -> str:
    return f"NRB{_run:04d}{next(_serial):06d}"


def bench_case(case_number: str) -> CaseFile:
    """An eligible Nairobi case, like most the desk sees: an immediate relative, the
    appointment missed nine days ago, the principal applicant alone on the letter."""
    today = date.today()
    return CaseFile.model_validate(
        {
            "case_number": case_number,
            "visa_class": "IR1",
            "preference_category": "IR",
            "chargeability": "KE",
            "petitioner_id": f"P-{case_number}",
            "original_appointment_at": datetime.combine(today - timedelta(days=9), datetime.min.time()),
            "last_contact_on": today - timedelta(days=30),
            "applicants": [
                {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal",
                 "marital_status": "married"}
            ],
        }
    )


def file_cases(database_url: str, case_numbers: Iterable[str]) -> list[str]:
    """File a bench case for each number in the desk's case file, in one import (untimed:
    the post imports its cases before anyone asks); the numbers."""
    numbers = list(case_numbers)
    engine = create_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            case_file.import_cases(session, [bench_case(number) for number in numbers], "nairobi", datetime.now(UTC))
    finally:
        engine.dispose()
    return numbers


def bench_request(case_number: str) -> RescheduleRequest:
    """The applicant's request for a bench case."""
    return RescheduleRequest.model_validate(
        {
            "case_number": case_number,
            "post": "nairobi",
            "reason_category": "missed_appointment",
            "reason": "My medicals were on hold on the day of my appointment.",
            "contact_email": "applicant@example.com",
            "applicants": [{"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21"}],
        }
    )


async def bounded(concurrency: int, jobs: Iterable[Callable[[], Awaitable[object]]]) -> None:
    """Run the jobs with at most `concurrency` in flight."""
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Callable[[], Awaitable[object]]) -> None:
        async with gate:
            await job()

    await asyncio.gather(*(run(job) for job in jobs))


async def update_once_screened(handle: WorkflowHandle, name: str, argument: object, result_type: type) -> object:
    """Send an update as soon as the request has been screened (the validator refuses before)."""
    while True:
        try:
            return await handle.execute_update(name, argument, result_type=result_type)
        except WorkflowUpdateFailedError as refused:
            if "still being screened" not in str(refused.cause):
                raise
            await asyncio.sleep(0.02)


async def desk_request_approved(desk: Desk, client: Client, database: Engine, case_number: str) -> None:
    """Submitted, approved, its approval email sent: done when the booking window opens
    (the request goes on, waiting for the applicant, as the ceiling's would not)."""
    request = bench_request(case_number)
    await desk.submit(request)
    handle = client.get_workflow_handle(request.workflow_id)
    await update_once_screened(handle, "approve", Approval(officer_id="officer.bench"), RequestStatus)
    # Read from the app database, not with a status query: a query costs the worker a
    # workflow task, which the measurement would count as the desk's.
    while await asyncio.to_thread(_status_of, database, case_number) is not RequestState.AWAITING_BOOKING:
        await asyncio.sleep(0.05)


def _status_of(database: Engine, case_number: str) -> RequestState | None:
    with database.connect() as connection:  # one per read: the polls run in threads at once
        return connection.scalar(select(RequestRow.status).where(RequestRow.case_number == case_number))


async def ceiling_request_approved(client: Client, task_queue: str) -> None:
    case_number = new_case_number()
    handle = await client.start_workflow(
        "CeilingRequest", case_number, id=workflow_id_for(case_number), task_queue=task_queue
    )
    await update_once_screened(handle, "approve", "officer.bench", str)
    await handle.result()


async def throughput(one_request: Callable[[], Awaitable[object]], count: int, concurrency: int) -> float:
    """Requests completed per second."""
    started = time.perf_counter()
    await bounded(concurrency, [one_request] * count)
    return count / (time.perf_counter() - started)


# When a measured request is done: the ceiling's completes; the desk's goes on after its
# approval email, waiting for the applicant to book.
CEILING_DONE = "ExecutionStatus = 'Completed'"
DESK_DONE = f"{search.REQUEST_STATUS.name} = '{RequestState.AWAITING_BOOKING.value}'"
DESK_EXPIRED = f"{search.REQUEST_STATUS.name} = '{RequestState.EXPIRED.value}'"


async def done_workflow_ids(client: Client, task_queue: str, done: str, sample: int) -> list[str]:
    """The last `sample` workflows on `task_queue` done by `done` (a visibility filter)."""
    query = f"TaskQueue = '{task_queue}' AND {done}"
    return [execution.id async for execution in client.list_workflows(query, limit=sample)]


async def workflow_task_seconds(client: Client, workflow_ids: list[str]) -> list[float]:
    """How long each workflow task of these workflows took from the server handing it to
    the worker to the worker's answer: the time it spent inside the worker, queued there
    or being run."""
    seconds = []
    for workflow_id in workflow_ids:
        started_at = None
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                started_at = event.event_time.ToDatetime()
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and started_at is not None:
                seconds.append((event.event_time.ToDatetime() - started_at).total_seconds())
    return seconds


def count_in_state(database_url: str, state: RequestState) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                select(func.count()).select_from(RequestRow).where(RequestRow.status == state)
            )
    finally:
        engine.dispose()


async def wait_for_count(database_url: str, state: RequestState, expected: int, timeout: float) -> float:
    """Seconds until `expected` requests are in `state` in the app database."""
    started = time.perf_counter()
    while count_in_state(database_url, state) < expected:
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"fewer than {expected} requests {state.value} after {timeout:.0f}s")
        await asyncio.sleep(0.25)
    return time.perf_counter() - started


async def open_requests(desk: Desk, database_url: str, count: int, concurrency: int) -> list[str]:
    """Submit `count` requests and wait until every one waits for review."""
    already = count_in_state(database_url, RequestState.PENDING_REVIEW)
    case_numbers = file_cases(database_url, (new_case_number() for _ in range(count)))

    def submit(case_number: str) -> Callable[[], Awaitable[object]]:
        return lambda: desk.submit(bench_request(case_number))

    await bounded(concurrency, [submit(case_number) for case_number in case_numbers])
    await wait_for_count(database_url, RequestState.PENDING_REVIEW, already + count, timeout=1800)
    return case_numbers


async def decision_latencies(desk: Desk, case_numbers: list[str], rate: float) -> list[float]:
    """Approve each waiting request, one every 1/rate seconds; seconds from the Update call
    to its answer, which the workflow gives once the decision's row is committed."""
    latencies: list[float] = []

    async def decide(case_number: str, at: float) -> None:
        await asyncio.sleep(max(0.0, at - time.perf_counter()))
        started = time.perf_counter()
        await desk.act(case_number, "approve", Approval(officer_id="officer.bench"))
        latencies.append(time.perf_counter() - started)

    start = time.perf_counter() + 0.1
    await asyncio.gather(*(decide(case, start + i / rate) for i, case in enumerate(case_numbers)))
    return latencies


async def api_decision_latencies(api_url: str, token: str, case_numbers: list[str], rate: float) -> list[float]:
    """Approve each request through the authenticated API at `rate` per second: the
    officer's Bearer token is checked on every call, then the Update runs as above."""
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=api_url, headers=headers, timeout=30) as api:

        async def decide(case_number: str, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            started = time.perf_counter()
            answer = await api.post(f"/api/requests/{case_number}/approve", json={"note": "bench"})
            latencies.append(time.perf_counter() - started)
            answer.raise_for_status()

        start = time.perf_counter() + 0.1
        await asyncio.gather(*(decide(case, start + i / rate) for i, case in enumerate(case_numbers)))
    return latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
