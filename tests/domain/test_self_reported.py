"""The rules as they were before screening read the post's case file, on the applicant's own
answers (self_reported.py). Nothing new is screened this way: these tests pin what recorded
histories replay against, and how such a request becomes one of today's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from reschedule_desk.domain.eligibility import (
    RULE_APPLICANTS_ON_LETTER,
    RULE_APPOINTMENT_PASSED,
    RULE_CASE_CURRENT,
    RULE_CASE_ON_FILE,
    RULE_CHILDREN_CAN_DERIVE,
    RULE_NOT_INTERVIEWED,
    RULE_ONE_APPOINTMENT_PER_PETITIONER,
    RULE_REASON_ACCEPTED,
    RULE_RECENT_CONTACT,
    RULE_VISA_CLASS_NOT_EXCLUDED,
    RULE_VISA_CLASS_UNCHANGED,
    RULES,
    failed_rules,
)
from reschedule_desk.domain.lifecycle import RuleOutcome
from reschedule_desk.domain.request import LetterApplicant, RescheduleRequest
from reschedule_desk.domain.self_reported import (
    RequestInHistory,
    ScreeningFacts,
    SelfReportedRequest,
    VisaBulletin,
    screen_self_reported,
)

# Saturday 7 November 2026, 10:00 in Nairobi.
SUBMITTED_AT = datetime(2026, 11, 7, 7, 0, tzinfo=UTC)
# The rules of that time: every rule of today's but the case file's own.
OLD_RULES = [rule for rule in RULES if rule != RULE_CASE_ON_FILE]

# The bulletin posts.toml held then ([visa_bulletin]).
NOVEMBER_2026 = VisaBulletin(
    as_of="2026-11",
    final_action_dates={
        "F1": "2016-11-08", "F2A": "2024-02-01", "F2B": "2017-01-01", "F3": "2011-07-15", "F4": "2008-06-08",
        "E1": "C", "E2": "2024-04-01", "E3": "2023-06-01", "EW": "2021-08-01", "DV": "C",
    },
)


def applicant(name: str, relationship: str, born: str, **changes: Any) -> dict[str, Any]:
    return {"full_name": name, "date_of_birth": born, "relationship": relationship, **changes}


PRINCIPAL = applicant("Amani Wanjiru Otieno", "principal", "1990-03-14", marital_status="married")
SPOUSE = applicant("Juma Otieno", "spouse", "1988-09-02", marital_status="married")
CHILD = applicant("Baraka Otieno", "child", "2015-06-01")


def old_request(**changes: Any) -> dict[str, Any]:
    """A request as the applicant filled in the old form, every old rule passing at Nairobi."""
    data: dict[str, Any] = {
        "case_number": "NRB2026012345",
        "post": "nairobi",
        "reason_category": "missed_appointment",
        "reason": "I was sick on the day of my appointment",
        "original_appointment_at": "2026-11-02T08:30:00",
        "visa_class": "F2A",
        "priority_date": "2023-05-01",
        "last_contact_on": "2026-06-01",
        "applicants": [PRINCIPAL, SPOUSE, CHILD],
        "contact_email": "amani@example.com",
        "petitioner": {"full_name": "Grace Achieng Otieno"},
    }
    data.update(changes)
    return data


@pytest.fixture
def nairobi_facts(nairobi, nairobi_calendar) -> ScreeningFacts:
    return ScreeningFacts(post=nairobi, visa_bulletin=NOVEMBER_2026, calendar=nairobi_calendar)


@pytest.fixture
def phnom_penh_facts(phnom_penh, phnom_penh_calendar) -> ScreeningFacts:
    return ScreeningFacts(post=phnom_penh, visa_bulletin=NOVEMBER_2026, calendar=phnom_penh_calendar)


def screened(facts: ScreeningFacts, **changes: Any) -> list[RuleOutcome]:
    request = SelfReportedRequest.model_validate(old_request(post=facts.post.code, **changes))
    return screen_self_reported(request, facts, SUBMITTED_AT)


def outcome_of(rule: str, outcomes: list[RuleOutcome]) -> RuleOutcome:
    [outcome] = [outcome for outcome in outcomes if outcome.rule == rule]
    return outcome


# The whole screening


def test_an_old_request_answering_every_rule_passes_them_in_the_old_order(nairobi_facts):
    outcomes = screened(nairobi_facts)
    assert [outcome.rule for outcome in outcomes] == OLD_RULES
    assert failed_rules(outcomes) == []


def test_an_ineligible_old_request_gets_every_failed_rule(phnom_penh_facts):
    facts = phnom_penh_facts.model_copy(update={"other_open_cases_of_petitioner": ["NRB2025099999"]})
    outcomes = screened(
        facts,
        reason_category="attended_not_interviewed",  # a Nairobi reason
        original_appointment_at="2026-11-20T08:30:00",  # not passed yet
        interviewed_already=True,
        last_contact_on="2025-01-15",
        visa_class="K1",  # excluded, and changed:
        visa_class_on_letter="F2A",
        applicants=[PRINCIPAL, {**SPOUSE, "on_appointment_letter": False}, {**CHILD, "marital_status": "married"}],
    )
    failed = failed_rules(outcomes)
    # Every rule but the Visa Bulletin's, which K1 (no cut-off) passes.
    assert [outcome.rule for outcome in failed] == [rule for rule in OLD_RULES if rule != RULE_CASE_CURRENT]
    assert all("submit an inquiry instead: https://kh.usembassy.gov/visas/" in o.explanation for o in failed)


# Each rule, on the applicant's answer

WITH_SPOUSE_NOT_ON_LETTER = [PRINCIPAL, {**SPOUSE, "on_appointment_letter": False}, {**CHILD, "on_appointment_letter": False}]


@pytest.mark.parametrize(
    ("rule", "answers", "words"),
    [
        (RULE_REASON_ACCEPTED, {"reason_category": "embassy_cancelled"}, ["the embassy cancelled my original appointment"]),
        (RULE_APPOINTMENT_PASSED, {"original_appointment_at": "2026-11-09T08:30:00"}, ["2026-11-09 08:30", "has not passed"]),
        (RULE_APPOINTMENT_PASSED, {"original_appointment_at": "2026-11-07T11:00:00"}, ["has not passed"]),
        (RULE_NOT_INTERVIEWED, {"interviewed_already": True}, ["You have been interviewed."]),
        (RULE_RECENT_CONTACT, {"last_contact_on": "2025-11-06"}, ["2025-11-06", "more than a year", "2026-11-07"]),
        (RULE_CASE_CURRENT, {"priority_date": "2024-02-01"}, ["not current", "2024-02-01", "F2A", "(2026-11)"]),
        (RULE_CASE_CURRENT, {"visa_class": "F4", "priority_date": "2010-01-01"}, ["2008-06-08"]),
        (RULE_CASE_CURRENT, {"priority_date": None}, ["does not give your priority date"]),
        (RULE_VISA_CLASS_UNCHANGED, {"visa_class_on_letter": "F2B"}, ["letter says F2B", "now F2A"]),
        (RULE_VISA_CLASS_NOT_EXCLUDED, {"visa_class": "K-1", "priority_date": None}, ["K1"]),
        (RULE_VISA_CLASS_NOT_EXCLUDED, {"visa_class": "SB-1", "priority_date": None}, ["SB1"]),
        (
            RULE_APPLICANTS_ON_LETTER,
            {"applicants": WITH_SPOUSE_NOT_ON_LETTER},
            ["Juma Otieno (spouse)", "marriage certificate", "Baraka Otieno (child)", "child's birth certificate"],
        ),
        (
            RULE_CHILDREN_CAN_DERIVE,
            {"applicants": [PRINCIPAL, SPOUSE, {**CHILD, "date_of_birth": "2005-11-07"}]},
            ["Baraka Otieno is aged 21 or older", "Child Status Protection Act"],
        ),
        (
            RULE_CHILDREN_CAN_DERIVE,
            {"applicants": [PRINCIPAL, SPOUSE, {**CHILD, "marital_status": "married", "cspa_confirmed": True}]},
            ["Baraka Otieno is married"],
        ),
    ],
    ids=[
        "embassy_cancelled_not_accepted_at_nairobi", "before_the_date_of_the_appointment", "earlier_on_the_appointment_day",
        "you_have_been_interviewed", "not_contacted_for_more_than_a_year",
        "priority_date_on_the_cut_off", "retrogressed", "no_priority_date_given", "visa_class_has_been_changed",
        "not_including_k1s", "not_including_sb1s_at_nairobi", "not_on_the_appointment_letter", "child_aged_21",
        "married_child_even_with_cspa",
    ],
)
def test_an_old_rule_refuses_on_the_applicants_answer(nairobi_facts, rule, answers, words):
    outcome = outcome_of(rule, screened(nairobi_facts, **answers))
    assert not outcome.passed
    assert "submit an inquiry instead: https://ke.usembassy.gov/visas/" in outcome.explanation
    for word in words:
        assert word in outcome.explanation


@pytest.mark.parametrize(
    ("rule", "answers"),
    [
        (RULE_REASON_ACCEPTED, {"reason_category": "attended_not_interviewed"}),
        (RULE_APPOINTMENT_PASSED, {"original_appointment_at": "2026-11-07T09:00:00"}),  # 10:00 in Nairobi
        (RULE_RECENT_CONTACT, {"last_contact_on": "2025-11-07"}),  # exactly a year
        (RULE_CASE_CURRENT, {"priority_date": "2024-01-31"}),
        (RULE_CASE_CURRENT, {"visa_class": "DV", "priority_date": None}),  # "C"
        (RULE_CASE_CURRENT, {"visa_class": "IR1", "priority_date": None}),  # not in the bulletin
        (RULE_VISA_CLASS_UNCHANGED, {"visa_class_on_letter": "f-2a"}),
        (RULE_CHILDREN_CAN_DERIVE, {"applicants": [PRINCIPAL, SPOUSE, {**CHILD, "date_of_birth": "2005-11-08"}]}),
        (
            RULE_CHILDREN_CAN_DERIVE,
            {"applicants": [PRINCIPAL, SPOUSE, {**CHILD, "date_of_birth": "2003-01-01", "cspa_confirmed": True}]},
        ),
    ],
    ids=[
        "attended_not_interviewed_accepted_at_nairobi", "appointment_passed_in_the_posts_time",
        "contact_exactly_a_year_ago", "priority_date_before_the_cut_off", "category_current", "class_not_in_the_bulletin",
        "class_on_the_letter_however_written", "child_turning_21_tomorrow", "child_over_21_cspa_confirmed",
    ],
)
def test_an_old_rule_passes_on_the_applicants_answer(nairobi_facts, rule, answers):
    assert outcome_of(rule, screened(nairobi_facts, **answers)).passed


def test_phnom_penh_took_an_embassy_cancelled_appointment_without_its_date(phnom_penh_facts):
    outcomes = screened(phnom_penh_facts, reason_category="embassy_cancelled", original_appointment_at=None)
    assert outcome_of(RULE_REASON_ACCEPTED, outcomes).passed
    assert outcome_of(RULE_APPOINTMENT_PASSED, outcomes).passed


def test_an_sb1_was_rescheduled_at_phnom_penh(phnom_penh_facts):
    outcomes = screened(phnom_penh_facts, visa_class="SB1", priority_date=None)
    assert outcome_of(RULE_VISA_CLASS_NOT_EXCLUDED, outcomes).passed


def test_the_petitioner_named_by_the_applicant_has_another_open_case(nairobi_facts):
    facts = nairobi_facts.model_copy(update={"other_open_cases_of_petitioner": ["NRB2025000002", "NRB2025000001"]})
    outcome = outcome_of(RULE_ONE_APPOINTMENT_PER_PETITIONER, screened(facts))
    assert not outcome.passed
    assert "Grace Achieng Otieno is also the petitioner of cases NRB2025000001, NRB2025000002" in outcome.explanation
    assert outcome_of(RULE_ONE_APPOINTMENT_PER_PETITIONER, screened(nairobi_facts)).passed


def test_screening_an_old_request_decides_the_same_on_the_facts_history_holds(nairobi_facts):
    request = SelfReportedRequest.model_validate(old_request(interviewed_already=True))
    replayed = ScreeningFacts.model_validate_json(nairobi_facts.model_dump_json())
    assert screen_self_reported(request, replayed, SUBMITTED_AT) == screen_self_reported(
        request, nairobi_facts, SUBMITTED_AT
    )
    assert replayed.visa_bulletin.final_action_dates["F2A"] == date(2024, 2, 1)
    assert replayed.visa_bulletin.final_action_dates["DV"] == "C"


# Old requests in histories, and today's form of them


def test_a_workflow_input_of_either_age_decodes_as_its_own_kind():
    decode = TypeAdapter(RequestInHistory).validate_python
    assert isinstance(decode(old_request()), SelfReportedRequest)
    today = {key: value for key, value in old_request().items() if key in RescheduleRequest.model_fields}
    today["applicants"] = [{"full_name": a["full_name"], "date_of_birth": a["date_of_birth"]} for a in today["applicants"]]
    assert isinstance(decode(today), RescheduleRequest)


def test_as_request_keeps_what_the_applicant_knows_principal_first():
    request = SelfReportedRequest.model_validate(
        old_request(applicants=[CHILD, {**PRINCIPAL, "cspa_confirmed": True}, {**SPOUSE, "on_appointment_letter": False}])
    )
    assert request.principal.full_name == "Amani Wanjiru Otieno"
    today = request.as_request()
    assert isinstance(today, RescheduleRequest)
    assert today.applicants == [
        LetterApplicant(full_name="Amani Wanjiru Otieno", date_of_birth=date(1990, 3, 14)),
        LetterApplicant(full_name="Baraka Otieno", date_of_birth=date(2015, 6, 1)),
        LetterApplicant(full_name="Juma Otieno", date_of_birth=date(1988, 9, 2)),
    ]
    assert today.principal.full_name == request.principal.full_name
    assert (today.case_number, today.post, today.reason_category, today.reason, today.contact_email) == (
        request.case_number, request.post, request.reason_category, request.reason, request.contact_email,
    )
    assert today.workflow_id == request.workflow_id == "reschedule-NRB2026012345"
    sent = today.model_dump_json()
    for answer in ("F2A", "2023-05-01", "Grace Achieng Otieno", "on_appointment_letter", "cspa_confirmed", "relationship"):
        assert answer not in sent


def test_an_old_request_of_a_missed_appointment_without_its_date_was_refused_as_it_was():
    with pytest.raises(ValidationError, match="original_appointment_at is required"):
        SelfReportedRequest.model_validate(old_request(original_appointment_at=None))
