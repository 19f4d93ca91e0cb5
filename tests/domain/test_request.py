"""A "Missed My Appointment" request carries only what the applicant knows, and is refused,
field by field, when it is malformed or states what only the post's case file may."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reschedule_desk.domain.request import (
    POST_OWNED_APPLICANT_FIELDS,
    POST_OWNED_REQUEST_FIELDS,
    RescheduleRequest,
    normalise_visa_class,
)


def applicant(name: str = "Wanjiru Kamau", born: str = "1990-06-21", **more: Any) -> dict[str, Any]:
    return {"full_name": name, "date_of_birth": born, **more}


def payload(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "case_number": "NRB2026012345",
        "post": "nairobi",
        "reason_category": "missed_appointment",
        "reason": "My medicals were on hold",
        "contact_email": "wanjiru.kamau@example.com",
        "applicants": [applicant(), applicant("Baraka Kamau", "2015-06-01")],
    }
    data.update(changes)
    return data


def test_a_valid_request_is_accepted():
    request = RescheduleRequest.model_validate(payload())
    assert request.case_number == "NRB2026012345"
    assert [a.full_name for a in request.applicants] == ["Wanjiru Kamau", "Baraka Kamau"]


def test_the_principal_applicant_is_the_first_named_as_on_the_letter():
    request = RescheduleRequest.model_validate(payload())
    assert request.principal.full_name == "Wanjiru Kamau"


# What only the post's case file may say


@pytest.mark.parametrize("field", POST_OWNED_REQUEST_FIELDS)
def test_a_fact_the_post_owns_is_refused_naming_it(field):
    with pytest.raises(ValidationError) as error:
        RescheduleRequest.model_validate(payload(**{field: None}))
    assert f"{field}: the post's case file holds this, not the request" in str(error.value)


def test_every_fact_the_post_owns_that_was_sent_is_named():
    with pytest.raises(ValidationError, match="visa_class, priority_date: the post's case file holds these"):
        RescheduleRequest.model_validate(payload(visa_class="F2A", priority_date="2023-05-01"))


@pytest.mark.parametrize("field", POST_OWNED_APPLICANT_FIELDS)
def test_an_applicants_fact_the_post_owns_is_refused_naming_it(field):
    with pytest.raises(ValidationError) as error:
        RescheduleRequest.model_validate(payload(applicants=[applicant(**{field: "principal"})]))
    assert f"{field}: the post's case file holds this" in str(error.value)
    assert "applicants.0" in str(error.value)


def test_the_post_owned_fields_are_what_screening_decides_on():
    assert set(POST_OWNED_REQUEST_FIELDS) == {
        "original_appointment_at", "visa_class", "visa_class_on_letter", "priority_date",
        "interviewed_already", "last_contact_on", "petitioner",
    }
    assert set(POST_OWNED_APPLICANT_FIELDS) == {"relationship", "marital_status", "on_appointment_letter", "cspa_confirmed"}


# Case number and post


@pytest.mark.parametrize("written", [" NRB2026012345 ", "nrb2026012345", "Nrb2026012345"])
def test_the_case_number_is_normalised(written):
    assert RescheduleRequest.model_validate(payload(case_number=written)).case_number == "NRB2026012345"


@pytest.mark.parametrize("bad", ["NRB202601234", "NRB20260123456", "NR2026012345X", "2026012345", "", "NRB 2026012345"])
def test_the_case_number_is_three_letters_and_ten_digits(bad):
    with pytest.raises(ValidationError, match="case_number"):
        RescheduleRequest.model_validate(payload(case_number=bad))


def test_the_workflow_id_is_derived_from_the_case_number():
    request = RescheduleRequest.model_validate(payload(case_number="nrb2026012345"))
    assert request.workflow_id == "reschedule-NRB2026012345"


def test_the_post_is_lower_cased():
    assert RescheduleRequest.model_validate(payload(post=" Nairobi ")).post == "nairobi"


# Visa classes (the case file's): one spelling of each


@pytest.mark.parametrize(
    ("written", "normal"), [("K-1", "K1"), ("k1", "K1"), (" K 1 ", "K1"), ("SB-1", "SB1"), ("f2a", "F2A")]
)
def test_the_visa_class_is_normalised(written, normal):
    assert normalise_visa_class(written) == normal


@pytest.mark.parametrize("bad", ["1K", "K1K1", "", "visas"])
def test_a_visa_class_that_is_no_class_is_refused(bad):
    with pytest.raises(ValueError, match="is not a visa class"):
        normalise_visa_class(bad)


# The other fields


def test_a_request_without_applicants_is_refused():
    with pytest.raises(ValidationError, match="applicants"):
        RescheduleRequest.model_validate(payload(applicants=[]))


def test_a_request_with_more_than_twenty_applicants_is_refused():
    with pytest.raises(ValidationError, match="applicants"):
        RescheduleRequest.model_validate(payload(applicants=[applicant(f"Child {i}") for i in range(21)]))


def test_an_unknown_reason_category_is_refused():
    with pytest.raises(ValidationError, match="reason_category"):
        RescheduleRequest.model_validate(payload(reason_category="bad_weather"))


def test_extra_fields_are_refused():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RescheduleRequest.model_validate(payload(priority="high"))


def test_extra_fields_of_an_applicant_are_refused():
    with pytest.raises(ValidationError, match=r"applicants\.0\.nickname"):
        RescheduleRequest.model_validate(payload(applicants=[applicant(nickname="Wanji")]))


def test_an_applicant_needs_a_date_of_birth():
    with pytest.raises(ValidationError, match=r"applicants\.0\.date_of_birth"):
        RescheduleRequest.model_validate(payload(applicants=[{"full_name": "Wanjiru Kamau"}]))


def test_an_invalid_email_is_refused():
    with pytest.raises(ValidationError, match="contact_email"):
        RescheduleRequest.model_validate(payload(contact_email="not-an-address"))


def test_a_blank_name_is_refused():
    with pytest.raises(ValidationError, match="full_name"):
        RescheduleRequest.model_validate(payload(applicants=[applicant("   ")]))


@pytest.mark.parametrize("control", ["\x00", "\n", "\r", "\x1b", "\x7f", "\ud800"])
def test_a_name_with_a_control_or_invalid_character_is_refused_without_repeating_it(control):
    name = f"Wanjiru{control}Kamau"
    with pytest.raises(ValidationError, match=r"applicants\.0\.full_name") as error:
        RescheduleRequest.model_validate(payload(applicants=[applicant(name)]))
    assert name not in str(error.value)


def test_the_reason_may_have_line_breaks_and_tabs_but_no_other_control_character():
    written = "I was sick\non the day\tof my appointment"
    assert RescheduleRequest.model_validate(payload(reason=written)).reason == written
    with pytest.raises(ValidationError, match="reason"):
        RescheduleRequest.model_validate(payload(reason="I was sick\x00"))


@pytest.mark.parametrize(
    "name",
    [
        "សុខ ចាន់ដារ៉ា",  # Khmer
        "Wanjiru wa Kamau",  # Kikuyu/Swahili
        "Mwanaisha Bakari Juma",  # Swahili
        "Nguyễn Thị Minh Khai",
        "O'Brien-Ochieng",
    ],
)
def test_names_in_any_script_are_accepted(name):
    request = RescheduleRequest.model_validate(payload(applicants=[applicant(name)]))
    assert request.principal.full_name == name
    assert RescheduleRequest.model_validate_json(request.model_dump_json()) == request
