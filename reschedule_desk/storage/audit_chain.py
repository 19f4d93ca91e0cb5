"""The audit trail's hash chain: tamper evidence that needs no workflow history.

Each audit row carries `row_hash`, the sha256 of its own content and of `previous_hash`,
the row_hash of the request's step before it (None for the first step). Editing a row
breaks its own hash; deleting one breaks the next row's link; the request row's
`last_step` shows a missing last step. Someone with write access could recompute every
hash, so the chain is evidence against edits by hand, not proof against a determined
administrator: for that the archived workflow history is the reference.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

from reschedule_desk.storage.tables import AuditEvent


def canonical_content(row: AuditEvent) -> bytes:
    """The row as it was decided: every column but the database's id and the hashes.

    One JSON form, whatever the backend: instants in UTC with microseconds, states by value.
    """
    content = {
        "request_id": row.request_id,
        "workflow_id": row.workflow_id,
        "step": row.step,
        "at": row.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": row.actor,
        "action": row.action,
        "from_state": None if row.from_state is None else str(row.from_state),
        "to_state": str(row.to_state),
        "note": row.note,
        "rule": row.rule,
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def row_hash(row: AuditEvent, previous_hash: str | None) -> str:
    digest = hashlib.sha256(canonical_content(row))
    digest.update(b"\n" + (previous_hash or "").encode("ascii"))
    return digest.hexdigest()


def seal(row: AuditEvent, previous_hash: str | None) -> None:
    """Chain a new row to the request's row before it (its row_hash, None for step 1)."""
    row.previous_hash = previous_hash
    row.row_hash = row_hash(row, previous_hash)
