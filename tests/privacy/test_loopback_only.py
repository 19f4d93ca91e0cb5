"""`make run` binds every local service to 127.0.0.1: the Temporal dev server (frontend,
UI, HTTP API, metrics) and the HTTP API with its console. Checked on the running
processes' own listening sockets."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from reschedule_desk import run
from reschedule_desk.settings import DEFAULT_POSTS_FILE, Settings
from tests.conftest import TEST_PAYLOAD_KEYS, free_port
from tests.faults.processes import stop

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

LOOPBACK = "127.0.0.1"


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket `pid` listens on, from /proc."""
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A: LISTEN
                continue
            address, port = local.split(":")
            found.add((_address(address, width), int(port, 16)))
    return found


def _address(hexadecimal: str, width: int) -> str:
    raw = bytes.fromhex(hexadecimal)
    if width == 8:
        return ".".join(str(byte) for byte in reversed(raw))
    words = [raw[i : i + 4][::-1] for i in range(0, 16, 4)]  # /proc prints each 32-bit word in host order
    packed = b"".join(words)
    if packed[:12] == bytes(10) + b"\xff\xff":
        return ".".join(str(byte) for byte in packed[12:])
    return packed.hex()


def wait_listening(pid: int, count: int) -> set[tuple[str, int]]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = listening_addresses(pid)
        if len(found) >= count:
            return found
        time.sleep(0.2)
    raise AssertionError(f"process {pid} listens on {listening_addresses(pid)} only")


def test_make_runs_dev_server_and_api_listen_on_loopback_only(tmp_path: Path, monkeypatch) -> None:
    temporal_port, ui_port, api_port = free_port(), free_port(), free_port()
    environment = {
        "TEMPORAL_ADDRESS": f"{LOOPBACK}:{temporal_port}",
        "RESCHEDULE_VAR_DIR": str(tmp_path),
        "RESCHEDULE_POSTS": str(DEFAULT_POSTS_FILE),
        "RESCHEDULE_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env(environment)
    server = run._temporal_dev_server(settings, ui_port=ui_port)
    try:
        run._wait_for_port(settings.temporal_address)
        api = run._api_server(api_port)
        try:
            run._wait_for_port(f"{LOOPBACK}:{api_port}")
            # Frontend, UI, HTTP API, metrics and the server's internal services.
            server_sockets = wait_listening(server.pid, 4)
            api_sockets = wait_listening(api.pid, 1)
        finally:
            stop(api, signal.SIGINT)
    finally:
        stop(server, signal.SIGINT)

    assert {temporal_port, ui_port} <= {port for _, port in server_sockets}
    assert {address for address, _ in server_sockets} == {LOOPBACK}, server_sockets
    assert api_sockets == {(LOOPBACK, api_port)}
