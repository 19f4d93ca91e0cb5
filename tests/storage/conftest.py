"""Fixtures for the storage tests: a database per test on SQLite and PostgreSQL, and
valid requests to store.

The database-URL fixtures are self-contained so they can move to tests/conftest.py.

PostgreSQL: TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
Each test gets a schema of its own in that database, dropped afterwards, so parallel runs
never collide. When PostgreSQL does not answer its tests are skipped, unless
REQUIRE_POSTGRES=1, which makes that a failure (CI).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.domain.lifecycle import RequestState, RuleOutcome, Transition
from reschedule_desk.domain.records import EmailKind, EmailOrder, TransitionEntry
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL server the tests may use, once it has answered."""
    url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure to connect means "no PostgreSQL here"
        reason = (
            f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} did not answer "
            f"({type(error).__name__}: {str(error).strip().splitlines()[0]})"
        )
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}; REQUIRE_POSTGRES=1 forbids skipping", pytrace=False)
        pytest.skip(f"{reason}; set TEST_POSTGRES_URL, or REQUIRE_POSTGRES=1 to fail instead")
    finally:
        engine.dispose()
    return url


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh, empty schema, dropped after the test."""
    schema = f"desk_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """An empty database on each backend."""
    if request.param == "sqlite":
        # A directory that does not exist yet: make_engine creates it.
        return f"sqlite:///{tmp_path / 'var' / 'desk.sqlite3'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database on each backend."""
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


# Requests and steps --------------------------------------------------------------------

SUBMITTED_AT = datetime(2026, 3, 5, 6, 15, 30, 123456, tzinfo=UTC)


def nairobi_request(**changes: Any) -> RescheduleRequest:
    """A valid Nairobi request; `changes` replace top-level fields (validated)."""
    fields: dict[str, Any] = {
        "case_number": "NRB2024000001",
        "post": "nairobi",
        "reason_category": "missed_appointment",
        "reason": "My medical examination results were on hold.",
        "original_appointment_at": datetime(2026, 3, 2, 8, 30),
        "visa_class": "IR1",
        "last_contact_on": date(2026, 2, 20),
        "applicants": [
            {"full_name": "Wanjiru Kamau", "date_of_birth": date(1990, 5, 14), "relationship": "principal"},
        ],
        "contact_email": "wanjiru.kamau@example.com",
        "petitioner": {"full_name": "David Otieno", "date_of_birth": date(1985, 1, 2)},
    }
    fields.update(changes)
    return RescheduleRequest.model_validate(fields)


@pytest.fixture
def request_for_nairobi() -> RescheduleRequest:
    return nairobi_request()


@pytest.fixture
def make_request() -> Callable[..., RescheduleRequest]:
    """nairobi_request as a fixture, for tests that need several requests."""
    return nairobi_request


@pytest.fixture
def passed_screening() -> list[RuleOutcome]:
    return [
        RuleOutcome(rule="appointment_missed", passed=True, explanation="The appointment on 2 March 2026 has passed."),
        RuleOutcome(rule="visa_class_excluded", passed=True, explanation="IR1 may be rescheduled at Nairobi."),
        RuleOutcome(rule="contact_within_a_year", passed=True, explanation="Last contact on 20 February 2026."),
    ]


def step_entry(
    request_id: str,
    step: int,
    to_state: RequestState,
    *,
    from_state: RequestState | None = None,
    at: datetime = SUBMITTED_AT,
    request: RescheduleRequest | None = None,
    actor: str = "system",
    action: str = "screen",
    note: str | None = None,
    rule: str | None = None,
    email: EmailKind | None = None,
    rules: list[RuleOutcome] | None = None,
    workflow_id: str | None = None,
    **deadlines: datetime | None,
) -> TransitionEntry:
    """One step as the workflow would send it."""
    return TransitionEntry(
        request_id=request_id,
        workflow_id=workflow_id or (request.workflow_id if request else "reschedule-NRB2024000001"),
        transition=Transition(
            step=step,
            at=at,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            action=action,
            note=note,
            rule=rule,
        ),
        request=request,
        rules=rules or [],
        email=EmailOrder(kind=email) if email else None,
        **deadlines,
    )


@pytest.fixture
def make_entry() -> Callable[..., TransitionEntry]:
    return step_entry
