"""worker.py itself, with pause points for the fault tests: nothing else differs.

The test arms a point by creating FAULT_PAUSE_DIR/arm-<point>; the first activity to
reach an armed point renames that file to FAULT_PAUSE_DIR/<point> and stops there, so
the test can SIGKILL the worker with that activity half done. The points:

- render:  the step's email is rendered, inside the step's transaction, nothing written;
- persist: the step's request, audit and outbox rows are flushed, not committed;
- send:    the SMTP server took the envelope (MAIL FROM, RCPT TO), the message is unsent;
- 250:     the SMTP server answered 250 to the message; nothing knows it yet;
- sent:    the delivery is told to Temporal (heartbeat), the outbox does not know yet.
"""

from __future__ import annotations

import os
import runpy
import smtplib
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT_ROOT))

import activities.transitions as transitions  # noqa: E402
from reschedule_desk.mail import delivery  # noqa: E402
from reschedule_desk.storage import repository  # noqa: E402

PAUSE_DIR = Path(os.environ["FAULT_PAUSE_DIR"])


def pause(point: str) -> None:
    try:
        # Atomic: of the activity threads reaching an armed point, one claims it.
        (PAUSE_DIR / f"arm-{point}").rename(PAUSE_DIR / point)
    except FileNotFoundError:
        return
    while True:  # until the test kills this process
        time.sleep(60)


_render = transitions.render_email


def render_email(context):
    rendered = _render(context)
    pause("render")
    return rendered


_record = repository.record_transition


def record_transition(session, entry, message):
    key = _record(session, entry, message)
    pause("persist")
    return key


_data = smtplib.SMTP.data


def data(self, message):
    pause("send")
    return _data(self, message)


_deliver = delivery.SmtpTransport.deliver


def deliver(self, message_key, message):
    _deliver(self, message_key, message)
    pause("250")


_mark_sent = repository.mark_sent


def mark_sent(session, key, at):
    pause("sent")
    return _mark_sent(session, key, at)


transitions.render_email = render_email
repository.record_transition = record_transition
smtplib.SMTP.data = data
delivery.SmtpTransport.deliver = deliver
repository.mark_sent = mark_sent

if __name__ == "__main__":
    worker = str(PROJECT_ROOT / "worker.py")
    sys.argv = [worker]
    runpy.run_path(worker, run_name="__main__")
