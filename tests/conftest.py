"""Fixtures shared by the workflow, API and CLI tests: real Temporal servers (the bundled
binaries, never downloaded), a migrated SQLite app database and the file mail sink."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from reschedule_desk.domain import search
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import DEFAULT_POSTS_FILE, Settings
from reschedule_desk.storage.database import migrate
from reschedule_desk.temporal import DATA_CONVERTER, bundled_binary
from worker import ACTIVITY_THREADS, build_worker

_case_serial = itertools.count(1)


def new_case_number(prefix: str = "NRB") -> str:
    """A case number no other test (nor an earlier run on the same server) uses."""
    return f"{prefix}{uuid.uuid4().int % 10**6:06d}{next(_case_serial):04d}"


def make_request(post: str = "nairobi", now: datetime | None = None, **changes: Any) -> dict[str, Any]:
    """An eligible request as the API receives it, relative to `now` (the server's clock)."""
    now = now or datetime.now()
    prefix = {"nairobi": "NRB", "phnom-penh": "PHP"}.get(post, "NRB")
    document: dict[str, Any] = {
        "case_number": new_case_number(prefix),
        "post": post,
        "reason_category": "missed_appointment",
        "reason": "My medicals were on hold on the day of my appointment.",
        "original_appointment_at": (now - timedelta(days=9)).replace(hour=8, minute=30, second=0, microsecond=0, tzinfo=None).isoformat(),
        "visa_class": "IR1",
        "priority_date": "2024-03-02",
        "interviewed_already": False,
        "last_contact_on": (now.date() - timedelta(days=30)).isoformat(),
        "contact_email": "wanjiru.kamau@example.com",
        "petitioner": {"full_name": f"Petitioner {uuid.uuid4().hex[:8]}", "date_of_birth": "1985-04-12"},
        "applicants": [
            {
                "full_name": "Wanjiru Kamau",
                "date_of_birth": "1990-06-21",
                "relationship": "principal",
                "marital_status": "married",
            }
        ],
    }
    document.update(changes)
    return document


def reschedule_request(post: str = "nairobi", now: datetime | None = None, **changes: Any) -> RescheduleRequest:
    return RescheduleRequest.model_validate(make_request(post, now, **changes))


@pytest.fixture
def desk_settings(tmp_path: Path) -> Settings:
    """Embedded defaults, but everything in this test's own folder and task queue."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}",
            "RESCHEDULE_VAR_DIR": str(tmp_path),
            "RESCHEDULE_POSTS": str(DEFAULT_POSTS_FILE),
            "RESCHEDULE_TASK_QUEUE": f"reschedule-desk-{uuid.uuid4().hex[:8]}",
        }
    )
    migrate(settings.database_url)
    return settings


@asynccontextmanager
async def running_worker(client: Client, settings: Settings) -> AsyncIterator[Worker]:
    with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
        async with build_worker(client, settings, executor) as worker:
            yield worker


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server: one per test, so each starts at today's date."""
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=DATA_CONVERTER,
        test_server_existing_path=bundled_binary("temporal-test-server"),
    ) as env:
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server (`temporal server start-dev`), for updates, queries and search."""
    async with await WorkflowEnvironment.start_local(
        data_converter=DATA_CONVERTER,
        dev_server_existing_path=bundled_binary("temporal"),
        search_attributes=search.ALL,
        dev_server_log_level="error",
    ) as env:
        yield env


def settings_for(env: WorkflowEnvironment, settings: Settings) -> Settings:
    """The same settings, pointed at a test environment's server (for the CLI)."""
    return replace(settings, temporal_address=env.client.service_client.config.target_host)


def record_histories() -> bool:
    """RECORD_HISTORIES=1 rewrites tests/histories/ from the lifecycle tests' runs."""
    return os.environ.get("RECORD_HISTORIES") == "1"


HISTORIES_DIR = Path(__file__).parent / "histories"
