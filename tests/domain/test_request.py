"""A "Missed My Appointment" request is refused, field by field, when it is malformed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from reschedule_desk.domain.request import RescheduleRequest, normalise_visa_class


def payload(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "case_number": "NRB2026012345",
        "post": "nairobi",
        "reason_category": "missed_appointment",
        "reason": "My medicals were on hold",
        "original_appointment_at": "2026-11-02T08:30:00",
        "visa_class": "F2A",
        "priority_date": "2023-05-01",
        "last_contact_on": "2026-06-01",
        "applicants": [
            {"full_name": "Amani Wanjiru Otieno", "date_of_birth": "1990-03-14", "relationship": "principal"}
        ],
        "contact_email": "amani@example.com",
        "petitioner": {"full_name": "Grace Achieng Otieno"},
    }
    data.update(changes)
    return data


def principal(name: str = "Amani Wanjiru Otieno") -> dict[str, Any]:
    return {"full_name": name, "date_of_birth": "1990-03-14", "relationship": "principal"}


def child(name: str = "Baraka Otieno") -> dict[str, Any]:
    return {"full_name": name, "date_of_birth": "2015-06-01", "relationship": "child"}


def test_a_valid_request_is_accepted():
    request = RescheduleRequest.model_validate(payload())
    assert request.case_number == "NRB2026012345"
    assert request.principal.full_name == "Amani Wanjiru Otieno"


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


@pytest.mark.parametrize(
    ("written", "normal"), [("K-1", "K1"), ("k1", "K1"), (" K 1 ", "K1"), ("SB-1", "SB1"), ("f2a", "F2A")]
)
def test_the_visa_class_is_normalised(written, normal):
    assert normalise_visa_class(written) == normal
    assert RescheduleRequest.model_validate(payload(visa_class=written)).visa_class == normal


def test_the_class_on_the_letter_is_normalised_too():
    request = RescheduleRequest.model_validate(payload(visa_class_on_letter="f-2a"))
    assert request.visa_class_on_letter == "F2A"


@pytest.mark.parametrize("bad", ["1K", "K1K1", "", "visas"])
def test_a_visa_class_that_is_no_class_is_refused(bad):
    with pytest.raises(ValidationError, match="is not a visa class"):
        RescheduleRequest.model_validate(payload(visa_class=bad))


def test_a_request_without_a_principal_applicant_is_refused():
    with pytest.raises(ValidationError, match="exactly one principal applicant, not 0"):
        RescheduleRequest.model_validate(payload(applicants=[child()]))


def test_a_request_with_two_principal_applicants_is_refused():
    with pytest.raises(ValidationError, match="exactly one principal applicant, not 2"):
        RescheduleRequest.model_validate(payload(applicants=[principal(), principal("Juma Otieno")]))


def test_a_request_without_applicants_is_refused():
    with pytest.raises(ValidationError, match="applicants"):
        RescheduleRequest.model_validate(payload(applicants=[]))


@pytest.mark.parametrize("reason", ["missed_appointment", "attended_not_interviewed"])
def test_a_missed_appointment_requires_the_original_appointment(reason):
    with pytest.raises(ValidationError, match=f"original_appointment_at is required when reason_category is {reason}"):
        RescheduleRequest.model_validate(payload(reason_category=reason, original_appointment_at=None))


def test_an_embassy_cancelled_appointment_does_not_need_its_date():
    request = RescheduleRequest.model_validate(
        payload(post="phnom-penh", reason_category="embassy_cancelled", original_appointment_at=None)
    )
    assert request.original_appointment_at is None


def test_the_original_appointment_is_local_time_without_an_offset():
    with pytest.raises(ValidationError, match="without a UTC offset"):
        RescheduleRequest.model_validate(payload(original_appointment_at="2026-11-02T08:30:00+03:00"))
    request = RescheduleRequest.model_validate(payload())
    assert request.original_appointment_at == datetime(2026, 11, 2, 8, 30)


def test_an_unknown_reason_category_is_refused():
    with pytest.raises(ValidationError, match="reason_category"):
        RescheduleRequest.model_validate(payload(reason_category="bad_weather"))


def test_extra_fields_are_refused():
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        RescheduleRequest.model_validate(payload(priority="high"))


def test_extra_fields_of_an_applicant_are_refused():
    with pytest.raises(ValidationError, match=r"applicants\.0\.nickname"):
        RescheduleRequest.model_validate(payload(applicants=[{**principal(), "nickname": "Ama"}]))


def test_an_invalid_email_is_refused():
    with pytest.raises(ValidationError, match="contact_email"):
        RescheduleRequest.model_validate(payload(contact_email="not-an-address"))


def test_a_blank_name_is_refused():
    with pytest.raises(ValidationError, match="full_name"):
        RescheduleRequest.model_validate(payload(applicants=[principal("   ")]))


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
    request = RescheduleRequest.model_validate(
        payload(applicants=[principal(name)], petitioner={"full_name": name})
    )
    assert request.principal.full_name == name
    assert RescheduleRequest.model_validate_json(request.model_dump_json()) == request


def test_the_post_is_lower_cased():
    assert RescheduleRequest.model_validate(payload(post=" Nairobi ")).post == "nairobi"
