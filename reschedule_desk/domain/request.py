"""What an applicant sends: a missed-appointment reschedule request, as on the Packet 4 letter.

Pure pydantic models: imported by the API, the workflow (inside the sandbox), the
activities and the storage layer alike, so there is one vocabulary everywhere.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

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


# What the post's case file holds and the request no longer carries: sending one is refused
# by name, so an applicant's word can never change a screening outcome.
POST_OWNED_REQUEST_FIELDS = (
    "original_appointment_at",
    "visa_class",
    "visa_class_on_letter",
    "priority_date",
    "interviewed_already",
    "last_contact_on",
    "petitioner",
)
POST_OWNED_APPLICANT_FIELDS = ("relationship", "marital_status", "on_appointment_letter", "cspa_confirmed")


def _refuse_post_owned(value: Any, owned: tuple[str, ...], carries: str) -> Any:
    if isinstance(value, dict):
        sent = [name for name in owned if name in value]
        if sent:
            raise ValueError(
                f"{', '.join(sent)}: the post's case file holds {'this' if len(sent) == 1 else 'these'}, "
                f"not the request; leave {'it' if len(sent) == 1 else 'them'} out ({carries})"
            )
    return value


class LetterApplicant(BaseModel):
    """One person travelling on the appointment, as named on the appointment letter."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    full_name: PersonName
    date_of_birth: date

    @model_validator(mode="before")
    @classmethod
    def _only_what_the_letter_says(cls, value: Any) -> Any:
        return _refuse_post_owned(
            value, POST_OWNED_APPLICANT_FIELDS, "an applicant is a full_name and a date_of_birth, as on the letter"
        )


class RescheduleRequest(BaseModel):
    """A "Missed My Appointment" request as it reaches the desk: only what the applicant
    knows. Everything else screening needs is the post's, in its case file."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    case_number: CaseNumber
    post: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=40)]
    reason_category: ReasonCategory
    reason: FreeText = Field(description='In the applicant\'s words, e.g. "my medicals were on hold".')
    contact_email: EmailStr
    applicants: list[LetterApplicant] = Field(
        min_length=1,
        max_length=20,
        description="Everyone on the appointment, as on the letter (Packet 4): the principal applicant first.",
    )

    @model_validator(mode="before")
    @classmethod
    def _only_what_the_applicant_knows(cls, value: Any) -> Any:
        return _refuse_post_owned(
            value,
            POST_OWNED_REQUEST_FIELDS,
            "a request carries case_number, post, reason_category, reason, contact_email and applicants",
        )

    @property
    def principal(self) -> LetterApplicant:
        """Whom the emails address: the letter names the principal applicant first."""
        return self.applicants[0]

    @property
    def workflow_id(self) -> str:
        return workflow_id_for(self.case_number)


def workflow_id_for(case_number: str) -> str:
    """One live request per case: the case number is the workflow id."""
    return f"reschedule-{_normalise_case_number(case_number)}"
