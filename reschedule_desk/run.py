"""`make run`: the whole desk on embedded defaults, in the foreground.

Starts the Temporal dev server (state in var/temporal.db, UI on :8233), migrates the
SQLite app database (on first start, loading the sample case files and Visa Bulletin from
examples/), then the worker and the HTTP API on 127.0.0.1:8000. Mail goes to
var/mail/ unless SMTP_URL is set. One Ctrl-C stops all of it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from reschedule_desk.codec import load_payload_keys
from reschedule_desk.domain.case_file import parse_bulletin_csv, parse_case_file
from reschedule_desk.settings import PROJECT_ROOT, Settings
from reschedule_desk.storage import case_file
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate
from reschedule_desk.temporal import bundled_binary, dev_server_arguments

API_PORT = 8000
EXAMPLES_DIR = PROJECT_ROOT / "examples"
# Every call to the API needs a credential and every decision an account: how to make the
# first ones (README, "Who may call what").
FIRST_STEPS = """\
First accounts and credentials, in another terminal (. .venv/bin/activate):
  reschedule users add admin.ana --role admin                      # the console's Accounts page
  reschedule users add officer.kim --role officer --post nairobi   # then sign in at /
  reschedule users token officer.kim                               # a Bearer token for the API
  reschedule clients add scheduling-site                           # the intake client's token
"""
UI_PORT = 8233  # codec_server.UI_ORIGINS, the codec endpoint's default, is this port's origin


def _wait_for_port(address: str, timeout: float = 60.0) -> None:
    host, port = address.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answers on {address} after {timeout:.0f}s")


def _temporal_dev_server(settings: Settings, ui_port: int = UI_PORT, api_port: int = API_PORT) -> subprocess.Popen:
    # Every port it opens (frontend, UI, HTTP API, metrics) is on the --ip address: loopback
    # by default, since Temporal's UI shows requests to anyone who reaches it.
    host, port = settings.temporal_address.rsplit(":", 1)
    return subprocess.Popen(
        [
            bundled_binary("temporal"),
            "server",
            "start-dev",
            "--ip", host,
            "--port", port,
            "--ui-ip", host,
            "--ui-port", str(ui_port),
            # The UI shows decoded payloads to officers and auditors signed in to the console,
            # once each has told the UI to send the console's cookie with codec calls (its
            # "Codec Server" settings; reschedule_desk/codec_server.py): the dev server has
            # no flag for it.
            "--ui-codec-endpoint", f"http://127.0.0.1:{api_port}/codec",
            # A back office's UI calls out to nothing but the desk and the server.
            "--ui-disable-news-fetch",
            "--namespace", settings.temporal_namespace,
            "--db-filename", str(settings.var_dir / "temporal.db"),
            *dev_server_arguments(),
            "--log-level", "warn",
        ]
    )


def _api_server(port: int) -> subprocess.Popen:
    """The API and console on loopback only: they show applicants' data to who reaches them."""
    return subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "--factory", "reschedule_desk.api:create_app",
            "--host", "127.0.0.1", "--port", str(port),
        ]
    )


def main() -> int:
    settings = Settings.from_env()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings.posts  # fail fast, naming the line and field, on a broken posts file
    load_payload_keys(settings)  # on first start this makes var/payload-keys, once, for all parts
    migrate(settings.database_url)
    load_samples_on_first_start(settings)

    processes: list[subprocess.Popen] = []
    try:
        if "TEMPORAL_ADDRESS" not in os.environ:
            processes.append(_temporal_dev_server(settings))
            _wait_for_port(settings.temporal_address)
        processes.append(subprocess.Popen([sys.executable, str(PROJECT_ROOT / "worker.py")]))
        processes.append(_api_server(API_PORT))
        _wait_for_port(f"127.0.0.1:{API_PORT}")
        print(
            f"\nReschedule desk running: API http://127.0.0.1:{API_PORT}/docs, "
            f"Temporal UI http://127.0.0.1:{UI_PORT}, mail in {_shown(settings.mail_dir)}. Ctrl-C stops all.\n"
            f"{FIRST_STEPS}",
            flush=True,
        )
        while all(process.poll() is None for process in processes):
            time.sleep(0.5)
        return 1  # one part died on its own: stop the rest
    except KeyboardInterrupt:
        return 0
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in reversed(processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


# The posts' records the README's walk-through screens against: on a desk's first start,
# so that it works on a fresh machine. A post's own exports replace them (`reschedule cases
# import`, `reschedule bulletin import`).
SAMPLE_CASE_FILES = {"nairobi": "case-file-nairobi.csv", "phnom-penh": "case-file-phnom-penh.json"}
SAMPLE_BULLETIN = "visa-bulletin.csv"


def load_samples_on_first_start(settings: Settings) -> None:
    """Import the sample case files and bulletin into an app database that has neither."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            if case_file.has_cases(session) or case_file.bulletin_months(session):
                return
            now = datetime.now(UTC)
            for post, name in SAMPLE_CASE_FILES.items():
                if post in settings.posts.posts:
                    path = EXAMPLES_DIR / name
                    case_file.import_cases(session, parse_case_file(path.read_text(encoding="utf-8"), name), post, now)
            bulletin = EXAMPLES_DIR / SAMPLE_BULLETIN
            case_file.import_bulletin(session, parse_bulletin_csv(bulletin.read_text(encoding="utf-8"), SAMPLE_BULLETIN))
    finally:
        engine.dispose()
    print(f"First start: loaded the sample case files and Visa Bulletin from {_shown(EXAMPLES_DIR)}/.", flush=True)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
