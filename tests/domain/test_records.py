"""The payloads the workflow hands its activities: what they carry, and what they still
accept from histories written before they changed."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

from reschedule_desk.domain.case_file import parse_bulletin_csv, parse_case_file
from reschedule_desk.domain.records import (
    ACTIVITY_INPUT,
    ACTIVITY_RESULT,
    GATHER_SCREENING_FACTS,
    READ_CASE_FILE,
    CaseFileFacts,
    CaseFileQuery,
    ScreeningQuery,
)
from reschedule_desk.domain.request import RescheduleRequest
from reschedule_desk.domain.self_reported import ScreeningFacts, SelfReportedRequest

EXAMPLES = Path(__file__).parents[2] / "examples"
SUBMITTED_AT = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)

# A request of the old form, as histories recorded before screening read the case file hold it.
OLD_REQUEST = {
    "case_number": "NRB2024100001",
    "post": "nairobi",
    "reason_category": "missed_appointment",
    "reason": "My medicals were on hold on the day of my appointment.",
    "original_appointment_at": "2026-10-14T08:30:00",
    "visa_class": "IR1",
    "priority_date": "2024-03-02",
    "interviewed_already": False,
    "last_contact_on": "2026-09-30",
    "contact_email": "wanjiru.kamau@example.com",
    "petitioner": {"full_name": "David Otieno", "date_of_birth": "1985-04-12"},
    "applicants": [
        {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal", "marital_status": "married"}
    ],
}


def example_request() -> RescheduleRequest:
    return RescheduleRequest.model_validate_json((EXAMPLES / "nairobi-eligible.json").read_text(encoding="utf-8"))


def test_the_case_file_query_carries_the_case_number_and_post_not_the_applicants() -> None:
    request = example_request()
    query = CaseFileQuery(case_number=request.case_number, post=request.post, submitted_at=SUBMITTED_AT)
    sent = query.model_dump_json()
    assert request.principal.full_name not in sent and request.contact_email not in sent
    assert request.reason not in sent
    assert CaseFileQuery.model_validate_json(sent) == query


def test_the_case_file_facts_hold_the_case_and_the_bulletin_as_they_were_read(posts, nairobi_calendar) -> None:
    [case, *_] = parse_case_file((EXAMPLES / "case-file-nairobi.csv").read_text(encoding="utf-8"), "case-file-nairobi.csv")
    [row] = parse_bulletin_csv("month,category,chargeability,final_action_date\n2026-11,F2A,ALL,2024-02-01\n")
    facts = CaseFileFacts(
        post=posts.post("nairobi"), calendar=nairobi_calendar, case=case,
        bulletin_month=date(2026, 11, 1), final_action=row, other_open_cases_of_petitioner=["NRB2024100006"],
    )
    assert CaseFileFacts.model_validate_json(facts.model_dump_json()) == facts


def test_no_case_on_file_and_no_bulletin_are_facts_too(posts, nairobi_calendar) -> None:
    facts = CaseFileFacts(
        post=posts.post("nairobi"), calendar=nairobi_calendar, case=None, bulletin_month=None, final_action=None
    )
    assert facts.other_open_cases_of_petitioner == []
    assert CaseFileFacts.model_validate_json(facts.model_dump_json()) == facts


def test_each_activity_names_its_payloads_for_the_tools_that_read_histories() -> None:
    assert (ACTIVITY_INPUT[READ_CASE_FILE], ACTIVITY_RESULT[READ_CASE_FILE]) == (CaseFileQuery, CaseFileFacts)
    assert (ACTIVITY_INPUT[GATHER_SCREENING_FACTS], ACTIVITY_RESULT[GATHER_SCREENING_FACTS]) == (
        ScreeningQuery, ScreeningFacts,
    )


def test_the_screening_query_carries_the_petitioner_and_post_not_the_applicants() -> None:
    request = SelfReportedRequest.model_validate(OLD_REQUEST)
    query = ScreeningQuery(
        case_number=request.case_number, post=request.post, petitioner=request.petitioner, submitted_at=SUBMITTED_AT
    )
    sent = query.model_dump_json()
    assert request.principal.full_name not in sent and request.contact_email not in sent
    assert request.reason not in sent


def test_a_screening_query_scheduled_with_the_whole_request_still_parses() -> None:
    request = SelfReportedRequest.model_validate(OLD_REQUEST)
    before = json.dumps(
        {"request_id": "01a2019c", "request": request.model_dump(mode="json"), "submitted_at": SUBMITTED_AT.isoformat()}
    )
    query = ScreeningQuery.model_validate_json(before)
    assert (query.case_number, query.post, query.petitioner) == (request.case_number, request.post, request.petitioner)
    assert query.submitted_at == SUBMITTED_AT
