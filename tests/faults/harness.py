"""The desk as separate real processes for the fault tests: a Temporal dev server on its
state file, worker.py (one or more), optionally the HTTP API, the app database (SQLite
file or a PostgreSQL schema) and an SMTP server on loopback that counts what it gets.

Each test says what it injected and what it counted with `report(...)`; the lines are
printed together at the end of the run (tests/report.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from reschedule_desk.desk import Desk
from reschedule_desk.domain.case_file import CaseFile
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.settings import DEFAULT_POSTS_FILE, Settings
from reschedule_desk.storage import case_file
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.storage.tables import (
    ApplicantRow,
    AuditEvent,
    OutboxMessage,
    RequestRow,
    ScreeningOutcomeRow,
)
from reschedule_desk.temporal import connect, ensure_search_attributes
from tests.conftest import TEST_PAYLOAD_KEYS, free_port, make_case, make_request
from tests.faults.processes import ApiProcess, DevServer, WorkerProcess

# What make_case and make_request put in every case and request: none of it may reach a log.
PERSONAL_DATA = ("Wanjiru Kamau", "1990-06-21", "wanjiru.kamau@example.com")

# Posts whose timers can come due during a test ------------------------------------------


def fault_posts(path: Path, release_at: datetime | None = None) -> Path:
    """The shipped posts, with Nairobi moved to a fixed-offset zone where it is about noon
    now, open round the clock, releasing approval emails on the day of the request
    (0 business days) at `release_at`, or at once when None. The screening, windows
    and emails stay the desk's own."""
    now = datetime.now(UTC)
    offset = 12 - now.hour  # hours east of UTC that make it about noon there
    zone_name = "Etc/GMT" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"
    opening = "00:00:01"
    if release_at is not None:
        local = release_at.astimezone(ZoneInfo(zone_name))
        assert local.date() == now.astimezone(ZoneInfo(zone_name)).date(), "release must fall today there"
        opening = f"{local:%H:%M:%S}"
    text = DEFAULT_POSTS_FILE.read_text(encoding="utf-8")
    for key, value in (
        ("time_zone", f'"{zone_name}"'),
        ("opening_time", f'"{opening}"'),
        ("closing_time", '"23:59:59"'),
        ("approval_release_business_days", "0"),
    ):
        # The first occurrence of each key is Nairobi's.
        text, count = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text, count=1)
        assert count == 1, key
    path.write_text(text, encoding="utf-8")
    return path


# The SMTP server -----------------------------------------------------------------------


@dataclass
class Received:
    message_id: str
    recipient: str
    subject: str
    at: float  # time.time()


@dataclass
class CountingHandler:
    """Accepts and counts messages; `deferring` answers 451 (try later) to every
    recipient; addresses in `refused` get 550 (final)."""

    received: list[Received] = field(default_factory=list)
    deferring: bool = False
    refused: set[str] = field(default_factory=set)
    refusals: list[tuple[str, int]] = field(default_factory=list)  # (address, code)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.deferring:
            self.refusals.append((address, 451))
            return "451 4.3.0 try again later"
        if address in self.refused:
            self.refusals.append((address, 550))
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        self.received.append(
            Received(str(message["Message-ID"]), ",".join(envelope.rcpt_tos), str(message["Subject"]), time.time())
        )
        return "250 Message accepted for delivery"


class MailServer:
    """aiosmtpd on 127.0.0.1; can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = CountingHandler()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def received(self) -> list[Received]:
        return list(self.handler.received)

    def message_ids(self) -> list[str]:
        return [message.message_id for message in self.handler.received]


# The desk, in processes ----------------------------------------------------------------


async def wait_for(
    condition: Callable[[], Any] | Callable[[], Awaitable[Any]],
    timeout: float,
    what: str,
    interval: float = 0.25,
) -> Any:
    """Poll until `condition()` is truthy; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


@dataclass
class FaultDesk:
    workdir: Path
    server: DevServer
    mail: MailServer
    settings: Settings
    env: dict[str, str]
    sessions: sessionmaker[Session]
    client: Client
    desk: Desk
    workers: list[WorkerProcess] = field(default_factory=list)
    api: ApiProcess | None = None

    def worker(self, name: str = "worker", script: Path | None = None) -> WorkerProcess:
        worker = WorkerProcess(name, self.workdir, self.env, **({"script": script} if script else {}))
        self.workers.append(worker)
        return worker

    def start_api(self) -> ApiProcess:
        self.api = ApiProcess(self.workdir, self.env)
        self.api.start()
        return self.api

    async def submit(self, count: int, **changes: Any) -> list[str]:
        """File `count` eligible cases, then submit a request for each with `changes`, 20
        at a time; their case numbers."""
        return await self.submit_filed(self.file_cases(count), **changes)

    def file_cases(self, count: int) -> list[dict]:
        """`count` eligible cases, imported into the desk's case file."""
        cases = [make_case() for _ in range(count)]
        with self.sessions.begin() as session:
            case_file.import_cases(session, [CaseFile.model_validate(case) for case in cases], "nairobi", datetime.now(UTC))
        return cases

    async def submit_filed(self, cases: list[dict], **changes: Any) -> list[str]:
        """Submit a request for each filed case with `changes`, 20 at a time; their case numbers."""
        documents = [make_request(case=case, **changes) for case in cases]
        limit = asyncio.Semaphore(20)

        async def one(document: dict) -> None:
            async with limit:
                await self.desk.submit(RescheduleRequest.model_validate(document))

        await asyncio.gather(*(one(document) for document in documents))
        return [document["case_number"] for document in documents]

    # What the database says -----------------------------------------------------------

    def statuses(self) -> dict[str, str]:
        with self.sessions() as session:
            rows = session.execute(select(RequestRow.case_number, RequestRow.status))
            return {case: str(status) for case, status in rows}

    def count(self, table, *where) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(table).where(*where)) or 0

    def audit_actions(self) -> dict[str, int]:
        with self.sessions() as session:
            rows = session.execute(select(AuditEvent.action, func.count()).group_by(AuditEvent.action))
            return {action: count for action, count in rows}

    def outbox(self) -> list[OutboxMessage]:
        with self.sessions() as session:
            return list(session.scalars(select(OutboxMessage)))

    def logs(self) -> str:
        parts = [worker.log() for worker in self.workers]
        if self.api is not None:
            parts.append(self.api.log())
        return "\n".join(parts)


def assert_nothing_half_written(sessions: sessionmaker[Session]) -> None:
    """Every request is whole: its applicants and screening outcomes, one audit row per
    step from 1 to its last, its status that of its last step, every email tied to a step."""
    with sessions() as session:
        for request in session.scalars(select(RequestRow)):
            steps = session.execute(
                select(AuditEvent.step, AuditEvent.to_state)
                .where(AuditEvent.request_id == request.request_id)
                .order_by(AuditEvent.step)
            ).all()
            assert [step for step, _ in steps] == list(range(1, request.last_step + 1)), request.case_number
            assert steps[-1][1] == request.status, request.case_number
            assert session.scalar(
                select(func.count()).select_from(ApplicantRow).where(ApplicantRow.request_id == request.request_id)
            ), request.case_number
            assert session.scalar(
                select(func.count())
                .select_from(ScreeningOutcomeRow)
                .where(ScreeningOutcomeRow.request_id == request.request_id)
            ), request.case_number
        orphans = session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .outerjoin(
                AuditEvent,
                (AuditEvent.request_id == OutboxMessage.request_id) & (AuditEvent.step == OutboxMessage.step),
            )
            .where(AuditEvent.id.is_(None))
        )
        assert orphans == 0


def assert_no_personal_data(text: str, where: str) -> None:
    found = [value for value in PERSONAL_DATA if value in text]
    assert not found, f"personal data {found} in {where}"


@asynccontextmanager
async def desk_in_processes(
    workdir: Path,
    database_url: str | None = None,
    release_at: datetime | None = None,
) -> AsyncIterator[FaultDesk]:
    """The dev server and the SMTP server started; workers and the API are the test's to
    start (desk.worker(...).start()). Everything is stopped at the end, and the logs of
    every worker and the API are checked for personal data."""
    workdir.mkdir(parents=True, exist_ok=True)
    database_url = database_url or f"sqlite:///{workdir / 'desk.sqlite3'}"
    migrate(database_url)
    posts_file = fault_posts(workdir / "posts.toml", release_at)
    server = DevServer(workdir)
    mail = MailServer()
    env_settings = {
        "TEMPORAL_ADDRESS": server.address,
        "DATABASE_URL": database_url,
        "SMTP_URL": mail.url,
        "RESCHEDULE_POSTS": str(posts_file),
        "RESCHEDULE_TASK_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
        "RESCHEDULE_VAR_DIR": str(workdir),
        "RESCHEDULE_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
    }
    env = {**os.environ, **env_settings}
    settings = Settings.from_env(env_settings)
    engine = make_engine(database_url)
    desk: FaultDesk | None = None
    try:
        server.start()
        mail.start()
        client = await connect(settings)
        await ensure_search_attributes(client)
        desk = FaultDesk(
            workdir=workdir, server=server, mail=mail, settings=settings, env=env,
            sessions=make_sessionmaker(engine), client=client, desk=Desk(client, settings),
        )
        yield desk
    finally:
        if desk is not None:
            if desk.api is not None:
                desk.api.stop()
            for worker in desk.workers:
                worker.stop()
        server.kill()
        mail.stop()
        engine.dispose()
    if desk is not None:
        assert_no_personal_data(desk.logs(), "the worker and API logs")


def lateness_summary(seconds: list[float]) -> str:
    ordered = sorted(seconds)
    middle = ordered[len(ordered) // 2]
    return f"min {ordered[0]:.1f}s, median {middle:.1f}s, max {ordered[-1]:.1f}s"



# A database server that can go away --------------------------------------------------


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server on loopback. `stop()` is that server going
    away for its clients: the port refuses connections and open ones are cut. The real
    server (other engineers' PostgreSQL) is never touched."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            connections, self._connections = self._connections, []
        if listener is not None:
            listener.close()
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            connection.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # stopped meanwhile
                    client.close()
                    upstream.close()
                    return
                self._connections += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, target):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
