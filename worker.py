"""The desk's worker: runs request workflows and their activities on one task queue.

Start several of these side by side in production; they share the task queue.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker, WorkflowRunner

from activities import desk_activities
from reschedule_desk.applicant_secrets import applicant_secrets
from reschedule_desk.audit.histories import keep_archiving
from reschedule_desk.mail.delivery import transport_from_settings
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.temporal import WORKER_RUNNER, connect, ensure_search_attributes
from workflows.reschedule_request import RescheduleRequestWorkflow

# Activities are synchronous (SQLAlchemy, smtplib) and run on these threads, one
# activity slot each. Temporal hands a workflow's next activity straight back to the
# worker that scheduled it (eager dispatch, no task-queue round trip) only while a slot is
# free, and pollers waiting for tasks hold some: with 16, eager dispatch almost never
# happened under load and the server spent about a quarter more CPU per request (bench/,
# item 1).
ACTIVITY_THREADS = 64
# Workflow runs kept in memory between their tasks (the SDK's default is 1,000), each with
# its state, its case's calendar snapshot included: about 140 KiB a run. A run not in the
# cache is rebuilt from its history when it next has work, which an officer's decision
# waits for (tens of milliseconds). This bounds the worker's memory however many requests
# are open (bench/, item 3).
CACHED_WORKFLOWS = 400


def build_worker(
    client: Client,
    settings: Settings,
    sessions: sessionmaker[Session],
    executor: ThreadPoolExecutor,
    workflow_runner: WorkflowRunner = WORKER_RUNNER,
) -> Worker:
    """The desk's worker; the tests' run the workflow in the sandbox (reschedule_desk/temporal.py)."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[RescheduleRequestWorkflow],
        workflow_runner=workflow_runner,
        activities=desk_activities(
            sessions, settings.posts, transport_from_settings(settings), applicant_secrets(settings), settings.public_url
        ),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        max_cached_workflows=CACHED_WORKFLOWS,
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    settings.posts  # a broken posts file stops the worker here, with the line and field named
    migrate(settings.database_url)
    client = await connect(settings)
    await ensure_search_attributes(client)
    # The activities' and the archiver's. On a database server, a connection for each
    # thread, so none waits for another's (bench/, item 8). SQLite keeps the default pool:
    # it takes one writer at a time however many connect, and each connection keeps its
    # own page cache (bench/, item 3, 10,000 open: 241 MiB with the default pool; with the
    # sandboxed worker, 287-291 MiB against 302 MiB with 65 connections). A connection per
    # thread did not make item 4's expiry storm reliably faster: ahead in one run, behind
    # in the next.
    on_sqlite = make_url(settings.database_url).get_backend_name() == "sqlite"
    connections = None if on_sqlite else ACTIVITY_THREADS + 1
    sessions = make_sessionmaker(make_engine(settings.database_url, connections=connections))

    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signal_number, stop.set)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(client, settings, sessions, executor)
        # What start-up built lives as long as the worker: keep it out of the collector's
        # full passes, which otherwise stop the workflows' event loop for tens of ms.
        gc.freeze()
        # Closed requests' histories go into the app database for auditors (audit/histories.py).
        archiver = asyncio.create_task(
            keep_archiving(client, sessions, client.data_converter, settings.task_queue, stop)
        )
        async with worker:
            logging.getLogger("worker").info("Worker polling task queue %s", settings.task_queue)
            await stop.wait()
        await archiver


if __name__ == "__main__":
    asyncio.run(main())
