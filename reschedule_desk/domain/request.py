"""What an applicant sends: a missed-appointment reschedule request, as on the Packet 4 letter.

Pure pydantic models: imported by the API, the workflow (inside the sandbox), the
activities and the storage layer alike, so there is one vocabulary everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    model_validator,
)

# NVC case numbers: three letters (the post's code) and ten digits, e.g. NRB2024123456.
CASE_NUMBER_PATTERN = r"^[A-Z]{3}[0-9]{10}$"


def _normalise_case_number(value: str) -> str:
    return value.strip().upper() if isinstance(value, str) else value


CaseNumber = Annotated[
    str,
    StringConstraints(pattern=CASE_NUMBER_PATTERN),
    # Normalised before the pattern is checked: pydantic checks `pattern` before `to_upper`,
    # so "nrb2024123456" was refused.
    BeforeValidator(_normalise_case_number),
]


def normalise_visa_class(value: str) -> str:
    """`K-1`, `k1` and ` K 1 ` are the same class: `K1`."""
    cleaned = re.sub(r"[\s\-]", "", value).upper()
    if not re.fullmatch(r"[A-Z]{1,3}[0-9]{0,2}[A-Z]?", cleaned):
        raise ValueError(f"{value!r} is not a visa class such as IR1, F2A, K1 or SB1")
    return cleaned


VisaClass = Annotated[str, AfterValidator(normalise_visa_class)]


def _one_line(value: str) -> str:
    """Names end up in email headers and database text: no control characters (a line
    break would split a header; PostgreSQL refuses NUL) and no lone surrogates (not
    UTF-8). Any script is welcome: Khmer, Swahili, accents."""
    for character in value:
        if unicodedata.category(character) in ("Cc", "Cs"):
            raise ValueError(f"must not contain the control or invalid character U+{ord(character):04X}")
    return value


def free_text(value: str) -> str:
    """Free text may have line breaks and tabs, nothing else below a space."""
    _one_line(value.replace("\n", " ").replace("\r", " ").replace("\t", " "))
    return value


PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_one_line)
]
FreeText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(free_text)
]


class ReasonCategory(StrEnum):
    """Why the applicant asks; each post accepts only some of these (posts.toml)."""

    MISSED_APPOINTMENT = "missed_appointment"
    ATTENDED_NOT_INTERVIEWED = "attended_not_interviewed"  # Nairobi
    EMBASSY_CANCELLED = "embassy_cancelled"  # Phnom Penh
    FOLLOW_TO_JOIN_INVITED = "follow_to_join_invited"  # Phnom Penh

    @property
    def is_a_missed_appointment(self) -> bool:
        """Reasons that only make sense once the original appointment has passed."""
        return self in (ReasonCategory.MISSED_APPOINTMENT, ReasonCategory.ATTENDED_NOT_INTERVIEWED)


class Relationship(StrEnum):
    PRINCIPAL = "principal"
    SPOUSE = "spouse"
    CHILD = "child"


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    DIVORCED = "divorced"
    WIDOWED = "widowed"


class Applicant(BaseModel):
    """One person travelling on the appointment."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    full_name: PersonName
    date_of_birth: date
    relationship: Relationship
    marital_status: MaritalStatus = MaritalStatus.SINGLE
    on_appointment_letter: bool = Field(
        default=True, description="Named on the original appointment letter (Packet 4)."
    )
    cspa_confirmed: bool = Field(
        default=False,
        description="The post confirmed Child Status Protection Act eligibility for this child.",
    )


class Petitioner(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    full_name: PersonName
    date_of_birth: date | None = None


class RescheduleRequest(BaseModel):
    """A "Missed My Appointment" request as it reaches the desk."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    case_number: CaseNumber
    post: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]
    reason_category: ReasonCategory
    reason: FreeText = Field(description='In the applicant\'s words, e.g. "my medicals were on hold".')
    original_appointment_at: datetime | None = Field(
        default=None,
        description="Local date and time of the original appointment at the post "
        "(no offset: it is read in the post's time zone). Required for a missed appointment.",
    )
    visa_class: VisaClass
    visa_class_on_letter: VisaClass | None = Field(
        default=None, description="The class printed on the appointment letter, when it differs."
    )
    priority_date: date | None = None
    interviewed_already: bool = False
    last_contact_on: date = Field(description="When the principal applicant last contacted the post.")
    applicants: list[Applicant] = Field(min_length=1, max_length=20)
    contact_email: EmailStr
    petitioner: Petitioner

    @model_validator(mode="after")
    def _one_principal_and_a_date_when_missed(self) -> RescheduleRequest:
        principals = [a for a in self.applicants if a.relationship is Relationship.PRINCIPAL]
        if len(principals) != 1:
            raise ValueError(
                f"applicants must name exactly one principal applicant, not {len(principals)}"
            )
        if self.reason_category.is_a_missed_appointment and self.original_appointment_at is None:
            raise ValueError(
                f"original_appointment_at is required when reason_category is {self.reason_category.value}"
            )
        if self.original_appointment_at is not None and self.original_appointment_at.tzinfo is not None:
            raise ValueError(
                "original_appointment_at is the post's local time: give it without a UTC offset"
            )
        return self

    @property
    def principal(self) -> Applicant:
        return next(a for a in self.applicants if a.relationship is Relationship.PRINCIPAL)

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.case_number)


def workflow_id_for(case_number: str) -> str:
    """One live request per case: the case number is the workflow id."""
    return f"reschedule-{_normalise_case_number(case_number)}"
