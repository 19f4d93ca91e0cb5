"""The processes a benchmark run starts: a Temporal dev server with its state in a file,
and worker processes (the desk's worker.py or the ceiling's), each measurable."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from reschedule_desk.settings import PROJECT_ROOT
from reschedule_desk.temporal import bundled_binary, dev_server_arguments


# The dev server's tables, by what they keep for a workflow.
STATE_PARTS = {
    "history": {"history_node", "history_tree"},
    # The open run's own: its row, its timers and activities, events not yet in history.
    "mutable state": {
        "executions", "current_executions", "current_chasm_executions", "buffered_events", "activity_info_maps",
        "timer_info_maps", "child_execution_info_maps", "request_cancel_info_maps", "signal_info_maps",
        "signals_requested_sets", "chasm_node_maps",
    },
    # Work the server has still to do, or has done and not yet trimmed.
    "tasks": {
        "tasks", "tasks_v2", "transfer_tasks", "timer_tasks", "visibility_tasks", "replication_tasks",
        "replication_tasks_dlq", "history_immediate_tasks", "history_scheduled_tasks",
    },
}
# The list entry of every workflow and its indexes, one on each column Temporal may
# filter on, whether the workflow sets it or not: executions_visibility and its FTS tables.
VISIBILITY_TABLES = "executions_visibility"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Until `process` answers on `port`; if it exits first or never answers, the error
    carries the end of its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited ({process.returncode}) before answering on 127.0.0.1:{port}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answers on 127.0.0.1:{port} after {timeout:.0f}s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else "(no log)"


def resident_bytes(pid: int) -> int:
    """VmRSS of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (all its threads), from /proc."""
    # The command name, in parentheses, may hold spaces: count fields after it.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    user_ticks, system_ticks = int(fields[11]), int(fields[12])
    return (user_ticks + system_ticks) / os.sysconf("SC_CLK_TCK")


class DevServer:
    """`temporal server start-dev` on loopback, state in `state_file`; with `time_skipping`,
    workflows may be given their own virtual clock (experimental in Temporal)."""

    def __init__(self, state_file: Path, time_skipping: bool = False) -> None:
        self.state_file = state_file
        self.port = free_port()
        arguments = [
            bundled_binary("temporal"), "server", "start-dev",
            "--ip", "127.0.0.1", "--port", str(self.port), "--headless",
            "--db-filename", str(state_file), *dev_server_arguments(), "--log-level", "error",
            "--search-attribute", "RescheduleStatus=Keyword",
            "--search-attribute", "ReschedulePost=Keyword",
            "--search-attribute", "RescheduleNextDeadline=Datetime",
        ]
        if time_skipping:
            arguments += ["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"]
        log = state_file.with_suffix(".log")
        with log.open("wb") as output:  # the server keeps its own copy of the descriptor
            self.process = subprocess.Popen(arguments, stdout=output, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.process, log)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def state_bytes(self) -> int:
        """The state file's size once its write-ahead log is folded into it (a reader may
        checkpoint a WAL database while the server writes)."""
        with sqlite3.connect(self.state_file, timeout=30) as connection:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return self.state_file.stat().st_size

    def state_parts(self) -> dict[str, int]:
        """The state file's pages by what they hold (SQLite's page statistics): STATE_PARTS
        and "visibility"; not the server's own metadata, nor free pages."""
        with sqlite3.connect(self.state_file, timeout=30) as connection:
            tables = connection.execute(
                "SELECT s.tbl_name, sum(d.pgsize) FROM dbstat d JOIN sqlite_schema s ON s.name = d.name"
                " GROUP BY s.tbl_name"
            ).fetchall()
        parts = dict.fromkeys([*STATE_PARTS, "visibility"], 0)
        for table, size in tables:
            if table.startswith(VISIBILITY_TABLES):
                parts["visibility"] += size
            for part, part_tables in STATE_PARTS.items():
                if table in part_tables:
                    parts[part] += size
        return parts

    def resident_bytes(self) -> int:
        return resident_bytes(self.process.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        stop(self.process)


class WorkerProcess:
    """`python worker.py` (the desk) or `python -m bench.ceiling`, with its own environment."""

    def __init__(self, module: str, environment: dict[str, str]) -> None:
        command = (
            [sys.executable, str(PROJECT_ROOT / "worker.py")]
            if module == "desk"
            else [sys.executable, "-m", module]
        )
        self.process = subprocess.Popen(
            command,
            env={**os.environ, **environment},
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def resident_bytes(self) -> int:
        return resident_bytes(self.process.pid)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        stop(self.process)


class ApiProcess:
    """The desk's HTTP API (`uvicorn --factory reschedule_desk.api:create_app`, as `make
    run` starts it) on a free loopback port, with the desk's environment."""

    def __init__(self, environment: dict[str, str], log: Path) -> None:
        self.port = free_port()
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    sys.executable, "-m", "uvicorn", "--factory", "reschedule_desk.api:create_app",
                    "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
                ],
                env={**os.environ, **environment},
                cwd=PROJECT_ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, self.process, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        stop(self.process)


def stop_group(process: subprocess.Popen, timeout: float = 60) -> None:
    """Ctrl-C to a process and its children (started with start_new_session=True), as a
    terminal sends it; what is still running after `timeout` is killed, children included."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # any child its parent left behind
    except ProcessLookupError:
        pass
    process.wait()


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
