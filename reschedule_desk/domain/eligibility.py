"""Eligibility screening: one rule per condition of the posts' reschedule pages.

Pure (no I/O, no clock), so the workflow runs it inside Temporal's sandbox. Every rule is
checked and reported, passed or failed: an ineligible applicant learns every reason at
once, and the auditor sees what was checked. A failed rule tells the applicant why and to
submit an inquiry instead, as the pages do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

from reschedule_desk.domain.lifecycle import RuleOutcome
from reschedule_desk.domain.records import ScreeningFacts
from reschedule_desk.domain.request import (
    Applicant,
    MaritalStatus,
    ReasonCategory,
    Relationship,
    RescheduleRequest,
)

# Rule names: recorded in history, the audit trail and the ineligibility email.
RULE_REASON_ACCEPTED = "reason_accepted_at_post"
RULE_APPOINTMENT_PASSED = "original_appointment_passed"
RULE_NOT_INTERVIEWED = "not_interviewed_already"
RULE_RECENT_CONTACT = "principal_contacted_post_within_a_year"
RULE_CASE_CURRENT = "case_current_under_visa_bulletin"
RULE_VISA_CLASS_UNCHANGED = "visa_class_not_changed"
RULE_VISA_CLASS_NOT_EXCLUDED = "visa_class_not_excluded_at_post"
RULE_APPLICANTS_ON_LETTER = "applicants_on_appointment_letter"
RULE_CHILDREN_CAN_DERIVE = "children_can_derive_status"
RULE_ONE_APPOINTMENT_PER_PETITIONER = "one_appointment_per_petitioner"

# The age at which a child can no longer derive status, unless the post confirmed CSPA.
CHILD_AGE_LIMIT = 21

# The reasons as the posts' pages put them.
REASON_LABELS: dict[ReasonCategory, str] = {
    ReasonCategory.MISSED_APPOINTMENT: "I failed to attend my original appointment",
    ReasonCategory.ATTENDED_NOT_INTERVIEWED: (
        "I attended my appointment but could not be interviewed by a consular officer"
    ),
    ReasonCategory.EMBASSY_CANCELLED: "the embassy cancelled my original appointment",
    ReasonCategory.FOLLOW_TO_JOIN_INVITED: (
        "I am a follow-to-join applicant and the IV unit asked me to make an appointment"
    ),
}


def screen(
    request: RescheduleRequest, facts: ScreeningFacts, submitted_at: datetime
) -> list[RuleOutcome]:
    """Every rule's outcome for `request`, in the order of RULES."""
    if submitted_at.tzinfo is None or submitted_at.utcoffset() is None:
        raise ValueError("submitted_at must be an aware datetime (with a UTC offset)")
    if request.post != facts.post.code:
        # Screening against another post's rules would be silently wrong.
        raise ValueError(f"request is for post {request.post!r}, facts are for {facts.post.code!r}")
    # The pages speak of the post's own days: "more than a year", "aged 21", "before the date".
    submitted_local = submitted_at.astimezone(facts.post.zone)
    return [check(request, facts, submitted_local) for _, check in _CHECKS]


def failed_rules(outcomes: Iterable[RuleOutcome]) -> list[RuleOutcome]:
    return [outcome for outcome in outcomes if not outcome.passed]


def _passed(rule: str, explanation: str) -> RuleOutcome:
    return RuleOutcome(rule=rule, passed=True, explanation=explanation)


def _failed(rule: str, why: str, facts: ScreeningFacts) -> RuleOutcome:
    return RuleOutcome(
        rule=rule,
        passed=False,
        explanation=(
            f"{why} Please do not reschedule an appointment; submit an inquiry instead: "
            f"{facts.post.contacts.inquiry_url}"
        ),
    )


def _years_after(day: date, years: int) -> date:
    """The same day `years` later; 29 February falls on 28 February in a common year.
    Past the calendar's last year (a date typed as 9999-...) it is the last day there is."""
    if day.year + years > date.max.year:
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _reason_accepted(request: RescheduleRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    reason = REASON_LABELS[request.reason_category]
    if request.reason_category in facts.post.eligible_reasons:
        return _passed(RULE_REASON_ACCEPTED, f'{facts.post.name} accepts your reason: "{reason}".')
    accepted = "; ".join(f'"{REASON_LABELS[r]}"' for r in facts.post.eligible_reasons)
    return _failed(
        RULE_REASON_ACCEPTED,
        f'{facts.post.name} does not reschedule appointments for the reason you chose ("{reason}"). '
        f"It accepts only: {accepted}.",
        facts,
    )


def _appointment_passed(request: RescheduleRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    if not request.reason_category.is_a_missed_appointment:
        return _passed(
            RULE_APPOINTMENT_PASSED,
            "Your reason does not depend on the original appointment having passed.",
        )
    appointment = request.original_appointment_at
    if appointment is None:  # the request model requires it; kept for requests built otherwise
        return _failed(
            RULE_APPOINTMENT_PASSED, "Your request does not give the original appointment's date.", facts
        )
    when = f"{appointment:%Y-%m-%d %H:%M}"
    # The appointment is the post's local time; compare it with the local time of the request.
    if now.replace(tzinfo=None) > appointment:
        return _passed(RULE_APPOINTMENT_PASSED, f"Your original appointment ({when}) has passed.")
    return _failed(
        RULE_APPOINTMENT_PASSED,
        f"You may only reschedule an appointment you missed, and your original appointment "
        f"({when} local time) has not passed yet.",
        facts,
    )


def _not_interviewed(request: RescheduleRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    if not request.interviewed_already:
        return _passed(RULE_NOT_INTERVIEWED, "You have not been interviewed yet.")
    return _failed(RULE_NOT_INTERVIEWED, "You have been interviewed.", facts)


def _recent_contact(request: RescheduleRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    last = request.last_contact_on
    # Exactly one year is still within the year; the day after is "more than a year".
    if now.date() <= _years_after(last, 1):
        return _passed(
            RULE_RECENT_CONTACT,
            f"The principal applicant last contacted {facts.post.name} on {last}, within a year.",
        )
    return _failed(
        RULE_RECENT_CONTACT,
        f"The principal applicant last contacted {facts.post.name} on {last}, "
        f"more than a year before this request ({now.date()}).",
        facts,
    )


def _case_current(request: RescheduleRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    bulletin = facts.visa_bulletin
    visa_class = request.visa_class
    cut_off = bulletin.final_action_dates.get(visa_class)
    if cut_off is None:
        return _passed(
            RULE_CASE_CURRENT,
            f"Visa class {visa_class} has no cut-off date in the Visa Bulletin ({bulletin.as_of}).",
        )
    if cut_off == "C":
        return _passed(
            RULE_CASE_CURRENT, f"Visa class {visa_class} is current in the Visa Bulletin ({bulletin.as_of})."
        )
    priority = request.priority_date
    if priority is None:
        return _failed(
            RULE_CASE_CURRENT,
            f"Visa class {visa_class} has a cut-off date ({cut_off}) in the Visa Bulletin "
            f"({bulletin.as_of}), and your request does not give your priority date, so we cannot "
            "confirm that your case is current.",
            facts,
        )
    if priority < cut_off:
        return _passed(
            RULE_CASE_CURRENT,
            f"Your priority date {priority} is earlier than the cut-off date {cut_off} for "
            f"{visa_class} (Visa Bulletin {bulletin.as_of}).",
        )
    return _failed(
        RULE_CASE_CURRENT,
        f"Your case is not current for processing: your priority date {priority} is not earlier "
        f"than the cut-off date {cut_off} for {visa_class} in the Visa Bulletin ({bulletin.as_of}).",
        facts,
    )


def _visa_class_unchanged(request: RescheduleRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    on_letter = request.visa_class_on_letter
    if on_letter is None or on_letter == request.visa_class:
        return _passed(
            RULE_VISA_CLASS_UNCHANGED,
            f"Your visa class {request.visa_class} is the one on your appointment letter.",
        )
    return _failed(
        RULE_VISA_CLASS_UNCHANGED,
        f"Your visa class has been changed: your appointment letter says {on_letter}, "
        f"your case is now {request.visa_class}.",
        facts,
    )


def _visa_class_not_excluded(
    request: RescheduleRequest, facts: ScreeningFacts, now: datetime
) -> RuleOutcome:
    visa_class = request.visa_class
    if visa_class not in facts.post.excluded_visa_classes:
        return _passed(
            RULE_VISA_CLASS_NOT_EXCLUDED,
            f"{facts.post.name} reschedules {visa_class} appointments through this request.",
        )
    return _failed(
        RULE_VISA_CLASS_NOT_EXCLUDED,
        f"{facts.post.name} does not reschedule {visa_class} appointments through this request.",
        facts,
    )


def _documents_to_add(applicant: Applicant) -> str:
    """What the inquiry needs to add someone not on the letter, as the pages list it."""
    name = applicant.full_name
    if applicant.relationship is Relationship.CHILD:
        return f"{name} (child): attach a scanned copy of the child's birth certificate"
    if applicant.relationship is Relationship.SPOUSE:
        return (
            f"{name} (spouse): attach a scanned copy of your marriage certificate "
            "and your spouse's birth certificate"
        )
    return (
        f"{name} (principal applicant): the principal applicant must be on the letter; "
        "if you do not have the original letter, ask for a copy"
    )


def _applicants_on_letter(request: RescheduleRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    missing = [a for a in request.applicants if not a.on_appointment_letter]
    if not missing:
        return _passed(
            RULE_APPLICANTS_ON_LETTER,
            "Every applicant is named on the original appointment letter (Packet 4).",
        )
    return _failed(
        RULE_APPLICANTS_ON_LETTER,
        "Only the applicants named on the original appointment letter (Packet 4) can be "
        "rescheduled. To add the others, your inquiry needs: "
        + "; ".join(_documents_to_add(a) for a in missing)
        + ".",
        facts,
    )


def _children_can_derive(request: RescheduleRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    today = now.date()
    problems = []
    for child in request.applicants:
        if child.relationship is not Relationship.CHILD:
            continue
        if child.marital_status is MaritalStatus.MARRIED:
            problems.append(f"{child.full_name} is married")
        # The Child Status Protection Act protects a child's age, never a marriage.
        elif today >= _years_after(child.date_of_birth, CHILD_AGE_LIMIT) and not child.cspa_confirmed:
            problems.append(f"{child.full_name} is aged {CHILD_AGE_LIMIT} or older")
    if not problems:
        return _passed(
            RULE_CHILDREN_CAN_DERIVE,
            "Every child on the request can derive status from the principal applicant.",
        )
    return _failed(
        RULE_CHILDREN_CAN_DERIVE,
        "Married children and children aged 21 or older may not derive immigration status from "
        f"the principal applicant: {'; '.join(problems)}. If a child may be eligible under the "
        "Child Status Protection Act (CSPA), ask us to confirm it before rescheduling, and do not "
        "undertake the visa medical examination until we have.",
        facts,
    )


def _one_appointment_per_petitioner(
    request: RescheduleRequest, facts: ScreeningFacts, now: datetime
) -> RuleOutcome:
    others = sorted(set(facts.other_open_cases_of_petitioner))
    if not others:
        return _passed(
            RULE_ONE_APPOINTMENT_PER_PETITIONER,
            "No other open case has the same petitioner.",
        )
    return _failed(
        RULE_ONE_APPOINTMENT_PER_PETITIONER,
        "Different cases with the same petitioner reschedule one appointment together, with all "
        f"their applicants added to it. {request.petitioner.full_name} is also the petitioner "
        f"of {'case' if len(others) == 1 else 'cases'} {', '.join(others)}.",
        facts,
    )


_Check = Callable[[RescheduleRequest, ScreeningFacts, datetime], RuleOutcome]

# The order of the pages; the outcomes keep it.
_CHECKS: list[tuple[str, _Check]] = [
    (RULE_REASON_ACCEPTED, _reason_accepted),
    (RULE_APPOINTMENT_PASSED, _appointment_passed),
    (RULE_NOT_INTERVIEWED, _not_interviewed),
    (RULE_RECENT_CONTACT, _recent_contact),
    (RULE_CASE_CURRENT, _case_current),
    (RULE_VISA_CLASS_UNCHANGED, _visa_class_unchanged),
    (RULE_VISA_CLASS_NOT_EXCLUDED, _visa_class_not_excluded),
    (RULE_APPLICANTS_ON_LETTER, _applicants_on_letter),
    (RULE_CHILDREN_CAN_DERIVE, _children_can_derive),
    (RULE_ONE_APPOINTMENT_PER_PETITIONER, _one_appointment_per_petitioner),
]

RULES: tuple[str, ...] = tuple(rule for rule, _ in _CHECKS)
