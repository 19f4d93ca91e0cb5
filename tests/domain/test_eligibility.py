"""Eligibility screening, one rule per test: a valid baseline request, one field changed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reschedule_desk.domain import eligibility
from reschedule_desk.domain.eligibility import (
    RULE_APPLICANTS_ON_LETTER,
    RULE_APPOINTMENT_PASSED,
    RULE_CASE_CURRENT,
    RULE_CHILDREN_CAN_DERIVE,
    RULE_NOT_INTERVIEWED,
    RULE_ONE_APPOINTMENT_PER_PETITIONER,
    RULE_REASON_ACCEPTED,
    RULE_RECENT_CONTACT,
    RULE_VISA_CLASS_NOT_EXCLUDED,
    RULE_VISA_CLASS_UNCHANGED,
    RULES,
    failed_rules,
    screen,
)
from reschedule_desk.domain.lifecycle import RuleOutcome
from reschedule_desk.domain.records import ScreeningFacts
from reschedule_desk.domain.request import RescheduleRequest

# Saturday 7 November 2026, 10:00 in Nairobi; 14:00 in Phnom Penh.
SUBMITTED_AT = datetime(2026, 11, 7, 7, 0, tzinfo=UTC)

NAIROBI_INQUIRY = "https://ke.usembassy.gov/visas/"


def applicant(name: str, relationship: str, born: str, **changes: Any) -> dict[str, Any]:
    return {"full_name": name, "date_of_birth": born, "relationship": relationship, **changes}


PRINCIPAL = applicant("Amani Wanjiru Otieno", "principal", "1990-03-14", marital_status="married")
SPOUSE = applicant("Juma Otieno", "spouse", "1988-09-02", marital_status="married")
CHILD = applicant("Baraka Otieno", "child", "2015-06-01")


def nairobi_request(**changes: Any) -> RescheduleRequest:
    """A request every rule at Nairobi accepts, with `changes` applied."""
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
    return RescheduleRequest.model_validate(data)


def phnom_penh_request(**changes: Any) -> RescheduleRequest:
    return nairobi_request(case_number="PNH2026012345", post="phnom-penh", **changes)


@pytest.fixture
def nairobi_facts(posts, nairobi, nairobi_calendar) -> ScreeningFacts:
    return ScreeningFacts(post=nairobi, visa_bulletin=posts.visa_bulletin, calendar=nairobi_calendar)


@pytest.fixture
def phnom_penh_facts(posts, phnom_penh, phnom_penh_calendar) -> ScreeningFacts:
    return ScreeningFacts(post=phnom_penh, visa_bulletin=posts.visa_bulletin, calendar=phnom_penh_calendar)


def outcome_of(rule: str, outcomes: list[RuleOutcome]) -> RuleOutcome:
    [outcome] = [o for o in outcomes if o.rule == rule]
    return outcome


def check(rule: str, request: RescheduleRequest, facts: ScreeningFacts, at: datetime = SUBMITTED_AT) -> RuleOutcome:
    return outcome_of(rule, screen(request, facts, at))


def assert_refused(outcome: RuleOutcome, *words: str) -> None:
    assert not outcome.passed, outcome.explanation
    assert "submit an inquiry instead" in outcome.explanation
    for word in words:
        assert word in outcome.explanation


# The whole screening


def test_a_valid_request_passes_every_rule(nairobi_facts):
    outcomes = screen(nairobi_request(), nairobi_facts, SUBMITTED_AT)
    assert [o.rule for o in outcomes] == list(RULES)
    assert all(o.passed for o in outcomes), [o for o in outcomes if not o.passed]
    assert failed_rules(outcomes) == []


def test_every_rule_is_reported_once_in_a_stable_order(nairobi_facts):
    assert len(set(RULES)) == len(RULES) == 10
    first = screen(nairobi_request(), nairobi_facts, SUBMITTED_AT)
    second = screen(nairobi_request(interviewed_already=True), nairobi_facts, SUBMITTED_AT)
    assert [o.rule for o in first] == [o.rule for o in second] == list(RULES)


def test_rule_names_are_module_constants_in_snake_case():
    constants = {value for name, value in vars(eligibility).items() if name.startswith("RULE_")}
    assert constants == set(RULES)
    assert all(rule.replace("_", "").isalpha() and rule.islower() for rule in RULES)


def test_an_ineligible_request_gets_every_failed_rule_not_just_the_first(phnom_penh_facts):
    request = phnom_penh_request(
        reason_category="attended_not_interviewed",  # a Nairobi reason
        original_appointment_at="2026-11-20T08:30:00",  # not passed yet
        interviewed_already=True,
        last_contact_on="2025-01-15",
        visa_class="K1",  # excluded, and changed:
        visa_class_on_letter="F2A",
        applicants=[
            PRINCIPAL,
            {**SPOUSE, "on_appointment_letter": False},
            {**CHILD, "marital_status": "married"},
        ],
    )
    facts = phnom_penh_facts.model_copy(update={"other_open_cases_of_petitioner": ["PNH2025099999"]})
    failed = failed_rules(screen(request, facts, SUBMITTED_AT))
    # Every rule but the Visa Bulletin's, which K1 (no cut-off) passes.
    assert [o.rule for o in failed] == [rule for rule in RULES if rule != RULE_CASE_CURRENT]
    assert all("https://kh.usembassy.gov/visas/" in o.explanation for o in failed)


def test_failed_rules_keeps_only_the_failed_ones_in_order():
    outcomes = [
        RuleOutcome(rule="a", passed=False, explanation="x"),
        RuleOutcome(rule="b", passed=True, explanation="y"),
        RuleOutcome(rule="c", passed=False, explanation="z"),
    ]
    assert [o.rule for o in failed_rules(outcomes)] == ["a", "c"]


def test_the_submission_time_must_be_aware(nairobi_facts):
    with pytest.raises(ValueError, match="aware"):
        screen(nairobi_request(), nairobi_facts, datetime(2026, 11, 7, 10, 0))


def test_a_request_is_screened_against_its_own_post(phnom_penh_facts):
    with pytest.raises(ValueError, match="'nairobi'"):
        screen(nairobi_request(), phnom_penh_facts, SUBMITTED_AT)


# Reason accepted at the post


def test_nairobi_accepts_attended_but_could_not_be_interviewed(nairobi_facts):
    request = nairobi_request(reason_category="attended_not_interviewed")
    assert check(RULE_REASON_ACCEPTED, request, nairobi_facts).passed


def test_nairobi_does_not_accept_embassy_cancelled(nairobi_facts):
    request = nairobi_request(reason_category="embassy_cancelled")
    assert_refused(
        check(RULE_REASON_ACCEPTED, request, nairobi_facts),
        "the embassy cancelled my original appointment",
        NAIROBI_INQUIRY,
    )


def test_phnom_penh_accepts_embassy_cancelled_my_original_appointment(phnom_penh_facts):
    request = phnom_penh_request(reason_category="embassy_cancelled")
    assert check(RULE_REASON_ACCEPTED, request, phnom_penh_facts).passed


def test_phnom_penh_accepts_follow_to_join_asked_by_the_iv_unit(phnom_penh_facts):
    request = phnom_penh_request(reason_category="follow_to_join_invited", original_appointment_at=None)
    assert check(RULE_REASON_ACCEPTED, request, phnom_penh_facts).passed


def test_phnom_penh_does_not_accept_attended_but_not_interviewed(phnom_penh_facts):
    request = phnom_penh_request(reason_category="attended_not_interviewed")
    assert_refused(check(RULE_REASON_ACCEPTED, request, phnom_penh_facts), "https://kh.usembassy.gov/visas/")


# Only for an appointment that was missed


def test_a_request_after_the_original_appointment_passes(nairobi_facts):
    assert check(RULE_APPOINTMENT_PASSED, nairobi_request(), nairobi_facts).passed


def test_a_request_before_the_original_appointment_date_is_refused(nairobi_facts):
    request = nairobi_request(original_appointment_at="2026-11-09T08:30:00")
    assert_refused(check(RULE_APPOINTMENT_PASSED, request, nairobi_facts), "2026-11-09 08:30", "has not passed")


def test_earlier_on_the_appointment_day_the_appointment_has_not_passed(nairobi_facts):
    request = nairobi_request(original_appointment_at="2026-11-07T11:00:00")
    assert not check(RULE_APPOINTMENT_PASSED, request, nairobi_facts).passed  # 10:00 in Nairobi


def test_the_original_appointment_is_compared_in_the_posts_time_zone(nairobi_facts):
    request = nairobi_request(original_appointment_at="2026-11-07T09:00:00")
    # 07:00 UTC is 10:00 in Nairobi: the 09:00 appointment has passed.
    assert check(RULE_APPOINTMENT_PASSED, request, nairobi_facts).passed


def test_an_appointment_the_embassy_cancelled_need_not_have_passed(phnom_penh_facts):
    request = phnom_penh_request(
        reason_category="embassy_cancelled", original_appointment_at="2026-12-01T08:30:00"
    )
    assert check(RULE_APPOINTMENT_PASSED, request, phnom_penh_facts).passed


# Not interviewed


def test_you_have_been_interviewed(nairobi_facts):
    request = nairobi_request(interviewed_already=True)
    assert_refused(check(RULE_NOT_INTERVIEWED, request, nairobi_facts), "You have been interviewed.")


def test_not_yet_interviewed_passes(nairobi_facts):
    assert check(RULE_NOT_INTERVIEWED, nairobi_request(), nairobi_facts).passed


# The principal applicant contacted the post within a year


def test_contact_exactly_one_year_ago_passes(nairobi_facts):
    request = nairobi_request(last_contact_on="2025-11-07")
    assert check(RULE_RECENT_CONTACT, request, nairobi_facts).passed


def test_not_contacted_the_embassy_for_more_than_a_year(nairobi_facts):
    request = nairobi_request(last_contact_on="2025-11-06")
    assert_refused(
        check(RULE_RECENT_CONTACT, request, nairobi_facts), "2025-11-06", "more than a year", "2026-11-07"
    )


def test_more_than_a_year_is_counted_on_the_posts_date(nairobi_facts):
    # 22:00 UTC on 6 November is already 7 November in Nairobi.
    late_evening_utc = datetime(2026, 11, 6, 22, 0, tzinfo=UTC)
    request = nairobi_request(last_contact_on="2025-11-06")
    assert not check(RULE_RECENT_CONTACT, request, nairobi_facts, late_evening_utc).passed


def test_a_contact_on_29_february_is_a_year_old_on_28_february(nairobi_facts):
    request = nairobi_request(last_contact_on="2028-02-29")
    on_28_february = datetime(2029, 2, 28, 9, 0, tzinfo=UTC)
    on_1_march = datetime(2029, 3, 1, 9, 0, tzinfo=UTC)
    assert check(RULE_RECENT_CONTACT, request, nairobi_facts, on_28_february).passed
    assert not check(RULE_RECENT_CONTACT, request, nairobi_facts, on_1_march).passed


def test_a_request_on_29_february_is_a_year_and_a_day_after_28_february(nairobi_facts):
    on_29_february = datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    on_28_february_last_year = nairobi_request(last_contact_on="2027-02-28")
    assert not check(RULE_RECENT_CONTACT, on_28_february_last_year, nairobi_facts, on_29_february).passed
    on_1_march_last_year = nairobi_request(last_contact_on="2027-03-01")
    assert check(RULE_RECENT_CONTACT, on_1_march_last_year, nairobi_facts, on_29_february).passed


# Current under the Visa Bulletin's cut-off dates


def test_a_priority_date_earlier_than_the_cut_off_is_current(nairobi_facts):
    outcome = check(RULE_CASE_CURRENT, nairobi_request(priority_date="2024-01-31"), nairobi_facts)
    assert outcome.passed
    assert "2024-02-01" in outcome.explanation


def test_a_priority_date_on_the_cut_off_is_not_current(nairobi_facts):
    request = nairobi_request(priority_date="2024-02-01")
    assert_refused(check(RULE_CASE_CURRENT, request, nairobi_facts), "not current", "2024-02-01", "F2A")


def test_a_retrogressed_case_is_not_current(nairobi_facts):
    request = nairobi_request(visa_class="F4", priority_date="2010-01-01")
    assert_refused(check(RULE_CASE_CURRENT, request, nairobi_facts), "2008-06-08")


def test_a_class_with_a_cut_off_needs_a_priority_date(nairobi_facts):
    request = nairobi_request(priority_date=None)
    assert_refused(check(RULE_CASE_CURRENT, request, nairobi_facts), "does not give your priority date")


def test_a_class_marked_c_is_current(nairobi_facts):
    request = nairobi_request(visa_class="DV", priority_date=None)
    assert check(RULE_CASE_CURRENT, request, nairobi_facts).passed


def test_a_class_not_in_the_bulletin_has_no_cut_off(nairobi_facts):
    request = nairobi_request(visa_class="IR1", priority_date=None)
    outcome = check(RULE_CASE_CURRENT, request, nairobi_facts)
    assert outcome.passed
    assert "no cut-off" in outcome.explanation


# Visa class not changed


def test_your_visa_class_has_been_changed(nairobi_facts):
    request = nairobi_request(visa_class_on_letter="F2B")
    assert_refused(check(RULE_VISA_CLASS_UNCHANGED, request, nairobi_facts), "F2B", "F2A")


def test_the_same_class_on_the_letter_however_written_is_unchanged(nairobi_facts):
    request = nairobi_request(visa_class_on_letter="f-2a")
    assert check(RULE_VISA_CLASS_UNCHANGED, request, nairobi_facts).passed


# Visa classes excluded at the post


def test_k1_is_not_rescheduled_at_nairobi(nairobi_facts):
    request = nairobi_request(visa_class="K-1", priority_date=None)
    assert_refused(check(RULE_VISA_CLASS_NOT_EXCLUDED, request, nairobi_facts), "K1")


def test_k1_is_not_rescheduled_at_phnom_penh(phnom_penh_facts):
    request = phnom_penh_request(visa_class="K1", priority_date=None)
    assert_refused(check(RULE_VISA_CLASS_NOT_EXCLUDED, request, phnom_penh_facts), "K1")


def test_sb1_is_not_rescheduled_at_nairobi(nairobi_facts):
    request = nairobi_request(visa_class="SB-1", priority_date=None)
    assert_refused(check(RULE_VISA_CLASS_NOT_EXCLUDED, request, nairobi_facts), "SB1")


def test_sb1_is_rescheduled_at_phnom_penh(phnom_penh_facts):
    request = phnom_penh_request(visa_class="SB1", priority_date=None)
    assert check(RULE_VISA_CLASS_NOT_EXCLUDED, request, phnom_penh_facts).passed


# Everyone on the original appointment letter (Packet 4)


def test_a_child_not_on_the_letter_needs_an_inquiry_with_a_birth_certificate(nairobi_facts):
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, {**CHILD, "on_appointment_letter": False}])
    outcome = check(RULE_APPLICANTS_ON_LETTER, request, nairobi_facts)
    assert_refused(outcome, "Packet 4", "Baraka Otieno", "birth certificate")
    assert "Juma Otieno" not in outcome.explanation


def test_a_spouse_not_on_the_letter_needs_the_marriage_certificate_and_spouses_birth_certificate(
    nairobi_facts,
):
    request = nairobi_request(applicants=[PRINCIPAL, {**SPOUSE, "on_appointment_letter": False}, CHILD])
    assert_refused(
        check(RULE_APPLICANTS_ON_LETTER, request, nairobi_facts),
        "Juma Otieno",
        "marriage certificate",
        "spouse's birth certificate",
    )


def test_every_applicant_not_on_the_letter_is_named(nairobi_facts):
    request = nairobi_request(
        applicants=[
            PRINCIPAL,
            {**SPOUSE, "on_appointment_letter": False},
            {**CHILD, "on_appointment_letter": False},
        ]
    )
    assert_refused(check(RULE_APPLICANTS_ON_LETTER, request, nairobi_facts), "Juma Otieno", "Baraka Otieno")


# Children can derive status


def test_a_married_child_may_not_derive_status(nairobi_facts):
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, {**CHILD, "marital_status": "married"}])
    assert_refused(check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts), "Baraka Otieno is married")


def test_a_divorced_child_can_derive_status(nairobi_facts):
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, {**CHILD, "marital_status": "divorced"}])
    assert check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts).passed


def test_a_child_aged_21_on_the_day_of_the_request_may_not_derive_status(nairobi_facts):
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, {**CHILD, "date_of_birth": "2005-11-07"}])
    assert_refused(
        check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts),
        "Baraka Otieno is aged 21 or older",
        "Child Status Protection Act",
    )


def test_a_child_turning_21_tomorrow_can_derive_status(nairobi_facts):
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, {**CHILD, "date_of_birth": "2005-11-08"}])
    assert check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts).passed


def test_the_age_is_counted_on_the_posts_date(nairobi_facts):
    # 22:00 UTC on 6 November is already the 21st birthday in Nairobi.
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, {**CHILD, "date_of_birth": "2005-11-07"}])
    late_evening_utc = datetime(2026, 11, 6, 22, 0, tzinfo=UTC)
    assert not check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts, late_evening_utc).passed


def test_a_child_born_on_29_february_is_21_on_28_february_of_a_common_year(nairobi_facts):
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, {**CHILD, "date_of_birth": "2008-02-29"}])
    on_27_february = datetime(2029, 2, 27, 9, 0, tzinfo=UTC)
    on_28_february = datetime(2029, 2, 28, 9, 0, tzinfo=UTC)
    assert check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts, on_27_february).passed
    assert not check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts, on_28_february).passed


def test_a_child_over_21_confirmed_under_the_child_status_protection_act_can_derive(nairobi_facts):
    over_21 = {**CHILD, "date_of_birth": "2003-01-01", "cspa_confirmed": True}
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, over_21])
    assert check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts).passed


def test_the_child_status_protection_act_protects_age_not_a_marriage(nairobi_facts):
    married = {**CHILD, "marital_status": "married", "cspa_confirmed": True}
    request = nairobi_request(applicants=[PRINCIPAL, SPOUSE, married])
    assert not check(RULE_CHILDREN_CAN_DERIVE, request, nairobi_facts).passed


def test_married_adults_other_than_children_are_not_concerned(nairobi_facts):
    # The baseline's principal and spouse are married and over 21.
    assert check(RULE_CHILDREN_CAN_DERIVE, nairobi_request(), nairobi_facts).passed


# One appointment per petitioner


def test_different_cases_with_the_same_petitioner_reschedule_one_appointment_together(nairobi_facts):
    facts = nairobi_facts.model_copy(
        update={"other_open_cases_of_petitioner": ["NRB2025000002", "NRB2025000001"]}
    )
    assert_refused(
        check(RULE_ONE_APPOINTMENT_PER_PETITIONER, nairobi_request(), facts),
        "same petitioner reschedule one appointment together",
        "Grace Achieng Otieno",
        "NRB2025000001, NRB2025000002",
    )


def test_no_other_case_of_the_petitioner_passes(nairobi_facts):
    assert check(RULE_ONE_APPOINTMENT_PER_PETITIONER, nairobi_request(), nairobi_facts).passed


# Explanations


def test_passed_rules_say_what_was_checked_without_sending_to_an_inquiry(nairobi_facts):
    for outcome in screen(nairobi_request(), nairobi_facts, SUBMITTED_AT):
        assert outcome.explanation
        assert "inquiry" not in outcome.explanation


def test_the_outcomes_travel_as_json(nairobi_facts):
    outcomes = screen(nairobi_request(interviewed_already=True), nairobi_facts, SUBMITTED_AT)
    assert [RuleOutcome.model_validate_json(o.model_dump_json()) for o in outcomes] == outcomes
