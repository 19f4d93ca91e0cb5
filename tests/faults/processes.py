"""The real parts of the desk as separate processes, each one killable and restartable:
the Temporal dev server on its state file, worker.py, and the HTTP API under uvicorn.

Everything binds to 127.0.0.1 on free ports; every process is ended by its own pid when
the test ends, whatever happened.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from reschedule_desk.run import _wait_for_port as wait_for_address
from reschedule_desk.settings import PROJECT_ROOT
from reschedule_desk.temporal import bundled_binary, dev_server_arguments
from tests.conftest import free_port

WORKER_SCRIPT = PROJECT_ROOT / "worker.py"
# worker.py with pause points, for killing it in the middle of an activity.
PAUSING_WORKER_SCRIPT = Path(__file__).with_name("pausing_worker.py")
READY_LINE = "Worker polling task queue"


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    wait_for_address(f"127.0.0.1:{port}", timeout)


def stop(process: subprocess.Popen, first: int = signal.SIGTERM) -> None:
    """A polite stop, SIGKILL if it does not end in 15 s."""
    if process.poll() is None:
        process.send_signal(first)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Process:
    """One child process with its output in a log file."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def _spawn(self, arguments: list[str], env: Mapping[str, str] | None = None) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is running"
        log = open(self.log_path, "ab")
        try:
            self.process = subprocess.Popen(
                arguments, cwd=PROJECT_ROOT, env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        finally:
            log.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, as when a machine dies."""
        if self.running:
            os.kill(self.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """A polite stop (SIGTERM), SIGKILL if it does not end in 15 s."""
        if self.process is not None:
            stop(self.process)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


class DevServer(Process):
    """`temporal server start-dev`, headless, state in a file; restartable on that file."""

    def __init__(self, workdir: Path) -> None:
        super().__init__("temporal", workdir / "temporal.log")
        self.state_file = workdir / "temporal.db"
        self.port = free_port()
        # Fixed across restarts, so nothing else can take them while the server is down.
        self.http_port = free_port()
        self.metrics_port = free_port()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        arguments = [
            bundled_binary("temporal"), "server", "start-dev",
            "--ip", "127.0.0.1", "--port", str(self.port), "--headless",
            "--http-port", str(self.http_port), "--metrics-port", str(self.metrics_port),
            "--db-filename", str(self.state_file), "--log-level", "error",
            # As `make run` has it: the state survives the process being killed, what these tests do.
            *dev_server_arguments(),
        ]
        # The desk registers its search attributes itself (worker.py, ensure_search_attributes).
        self._spawn(arguments)
        wait_for_port(self.port)

    def state_files(self) -> list[Path]:
        """The state file and whatever SQLite keeps beside it."""
        return sorted(self.state_file.parent.glob(self.state_file.name + "*"))


class WorkerProcess(Process):
    """`python worker.py` with the desk's settings in its environment."""

    def __init__(self, name: str, workdir: Path, env: Mapping[str, str], script: Path = WORKER_SCRIPT) -> None:
        super().__init__(name, workdir / f"{name}.log")
        self.env = dict(env)
        self.script = script

    def start(self, extra_env: Mapping[str, str] | None = None, timeout: float = 60.0) -> None:
        already = self.log().count(READY_LINE)
        self._spawn([sys.executable, str(self.script)], {**self.env, **(extra_env or {})})
        deadline = time.monotonic() + timeout
        while self.log().count(READY_LINE) <= already:
            if not self.running:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} not polling after {timeout:.0f}s:\n{self.log()[-3000:]}")
            time.sleep(0.1)


class ApiProcess(Process):
    """The HTTP API as production runs it: uvicorn --factory reschedule_desk.api:create_app."""

    def __init__(self, workdir: Path, env: Mapping[str, str]) -> None:
        super().__init__("api", workdir / "api.log")
        self.env = dict(env)
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._spawn(
            [
                sys.executable, "-m", "uvicorn", "--factory", "reschedule_desk.api:create_app",
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            ],
            self.env,
        )
        wait_for_port(self.port)
