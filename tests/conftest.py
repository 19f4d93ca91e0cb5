"""Fixtures shared by every test folder: one factory for cases and valid requests, the shipped posts,
real Temporal servers (the bundled binaries, never downloaded), a migrated SQLite app
database, a database per test on SQLite and PostgreSQL, and a real SMTP server.

PostgreSQL: TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
Each test gets a schema of its own in that database, dropped afterwards, so parallel runs
never collide. When PostgreSQL does not answer its tests are skipped, unless
REQUIRE_POSTGRES=1, which makes that a failure (CI).
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from reschedule_desk import cli
from reschedule_desk.api import create_app
from reschedule_desk.applicant_secrets import ApplicantSecrets
from reschedule_desk.console.access import Role
from reschedule_desk.desk import Desk
from reschedule_desk.domain import search
from reschedule_desk.domain.case_file import CaseFile
from reschedule_desk.domain.posts import PostsConfig, parse_posts
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import DEFAULT_POSTS_FILE, Settings
from reschedule_desk.storage import accounts, case_file, tokens
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.storage.tables import Account
from reschedule_desk.codec import PayloadKey, PayloadKeys
from reschedule_desk.temporal import SANDBOXED_RUNNER, bundled_binary, data_converter_with
from tests.report import report_lines
from worker import ACTIVITY_THREADS, build_worker

# Requests ------------------------------------------------------------------------------

_case_serial = itertools.count(1)

# The first letters of a case number say which post holds it.
CASE_PREFIX = {"nairobi": "NRB", "phnom-penh": "PHP"}


def new_case_number(prefix: str = "NRB") -> str:
    """A case number no other test (nor an earlier run on the same server) uses."""
    return f"{prefix}{uuid.uuid4().int % 10**6:06d}{next(_case_serial):04d}"


def make_case(post: str = "nairobi", now: datetime | None = None, **changes: Any) -> dict[str, Any]:
    """A case as the post files it, on which a request made `now` is eligible: an
    immediate relative (no bulletin cut-off), appointment missed nine days ago, last
    contact a month ago, the principal applicant alone on the letter."""
    now = now or datetime.now()
    document: dict[str, Any] = {
        "case_number": new_case_number(CASE_PREFIX.get(post, "NRB")),
        "visa_class": "IR1",
        "priority_date": "2024-03-02",
        "preference_category": "IR",
        "chargeability": "KH" if post == "phnom-penh" else "KE",
        "petitioner_id": f"P-{uuid.uuid4().hex[:10]}",
        "original_appointment_at": (now - timedelta(days=9)).replace(hour=8, minute=30, second=0, microsecond=0, tzinfo=None).isoformat(),
        "last_contact_on": (now.date() - timedelta(days=30)).isoformat(),
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


def make_request(
    post: str = "nairobi", now: datetime | None = None, case: dict[str, Any] | None = None, **changes: Any
) -> dict[str, Any]:
    """A request as the API receives it, for `case` (by default a new eligible one, not
    filed: see filed_request), naming everyone on its letter."""
    case = case or make_case(post, now)
    document: dict[str, Any] = {
        "case_number": case["case_number"],
        "post": post,
        "reason_category": "missed_appointment",
        "reason": "My medicals were on hold on the day of my appointment.",
        "contact_email": "wanjiru.kamau@example.com",
        "applicants": [
            {"full_name": applicant["full_name"], "date_of_birth": applicant["date_of_birth"]}
            for applicant in case["applicants"]
        ],
    }
    document.update(changes)
    return document


def reschedule_request(
    post: str = "nairobi", now: datetime | None = None, case: dict[str, Any] | None = None, **changes: Any
) -> RescheduleRequest:
    """make_request, validated: the request as the workflow, storage and mail see it."""
    return RescheduleRequest.model_validate(make_request(post, now, case, **changes))


def file_cases(database_url: str, post: str, *cases: dict[str, Any]) -> None:
    """Import `cases` into that app database's case file, as `reschedule cases import` does."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            case_file.import_cases(
                session, [CaseFile.model_validate(case) for case in cases], post, datetime.now(UTC)
            )
    finally:
        engine.dispose()


def filed_request(
    database_url: str, post: str = "nairobi", now: datetime | None = None, **case_changes: Any
) -> dict[str, Any]:
    """A request for a case filed in that app database just now, eligible but for
    `case_changes` (e.g. interviewed_on="2026-10-05")."""
    case = make_case(post, now, **case_changes)
    file_cases(database_url, post, case)
    return make_request(post, now, case)


def filed_reschedule_request(
    database_url: str, post: str = "nairobi", now: datetime | None = None, **case_changes: Any
) -> RescheduleRequest:
    return RescheduleRequest.model_validate(filed_request(database_url, post, now, **case_changes))


@pytest.fixture(scope="session")
def posts() -> PostsConfig:
    """The shipped posts (reschedule_desk/posts.toml)."""
    return parse_posts(DEFAULT_POSTS_FILE.read_text(encoding="utf-8"), source=str(DEFAULT_POSTS_FILE))


# Temporal and the desk's own settings ---------------------------------------------------

# Every test server, worker, client and CLI run encrypts payloads with this key: a test
# key, public by design, so that histories recorded with it replay anywhere.
TEST_PAYLOAD_KEY = PayloadKey("tests-1", hashlib.sha256(b"reschedule-desk test payload key").digest())
TEST_PAYLOAD_KEYS = TEST_PAYLOAD_KEY.entry()
TEST_DATA_CONVERTER = data_converter_with(PayloadKeys([TEST_PAYLOAD_KEY]))
# Applicant secrets for activities run without settings; the same kind of test key.
TEST_APPLICANT_SECRETS = ApplicantSecrets("reschedule-desk test secret key")


@pytest.fixture
def desk_settings(tmp_path: Path) -> Settings:
    """Embedded defaults, but everything in this test's own folder and task queue."""
    return desk_settings_in(tmp_path)


def desk_settings_in(folder: Path) -> Settings:
    """Embedded defaults, everything in `folder`, on a task queue of its own; migrated."""
    settings = Settings.from_env(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'desk.sqlite3'}",
            "RESCHEDULE_VAR_DIR": str(folder),
            "RESCHEDULE_POSTS": str(DEFAULT_POSTS_FILE),
            "RESCHEDULE_TASK_QUEUE": f"reschedule-desk-{uuid.uuid4().hex[:8]}",
            "RESCHEDULE_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
        }
    )
    migrate(settings.database_url)
    return settings


@asynccontextmanager
async def running_worker(client: Client, settings: Settings) -> AsyncIterator[Worker]:
    """The desk's worker, with the workflow in the sandbox: a test that drives a run down a
    path also checks that path for anything nondeterministic (reschedule_desk/temporal.py)."""
    engine = make_engine(settings.database_url)
    try:
        with ThreadPoolExecutor(max_workers=ACTIVITY_THREADS) as executor:
            sessions = make_sessionmaker(engine)
            async with build_worker(client, settings, sessions, executor, SANDBOXED_RUNNER) as worker:
                yield worker
    finally:
        engine.dispose()


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server: one per test, so each starts at today's date."""
    async with await WorkflowEnvironment.start_time_skipping(
        data_converter=TEST_DATA_CONVERTER,
        test_server_existing_path=bundled_binary("temporal-test-server"),
    ) as env:
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server (`temporal server start-dev`), for updates, queries and search."""
    async with await WorkflowEnvironment.start_local(
        data_converter=TEST_DATA_CONVERTER,
        dev_server_existing_path=bundled_binary("temporal"),
        search_attributes=search.ALL,
        dev_server_log_level="error",
    ) as env:
        yield env


def settings_for(env: WorkflowEnvironment, settings: Settings) -> Settings:
    """The same settings, pointed at a test environment's server (for the CLI)."""
    return replace(settings, temporal_address=env.client.service_client.config.target_host)


def record_histories() -> bool:
    """RECORD_HISTORIES=1 adds the histories of lifecycle paths not yet in tests/histories/."""
    return os.environ.get("RECORD_HISTORIES") == "1"


HISTORIES_DIR = Path(__file__).parent / "histories"


@dataclass
class CodecEndpoint:
    """The desk's HTTP codec endpoint on loopback, for Temporal's own CLI (--codec-endpoint),
    with an auditor's real token (--codec-auth)."""

    url: str
    token: str

    def cli_options(self) -> list[str]:
        return ["--codec-endpoint", self.url, "--codec-auth", f"Bearer {self.token}"]


@pytest.fixture(scope="session")
def codec_endpoint(dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodecEndpoint]:
    """The desk's app with the test key, served by uvicorn, and an auditor's token for it."""
    settings = desk_settings_in(tmp_path_factory.mktemp("codec"))
    token = staff_token(settings.database_url, "auditor.tests", Role.AUDITOR, [])
    app = create_app(desk=Desk(dev_env.client, settings), settings=settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the codec endpoint did not start")
        time.sleep(0.02)
    try:
        yield CodecEndpoint(url=f"http://127.0.0.1:{port}/codec", token=token)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# Credentials ---------------------------------------------------------------------------

# A password for test accounts; the API tests sign in with tokens, never with it.
TEST_PASSWORD = "correct horse battery staple"


def cli_on(settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """`reschedule ARGS...` run in this process on `settings`: (exit status, stdout, stderr)."""
    monkeypatch.setattr(cli.Settings, "from_env", classmethod(lambda cls, environ=None: settings))

    def run(*argv: object) -> tuple[int, str, str]:
        code = cli.main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def reschedule(desk_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """The CLI on the test's own desk settings."""
    return cli_on(desk_settings, monkeypatch, capsys)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def intake_token(database_url: str) -> str:
    """A new intake client's token, in that app database."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            return tokens.add_intake_client(session, f"intake-{uuid.uuid4().hex[:8]}", datetime.now(UTC))
    finally:
        engine.dispose()


def staff_token(database_url: str, name: str, role: Role, posts: list[str]) -> str:
    """A token of the account `name` in that app database, made with that role and those
    posts if it is new."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            if session.scalar(select(Account.id).where(Account.name == name)) is None:
                accounts.add_account(session, name, role, posts, TEST_PASSWORD, datetime.now(UTC))
            token, _ = tokens.issue_staff_token(session, name, datetime.now(UTC), label=uuid.uuid4().hex[:8])
            return token
    finally:
        engine.dispose()


# Databases -----------------------------------------------------------------------------

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
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
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


# Mail ----------------------------------------------------------------------------------


@dataclass
class CollectingHandler:
    """An aiosmtpd handler that keeps every message it accepts, or refuses recipients
    with `refuse_with` (e.g. "550 5.1.1 mailbox unavailable")."""

    messages: list[Message] = field(default_factory=list)
    refuse_with: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_with:
            return self.refuse_with
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    url: str
    handler: CollectingHandler

    @property
    def messages(self) -> list[Message]:
        return self.handler.messages


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1 and a free port, for the duration of one test."""
    handler = CollectingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(url=f"smtp://127.0.0.1:{port}", handler=handler)
    finally:
        controller.stop()


def pytest_terminal_summary(terminalreporter) -> None:
    """The long tests' counts (tests/report.py), together at the end."""
    lines = report_lines()
    if lines:
        terminalreporter.section("report")
        for line in lines:
            terminalreporter.write_line(line)
