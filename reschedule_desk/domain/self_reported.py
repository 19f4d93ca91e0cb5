"""Requests taken before screening read the post's case file: the request as the applicant
filled it in, what screening looked up for it, and the rules it was screened by.

Kept, unchanged in behaviour, so that their histories decode and replay exactly: a replay
of one of them must decide what was decided then. Nothing new is screened this way: the
workflow screens every request it starts now from the case file (eligibility.py), and the
API refuses the fields below that only the post may state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from reschedule_desk.domain.calendar import PostCalendar
from reschedule_desk.domain.eligibility import (
    CHILD_AGE_LIMIT,
    RULE_APPLICANTS_ON_LETTER,
    RULE_APPOINTMENT_PASSED,
    RULE_CASE_CURRENT,
    RULE_CHILDREN_CAN_DERIVE,
    RULE_NOT_INTERVIEWED,
    RULE_ONE_APPOINTMENT_PER_PETITIONER,
    RULE_RECENT_CONTACT,
    RULE_VISA_CLASS_UNCHANGED,
    children_cannot_derive,
    failed,
    passed,
    reason_accepted,
    visa_class_not_excluded,
    years_after,
)
from reschedule_desk.domain.lifecycle import RuleOutcome
from reschedule_desk.domain.posts import Post
from reschedule_desk.domain.request import (
    CaseNumber,
    FreeText,
    LetterApplicant,
    MaritalStatus,
    PersonName,
    ReasonCategory,
    Relationship,
    RescheduleRequest,
    VisaClass,
    workflow_id_for,
)


class _Model(BaseModel):
    # Error text reaches logs; these carry the request, so never the input.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class SelfReportedApplicant(_Model):
    full_name: PersonName
    date_of_birth: date
    relationship: Relationship
    marital_status: MaritalStatus = MaritalStatus.SINGLE
    on_appointment_letter: bool = True
    cspa_confirmed: bool = False


class Petitioner(_Model):
    full_name: PersonName
    date_of_birth: date | None = None


class SelfReportedRequest(_Model):
    case_number: CaseNumber
    post: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]
    reason_category: ReasonCategory
    reason: FreeText
    original_appointment_at: datetime | None = None  # the post's local time
    visa_class: VisaClass
    visa_class_on_letter: VisaClass | None = None
    priority_date: date | None = None
    interviewed_already: bool = False
    last_contact_on: date
    applicants: list[SelfReportedApplicant] = Field(min_length=1, max_length=20)
    contact_email: EmailStr
    petitioner: Petitioner

    @model_validator(mode="after")
    def _one_principal_and_a_date_when_missed(self) -> SelfReportedRequest:
        principals = [a for a in self.applicants if a.relationship is Relationship.PRINCIPAL]
        if len(principals) != 1:
            raise ValueError(f"applicants must name exactly one principal applicant, not {len(principals)}")
        if self.reason_category.is_a_missed_appointment and self.original_appointment_at is None:
            raise ValueError(f"original_appointment_at is required when reason_category is {self.reason_category.value}")
        if self.original_appointment_at is not None and self.original_appointment_at.tzinfo is not None:
            raise ValueError("original_appointment_at is the post's local time: give it without a UTC offset")
        return self

    @property
    def principal(self) -> SelfReportedApplicant:
        return next(a for a in self.applicants if a.relationship is Relationship.PRINCIPAL)

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.case_number)

    def as_request(self) -> RescheduleRequest:
        """What of it the applicant could know, principal first, for screening from the case file."""
        people = sorted(self.applicants, key=lambda a: a.relationship is not Relationship.PRINCIPAL)
        return RescheduleRequest(
            case_number=self.case_number,
            post=self.post,
            reason_category=self.reason_category,
            reason=self.reason,
            contact_email=self.contact_email,
            applicants=[LetterApplicant(full_name=a.full_name, date_of_birth=a.date_of_birth) for a in people],
        )


class VisaBulletin(BaseModel):
    """Final action dates by visa class, as posts.toml held them; "C" means current."""

    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    as_of: str  # the bulletin's month, e.g. "2026-11"
    final_action_dates: dict[VisaClass, date | Literal["C"]]


# A workflow's input, in a history of either age.
RequestInHistory = RescheduleRequest | SelfReportedRequest


class ScreeningQuery(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    case_number: str
    post: str
    petitioner: Petitioner
    submitted_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_a_whole_request(cls, value: Any) -> Any:
        # A query scheduled before this one was slimmed carried the whole request.
        if isinstance(value, dict) and "request" in value:
            request = value["request"]
            return {
                "case_number": request["case_number"],
                "post": request["post"],
                "petitioner": request["petitioner"],
                "submitted_at": value["submitted_at"],
            }
        return value


class ScreeningFacts(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)

    post: Post
    visa_bulletin: VisaBulletin
    calendar: PostCalendar
    other_open_cases_of_petitioner: list[str] = Field(default_factory=list)


def screen_self_reported(
    request: SelfReportedRequest, facts: ScreeningFacts, submitted_at: datetime
) -> list[RuleOutcome]:
    """The rules as they were, on the applicant's own answers."""
    if submitted_at.tzinfo is None or submitted_at.utcoffset() is None:
        raise ValueError("submitted_at must be an aware datetime (with a UTC offset)")
    if request.post != facts.post.code:
        raise ValueError(f"request is for post {request.post!r}, facts are for {facts.post.code!r}")
    post = facts.post
    now = submitted_at.astimezone(post.zone)
    return [
        reason_accepted(request.reason_category, post),
        *(check(request, facts, now) for check in _CHECKS),
    ]


def _appointment_passed(request: SelfReportedRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    if not request.reason_category.is_a_missed_appointment:
        return passed(RULE_APPOINTMENT_PASSED, "Your reason does not depend on the original appointment having passed.")
    appointment = request.original_appointment_at
    if appointment is None:
        return failed(RULE_APPOINTMENT_PASSED, "Your request does not give the original appointment's date.", facts.post)
    when = f"{appointment:%Y-%m-%d %H:%M}"
    if now.replace(tzinfo=None) > appointment:
        return passed(RULE_APPOINTMENT_PASSED, f"Your original appointment ({when}) has passed.")
    return failed(
        RULE_APPOINTMENT_PASSED,
        f"You may only reschedule an appointment you missed, and your original appointment "
        f"({when} local time) has not passed yet.",
        facts.post,
    )


def _not_interviewed(request: SelfReportedRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    if not request.interviewed_already:
        return passed(RULE_NOT_INTERVIEWED, "You have not been interviewed yet.")
    return failed(RULE_NOT_INTERVIEWED, "You have been interviewed.", facts.post)


def _recent_contact(request: SelfReportedRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    last = request.last_contact_on
    if now.date() <= years_after(last, 1):
        return passed(
            RULE_RECENT_CONTACT, f"The principal applicant last contacted {facts.post.name} on {last}, within a year."
        )
    return failed(
        RULE_RECENT_CONTACT,
        f"The principal applicant last contacted {facts.post.name} on {last}, "
        f"more than a year before this request ({now.date()}).",
        facts.post,
    )


def _case_current(request: SelfReportedRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    bulletin, visa_class = facts.visa_bulletin, request.visa_class
    cut_off = bulletin.final_action_dates.get(visa_class)
    if cut_off is None:
        return passed(RULE_CASE_CURRENT, f"Visa class {visa_class} has no cut-off date in the Visa Bulletin ({bulletin.as_of}).")
    if cut_off == "C":
        return passed(RULE_CASE_CURRENT, f"Visa class {visa_class} is current in the Visa Bulletin ({bulletin.as_of}).")
    priority = request.priority_date
    if priority is None:
        return failed(
            RULE_CASE_CURRENT,
            f"Visa class {visa_class} has a cut-off date ({cut_off}) in the Visa Bulletin "
            f"({bulletin.as_of}), and your request does not give your priority date, so we cannot "
            "confirm that your case is current.",
            facts.post,
        )
    if priority < cut_off:
        return passed(
            RULE_CASE_CURRENT,
            f"Your priority date {priority} is earlier than the cut-off date {cut_off} for "
            f"{visa_class} (Visa Bulletin {bulletin.as_of}).",
        )
    return failed(
        RULE_CASE_CURRENT,
        f"Your case is not current for processing: your priority date {priority} is not earlier "
        f"than the cut-off date {cut_off} for {visa_class} in the Visa Bulletin ({bulletin.as_of}).",
        facts.post,
    )


def _visa_class_unchanged(request: SelfReportedRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    on_letter = request.visa_class_on_letter
    if on_letter is None or on_letter == request.visa_class:
        return passed(RULE_VISA_CLASS_UNCHANGED, f"Your visa class {request.visa_class} is the one on your appointment letter.")
    return failed(
        RULE_VISA_CLASS_UNCHANGED,
        f"Your visa class has been changed: your appointment letter says {on_letter}, "
        f"your case is now {request.visa_class}.",
        facts.post,
    )


def _visa_class_not_excluded(request: SelfReportedRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    return visa_class_not_excluded(request.visa_class, facts.post)


def _documents_to_add(applicant: SelfReportedApplicant) -> str:
    name = applicant.full_name
    if applicant.relationship is Relationship.CHILD:
        return f"{name} (child): attach a scanned copy of the child's birth certificate"
    if applicant.relationship is Relationship.SPOUSE:
        return f"{name} (spouse): attach a scanned copy of your marriage certificate and your spouse's birth certificate"
    return (
        f"{name} (principal applicant): the principal applicant must be on the letter; "
        "if you do not have the original letter, ask for a copy"
    )


def _applicants_on_letter(request: SelfReportedRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    missing = [a for a in request.applicants if not a.on_appointment_letter]
    if not missing:
        return passed(RULE_APPLICANTS_ON_LETTER, "Every applicant is named on the original appointment letter (Packet 4).")
    return failed(
        RULE_APPLICANTS_ON_LETTER,
        "Only the applicants named on the original appointment letter (Packet 4) can be "
        "rescheduled. To add the others, your inquiry needs: "
        + "; ".join(_documents_to_add(a) for a in missing)
        + ".",
        facts.post,
    )


def _children_can_derive(request: SelfReportedRequest, facts: ScreeningFacts, now: datetime) -> RuleOutcome:
    today = now.date()
    problems = []
    for child in request.applicants:
        if child.relationship is not Relationship.CHILD:
            continue
        if child.marital_status is MaritalStatus.MARRIED:
            problems.append(f"{child.full_name} is married")
        elif today >= years_after(child.date_of_birth, CHILD_AGE_LIMIT) and not child.cspa_confirmed:
            problems.append(f"{child.full_name} is aged {CHILD_AGE_LIMIT} or older")
    if not problems:
        return passed(RULE_CHILDREN_CAN_DERIVE, "Every child on the request can derive status from the principal applicant.")
    return children_cannot_derive(problems, facts.post)


def _one_appointment_per_petitioner(
    request: SelfReportedRequest, facts: ScreeningFacts, now: datetime
) -> RuleOutcome:
    others = sorted(set(facts.other_open_cases_of_petitioner))
    if not others:
        return passed(RULE_ONE_APPOINTMENT_PER_PETITIONER, "No other open case has the same petitioner.")
    return failed(
        RULE_ONE_APPOINTMENT_PER_PETITIONER,
        "Different cases with the same petitioner reschedule one appointment together, with all "
        f"their applicants added to it. {request.petitioner.full_name} is also the petitioner "
        f"of {'case' if len(others) == 1 else 'cases'} {', '.join(others)}.",
        facts.post,
    )


_CHECKS: list[Callable[[SelfReportedRequest, ScreeningFacts, datetime], RuleOutcome]] = [
    _appointment_passed,
    _not_interviewed,
    _recent_contact,
    _case_current,
    _visa_class_unchanged,
    _visa_class_not_excluded,
    _applicants_on_letter,
    _children_can_derive,
    _one_appointment_per_petitioner,
]
