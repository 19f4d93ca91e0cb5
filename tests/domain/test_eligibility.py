"""Eligibility screening from the post's case file, one rule per test: an eligible case
(tests/conftest.py make_case), one thing about it changed. The request carries only what
the applicant knows; every fact a rule decides on is the post's (records.CaseFileFacts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from reschedule_desk.domain import eligibility
from reschedule_desk.domain.calendar import PostCalendar
from reschedule_desk.domain.case_file import BulletinRow, CaseFile, final_action_for, parse_bulletin_csv
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
    screen,
)
from reschedule_desk.domain.lifecycle import RuleOutcome
from reschedule_desk.domain.posts import Post
from reschedule_desk.domain.records import CaseFileFacts
from reschedule_desk.domain.request import RescheduleRequest
from tests.conftest import make_case, make_request

# Saturday 7 November 2026, 10:00 in Nairobi; 14:00 in Phnom Penh.
SUBMITTED_AT = datetime(2026, 11, 7, 7, 0, tzinfo=UTC)
# make_case: the appointment was on 29 October 2026 at 08:30, the last contact on 8 October.

NAIROBI_INQUIRY = "https://ke.usembassy.gov/visas/"
PHNOM_PENH_INQUIRY = "https://kh.usembassy.gov/visas/"


def bulletin(rows: str) -> list[BulletinRow]:
    return parse_bulletin_csv("month,category,chargeability,final_action_date\n" + rows)


# The month's final action dates; the Philippines listed apart, as the bulletin does.
OCTOBER_2026 = bulletin("2026-10,F2A,ALL,2024-01-01\n")
NOVEMBER_2026 = bulletin(
    "2026-11,F2A,ALL,2024-02-01\n"
    "2026-11,F4,ALL,2008-06-08\n"
    "2026-11,F4,PH,2005-08-01\n"
    "2026-11,E4,ALL,2021-01-01\n"
    "2026-11,DV,ALL,current\n"
)


def on_letter(name: str, born: str, relationship: str, marital_status: str = "single", **more: Any) -> dict[str, Any]:
    """An applicant as the post's roster (Packet 4) has them."""
    return {"full_name": name, "date_of_birth": born, "relationship": relationship, "marital_status": marital_status, **more}


def as_written(name: str, born: str) -> dict[str, str]:
    """An applicant as the request names them."""
    return {"full_name": name, "date_of_birth": born}


PRINCIPAL = on_letter("Wanjiru Kamau", "1990-06-21", "principal", "married")
SPOUSE = on_letter("José Ochieng-Kamau", "1988-09-02", "spouse", "married")
CHILD = on_letter("Baraka Kamau", "2015-06-01", "child")
FAMILY = [PRINCIPAL, SPOUSE, CHILD]


@dataclass(frozen=True)
class AtPost:
    """Screening at one post, on facts built here as the read_case_file activity builds them."""

    post: Post
    calendar: PostCalendar
    case_number: str

    def case(self, **changes: Any) -> dict[str, Any]:
        return make_case(self.post.code, SUBMITTED_AT, **{"case_number": self.case_number, **changes})

    def request(self, case: dict[str, Any], **changes: Any) -> RescheduleRequest:
        return RescheduleRequest.model_validate(make_request(self.post.code, SUBMITTED_AT, case, **changes))

    def facts(
        self, case: dict[str, Any] | None, bulletin: list[BulletinRow] = NOVEMBER_2026, others: tuple[str, ...] = ()
    ) -> CaseFileFacts:
        filed = CaseFile.model_validate(case) if case is not None else None
        return CaseFileFacts(
            post=self.post,
            calendar=self.calendar,
            case=filed,
            bulletin_month=bulletin[0].month if bulletin else None,
            final_action=final_action_for(bulletin, filed.preference_category, filed.chargeability) if filed else None,
            other_open_cases_of_petitioner=list(others),
        )

    def screen(
        self, case: dict[str, Any], request: RescheduleRequest | None = None, at: datetime = SUBMITTED_AT, **facts: Any
    ) -> list[RuleOutcome]:
        return screen(request or self.request(case), self.facts(case, **facts), at)

    def check(self, rule: str, case: dict[str, Any], request: RescheduleRequest | None = None, **kwargs: Any) -> RuleOutcome:
        [outcome] = [outcome for outcome in self.screen(case, request, **kwargs) if outcome.rule == rule]
        return outcome


@pytest.fixture(scope="session")
def at_nairobi(nairobi, nairobi_calendar) -> AtPost:
    return AtPost(nairobi, nairobi_calendar, "NRB2026012345")


@pytest.fixture(scope="session")
def at_phnom_penh(phnom_penh, phnom_penh_calendar) -> AtPost:
    return AtPost(phnom_penh, phnom_penh_calendar, "PHP2026012345")


def assert_refused(outcome: RuleOutcome, *words: str) -> None:
    assert not outcome.passed, outcome.explanation
    assert "submit an inquiry instead" in outcome.explanation
    for word in words:
        assert word in outcome.explanation


# The whole screening


def test_an_eligible_case_passes_every_rule_in_the_order_of_rules(at_nairobi):
    outcomes = at_nairobi.screen(at_nairobi.case(applicants=FAMILY))
    assert [outcome.rule for outcome in outcomes] == list(RULES)
    assert failed_rules(outcomes) == [], failed_rules(outcomes)


def test_rule_names_are_module_constants_in_snake_case():
    constants = {value for name, value in vars(eligibility).items() if name.startswith("RULE_")}
    assert constants == set(RULES)
    assert len(set(RULES)) == len(RULES) == 11
    assert RULES[:2] == (RULE_REASON_ACCEPTED, RULE_CASE_ON_FILE)
    assert all(rule.replace("_", "").isalpha() and rule.islower() for rule in RULES)


def everything_wrong_at_nairobi(at_nairobi: AtPost) -> list[RuleOutcome]:
    """A case that fails every rule a case on file at Nairobi can fail."""
    case = at_nairobi.case(
        original_appointment_at="2026-11-20T08:30",  # not passed yet
        interviewed_on="2026-10-29",
        last_contact_on="2025-01-15",
        visa_class="SB1",  # excluded at Nairobi, and changed:
        visa_class_on_letter="F2A",
        preference_category="E4",
        priority_date="2022-03-01",  # E4's cut-off is 2021-01-01
        applicants=[PRINCIPAL, {**CHILD, "marital_status": "married"}],
    )
    request = at_nairobi.request(
        case,
        applicants=[
            as_written("Wanjiru Kamau", "1990-06-21"),
            as_written("Baraka Kamau", "2015-06-01"),
            as_written("Neema Kamau", "2019-02-14"),  # not on the letter
        ],
    )
    return at_nairobi.screen(case, request, others=("NRB2025099999",))


def test_an_ineligible_case_gets_every_failed_rule_in_the_order_of_rules(at_nairobi):
    outcomes = everything_wrong_at_nairobi(at_nairobi)
    assert [outcome.rule for outcome in outcomes] == list(RULES)
    assert [outcome.rule for outcome in failed_rules(outcomes)] == [
        rule for rule in RULES if rule not in (RULE_REASON_ACCEPTED, RULE_CASE_ON_FILE)
    ]


def test_every_rules_explanation_of_a_failure_sends_to_the_posts_inquiry_page(at_nairobi, at_phnom_penh):
    at_nairobi_failed = failed_rules(everything_wrong_at_nairobi(at_nairobi))
    # The reason and the case itself, at Phnom Penh: a Nairobi reason, a case not on file.
    unknown = at_phnom_penh.request(at_phnom_penh.case(), reason_category="attended_not_interviewed")
    at_phnom_penh_failed = failed_rules(screen(unknown, at_phnom_penh.facts(None), SUBMITTED_AT))

    assert {outcome.rule for outcome in at_nairobi_failed + at_phnom_penh_failed} == set(RULES)
    for outcome in at_nairobi_failed:
        assert_refused(outcome, NAIROBI_INQUIRY)
    for outcome in at_phnom_penh_failed:
        assert_refused(outcome, PHNOM_PENH_INQUIRY)


def test_failed_rules_keeps_only_the_failed_ones_in_order():
    outcomes = [
        RuleOutcome(rule="a", passed=False, explanation="x"),
        RuleOutcome(rule="b", passed=True, explanation="y"),
        RuleOutcome(rule="c", passed=False, explanation="z"),
    ]
    assert [outcome.rule for outcome in failed_rules(outcomes)] == ["a", "c"]


def test_screening_is_deterministic_and_decides_the_same_on_the_facts_history_holds(at_nairobi):
    case = at_nairobi.case(applicants=FAMILY, interviewed_on="2026-10-29")
    request, facts = at_nairobi.request(case), at_nairobi.facts(case, others=("NRB2025000002", "NRB2025000001"))
    first = screen(request, facts, SUBMITTED_AT)
    assert screen(request, facts, SUBMITTED_AT) == first
    replayed = CaseFileFacts.model_validate_json(facts.model_dump_json())
    again = RescheduleRequest.model_validate_json(request.model_dump_json())
    assert screen(again, replayed, SUBMITTED_AT) == first


def test_the_submission_time_must_be_aware(at_nairobi):
    case = at_nairobi.case()
    with pytest.raises(ValueError, match="aware"):
        screen(at_nairobi.request(case), at_nairobi.facts(case), datetime(2026, 11, 7, 10, 0))


def test_a_request_is_screened_against_its_own_post(at_nairobi, at_phnom_penh):
    case = at_nairobi.case()
    with pytest.raises(ValueError, match="'nairobi'"):
        screen(at_nairobi.request(case), at_phnom_penh.facts(case), SUBMITTED_AT)


def test_passed_rules_say_what_was_checked_without_sending_to_an_inquiry(at_nairobi):
    for outcome in at_nairobi.screen(at_nairobi.case(applicants=FAMILY)):
        assert outcome.passed and outcome.explanation
        assert "inquiry" not in outcome.explanation


def test_the_outcomes_travel_as_json(at_nairobi):
    outcomes = at_nairobi.screen(at_nairobi.case(interviewed_on="2026-10-29"))
    assert [RuleOutcome.model_validate_json(outcome.model_dump_json()) for outcome in outcomes] == outcomes


# The applicant's word changes nothing


@pytest.mark.parametrize(
    ("field", "claim"),
    [
        ("interviewed_already", {"interviewed_already": False}),
        ("cspa_confirmed", {"applicants": [{**as_written("Wanjiru Kamau", "1990-06-21"), "cspa_confirmed": True}]}),
    ],
)
def test_the_applicants_claim_cannot_change_an_outcome(at_nairobi, field, claim):
    case = at_nairobi.case(interviewed_on="2026-10-29")
    with pytest.raises(ValidationError, match=field):
        RescheduleRequest.model_validate(make_request("nairobi", SUBMITTED_AT, case, **claim))
    assert not at_nairobi.check(RULE_NOT_INTERVIEWED, case).passed


# The case is on file at the post


def test_a_case_on_file_is_screened_on_its_file(at_nairobi):
    outcome = at_nairobi.check(RULE_CASE_ON_FILE, at_nairobi.case())
    assert outcome.passed
    assert "NRB2026012345" in outcome.explanation


def test_an_unknown_case_number_is_ineligible_submit_an_inquiry_and_nothing_more(at_nairobi):
    request = at_nairobi.request(at_nairobi.case())  # the case is not on file
    facts = at_nairobi.facts(None, others=("NRB2025000001",))
    reason, on_file = screen(request, facts, SUBMITTED_AT)
    assert reason.rule == RULE_REASON_ACCEPTED and reason.passed
    assert on_file.rule == RULE_CASE_ON_FILE
    assert_refused(on_file, "NRB2026012345", "check the case number", NAIROBI_INQUIRY)
    for other in ("NRB2025000001", "Wanjiru", "Visa Bulletin", "petitioner", "interview", "Packet 4"):
        assert other not in on_file.explanation


def test_an_unknown_case_is_still_told_its_reason_is_not_accepted(at_phnom_penh):
    request = at_phnom_penh.request(at_phnom_penh.case(), reason_category="attended_not_interviewed")
    outcomes = screen(request, at_phnom_penh.facts(None), SUBMITTED_AT)
    assert [(outcome.rule, outcome.passed) for outcome in outcomes] == [
        (RULE_REASON_ACCEPTED, False),
        (RULE_CASE_ON_FILE, False),
    ]


# Reason accepted at the post


def test_nairobi_accepts_attended_but_could_not_be_interviewed_by_a_consular_officer(at_nairobi):
    case = at_nairobi.case()
    request = at_nairobi.request(case, reason_category="attended_not_interviewed")
    assert at_nairobi.check(RULE_REASON_ACCEPTED, case, request).passed


def test_nairobi_does_not_accept_embassy_cancelled(at_nairobi):
    case = at_nairobi.case()
    request = at_nairobi.request(case, reason_category="embassy_cancelled")
    assert_refused(
        at_nairobi.check(RULE_REASON_ACCEPTED, case, request),
        "the embassy cancelled my original appointment",
        NAIROBI_INQUIRY,
    )


def test_phnom_penh_accepts_embassy_phnom_penh_cancelled_my_original_appointment(at_phnom_penh):
    case = at_phnom_penh.case()
    request = at_phnom_penh.request(case, reason_category="embassy_cancelled")
    assert at_phnom_penh.check(RULE_REASON_ACCEPTED, case, request).passed


def test_phnom_penh_accepts_a_follow_to_join_applicant_asked_by_the_iv_unit(at_phnom_penh):
    case = at_phnom_penh.case()
    request = at_phnom_penh.request(case, reason_category="follow_to_join_invited")
    assert at_phnom_penh.check(RULE_REASON_ACCEPTED, case, request).passed


def test_phnom_penh_does_not_accept_attended_but_not_interviewed(at_phnom_penh):
    case = at_phnom_penh.case()
    request = at_phnom_penh.request(case, reason_category="attended_not_interviewed")
    assert_refused(at_phnom_penh.check(RULE_REASON_ACCEPTED, case, request), PHNOM_PENH_INQUIRY)


# "You may only schedule a new visa interview appointment if you missed your previously
# scheduled immigrant visa interview appointment."


def test_a_request_after_the_original_appointment_passes(at_nairobi):
    assert at_nairobi.check(RULE_APPOINTMENT_PASSED, at_nairobi.case()).passed


def test_a_request_before_the_date_of_the_initial_appointment_is_refused(at_nairobi):
    case = at_nairobi.case(original_appointment_at="2026-11-09T08:30")
    assert_refused(at_nairobi.check(RULE_APPOINTMENT_PASSED, case), "2026-11-09 08:30", "has not passed")


def test_earlier_on_the_appointment_day_the_appointment_has_not_passed(at_nairobi):
    case = at_nairobi.case(original_appointment_at="2026-11-07T11:00")  # 10:00 in Nairobi
    assert not at_nairobi.check(RULE_APPOINTMENT_PASSED, case).passed


def test_at_the_very_time_of_the_appointment_it_has_not_passed(at_nairobi):
    case = at_nairobi.case(original_appointment_at="2026-11-07T10:00")  # 10:00 in Nairobi
    assert not at_nairobi.check(RULE_APPOINTMENT_PASSED, case).passed


def test_the_original_appointment_is_the_posts_local_time(at_nairobi):
    # 07:00 UTC is 10:00 in Nairobi: the 09:00 appointment has passed.
    case = at_nairobi.case(original_appointment_at="2026-11-07T09:00")
    assert at_nairobi.check(RULE_APPOINTMENT_PASSED, case).passed


@pytest.mark.parametrize("reason", ["embassy_cancelled", "follow_to_join_invited"])
def test_an_appointment_not_missed_need_not_have_passed(at_phnom_penh, reason):
    case = at_phnom_penh.case(original_appointment_at="2026-12-01T08:30")
    request = at_phnom_penh.request(case, reason_category=reason)
    assert at_phnom_penh.check(RULE_APPOINTMENT_PASSED, case, request).passed


# "You have been interviewed."


def test_you_have_been_interviewed(at_nairobi):
    case = at_nairobi.case(interviewed_on="2026-10-29")
    assert_refused(at_nairobi.check(RULE_NOT_INTERVIEWED, case), "interviewed on 2026-10-29")


def test_no_interview_on_file_passes(at_nairobi):
    assert at_nairobi.check(RULE_NOT_INTERVIEWED, at_nairobi.case()).passed


# "You are the principal applicant and you have not contacted the Embassy for more than a year."


def test_a_last_contact_exactly_one_year_ago_passes(at_nairobi):
    assert at_nairobi.check(RULE_RECENT_CONTACT, at_nairobi.case(last_contact_on="2025-11-07")).passed


def test_not_contacted_the_embassy_for_more_than_a_year(at_nairobi):
    case = at_nairobi.case(last_contact_on="2025-11-06")
    assert_refused(at_nairobi.check(RULE_RECENT_CONTACT, case), "2025-11-06", "more than a year", "2026-11-07")


def test_more_than_a_year_is_counted_on_the_posts_date(at_nairobi):
    late_evening_utc = datetime(2026, 11, 6, 22, 0, tzinfo=UTC)  # already 7 November in Nairobi
    case = at_nairobi.case(last_contact_on="2025-11-06")
    assert not at_nairobi.check(RULE_RECENT_CONTACT, case, at=late_evening_utc).passed


def test_a_contact_on_29_february_is_a_year_old_on_28_february(at_nairobi):
    case = at_nairobi.case(last_contact_on="2028-02-29", original_appointment_at="2028-03-01T08:30")
    assert at_nairobi.check(RULE_RECENT_CONTACT, case, at=datetime(2029, 2, 28, 9, 0, tzinfo=UTC)).passed
    assert not at_nairobi.check(RULE_RECENT_CONTACT, case, at=datetime(2029, 3, 1, 9, 0, tzinfo=UTC)).passed


# "Your case is not current for processing based on the current cut-off dates. This
# includes retrogressed cases."


def preference_case(at: AtPost, category: str, priority: str | None, **changes: Any) -> dict[str, Any]:
    return at.case(visa_class=category, preference_category=category, priority_date=priority, **changes)


def test_a_priority_date_earlier_than_the_cut_off_date_is_current(at_nairobi):
    outcome = at_nairobi.check(RULE_CASE_CURRENT, preference_case(at_nairobi, "F2A", "2024-01-31"))
    assert outcome.passed
    assert "2024-02-01" in outcome.explanation


def test_a_priority_date_on_the_cut_off_date_is_not_current_under_that_months_bulletin(at_nairobi):
    case = preference_case(at_nairobi, "F2A", "2024-02-01")
    assert_refused(at_nairobi.check(RULE_CASE_CURRENT, case), "not current", "2024-02-01", "F2A", "November 2026")


def test_a_retrogressed_case_is_not_current(at_nairobi):
    case = preference_case(at_nairobi, "F4", "2010-01-01")
    assert_refused(at_nairobi.check(RULE_CASE_CURRENT, case), "2008-06-08")


def test_whether_a_case_is_current_depends_on_the_month_of_the_bulletin(at_nairobi):
    case = preference_case(at_nairobi, "F2A", "2024-01-15")
    assert at_nairobi.check(RULE_CASE_CURRENT, case, bulletin=NOVEMBER_2026).passed
    assert_refused(at_nairobi.check(RULE_CASE_CURRENT, case, bulletin=OCTOBER_2026), "2024-01-01", "October 2026")


def test_a_country_listed_apart_has_its_own_cut_off_date(at_phnom_penh):
    kenya, philippines = (
        final_action_for(NOVEMBER_2026, "F4", chargeability) for chargeability in ("KE", "PH")
    )
    assert (kenya.chargeability, kenya.final_action_date) == ("ALL", date(2008, 6, 8))
    assert (philippines.chargeability, philippines.final_action_date) == ("PH", date(2005, 8, 1))
    assert final_action_for(NOVEMBER_2026, "F3", "PH") is None

    charged_to_the_philippines = preference_case(at_phnom_penh, "F4", "2007-01-01", chargeability="PH")
    assert_refused(at_phnom_penh.check(RULE_CASE_CURRENT, charged_to_the_philippines), "2005-08-01", "PH")
    charged_to_cambodia = preference_case(at_phnom_penh, "F4", "2007-01-01", chargeability="KH")
    assert at_phnom_penh.check(RULE_CASE_CURRENT, charged_to_cambodia).passed


def test_a_category_the_bulletin_marks_current_is_current(at_nairobi):
    outcome = at_nairobi.check(RULE_CASE_CURRENT, preference_case(at_nairobi, "DV", None))
    assert outcome.passed
    assert "current" in outcome.explanation


def test_a_category_with_a_cut_off_date_needs_a_priority_date_on_file(at_nairobi):
    case = preference_case(at_nairobi, "F2A", None)
    assert_refused(at_nairobi.check(RULE_CASE_CURRENT, case), "no priority date on file")


@pytest.mark.parametrize(
    ("visa_class", "category"), [("IR1", "IR"), ("CR1", "IR"), ("IR2", "IR"), ("K1", "K")]
)
def test_immediate_relatives_and_fiances_are_not_subject_to_the_cut_off_dates(at_nairobi, visa_class, category):
    case = at_nairobi.case(visa_class=visa_class, preference_category=category, priority_date="2026-10-01")
    outcome = at_nairobi.check(RULE_CASE_CURRENT, case)
    assert outcome.passed
    assert "not subject to the Visa Bulletin" in outcome.explanation


# "Your visa class has been changed."


def test_your_visa_class_has_been_changed(at_nairobi):
    case = preference_case(at_nairobi, "F2B", "2016-05-01", visa_class_on_letter="F2A")
    assert_refused(at_nairobi.check(RULE_VISA_CLASS_UNCHANGED, case), "F2A", "F2B")


def test_the_same_class_on_the_letter_however_written_is_not_a_change(at_nairobi):
    case = preference_case(at_nairobi, "F2A", "2023-05-01", visa_class_on_letter="f-2a")
    assert at_nairobi.check(RULE_VISA_CLASS_UNCHANGED, case).passed


def test_no_class_on_the_letter_on_file_is_not_a_change(at_nairobi):
    assert at_nairobi.check(RULE_VISA_CLASS_UNCHANGED, at_nairobi.case()).passed


# "This page is for all eligible immigrant visa applicants (not including K-1s and SB-1s)"
# (Nairobi); "(not including K-1s)" (Phnom Penh).


def test_not_including_k1s_at_nairobi(at_nairobi):
    case = at_nairobi.case(visa_class="K-1", preference_category="K", priority_date=None)
    assert_refused(at_nairobi.check(RULE_VISA_CLASS_NOT_EXCLUDED, case), "K1", NAIROBI_INQUIRY)


def test_not_including_k1s_at_phnom_penh(at_phnom_penh):
    case = at_phnom_penh.case(visa_class="K1", preference_category="K", priority_date=None)
    assert_refused(at_phnom_penh.check(RULE_VISA_CLASS_NOT_EXCLUDED, case), "K1", PHNOM_PENH_INQUIRY)


def test_not_including_sb1s_at_nairobi(at_nairobi):
    case = at_nairobi.case(visa_class="SB-1", preference_category="E4", priority_date="2020-01-01")
    assert_refused(at_nairobi.check(RULE_VISA_CLASS_NOT_EXCLUDED, case), "SB1")


def test_sb1s_are_rescheduled_at_phnom_penh(at_phnom_penh):
    case = at_phnom_penh.case(visa_class="SB1", preference_category="E4", priority_date="2020-01-01")
    assert at_phnom_penh.check(RULE_VISA_CLASS_NOT_EXCLUDED, case).passed


# "You will need the original Appointment Letter (Packet 4) which includes your case number
# and the names of all eligible applicants."


def test_an_applicant_not_on_the_appointment_letter_needs_an_inquiry_with_documents(at_nairobi):
    case = at_nairobi.case(applicants=FAMILY)
    request = at_nairobi.request(
        case,
        applicants=[as_written("Wanjiru Kamau", "1990-06-21"), as_written("Neema Kamau", "2019-02-14")],
    )
    outcome = at_nairobi.check(RULE_APPLICANTS_ON_LETTER, case, request)
    assert_refused(
        outcome, "Packet 4", "Neema Kamau", "birth certificate", "marriage certificate", "spouse's birth certificate"
    )
    assert "Wanjiru" not in outcome.explanation


def test_everyone_named_on_the_letter_passes(at_nairobi):
    assert at_nairobi.check(RULE_APPLICANTS_ON_LETTER, at_nairobi.case(applicants=FAMILY)).passed


def test_not_everyone_on_the_letter_need_travel(at_nairobi):
    case = at_nairobi.case(applicants=FAMILY)
    request = at_nairobi.request(case, applicants=[as_written("Wanjiru Kamau", "1990-06-21")])
    assert at_nairobi.check(RULE_APPLICANTS_ON_LETTER, case, request).passed


@pytest.mark.parametrize(
    "written",
    [
        "JOSÉ OCHIENG-KAMAU",  # capitals
        "  José   Ochieng-Kamau ",  # extra spaces
        "Jose Ochieng-Kamau",  # accent left off
        "Ochieng-Kamau José",  # family name first
        "José Ochieng Kamau",  # no hyphen
    ],
)
def test_a_name_written_differently_from_the_letter_is_still_on_it(at_nairobi, written):
    case = at_nairobi.case(applicants=FAMILY)
    request = at_nairobi.request(
        case, applicants=[as_written("Wanjiru Kamau", "1990-06-21"), as_written(written, "1988-09-02")]
    )
    assert at_nairobi.check(RULE_APPLICANTS_ON_LETTER, case, request).passed


def test_a_different_date_of_birth_is_not_the_person_on_the_letter(at_nairobi):
    case = at_nairobi.case(applicants=FAMILY)
    request = at_nairobi.request(
        case, applicants=[as_written("Wanjiru Kamau", "1990-06-21"), as_written("José Ochieng-Kamau", "1988-02-09")]
    )
    assert_refused(at_nairobi.check(RULE_APPLICANTS_ON_LETTER, case, request), "José Ochieng-Kamau")


def test_two_applicants_cannot_both_be_one_person_on_the_letter(at_nairobi):
    case = at_nairobi.case(applicants=[PRINCIPAL])
    request = at_nairobi.request(
        case, applicants=[as_written("Wanjiru Kamau", "1990-06-21"), as_written("KAMAU Wanjiru", "1990-06-21")]
    )
    assert_refused(at_nairobi.check(RULE_APPLICANTS_ON_LETTER, case, request), "KAMAU Wanjiru")


# "Married children and children aged 21 or older may not derive immigration status from the
# principal applicant", unless the post confirmed the Child Status Protection Act (CSPA).


def family_with(child: dict[str, Any], at: AtPost) -> dict[str, Any]:
    return at.case(applicants=[PRINCIPAL, SPOUSE, child])


def test_a_child_aged_21_on_the_day_of_the_request_may_not_derive_status(at_nairobi):
    case = family_with({**CHILD, "date_of_birth": "2005-11-07"}, at_nairobi)
    assert_refused(
        at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case), "Baraka Kamau is aged 21 or older", "Child Status Protection Act"
    )


def test_a_child_turning_21_tomorrow_can_derive_status(at_nairobi):
    case = family_with({**CHILD, "date_of_birth": "2005-11-08"}, at_nairobi)
    assert at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case).passed


def test_the_age_is_counted_on_the_posts_date(at_nairobi):
    late_evening_utc = datetime(2026, 11, 6, 22, 0, tzinfo=UTC)  # already the 21st birthday in Nairobi
    case = family_with({**CHILD, "date_of_birth": "2005-11-07"}, at_nairobi)
    assert not at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case, at=late_evening_utc).passed


def test_a_child_born_on_29_february_is_21_on_28_february_of_a_common_year(at_nairobi):
    case = family_with({**CHILD, "date_of_birth": "2008-02-29"}, at_nairobi)
    assert at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case, at=datetime(2029, 2, 27, 9, 0, tzinfo=UTC)).passed
    assert not at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case, at=datetime(2029, 2, 28, 9, 0, tzinfo=UTC)).passed


def test_a_child_over_21_with_a_cspa_confirmation_on_file_can_derive_status(at_nairobi):
    case = family_with({**CHILD, "date_of_birth": "2003-01-01", "cspa_confirmed_on": "2026-09-15"}, at_nairobi)
    outcome = at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case)
    assert outcome.passed
    assert "Baraka Kamau (CSPA confirmed on 2026-09-15)" in outcome.explanation


def test_a_married_child_may_not_derive_status(at_nairobi):
    case = family_with({**CHILD, "marital_status": "married"}, at_nairobi)
    assert_refused(at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case), "Baraka Kamau is married")


def test_the_child_status_protection_act_never_saves_a_married_child(at_nairobi):
    married = {**CHILD, "date_of_birth": "2003-01-01", "marital_status": "married", "cspa_confirmed_on": "2026-09-15"}
    assert_refused(at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, family_with(married, at_nairobi)), "is married")


def test_a_divorced_child_can_derive_status(at_nairobi):
    case = family_with({**CHILD, "marital_status": "divorced"}, at_nairobi)
    assert at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case).passed


def test_a_married_principal_and_spouse_are_not_children(at_nairobi):
    assert at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, at_nairobi.case(applicants=FAMILY)).passed


def test_a_child_on_the_letter_who_is_not_travelling_is_not_screened(at_nairobi):
    case = family_with({**CHILD, "marital_status": "married"}, at_nairobi)
    request = at_nairobi.request(case, applicants=[as_written("Wanjiru Kamau", "1990-06-21")])
    assert at_nairobi.check(RULE_CHILDREN_CAN_DERIVE, case, request).passed


# "Different cases which have the same petitioner should not reschedule separate appointments."


def test_different_cases_with_the_same_petitioner_reschedule_one_appointment_together(at_nairobi):
    case = at_nairobi.case(petitioner_id="NRB-P-000417")
    outcome = at_nairobi.check(RULE_ONE_APPOINTMENT_PER_PETITIONER, case, others=("NRB2025000002", "NRB2025000001"))
    assert_refused(outcome, "same petitioner reschedule one appointment together", "NRB2025000001, NRB2025000002")
    assert "NRB-P-000417" not in outcome.explanation  # the post's identity of the petitioner stays the post's


def test_no_other_open_case_of_the_petitioner_passes(at_nairobi):
    assert at_nairobi.check(RULE_ONE_APPOINTMENT_PER_PETITIONER, at_nairobi.case()).passed
