"""`make bench` (`python -m bench [--quick]`): one run, one table.

1. Engine ceiling vs the desk: approved requests completed per second by a bare workflow
   with the same server round trips (bench/ceiling.py) and by the real desk (worker.py,
   SQLite app database, emails rendered into the outbox), on the same dev server setup.
2. Decision latency: Update call to the decision's row committed, at steady rates.
3. 10,000 open requests: memory, bytes per request, latency growth against 100 open.
4. Expiry storm: requests whose review window ends at the same moment, on a dev server
   with per-workflow time skipping, drained until every one is expired with its email;
   beside it the same storm of bare workflows (bench/ceiling.py), and the CPU of each.
5. Replay: events per second over the recorded histories and the first activation, with
   the worker's runner and in the sandbox the auditor's replay uses.
6. Start-up: `make run` to the first request accepted.
7. A case-file import of 10,000 cases, and one API token check, on SQLite and PostgreSQL.
8. Booking under contention: many applicants at once on the last seats of a day, on
   PostgreSQL (bench/booking.py).
Each figure is printed as it is measured, then the table; var/bench/ keeps JSON and a plot.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import httpx
from google.protobuf.field_mask_pb2 import FieldMask
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker
from temporalio.api.common.v1 import TimeSkippingConfig, WorkflowExecution
from temporalio.api.workflow.v1 import WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import UpdateWorkflowExecutionOptionsRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from bench import activities, booking, case_import, load
from bench.processes import ApiProcess, DevServer, WorkerProcess, stop_group
from bench.report import Report
from reschedule_desk.console.access import Role
from reschedule_desk.desk import Desk
from reschedule_desk.domain.lifecycle import RequestState
from reschedule_desk.domain.records import EmailKind
from reschedule_desk.domain.request import workflow_id_for
from reschedule_desk.settings import PROJECT_ROOT, Settings
from reschedule_desk.storage import accounts, tokens
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.storage.tables import OutboxMessage, OutboxStatus, RequestRow
from reschedule_desk.temporal import connect

BENCH_POSTS = Path(__file__).parent / "posts.toml"
MiB = 1024 * 1024


@dataclass(frozen=True)
class Sizes:
    approved: int  # requests per throughput run
    concurrency: int
    open_small: int  # "100 open"
    decisions: int  # decisions per latency measurement
    rates: tuple[int, ...]  # decisions per second, ramped until p99 passes 1 s
    open_large: int  # "10,000 open"
    storm: int
    cases: int  # in one case-file import
    applicants: int  # after the last seats of a day
    bookers: int  # booking at once


FULL = Sizes(approved=400, concurrency=40, open_small=100, decisions=100, rates=(10, 20, 40, 80), open_large=10_000, storm=2_000, cases=10_000, applicants=400, bookers=40)
QUICK = Sizes(approved=20, concurrency=10, open_small=20, decisions=20, rates=(10,), open_large=200, storm=50, cases=200, applicants=60, bookers=10)


def desk_settings(scratch: Path, name: str, temporal_address: str, database_url: str | None = None) -> Settings:
    var_dir = scratch / name
    return Settings.from_env(
        {
            "TEMPORAL_ADDRESS": temporal_address,
            "DATABASE_URL": database_url or f"sqlite:///{var_dir / 'desk.sqlite3'}",
            "RESCHEDULE_POSTS": str(BENCH_POSTS),
            "RESCHEDULE_VAR_DIR": str(var_dir),
            "RESCHEDULE_TASK_QUEUE": f"bench-{name}",
        }
    )


def worker_environment(settings: Settings) -> dict[str, str]:
    return {
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "DATABASE_URL": settings.database_url,
        "RESCHEDULE_POSTS": str(settings.posts_file),
        "RESCHEDULE_VAR_DIR": str(settings.var_dir),
        "RESCHEDULE_TASK_QUEUE": settings.task_queue,
    }


def app_database_bytes(settings: Settings) -> int:
    database = settings.var_dir / "desk.sqlite3"
    return sum(p.stat().st_size for p in (database, Path(f"{database}-wal")) if p.exists())


@dataclass(frozen=True)
class Throughput:
    """Item 1 for one side: the rate, and where it went. CPU is read from the kernel for
    the server and the worker processes while the measured requests ran."""

    requests_per_second: float
    server_cpu_ms: float  # per request
    worker_cpu_ms: float  # per request, every worker process together
    workflow_task_ms: float  # median time a workflow task spent inside the worker
    activities_cpu_ms: float | None = None  # per request, the desk's activities alone (bench/activities.py)
    archived_kb: float | None = None  # per request, its history as the archiver stores it

    @property
    def cpu_ms(self) -> float:
        """Server and workers together, per request."""
        return self.server_cpu_ms + self.worker_cpu_ms


async def measure_throughput(
    one_request: Callable[[], Awaitable[object]],
    sizes: Sizes,
    client: Client,
    task_queue: str,
    server: DevServer,
    workers: list[WorkerProcess],
    done: str,
) -> Throughput:
    await load.throughput(one_request, sizes.concurrency, sizes.concurrency)  # warm up
    server_cpu, worker_cpu = server.cpu_seconds(), sum(worker.cpu_seconds() for worker in workers)
    rate = await load.throughput(one_request, sizes.approved, sizes.concurrency)
    server_cpu = server.cpu_seconds() - server_cpu
    worker_cpu = sum(worker.cpu_seconds() for worker in workers) - worker_cpu
    sampled = await load.done_workflow_ids(client, task_queue, done, sizes.concurrency)
    task_seconds = await load.workflow_task_seconds(client, sampled)
    return Throughput(
        requests_per_second=rate,
        server_cpu_ms=server_cpu * 1000 / sizes.approved,
        worker_cpu_ms=worker_cpu * 1000 / sizes.approved,
        workflow_task_ms=load.percentile(task_seconds, 0.5) * 1000,
    )


async def ceiling_throughput(scratch: Path, sizes: Sizes) -> Throughput:
    server = DevServer(scratch / "ceiling.db")
    task_queue = "bench-ceiling"
    worker = WorkerProcess("bench.ceiling", {"TEMPORAL_ADDRESS": server.address, "RESCHEDULE_TASK_QUEUE": task_queue})
    try:
        client = await Client.connect(server.address)
        return await measure_throughput(
            lambda: load.ceiling_request_approved(client, task_queue),
            sizes, client, task_queue, server, [worker], load.CEILING_DONE,
        )
    finally:
        worker.stop()
        server.stop()


async def desk_throughput(scratch: Path, sizes: Sizes, name: str, workers: int) -> Throughput:
    server = DevServer(scratch / f"{name}.db")
    settings = desk_settings(scratch, name, server.address)
    migrate(settings.database_url)
    processes = [WorkerProcess("desk", worker_environment(settings)) for _ in range(workers)]
    try:
        client = await connect(settings)
        desk = Desk(client, settings)
        numbers = (load.new_case_number() for _ in range(sizes.concurrency + sizes.approved))  # warm-up and timed
        cases = iter(load.file_cases(settings.database_url, numbers))
        database = create_engine(settings.database_url)
        measured = await measure_throughput(
            lambda: load.desk_request_approved(desk, client, database, next(cases)),
            sizes, client, settings.task_queue, server, processes, load.DESK_DONE,
        )
        database.dispose()
        sampled = await load.done_workflow_ids(client, settings.task_queue, load.DESK_DONE, sizes.concurrency)
        requests = [await activities.scheduled_activities(client, workflow_id) for workflow_id in sampled]
        alone = desk_settings(scratch, f"{name}-activities-alone", server.address)
        # As reschedule_desk/audit/histories.py archives it (the request still open here).
        histories = [await client.get_workflow_handle(workflow_id).fetch_history() for workflow_id in sampled]
        return replace(
            measured,
            activities_cpu_ms=activities.cpu_ms_per_request(alone, requests),
            archived_kb=statistics.mean(len(history.to_json().encode()) for history in histories) / 1000,
        )
    finally:
        for process in processes:
            process.stop()
        server.stop()


def report_throughput(report: Report, item: str, measured: Throughput, done: str = "approved requests completed") -> None:
    report.add(item, done, measured.requests_per_second, "requests/s")
    report.add(item, "server CPU per request", measured.server_cpu_ms, "ms")
    report.add(item, "worker CPU per request", measured.worker_cpu_ms, "ms")
    report.add(item, "workflow task in the worker, p50", measured.workflow_task_ms, "ms")
    if measured.activities_cpu_ms is not None:
        report.add(item, "its activities alone, CPU per request", measured.activities_cpu_ms, "ms")
    if measured.archived_kb is not None:
        report.add(item, "its history as archived, per request", measured.archived_kb, "KB")


def report_overhead(report: Report, item: str, desk: Throughput, ceiling: Throughput) -> None:
    """The target: the desk's CPU per request over what Temporal's floor and the desk's own
    work cost (the ceiling's CPU plus the activities', timed alone on a quiet machine).
    What is above 1 is neither; the shares say on which side it is spent."""
    overhead = desk.cpu_ms / (ceiling.cpu_ms + desk.activities_cpu_ms)
    report.add(item, "desk CPU / (ceiling CPU + activities alone)", overhead, "x", "<= 1.25x", overhead <= 1.25)
    report.add(item, "server's share: desk - ceiling", desk.server_cpu_ms - ceiling.server_cpu_ms, "ms")
    report.add(
        item, "worker's share: desk - ceiling - activities",
        desk.worker_cpu_ms - ceiling.worker_cpu_ms - desk.activities_cpu_ms, "ms",
    )


async def latency_at(desk: Desk, settings: Settings, sizes: Sizes, rate: int) -> list[float]:
    """Open as many requests as will be decided, then decide them at `rate` per second."""
    waiting = await load.open_requests(desk, settings.database_url, sizes.decisions, sizes.concurrency)
    return await load.decision_latencies(desk, waiting, rate)


async def decisions_and_open_requests(scratch: Path, sizes: Sizes, report: Report) -> None:
    server = DevServer(scratch / "open.db")
    settings = desk_settings(scratch, "open", server.address)
    migrate(settings.database_url)
    worker = WorkerProcess("desk", worker_environment(settings))
    try:
        desk = Desk(await connect(settings), settings)
        await load.open_requests(desk, settings.database_url, sizes.open_small, sizes.concurrency)

        highest_ok = 0
        curves: dict[str, list[float]] = {"p50": [], "p95": [], "p99": []}
        at_small: list[float] = []
        for rate in sizes.rates:
            latencies = await latency_at(desk, settings, sizes, rate)
            at_small = at_small or latencies
            p99 = load.percentile(latencies, 0.99)
            for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
                curves[name].append(load.percentile(latencies, fraction))
            if p99 <= 1.0:
                highest_ok = rate
            else:
                break
        tried = list(sizes.rates[: len(curves["p99"])])
        report.series["latency"] = curves
        report.series["latency_rates"] = {name: tried for name in curves}
        first = sizes.rates[0]
        for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            value = load.percentile(at_small, fraction)
            target, met = ("<= 1 s", value <= 1.0) if name == "p99" else ("", None)
            report.add(f"2 decisions at {first}/s, {sizes.open_small} open", f"latency {name}", value * 1000, "ms", target, met)
        report.add("2 decisions", "highest steady rate with p99 <= 1 s", highest_ok, "decisions/s")
        await api_decisions(desk, settings, sizes, report)

        await load.open_requests(
            desk, settings.database_url, sizes.open_large - load.count_in_state(settings.database_url, RequestState.PENDING_REVIEW), sizes.concurrency * 2
        )
        open_count = load.count_in_state(settings.database_url, RequestState.PENDING_REVIEW)
        worker_rss = worker.resident_bytes()
        report.add(f"3 {open_count:,} open", "worker resident memory", worker_rss / MiB, "MiB", "< 300 MiB", worker_rss < 300 * MiB)
        report.add(f"3 {open_count:,} open", "server resident memory", server.resident_bytes() / MiB, "MiB")
        total_requests = load.count_in_state(settings.database_url, RequestState.PENDING_REVIEW) + load.count_in_state(
            settings.database_url, RequestState.APPROVED
        )
        state, parts = server.state_bytes() / total_requests, server.state_parts()
        per_request = {part: size / total_requests for part, size in parts.items()}
        # The desk's own: all but the dev server's visibility store, which indexes every
        # column Temporal may filter on, whatever the desk sets.
        own = state - per_request["visibility"]
        report.add(f"3 {open_count:,} open", "Temporal state per request, the desk's own", own / 1000, "KB", "<= 8 KB", own <= 8_000)
        for part in ("history", "mutable state", "tasks"):
            report.add(f"3 {open_count:,} open", f"of it, {part}", per_request[part] / 1000, "KB")
        report.add(f"3 {open_count:,} open", "beside it, the dev server's visibility store", per_request["visibility"] / 1000, "KB")
        report.add(f"3 {open_count:,} open", "app database per request", app_database_bytes(settings) / total_requests / 1000, "KB")

        at_large = await latency_at(desk, settings, sizes, first)
        small_p50, large_p50 = load.percentile(at_small, 0.5), load.percentile(at_large, 0.5)
        report.add(f"3 {open_count:,} open", f"latency p50 at {first}/s", large_p50 * 1000, "ms")
        report.add(f"3 {open_count:,} open", f"latency p99 at {first}/s", load.percentile(at_large, 0.99) * 1000, "ms")
        growth = large_p50 / small_p50
        report.add("3 growth", f"p50 at {open_count:,} open / at {sizes.open_small} open", growth, "x", "<= 1.5x", growth <= 1.5)
    finally:
        worker.stop()
        server.stop()


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    """A URL into a new schema of the loopback PostgreSQL, dropped afterwards; None when
    no PostgreSQL answers."""
    url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"desk_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception:  # no PostgreSQL here: the caller says so in the table
        admin.dispose()
        yield None
        return
    try:
        yield make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


async def postgres_latency(scratch: Path, sizes: Sizes, report: Report) -> None:
    """Item 2 against PostgreSQL as the app database, when one answers on loopback."""
    with postgres_schema() as schema_url:
        if schema_url is None:
            report.add("2 PostgreSQL", "skipped: no PostgreSQL on loopback", 0, "")
            return
        server = DevServer(scratch / "postgres.db")
        settings = desk_settings(scratch, "postgres", server.address, schema_url)
        migrate(settings.database_url)
        worker = WorkerProcess("desk", worker_environment(settings))
        try:
            desk = Desk(await connect(settings), settings)
            await load.open_requests(desk, settings.database_url, sizes.open_small, sizes.concurrency)
            latencies = await latency_at(desk, settings, sizes, sizes.rates[0])
            p99 = load.percentile(latencies, 0.99)
            report.add(f"2 PostgreSQL, {sizes.rates[0]}/s", "latency p50", load.percentile(latencies, 0.5) * 1000, "ms")
            report.add(f"2 PostgreSQL, {sizes.rates[0]}/s", "latency p99", p99 * 1000, "ms", "<= 1 s", p99 <= 1.0)
        finally:
            worker.stop()
            server.stop()


def case_file_and_tokens(scratch: Path, sizes: Sizes, report: Report) -> None:
    """Item 7: a case-file import, and one API token check, on SQLite and PostgreSQL."""
    item = f"7 case file of {sizes.cases:,}"
    sqlite = f"sqlite:///{scratch / 'case-file.sqlite3'}"
    report.add(item, "import on SQLite", case_import.import_seconds(sqlite, sizes.cases), "s")
    report.add("7 API token", "check on SQLite", case_import.token_check_ms(f"sqlite:///{scratch / 'tokens.sqlite3'}"), "ms")
    with postgres_schema() as schema_url:
        if schema_url is None:
            report.add(item, "skipped on PostgreSQL: none on loopback", 0, "")
            return
        report.add(item, "import on PostgreSQL", case_import.import_seconds(schema_url, sizes.cases), "s")
        report.add("7 API token", "check on PostgreSQL", case_import.token_check_ms(schema_url), "ms")


def booking_under_contention(scratch: Path, sizes: Sizes, report: Report) -> None:
    """Item 8: `sizes.applicants` applicants, `sizes.bookers` at a time, on a day's last
    seats through the book_slot activity, on PostgreSQL."""
    item = f"8 booking, {sizes.applicants} applicants for {len(booking.TIMES) * booking.CAPACITY} seats"
    with postgres_schema() as schema_url:
        if schema_url is None:
            report.add(item, "skipped: no PostgreSQL on loopback", 0, "")
            return
        posts = desk_settings(scratch, "booking", "unused", schema_url).posts
        contention = booking.contention(schema_url, posts, sizes.applicants, sizes.bookers)
    p99 = load.percentile(contention.call_seconds, 0.99)
    report.add(item, f"bookings per second until the day is full, {sizes.bookers} at once", contention.bookings_per_second, "/s")
    report.add(item, "book_slot p50", load.percentile(contention.call_seconds, 0.5) * 1000, "ms")
    report.add(item, "book_slot p99", p99 * 1000, "ms", "<= 1 s", p99 <= 1.0)
    report.add(item, "calls refused: slot full", contention.refused, "")


# An expired request's own work once its window ends: the expiry's step recorded and its
# email sent (workflows/reschedule_request.py, the last two activities of its history).
EXPIRY_ACTIVITIES = 2


async def desk_expiry_storm(scratch: Path, sizes: Sizes) -> Throughput:
    """Requests whose review windows end together, each expired with its email sent: the
    rate once their common window ends, and the CPU it took."""
    server = DevServer(scratch / "storm.db", time_skipping=True)
    settings = desk_settings(scratch, "storm", server.address)
    migrate(settings.database_url)
    worker = WorkerProcess("desk", worker_environment(settings))
    try:
        client = await connect(settings)
        # All are submitted the same local day: their review windows end together.
        await load.open_requests(Desk(client, settings), settings.database_url, sizes.storm, sizes.concurrency)
        sessions = make_sessionmaker(make_engine(settings.database_url))
        with sessions() as session:
            requests = session.execute(select(RequestRow.workflow_id, RequestRow.reminder_at)).all()

        # Untimed: carry each request an hour past its reminder (days before its window
        # ends), so that what is timed is the expiry alone. A workflow's clock is the real
        # one until it first skips.
        async def past_reminder(workflow_id: str, reminder_at: datetime) -> None:
            await skip_time(client, workflow_id, reminder_at + timedelta(hours=1) - datetime.now(timezone.utc))

        await load.bounded(sizes.concurrency, [partial(past_reminder, *request) for request in requests])
        await _all_emails_sent(sessions, EmailKind.REMINDER, sizes.storm)

        async def expire_all() -> None:
            await load.bounded(sizes.concurrency, [partial(skip_time, client, workflow_id) for workflow_id, _ in requests])
            await load.wait_for_count(settings.database_url, RequestState.EXPIRED, sizes.storm, timeout=1800)
            await _all_emails_sent(sessions, EmailKind.EXPIRED, sizes.storm)

        measured = await measure_storm(expire_all, sizes, client, settings.task_queue, server, worker, load.DESK_EXPIRED)
        sampled = await load.done_workflow_ids(client, settings.task_queue, load.DESK_EXPIRED, sizes.concurrency)
        scheduled = [await activities.scheduled_activities(client, workflow_id) for workflow_id in sampled]
        alone = desk_settings(scratch, "storm-activities-alone", server.address)
        return replace(measured, activities_cpu_ms=activities.cpu_ms_per_request(alone, scheduled, EXPIRY_ACTIVITIES))
    finally:
        worker.stop()
        server.stop()


async def query_reminded(handle: WorkflowHandle) -> bool:
    """Whether the workflow has had its reminder; a query that times out, its workflow
    out of a busy worker's cache and waiting to be replayed, is not yet."""
    try:
        return await handle.query("reminded")
    except RPCError as error:
        if error.status not in (RPCStatusCode.CANCELLED, RPCStatusCode.DEADLINE_EXCEEDED):
            raise
        return False


async def ceiling_expiry_storm(scratch: Path, sizes: Sizes) -> Throughput:
    """The same storm of bare CeilingExpiry workflows (bench/ceiling.py), reminded untimed,
    then expired together."""
    server = DevServer(scratch / "ceiling-storm.db", time_skipping=True)
    task_queue = "bench-ceiling-storm"
    worker = WorkerProcess("bench.ceiling", {"TEMPORAL_ADDRESS": server.address, "RESCHEDULE_TASK_QUEUE": task_queue})
    reminder_after, window_ends_after = timedelta(days=8), timedelta(days=14)  # about a desk request's
    try:
        client = await Client.connect(server.address)
        workflow_ids = [workflow_id_for(load.new_case_number()) for _ in range(sizes.storm)]

        async def start(workflow_id: str) -> None:
            await client.start_workflow(
                "CeilingExpiry", args=[reminder_after.total_seconds(), window_ends_after.total_seconds()],
                id=workflow_id, task_queue=task_queue,
            )
            await skip_time(client, workflow_id, reminder_after + timedelta(hours=1))

        async def reminded(workflow_id: str) -> None:
            while not await query_reminded(client.get_workflow_handle(workflow_id)):
                await asyncio.sleep(0.25)

        await load.bounded(sizes.concurrency, [partial(start, workflow_id) for workflow_id in workflow_ids])
        await load.bounded(sizes.concurrency, [partial(reminded, workflow_id) for workflow_id in workflow_ids])

        async def expire_all() -> None:
            await load.bounded(sizes.concurrency, [partial(skip_time, client, workflow_id) for workflow_id in workflow_ids])
            done = f"TaskQueue = '{task_queue}' AND {load.CEILING_DONE}"
            while (await client.count_workflows(done)).count < sizes.storm:
                await asyncio.sleep(0.25)

        return await measure_storm(expire_all, sizes, client, task_queue, server, worker, load.CEILING_DONE)
    finally:
        worker.stop()
        server.stop()


async def measure_storm(
    expire_all: Callable[[], Awaitable[object]],
    sizes: Sizes,
    client: Client,
    task_queue: str,
    server: DevServer,
    worker: WorkerProcess,
    done: str,
) -> Throughput:
    """Time `expire_all` and read the CPU the server and the worker spent on it."""
    server_cpu, worker_cpu = server.cpu_seconds(), worker.cpu_seconds()
    started = time.perf_counter()
    await expire_all()
    seconds = time.perf_counter() - started
    server_cpu, worker_cpu = server.cpu_seconds() - server_cpu, worker.cpu_seconds() - worker_cpu
    sampled = await load.done_workflow_ids(client, task_queue, done, sizes.concurrency)
    task_seconds = await load.workflow_task_seconds(client, sampled)
    return Throughput(
        requests_per_second=sizes.storm / seconds,
        server_cpu_ms=server_cpu * 1000 / sizes.storm,
        worker_cpu_ms=worker_cpu * 1000 / sizes.storm,
        workflow_task_ms=load.percentile(task_seconds, 0.5) * 1000,
    )


async def skip_time(client: Client, workflow_id: str, by: timedelta | None = None) -> None:
    """Let one workflow's clock jump over its timers whenever it has no work in flight: by
    `by`, or until it ends. Per-workflow time skipping is experimental in Temporal (server
    1.32, behind a dynamic config flag) and may change."""
    config = TimeSkippingConfig(enabled=True)
    if by is not None:
        config.fast_forward_config.id = uuid.uuid4().hex
        config.fast_forward_config.duration.FromTimedelta(by)
    await client.workflow_service.update_workflow_execution_options(
        UpdateWorkflowExecutionOptionsRequest(
            namespace=client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=workflow_id),
            workflow_execution_options=WorkflowExecutionOptions(time_skipping_config=config),
            update_mask=FieldMask(paths=["time_skipping_config"]),
            identity=client.identity,
        ),
        retry=True,
    )


async def _all_emails_sent(sessions: sessionmaker[Session], kind: EmailKind, expected: int) -> None:
    while True:
        with sessions() as session:
            sent = session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.kind == kind, OutboxMessage.status == OutboxStatus.SENT)
            )
        if sent >= expected:
            return
        await asyncio.sleep(0.25)


def replay_figures(runner: str) -> tuple[float, float]:
    """(events per second over the recorded histories, first activation in ms) with the
    worker's runner or in the sandbox (bench/replay.py), in a fresh process so that nothing
    is already imported or cached."""
    probe = subprocess.run(
        [sys.executable, "-m", "bench.replay", runner], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    events_per_second, first_activation_ms = (float(v) for v in probe.stdout.split())
    return events_per_second, first_activation_ms


async def api_decisions(desk: Desk, settings: Settings, sizes: Sizes, report: Report) -> None:
    """Item 2 as officers decide: through the HTTP API, each call's Bearer token checked
    against the app database before the Update (the check's own cost is item 7's)."""
    api = ApiProcess(worker_environment(settings), settings.var_dir / "api.log")
    try:
        waiting = await load.open_requests(desk, settings.database_url, sizes.decisions, sizes.concurrency)
        rate = sizes.rates[0]
        latencies = await load.api_decision_latencies(api.url, officer_token(settings.database_url), waiting, rate)
        item = f"2 decisions through the API at {rate}/s"
        p99 = load.percentile(latencies, 0.99)
        report.add(item, "latency p50", load.percentile(latencies, 0.5) * 1000, "ms")
        report.add(item, "latency p99", p99 * 1000, "ms", "<= 1 s", p99 <= 1.0)
    finally:
        api.stop()


def officer_token(database_url: str) -> str:
    """A Bearer token of an officer of the benchmark's post, made once per app database."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            now = datetime.now(timezone.utc)
            accounts.add_account(session, "officer.bench", Role.OFFICER, ["nairobi"], uuid.uuid4().hex, now)
            token, _ = tokens.issue_staff_token(session, "officer.bench", now, label="bench")
            return token
    finally:
        engine.dispose()


def intake_client_token(database_url: str) -> str:
    """A token of the scheduling site, which submits requests, in a new app database."""
    migrate(database_url)
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            return tokens.add_intake_client(session, "bench-intake", datetime.now(timezone.utc))
    finally:
        engine.dispose()


def start_up_seconds(scratch: Path) -> float | None:
    """`make run`'s own program, to the first request accepted; None if its ports are busy."""
    for port in (7233, 8000, 8233):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return None
    var_dir = scratch / "start-up"
    database_url = f"sqlite:///{var_dir / 'desk.sqlite3'}"
    environment = {**os.environ, "RESCHEDULE_VAR_DIR": str(var_dir), "DATABASE_URL": database_url}
    environment.pop("TEMPORAL_ADDRESS", None)
    intake = {"Authorization": f"Bearer {intake_client_token(database_url)}"}  # before the clock starts
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "reschedule_desk.run"], cwd=PROJECT_ROOT, env=environment,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, stopped as a terminal's Ctrl-C would
    )
    try:
        request = load.bench_request(load.new_case_number()).model_dump(mode="json")
        while time.perf_counter() - started < 120:
            try:
                answer = httpx.post("http://127.0.0.1:8000/api/requests", json=request, headers=intake, timeout=2)
                if answer.status_code == 201:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError("make run accepted no request within 120 s")
    finally:
        stop_group(process)


async def main(sizes: Sizes) -> Report:
    report = Report()
    output = PROJECT_ROOT / "var" / "bench"
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output) as scratch_name:
        scratch = Path(scratch_name)
        print(f"benchmark on {os.cpu_count()} cores, sizes {sizes}", flush=True)

        engine = await ceiling_throughput(scratch, sizes)
        report_throughput(report, "1 engine ceiling", engine)
        ceiling = engine.requests_per_second
        desk = await desk_throughput(scratch, sizes, "desk", workers=1)
        report_throughput(report, "1 desk, 1 worker", desk)
        # Information: a bare workflow that renders no email and writes no row is not a
        # ceiling the desk can reach on two cores.
        report.add("1 desk / ceiling", "throughput ratio", desk.requests_per_second / ceiling, "x")
        report_overhead(report, "1 overhead", desk, engine)
        two = await desk_throughput(scratch, sizes, "desk-2", workers=2)
        report_throughput(report, "1 desk, 2 worker processes", two)
        report.series["throughput"] = {
            "ceiling": [ceiling],
            "desk": [desk.requests_per_second],
            "desk, 2 workers": [two.requests_per_second],
        }

        await decisions_and_open_requests(scratch, sizes, report)
        await postgres_latency(scratch, sizes, report)

        storm_ceiling = await ceiling_expiry_storm(scratch, sizes)
        report_throughput(report, f"4 engine ceiling, storm of {sizes.storm:,}", storm_ceiling, "expired")
        storm = await desk_expiry_storm(scratch, sizes)
        report_throughput(report, f"4 desk, storm of {sizes.storm:,}", storm, "expired with email")
        report.add("4 storm / ceiling", "throughput ratio", storm.requests_per_second / storm_ceiling.requests_per_second, "x")
        report_overhead(report, "4 overhead", storm, storm_ceiling)

        for runner, item in (("worker", "5 replay, the worker's"), ("sandbox", "5 replay in the sandbox, the auditor's")):
            events_per_second, first_activation = replay_figures(runner)
            report.add(item, "recorded histories", events_per_second, "events/s", ">= 1,000", events_per_second >= 1000)
            report.add(item, "first activation", first_activation, "ms", "<= 50 ms", first_activation <= 50)

        start_up = start_up_seconds(scratch)
        if start_up is None:
            report.add("6 start-up", "skipped: ports 7233/8000/8233 busy", 0, "")
        else:
            report.add("6 start-up", "make run to first request accepted", start_up, "s")

        case_file_and_tokens(scratch, sizes, report)
        booking_under_contention(scratch, sizes, report)

    print("\n" + report.table(), flush=True)
    report.write(output)
    print(f"\nwritten: {output / 'results.json'}, {output / 'results.png'}")
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: checks that the benchmark runs")
    arguments = parser.parse_args()
    asyncio.run(main(QUICK if arguments.quick else FULL))
