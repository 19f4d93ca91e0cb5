"""The preset dictionaries payloads are compressed against, before they are sealed.

A payload is one request, one step or one calendar: a few hundred bytes to 3 KB, too
short for zlib to find much to repeat inside it. What every payload shares is known in
advance: the JSON field names of the desk's models, their enum values, the screening
rules' explanations, the posts' windows and holiday names. Given as a preset dictionary,
zlib refers back to it instead of spelling it out again, in every payload of every
history Temporal keeps. Applicants' own words are not in it: it is built from
placeholders, and from the posts file the desk ships.

A dictionary is frozen once any payload is compressed against it: histories keep needing
its exact bytes to open. Its bytes live in `payload-dictionary-N.txt` beside this module,
and tests/privacy/test_codec.py pins their digest. A better dictionary is a new file with
the next number, made with `python -m reschedule_desk.payload_dictionary > FILE`, and
becomes CURRENT; the codec keeps opening payloads compressed against the older ones.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter

from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.case_file import BulletinRow, CaseFile
from reschedule_desk.domain.decisions import Approval, Denial, InfoRequest
from reschedule_desk.domain.eligibility import screen
from reschedule_desk.domain.lifecycle import RequestState, RequestStatus, Transition
from reschedule_desk.domain.posts import parse_posts
from reschedule_desk.domain.records import (
    DeliveryResult,
    EmailKind,
    EmailOrder,
    CaseFileFacts,
    CaseFileQuery,
    RecordedTransition,
    TransitionEntry,
)
from reschedule_desk.domain.request import RescheduleRequest

# zlib refers back at most 32 KiB; a payload's own bytes use part of that window.
MAX_BYTES = 24 * 1024
CURRENT = 1


class UnknownDictionary(ValueError):
    """A payload names a dictionary this desk does not have."""


@cache
def dictionary(number: int) -> bytes:
    path = Path(__file__).with_name(f"payload-dictionary-{number}.txt")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UnknownDictionary(
            f"payload compressed against dictionary {number}, which this desk does not have"
        ) from None


def build() -> bytes:
    """A dictionary from today's models and posts: every kind of payload once, filled with
    placeholders; the most common kinds last, where zlib reaches them most cheaply."""
    posts = parse_posts((Path(__file__).with_name("posts.toml")).read_text(encoding="utf-8"))
    now = datetime.now(UTC).replace(microsecond=0)
    samples: list[object] = []
    for code, post in posts.posts.items():
        request = RescheduleRequest.model_validate(
            {
                "case_number": f"{code[:3].upper()}0000000000",
                "post": code,
                "reason_category": post.eligible_reasons[0],
                "reason": "reason",
                "contact_email": "applicant@example.com",
                "applicants": [
                    {"full_name": "Applicant", "date_of_birth": date(1990, 1, 1)},
                    {"full_name": "Applicant", "date_of_birth": date(2015, 1, 1)},
                ],
            }
        )
        case = CaseFile.model_validate(
            {
                "case_number": request.case_number,
                "visa_class": "F2A",
                "priority_date": date(now.year - 2, 1, 1),
                "preference_category": "F2A",
                "chargeability": post.country,
                "petitioner_id": "P-000000",
                "original_appointment_at": (now - timedelta(days=7)).replace(tzinfo=None, hour=8, minute=0, second=0),
                "last_contact_on": now.date() - timedelta(days=30),
                "applicants": [
                    {"full_name": "Applicant", "date_of_birth": date(1990, 1, 1), "relationship": "principal",
                     "marital_status": "married"},
                    {"full_name": "Applicant", "date_of_birth": date(2015, 1, 1), "relationship": "child",
                     "marital_status": "single"},
                ],
            }
        )
        month = now.date().replace(day=1)
        facts = CaseFileFacts(
            post=post,
            calendar=build_post_calendar(post, now.date(), now.date() + timedelta(days=366)),
            case=case,
            bulletin_month=month,
            final_action=BulletinRow(month=month, category="F2A", chargeability="ALL", final_action_date=None),
        )
        rules = screen(request, facts, now)
        window_ends_at = datetime.combine(now.date() + timedelta(days=14), post.closing_time, tzinfo=post.zone)
        reminder_at = datetime.combine(now.date() + timedelta(days=12), post.opening_time, tzinfo=post.zone)
        first_step = Transition(
            step=1, at=now, from_state=RequestState.SUBMITTED, to_state=RequestState.PENDING_REVIEW,
            actor="system", action="screen",
        )
        decision = Transition(
            step=2, at=now, from_state=RequestState.PENDING_REVIEW, to_state=RequestState.APPROVED,
            actor="officer", action="approve", note="note",
        )
        samples += [
            facts,
            CaseFileQuery(case_number=request.case_number, post=code, submitted_at=now),
            request,
            TransitionEntry(
                request_id="00000000-0000-0000-0000-000000000000", workflow_id=request.workflow_id,
                transition=first_step, request=request, window_ends_at=window_ends_at, reminder_at=reminder_at,
                approval_email_release_at=reminder_at, rules=rules, email=EmailOrder(kind=EmailKind.ACKNOWLEDGEMENT),
            ),
            RequestStatus(
                case_number=request.case_number, post=code, status=RequestState.APPROVED, submitted_at=now,
                window_ends_at=window_ends_at, reminder_at=reminder_at, approval_email_release_at=reminder_at,
                assigned_to="officer", history=[first_step, decision],
            ),
            TransitionEntry(
                request_id="00000000-0000-0000-0000-000000000000", workflow_id=request.workflow_id,
                transition=decision, window_ends_at=window_ends_at, reminder_at=reminder_at,
                approval_email_release_at=reminder_at, assigned_to="officer",
                email=EmailOrder(kind=EmailKind.APPROVED, not_before=reminder_at),
            ),
        ]
    samples += [
        Approval(officer_id="officer", note="note"),
        Denial(officer_id="officer", reason="reason"),
        InfoRequest(officer_id="officer", needed="needed"),
        RecordedTransition(message_key="reschedule-NRB0000000000-00000000-0000-0000-0000-000000000000-001-acknowledgement"),
        f"{RequestState.PENDING_REVIEW.value} reminder {datetime.combine(now.date(), time(8), tzinfo=UTC).isoformat()}",
        DeliveryResult.SENT,
    ]
    # What a payload holds: its encoding, then its JSON.
    converter = pydantic_data_converter.payload_converter
    lines = [b"encoding json/plain"] + [converter.to_payloads([sample])[0].data for sample in samples]
    built = b"\n".join(lines) + b"\n"
    return built[-MAX_BYTES:]


if __name__ == "__main__":
    sys.stdout.buffer.write(build())
