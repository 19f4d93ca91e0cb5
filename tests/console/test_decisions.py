"""Deciding, claiming and supervising from the console: each form sends one Update, for
the signed-in account only, and only where the access rules allow it."""

from __future__ import annotations

import pytest

from reschedule_desk.domain.decisions import Approval, Assignment, Claim, Denial, InfoRequest, WindowExtension
from reschedule_desk.domain.lifecycle import RequestState


async def test_approving_sends_the_approve_update_for_the_signed_in_officer(signed_in, store_request, desk) -> None:
    case = store_request()
    page = await signed_in("officer.kim")
    response = await page.submit(f"/requests/{case}/approve", {"note": "Medical hold confirmed"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/requests/{case}?done=approve"
    assert desk.sent == [(case, "approve", Approval(officer_id="officer.kim", note="Medical hold confirmed"))]


async def test_an_officer_id_typed_into_the_form_is_ignored(signed_in, store_request, desk) -> None:
    case = store_request()
    page = await signed_in("officer.kim")
    await page.submit(f"/requests/{case}/approve", {"officer_id": "officer.njeri", "supervisor_id": "x"})
    assert desk.sent == [(case, "approve", Approval(officer_id="officer.kim"))]


async def test_denying_with_a_standard_reason_of_the_post(signed_in, store_request, desk, posts) -> None:
    case = store_request()
    reason = posts.post("nairobi").deny_reasons[0]
    page = await signed_in("officer.kim")
    await page.submit(f"/requests/{case}/deny", {"standard_reason": reason})
    assert desk.sent == [(case, "deny", Denial(officer_id="officer.kim", reason=reason))]


async def test_a_written_reason_wins_over_the_standard_one(signed_in, store_request, desk, posts) -> None:
    case = store_request()
    page = await signed_in("officer.kim")
    await page.submit(
        f"/requests/{case}/deny",
        {"standard_reason": posts.post("nairobi").deny_reasons[0], "written_reason": "The petition was revoked."},
    )
    assert desk.sent == [(case, "deny", Denial(officer_id="officer.kim", reason="The petition was revoked."))]


async def test_a_denial_without_a_reason_is_refused_and_nothing_is_sent(signed_in, store_request, desk) -> None:
    case = store_request()
    page = await signed_in("officer.kim")
    response = await page.submit(f"/requests/{case}/deny", {"standard_reason": "", "written_reason": "  "})
    assert response.status_code == 422
    assert "a denial needs a reason" in response.text
    assert desk.sent == []


async def test_requesting_information_says_what_is_needed(signed_in, store_request, desk) -> None:
    case = store_request()
    page = await signed_in("officer.kim")
    await page.submit(f"/requests/{case}/request-info", {"needed": "A copy of the medical hold letter."})
    assert desk.sent == [(case, "request_info", InfoRequest(officer_id="officer.kim", needed="A copy of the medical hold letter."))]
    empty = await page.submit(f"/requests/{case}/request-info", {"needed": ""})
    assert empty.status_code == 422 and "say what the applicant must send" in empty.text


async def test_the_workflows_refusal_is_shown_plainly_and_nothing_changes(signed_in, store_request, desk) -> None:
    case = store_request()
    desk.refusal = "cannot approve: officer.njeri is working this request; a supervisor can reassign it"
    page = await signed_in("officer.kim")
    response = await page.submit(f"/requests/{case}/approve")
    assert response.status_code == 409
    assert "Nothing was changed: cannot approve: officer.njeri is working this request" in response.text
    assert desk.sent == []


async def test_claiming_sends_the_claim_update(signed_in, store_request, desk) -> None:
    case = store_request()
    page = await signed_in("officer.njeri")
    await page.submit(f"/requests/{case}/claim")
    assert desk.sent == [(case, "claim", Claim(officer_id="officer.njeri"))]


async def test_a_supervisor_reassigns_to_an_officer_of_the_post(signed_in, store_request, desk) -> None:
    case = store_request(assigned_to="officer.kim")
    page = await signed_in("supervisor.otieno")
    await page.submit(f"/requests/{case}/assign", {"officer": "officer.njeri"})
    assert desk.sent == [(case, "assign", Assignment(supervisor_id="supervisor.otieno", officer_id="officer.njeri"))]


async def test_a_supervisor_cannot_assign_to_someone_of_another_post(signed_in, store_request, desk) -> None:
    case = store_request()
    page = await signed_in("supervisor.otieno")
    response = await page.submit(f"/requests/{case}/assign", {"officer": "officer.sok"})
    assert response.status_code == 422 and "officer.sok is not an officer of this request&#39;s post" in response.text
    assert desk.sent == []


async def test_a_supervisor_extends_the_window_by_business_days(signed_in, store_request, desk) -> None:
    case = store_request()
    page = await signed_in("supervisor.otieno")
    await page.submit(f"/requests/{case}/extend-window", {"business_days": "3", "reason": "Applicant in hospital."})
    assert desk.sent == [
        (case, "extend_window", WindowExtension(supervisor_id="supervisor.otieno", business_days=3, reason="Applicant in hospital."))
    ]


async def test_an_extension_out_of_range_is_refused(signed_in, store_request, desk) -> None:
    case = store_request()
    page = await signed_in("supervisor.otieno")
    response = await page.submit(f"/requests/{case}/extend-window", {"business_days": "31", "reason": "Long."})
    assert response.status_code == 422 and "business_days" in response.text
    assert desk.sent == []


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("officer.kim", "assign"),
        ("officer.kim", "extend-window"),
        ("auditor.lee", "approve"),
        ("auditor.lee", "deny"),
        ("auditor.lee", "request-info"),
        ("auditor.lee", "claim"),
        ("auditor.lee", "assign"),
        ("auditor.lee", "extend-window"),
        ("admin.ana", "approve"),
        ("officer.sok", "approve"),  # Phnom Penh's officer, a Nairobi request
        ("officer.sok", "claim"),
    ],
)
async def test_actions_beyond_ones_role_or_posts_are_refused(signed_in, store_request, desk, name: str, path: str) -> None:
    case = store_request("nairobi")
    page = await signed_in(name)
    response = await page.submit(
        f"/requests/{case}/{path}",
        {"note": "n", "written_reason": "r", "needed": "n", "officer": "officer.kim", "business_days": "2", "reason": "r"},
    )
    assert response.status_code == 403
    assert desk.sent == []


async def test_the_request_page_offers_only_the_forms_of_ones_role(signed_in, store_request) -> None:
    case = store_request()
    officer = (await (await signed_in("officer.kim")).get(f"/requests/{case}")).text
    supervisor = (await (await signed_in("supervisor.otieno")).get(f"/requests/{case}")).text
    auditor = (await (await signed_in("auditor.lee")).get(f"/requests/{case}")).text
    assert "/approve" in officer and "/claim" in officer and "/assign" not in officer
    assert "/approve" in supervisor and "/assign" in supervisor and "/extend-window" in supervisor
    assert not any(form in auditor for form in ("/approve", "/deny", "/request-info", "/claim", "/assign", "/extend-window"))


async def test_no_decision_form_once_information_was_requested(signed_in, store_request) -> None:
    case = store_request(state=RequestState.INFO_REQUESTED)
    page = (await (await signed_in("officer.njeri")).get(f"/requests/{case}")).text
    assert "/approve" not in page and "/claim" in page
