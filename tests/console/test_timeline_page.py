"""The auditor's timeline page in the console: reconstructed from the archived workflow
history, linked from the request page, and for auditors only."""

from __future__ import annotations

from temporalio.client import WorkflowHistory

from reschedule_desk.audit.histories import keep
from tests.conftest import HISTORIES_DIR, TEST_DATA_CONVERTER


async def _archived_approved_case(db) -> str:
    history_file = HISTORIES_DIR / "approved.json"
    history = WorkflowHistory.from_json("approved", history_file.read_text(encoding="utf-8"))
    kept = await keep(db, history, TEST_DATA_CONVERTER)
    return kept.case_number


async def test_an_auditor_reads_the_timeline_of_an_archived_request(signed_in, db) -> None:
    case_number = await _archived_approved_case(db)
    auditor = await signed_in("auditor.lee")
    page = await auditor.get(f"/requests/{case_number}/timeline")
    assert page.status_code == 200
    assert "approve" in page.text and "approval email release" in page.text


async def test_an_officer_may_not_open_the_audit_timeline(signed_in, db) -> None:
    case_number = await _archived_approved_case(db)
    officer = await signed_in("officer.kim")
    assert (await officer.get(f"/requests/{case_number}/timeline")).status_code == 403


async def test_the_request_page_links_auditors_to_the_timeline(signed_in, store_request) -> None:
    case_number = store_request()
    auditor_page = await (await signed_in("auditor.lee")).get(f"/requests/{case_number}")
    officer_page = await (await signed_in("officer.kim")).get(f"/requests/{case_number}")
    assert f"/requests/{case_number}/timeline" in auditor_page.text
    assert f"/requests/{case_number}/timeline" not in officer_page.text
