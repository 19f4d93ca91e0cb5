"""How the auditors' results read: plain text for the terminal and the export bundle,
and the timeline as a stand-alone HTML page (templates/audit/timeline.html.j2) for the
console. Times are the post's local times: the clock its rules use."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reschedule_desk.audit.histories import RequestHistory
from reschedule_desk.audit.replay import ReplayOutcome
from reschedule_desk.audit.timeline import Timeline
from reschedule_desk.audit.verify import Verification
from reschedule_desk.settings import TEMPLATES_DIR


def local_time(timeline: Timeline, instant: datetime) -> str:
    zone = ZoneInfo(timeline.time_zone) if timeline.time_zone else None
    return instant.astimezone(zone).strftime("%a %d %b %Y %H:%M:%S %Z")


def timeline_heading(timeline: Timeline, found: RequestHistory) -> list[str]:
    state = timeline.final_status.status.value if timeline.final_status else ("closed" if timeline.closed else "open")
    return [
        f"Case {timeline.case_number} at {timeline.post}: request {timeline.request_id}, {state}",
        f"workflow {timeline.workflow_id}, run {timeline.run_id}, {timeline.event_count} events",
        f"history from {found.source}, sha256 {found.content_hash}",
    ]


def timeline_text(timeline: Timeline, found: RequestHistory) -> str:
    lines = timeline_heading(timeline, found) + [""]
    for entry in timeline.entries:
        lines.append(
            f"{local_time(timeline, entry.at)}  #{entry.event_id:<4} {entry.kind:<15} {entry.actor or '':<16} {entry.text}"
        )
    return "\n".join(lines) + "\n"


# The page carries its own style, since it is also opened offline from an export bundle,
# and no script: served in the console, its policy allows inline style and nothing else.
TIMELINE_PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


def timeline_html(timeline: Timeline, found: RequestHistory) -> str:
    """The timeline as a page of its own, for the console to serve to auditors."""
    return _templates().get_template("timeline.html.j2").render(
        timeline=timeline, heading=timeline_heading(timeline, found), local_time=lambda at: local_time(timeline, at)
    )


def replay_line(outcome: ReplayOutcome) -> str:
    where = f"{outcome.workflow_id} run {outcome.run_id} ({outcome.event_count} events)"
    if outcome.deterministic:
        return f"ok    {where}"
    line = f"FAIL  {where}: {outcome.error}"
    if outcome.diverging_event:
        event = outcome.diverging_event
        line += f"\n      first diverging event: #{event.event_id} {event.event_type} at {event.at.isoformat()}"
    return line


def verification_text(verification: Verification) -> str:
    heading = f"{verification.case_number}, request {verification.request_id}"
    source = verification.history_source or "no history left: the hash chain alone was checked"
    rows = f"{verification.audit_rows} audit rows, {verification.outbox_rows} outbox rows"
    checked = f"{rows} and {verification.booking_rows} booking rows against {source}"
    if verification.ok:
        return f"{heading}: verified\n  {checked}\n"
    count = len(verification.findings)
    lines = [f"{heading}: {count} mismatch{'es' if count != 1 else ''}", f"  {checked}"]
    lines += [f"  {finding.subject}: {finding.problem}" for finding in verification.findings]
    return "\n".join(lines) + "\n"


@cache
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR / "audit"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
