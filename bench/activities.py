"""The desk's activities alone: the CPU an approved request's activities take with no
Temporal around them. They are run again in this process, on a fresh app database, with
the very inputs their workflows gave them (read back from the histories), one thread.

Items 1 and 4 use it to show how close to the ceiling the desk could come at best: if the desk's
server round trips and workflow side cost exactly what the ceiling's do, each request
would still add this much work on the same two cores.
"""

from __future__ import annotations

import time
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities import desk_activities
from bench import load
from reschedule_desk.applicant_secrets import applicant_secrets
from reschedule_desk.domain.records import ACTIVITY_INPUT, READ_CASE_FILE
from reschedule_desk.mail.delivery import transport_from_settings
from reschedule_desk.settings import Settings
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate


async def scheduled_activities(client: Client, workflow_id: str) -> list[tuple[str, Any]]:
    """A workflow's activities in the order it scheduled them, each with its input decoded."""
    scheduled = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type != EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            continue
        attributes = event.activity_task_scheduled_event_attributes
        name = attributes.activity_type.name
        [argument] = await client.data_converter.decode(attributes.input.payloads, [ACTIVITY_INPUT[name]])
        scheduled.append((name, argument))
    return scheduled


def cpu_ms_per_request(settings: Settings, requests: list[list[tuple[str, Any]]], timed_last: int | None = None) -> float:
    """CPU milliseconds per request to run these requests' activities again, in order, on
    the app database and outbox of `settings` (which must start empty); at least two
    requests, the first to warm up. With `timed_last`, only each request's last so many
    activities are timed (an expiry's, say): the ones before them run first, untimed, to
    leave the rows the timed ones build on."""
    if len(requests) < 2:
        raise ValueError(f"{len(requests)} request(s) to measure: at least two are needed, the first to warm up")
    migrate(settings.database_url)
    # Screening reads each request's case, so the fresh database files them first, untimed.
    screened = [argument.case_number for scheduled in requests for name, argument in scheduled if name == READ_CASE_FILE]
    load.file_cases(settings.database_url, screened)
    engine = make_engine(settings.database_url)
    try:
        activities = desk_activities(
            make_sessionmaker(engine),
            settings.posts,
            transport_from_settings(settings),
            applicant_secrets(settings),
            settings.public_url,
        )
        by_name = {activity.__name__: activity for activity in activities}  # named as their methods
        environment = ActivityEnvironment()

        def run(scheduled: list[tuple[str, Any]]) -> None:
            for name, argument in scheduled:
                environment.run(by_name[name], argument)

        def split(scheduled: list[tuple[str, Any]]) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
            at = 0 if timed_last is None else len(scheduled) - timed_last
            return scheduled[:at], scheduled[at:]

        # The first request pays for what a worker does once: compiling each statement,
        # loading each template. A worker that has run for a while has done it.
        run(requests[0])
        timed = [split(scheduled) for scheduled in requests[1:]]
        for before, _ in timed:
            run(before)
        started = time.thread_time()
        for _, measured in timed:
            run(measured)
        return (time.thread_time() - started) * 1000 / len(timed)
    finally:
        engine.dispose()
