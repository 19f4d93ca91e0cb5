"""A bundle an auditor can take away: one zip file with the history as Temporal recorded
it, the timeline read from it (text, JSON, HTML), the replay against today's code and the
verification of the desk's rows, and a manifest with the sha256 of every file.

The history keeps its payloads encrypted; the timeline and the verification are in clear
(officers' notes included), so the bundle is as confidential as the case file.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from reschedule_desk.audit import render
from reschedule_desk.audit.histories import RequestHistory
from reschedule_desk.audit.replay import ReplayOutcome
from reschedule_desk.audit.timeline import Timeline
from reschedule_desk.audit.verify import Verification


def write_bundle(
    directory: Path, found: RequestHistory, timeline: Timeline, replay: ReplayOutcome, verification: Verification
) -> Path:
    files = {
        "history.json": found.history_json,
        "timeline.txt": render.timeline_text(timeline, found),
        "timeline.json": timeline.model_dump_json(indent=2),
        "timeline.html": render.timeline_html(timeline, found),
        "replay.txt": render.replay_line(replay) + "\n",
        "replay.json": replay.model_dump_json(indent=2),
        "verification.txt": render.verification_text(verification),
        "verification.json": verification.model_dump_json(indent=2),
    }
    manifest = {
        "case_number": timeline.case_number,
        "request_id": timeline.request_id,
        "workflow_id": timeline.workflow_id,
        "run_id": timeline.run_id,
        "history_source": found.source,
        "history_sha256": found.content_hash,
        "replays": replay.deterministic,
        "verified": verification.ok,
        "exported_at": datetime.now(UTC).isoformat(),
        "files": {name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in files.items()},
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-{timeline.case_number}-{timeline.request_id}.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, text in files.items():
            bundle.writestr(name, text)
        bundle.writestr("manifest.json", json.dumps(manifest, indent=2))
    return path
