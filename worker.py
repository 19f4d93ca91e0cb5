"""The desk's worker: runs request workflows and their activities on one task queue.

Start several of these side by side in production; they share the task queue.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities import desk_activities
from reschedule_desk.audit.histories import keep_archiving
from reschedule_desk.mail.delivery import transport_from_settings
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.temporal import WORKFLOW_RUNNER, connect, ensure_search_attributes
from workflows.reschedule_request import RescheduleRequestWorkflow

# Activities are synchronous (SQLAlchemy, smtplib) and run on these threads.
ACTIVITY_THREADS = 16


def build_worker(client: Client, settings: Settings, executor: ThreadPoolExecutor) -> Worker:
    engine = make_engine(settings.database_url)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[RescheduleRequestWorkflow],
        workflow_runner=WORKFLOW_RUNNER,
        activities=desk_activities(
            make_sessionmaker(engine), settings.posts, transport_from_settings(settings)
        ),
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
    )


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = Settings.from_env()
    settings.posts  # a broken posts file stops the worker here, with the line and field named
    migrate(settings.database_url)
    client = await connect(settings)
    await ensure_search_attributes(client)

    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(signal_number, stop.set)
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        worker = build_worker(client, settings, executor)
        # Closed requests' histories go into the app database for auditors (audit/histories.py).
        sessions = make_sessionmaker(make_engine(settings.database_url))
        archiver = asyncio.create_task(
            keep_archiving(client, sessions, client.data_converter, settings.task_queue, stop)
        )
        async with worker:
            logging.getLogger("worker").info("Worker polling task queue %s", settings.task_queue)
            await stop.wait()
        await archiver


if __name__ == "__main__":
    asyncio.run(main())
