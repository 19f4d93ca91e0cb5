"""The payloads the workflow hands its activities: what they carry, and what they still
accept from histories written before they changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from reschedule_desk.domain.records import ScreeningQuery
from reschedule_desk.domain.request import RescheduleRequest

EXAMPLE = Path(__file__).parents[2] / "examples" / "nairobi-eligible.json"
SUBMITTED_AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def example_request() -> RescheduleRequest:
    return RescheduleRequest.model_validate_json(EXAMPLE.read_text(encoding="utf-8"))


def test_the_screening_query_carries_the_petitioner_and_post_not_the_applicants() -> None:
    request = example_request()
    query = ScreeningQuery(
        case_number=request.case_number, post=request.post, petitioner=request.petitioner, submitted_at=SUBMITTED_AT
    )
    sent = query.model_dump_json()
    assert request.principal.full_name not in sent and request.contact_email not in sent
    assert request.reason not in sent


def test_a_screening_query_scheduled_with_the_whole_request_still_parses() -> None:
    request = example_request()
    before = json.dumps(
        {"request_id": "01a2019c", "request": request.model_dump(mode="json"), "submitted_at": SUBMITTED_AT.isoformat()}
    )
    query = ScreeningQuery.model_validate_json(before)
    assert (query.case_number, query.post, query.petitioner) == (request.case_number, request.post, request.petitioner)
    assert query.submitted_at == SUBMITTED_AT
