"""Eligibility screening: one rule per condition of the posts' reschedule pages, decided
on the post's case file, never on the applicant's word.

Pure (no I/O, no clock), so the workflow runs it inside Temporal's sandbox, on the facts
an activity read from the case file (records.CaseFileFacts). Every rule is checked and
reported, passed or failed: an ineligible applicant learns every reason at once, and the
auditor sees what was checked. A failed rule tells the applicant why and to submit an
inquiry instead, as the pages do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from reschedule_desk.domain.case_file import CaseFile, RosterApplicant
from reschedule_desk.domain.lifecycle import RuleOutcome
from reschedule_desk.domain.posts import Post
from reschedule_desk.domain.request import MaritalStatus, ReasonCategory, Relationship, RescheduleRequest
from reschedule_desk.domain.roster import match_roster

if TYPE_CHECKING:  # records imports the requests taken before the case file, which import this
    from reschedule_desk.domain.records import CaseFileFacts

# Rule names: recorded in history, the audit trail and the ineligibility email.
RULE_REASON_ACCEPTED = "reason_accepted_at_post"
RULE_CASE_ON_FILE = "case_on_file_at_post"
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

# Categories the Visa Bulletin does not list, because their visas are not numerically
# limited: immediate relatives (IR1, CR1, IR2, ...) and fiance(e)s (K-1).
NOT_IN_THE_BULLETIN = frozenset({"IR", "K"})

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


@dataclass(frozen=True)
class _Screening:
    """One request beside its case file, on the post's local day of submission."""

    request: RescheduleRequest
    post: Post
    case: CaseFile
    roster: list[RosterApplicant | None]  # each applicant's entry on the letter, or None
    facts: CaseFileFacts
    now: datetime  # the post's local time


def screen(request: RescheduleRequest, facts: CaseFileFacts, submitted_at: datetime) -> list[RuleOutcome]:
    """Every rule's outcome for `request`, in the order of RULES. A case the post has no
    file of is screened no further: the applicant learns nothing about other posts' cases."""
    if submitted_at.tzinfo is None or submitted_at.utcoffset() is None:
        raise ValueError("submitted_at must be an aware datetime (with a UTC offset)")
    if request.post != facts.post.code:
        # Screening against another post's rules would be silently wrong.
        raise ValueError(f"request is for post {request.post!r}, facts are for {facts.post.code!r}")
    reason = reason_accepted(request.reason_category, facts.post)
    if facts.case is None:
        return [
            reason,
            failed(
                RULE_CASE_ON_FILE,
                f"{facts.post.name} has no case {request.case_number}. Please check the case number on "
                "your appointment letter.",
                facts.post,
            ),
        ]
    # The pages speak of the post's own days: "more than a year", "aged 21", "before the date".
    screening = _Screening(
        request=request,
        post=facts.post,
        case=facts.case,
        roster=match_roster(request.applicants, facts.case.applicants),
        facts=facts,
        now=submitted_at.astimezone(facts.post.zone),
    )
    on_file = passed(RULE_CASE_ON_FILE, f"Case {facts.case.case_number} is on file at {facts.post.name}.")
    return [reason, on_file, *(check(screening) for _, check in _CHECKS)]


def failed_rules(outcomes: Iterable[RuleOutcome]) -> list[RuleOutcome]:
    return [outcome for outcome in outcomes if not outcome.passed]


def passed(rule: str, explanation: str) -> RuleOutcome:
    return RuleOutcome(rule=rule, passed=True, explanation=explanation)


def failed(rule: str, why: str, post: Post) -> RuleOutcome:
    return RuleOutcome(
        rule=rule,
        passed=False,
        explanation=(
            f"{why} Please do not reschedule an appointment; submit an inquiry instead: "
            f"{post.contacts.inquiry_url}"
        ),
    )


def years_after(day: date, years: int) -> date:
    """The same day `years` later; 29 February falls on 28 February in a common year.
    Past the calendar's last year (a date typed as 9999-...) it is the last day there is."""
    if day.year + years > date.max.year:
        return date.max
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def reason_accepted(category: ReasonCategory, post: Post) -> RuleOutcome:
    reason = REASON_LABELS[category]
    if category in post.eligible_reasons:
        return passed(RULE_REASON_ACCEPTED, f'{post.name} accepts your reason: "{reason}".')
    accepted = "; ".join(f'"{REASON_LABELS[r]}"' for r in post.eligible_reasons)
    return failed(
        RULE_REASON_ACCEPTED,
        f'{post.name} does not reschedule appointments for the reason you chose ("{reason}"). '
        f"It accepts only: {accepted}.",
        post,
    )


def visa_class_not_excluded(visa_class: str, post: Post) -> RuleOutcome:
    if visa_class not in post.excluded_visa_classes:
        return passed(RULE_VISA_CLASS_NOT_EXCLUDED, f"{post.name} reschedules {visa_class} appointments through this request.")
    return failed(
        RULE_VISA_CLASS_NOT_EXCLUDED,
        f"{post.name} does not reschedule {visa_class} appointments through this request.",
        post,
    )


def _appointment_passed(s: _Screening) -> RuleOutcome:
    if not s.request.reason_category.is_a_missed_appointment:
        return passed(RULE_APPOINTMENT_PASSED, "Your reason does not depend on the original appointment having passed.")
    appointment = s.case.original_appointment_at
    when = f"{appointment:%Y-%m-%d %H:%M}"
    # The appointment is the post's local time; compare it with the local time of the request.
    if s.now.replace(tzinfo=None) > appointment:
        return passed(RULE_APPOINTMENT_PASSED, f"Your original appointment ({when}) has passed.")
    return failed(
        RULE_APPOINTMENT_PASSED,
        f"You may only reschedule an appointment you missed, and your original appointment "
        f"({when} local time) has not passed yet.",
        s.post,
    )


def _not_interviewed(s: _Screening) -> RuleOutcome:
    if s.case.interviewed_on is None:
        return passed(RULE_NOT_INTERVIEWED, "Our records show no interview on your case.")
    return failed(RULE_NOT_INTERVIEWED, f"Our records show that you were interviewed on {s.case.interviewed_on}.", s.post)


def _recent_contact(s: _Screening) -> RuleOutcome:
    last = s.case.last_contact_on
    # Exactly one year is still within the year; the day after is "more than a year".
    if s.now.date() <= years_after(last, 1):
        return passed(RULE_RECENT_CONTACT, f"The principal applicant last contacted {s.post.name} on {last}, within a year.")
    return failed(
        RULE_RECENT_CONTACT,
        f"The principal applicant last contacted {s.post.name} on {last}, "
        f"more than a year before this request ({s.now.date()}).",
        s.post,
    )


def _case_current(s: _Screening) -> RuleOutcome:
    category, chargeability = s.case.preference_category, s.case.chargeability
    if category in NOT_IN_THE_BULLETIN:
        return passed(RULE_CASE_CURRENT, f"Visa class {s.case.visa_class} is not subject to the Visa Bulletin's cut-off dates.")
    month = f"{s.facts.bulletin_month:%B %Y}" if s.facts.bulletin_month else None
    row = s.facts.final_action
    if row is None:
        where = f"The Visa Bulletin of {month}" if month else "No Visa Bulletin on file"
        return passed(RULE_CASE_CURRENT, f"{where} gives no cut-off date for {category} ({chargeability}).")
    bulletin = f"{category}, chargeability {row.chargeability}, in the Visa Bulletin of {month}"
    if row.final_action_date is None:
        return passed(RULE_CASE_CURRENT, f"Your category is current: {bulletin}.")
    cut_off, priority = row.final_action_date, s.case.priority_date
    if priority is None:
        return failed(
            RULE_CASE_CURRENT,
            f"Your category has a cut-off date ({cut_off}; {bulletin}) and your case has no priority date on "
            "file, so we cannot confirm that your case is current.",
            s.post,
        )
    if priority < cut_off:
        return passed(RULE_CASE_CURRENT, f"Your priority date {priority} is earlier than the cut-off date {cut_off} ({bulletin}).")
    return failed(
        RULE_CASE_CURRENT,
        f"Your case is not current for processing: your priority date {priority} is not earlier than the "
        f"cut-off date {cut_off} ({bulletin}).",
        s.post,
    )


def _visa_class_unchanged(s: _Screening) -> RuleOutcome:
    on_letter, now = s.case.visa_class_on_letter, s.case.visa_class
    if on_letter is None or on_letter == now:
        return passed(RULE_VISA_CLASS_UNCHANGED, f"Your visa class {now} is the one on your appointment letter.")
    return failed(
        RULE_VISA_CLASS_UNCHANGED,
        f"Your visa class has been changed: your appointment letter says {on_letter}, your case is now {now}.",
        s.post,
    )


def _visa_class_not_excluded(s: _Screening) -> RuleOutcome:
    return visa_class_not_excluded(s.case.visa_class, s.post)


def _applicants_on_letter(s: _Screening) -> RuleOutcome:
    missing = [applicant.full_name for applicant, entry in zip(s.request.applicants, s.roster) if entry is None]
    if not missing:
        return passed(RULE_APPLICANTS_ON_LETTER, "Every applicant is named on the original appointment letter (Packet 4).")
    return failed(
        RULE_APPLICANTS_ON_LETTER,
        "Only the applicants named on the original appointment letter (Packet 4) can be rescheduled, with "
        f"their names and dates of birth as on the letter; not on it: {', '.join(missing)}. To add an "
        "applicant, your inquiry needs a scanned copy of the child's birth certificate for a child, or of "
        "your marriage certificate and your spouse's birth certificate for a spouse.",
        s.post,
    )


def _children_can_derive(s: _Screening) -> RuleOutcome:
    today = s.now.date()
    problems, protected = [], []
    for child in s.roster:
        if child is None or child.relationship is not Relationship.CHILD:
            continue
        if child.marital_status is MaritalStatus.MARRIED:
            # The Child Status Protection Act protects a child's age, never a marriage.
            problems.append(f"{child.full_name} is married")
        elif today >= years_after(child.date_of_birth, CHILD_AGE_LIMIT):
            if child.cspa_confirmed_on is None:
                problems.append(f"{child.full_name} is aged {CHILD_AGE_LIMIT} or older")
            else:
                protected.append(f"{child.full_name} (CSPA confirmed on {child.cspa_confirmed_on})")
    if not problems:
        explanation = "Every child on the request can derive status from the principal applicant."
        if protected:
            explanation += f" Under the Child Status Protection Act: {'; '.join(protected)}."
        return passed(RULE_CHILDREN_CAN_DERIVE, explanation)
    return children_cannot_derive(problems, s.post)


def children_cannot_derive(problems: list[str], post: Post) -> RuleOutcome:
    """The failure, as the pages word it, for "X is married", "Y is aged 21 or older"."""
    return failed(
        RULE_CHILDREN_CAN_DERIVE,
        "Married children and children aged 21 or older may not derive immigration status from "
        f"the principal applicant: {'; '.join(problems)}. If a child may be eligible under the "
        "Child Status Protection Act (CSPA), ask us to confirm it before rescheduling, and do not "
        "undertake the visa medical examination until we have.",
        post,
    )


def _one_appointment_per_petitioner(s: _Screening) -> RuleOutcome:
    others = sorted(set(s.facts.other_open_cases_of_petitioner))
    if not others:
        return passed(RULE_ONE_APPOINTMENT_PER_PETITIONER, "No other open case has the same petitioner.")
    return failed(
        RULE_ONE_APPOINTMENT_PER_PETITIONER,
        "Different cases with the same petitioner reschedule one appointment together, with all their "
        f"applicants added to it. Your petitioner is also the petitioner of "
        f"{'case' if len(others) == 1 else 'cases'} {', '.join(others)}, with a request open already.",
        s.post,
    )


_Check = Callable[[_Screening], RuleOutcome]

# The order of the pages; the outcomes keep it, after the reason and the case itself.
_CHECKS: list[tuple[str, _Check]] = [
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

RULES: tuple[str, ...] = (RULE_REASON_ACCEPTED, RULE_CASE_ON_FILE, *(rule for rule, _ in _CHECKS))
