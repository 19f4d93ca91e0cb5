"""The case file page: a case as the post holds it, its Packet 4 roster and the changes
officers recorded to it; officers and supervisors of the case's post record a CSPA
confirmation or a contact there. The console's clock is Monday 23 November 2026, 09:00
in Nairobi."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.domain.case_file import CaseFile
from reschedule_desk.storage import case_file
from reschedule_desk.storage.tables import CaseFileChange
from tests.console.conftest import NOW

CASE = "NRB2024100001"
PRINCIPAL, SPOUSE, CHILD = 0, 1, 2  # roster positions


def nairobi_case() -> CaseFile:
    return CaseFile.model_validate(
        {
            "case_number": CASE,
            "visa_class": "F2A",
            "priority_date": "2023-05-10",
            "preference_category": "F2A",
            "chargeability": "KE",
            "petitioner_id": "NRB-P-000001",
            "original_appointment_at": "2026-10-14T08:30:00",
            "interviewed_on": None,
            "last_contact_on": "2026-09-30",
            "applicants": [
                {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal",
                 "marital_status": "married"},
                {"full_name": "Otieno Kamau", "date_of_birth": "1988-01-09", "relationship": "spouse",
                 "marital_status": "married"},
                {"full_name": "Amani Kamau", "date_of_birth": "2005-11-24", "relationship": "child",
                 "marital_status": "single"},
            ],
        }
    )


@pytest.fixture
def filed(db: sessionmaker[Session]) -> str:
    with db.begin() as session:
        case_file.import_cases(session, [nairobi_case()], "nairobi", NOW)
    return CASE


def as_filed(db: sessionmaker[Session]):
    """(last contact, the child's CSPA confirmation, how many changes are recorded)."""
    with db() as session:
        row = case_file.case_file(session, CASE)
        changes = session.scalar(select(func.count()).select_from(CaseFileChange))
        return row.last_contact_on, row.applicants[CHILD].cspa_confirmed_on, changes


AS_IMPORTED = (date(2026, 9, 30), None, 0)


async def test_an_officer_of_the_post_sees_every_column_of_the_case(signed_in, filed) -> None:
    page = await (await signed_in("officer.kim")).get(f"/cases/{CASE}")
    assert page.status_code == 200
    for shown in (
        f"<dt>Case number</dt><dd>{CASE}</dd>", "<dt>Post</dt><dd>U.S. Embassy Nairobi</dd>",
        "<dt>Visa class</dt><dd>F2A</dd>", "<dt>Priority date</dt><dd>2023-05-10</dd>",
        "<dt>Preference category</dt><dd>F2A</dd>", "<dt>Chargeability</dt><dd>KE</dd>",
        "<dt>Petitioner</dt><dd>NRB-P-000001</dd>",
        "<dt>Original appointment</dt><dd>Wed 14 Oct 2026, 08:30 (post&#39;s time)</dd>",
        "<dt>Interviewed on</dt><dd>not yet</dd>", "<dt>Last contact</dt><dd>2026-09-30</dd>",
    ):
        assert shown in page.text


async def test_the_roster_shows_relationship_birth_marital_status_age_today_and_cspa(signed_in, filed) -> None:
    text = (await (await signed_in("officer.kim")).get(f"/cases/{CASE}")).text
    # Amani turns 21 tomorrow: 20 today, at the post.
    child = (
        '<td data-label="Name">Amani Kamau</td>\n      <td data-label="Relationship">child</td>\n'
        '      <td data-label="Born">2005-11-24</td>\n      <td data-label="Age">20</td>\n'
        '      <td data-label="Marital status">single</td>\n      <td data-label="CSPA confirmed">not yet</td>'
    )
    assert child in text
    assert '<td data-label="Name">Wanjiru Kamau</td>\n      <td data-label="Relationship">principal</td>' in text
    assert '<td data-label="Age">36</td>' in text


async def test_the_cspa_form_offers_only_the_children_of_the_roster(signed_in, filed) -> None:
    text = (await (await signed_in("officer.kim")).get(f"/cases/{CASE}")).text
    assert f'<option value="{CHILD}">No. 3: Amani Kamau</option>' in text
    assert f'<option value="{PRINCIPAL}">' not in text and f'<option value="{SPOUSE}">' not in text


async def test_recording_a_cspa_confirmation_shows_it_with_who_and_when(signed_in, filed, db) -> None:
    page = await signed_in("officer.kim")
    response = await page.submit(
        f"/cases/{CASE}/cspa-confirmation", {"position": str(CHILD), "confirmed_on": "2026-11-20", "note": "NVC letter"}
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{CASE}?done=cspa_confirmation"
    text = (await page.get(response.headers["location"])).text
    assert "CSPA confirmation recorded." in text
    assert '<td data-label="CSPA confirmed">2026-11-20</td>' in text
    assert (
        "<time>Mon 23 Nov 2026, 09:00 EAT</time> <strong>CSPA confirmation of applicant no. 3</strong> "
        "by officer.kim: none → 2026-11-20"
    ) in text
    assert "<q>NVC letter</q>" in text
    assert as_filed(db) == (date(2026, 9, 30), date(2026, 11, 20), 1)


async def test_recording_a_contact_moves_the_last_contact_and_shows_who_and_when(signed_in, filed, db) -> None:
    page = await signed_in("supervisor.otieno")
    response = await page.submit(f"/cases/{CASE}/contact", {"contacted_on": "2026-11-23"})
    assert response.status_code == 303
    assert response.headers["location"] == f"/cases/{CASE}?done=contact"
    text = (await page.get(response.headers["location"])).text
    assert "Contact recorded." in text
    assert "<dt>Last contact</dt><dd>2026-11-23</dd>" in text
    assert (
        "<time>Mon 23 Nov 2026, 09:00 EAT</time> <strong>Last contact</strong> by supervisor.otieno: "
        "2026-09-30 → 2026-11-23"
    ) in text
    assert as_filed(db) == (date(2026, 11, 23), None, 1)


async def test_a_name_typed_into_the_form_is_ignored(signed_in, filed, db) -> None:
    page = await signed_in("officer.kim")
    await page.submit(f"/cases/{CASE}/contact", {"contacted_on": "2026-11-23", "by": "officer.njeri", "actor": "x"})
    with db() as session:
        (change,) = case_file.case_file_changes(session, CASE)
    assert change.actor == "officer.kim"


@pytest.mark.parametrize(
    ("path", "form", "message"),
    [
        ("contact", {"contacted_on": "2026-11-24"}, "the contact date 2026-11-24 is in the future: today is 2026-11-23"),
        ("contact", {"contacted_on": "2026-09-29"}, "the last contact can only move forward"),
        ("contact", {"contacted_on": "23/11/2026"}, "the contact date &#39;23/11/2026&#39; is not a date (YYYY-MM-DD)"),
        ("contact", {"contacted_on": ""}, "give the contact date (YYYY-MM-DD)"),
        (
            "cspa-confirmation", {"position": str(CHILD), "confirmed_on": "2026-11-24"},
            "the CSPA confirmation date 2026-11-24 is in the future: today is 2026-11-23",
        ),
        ("cspa-confirmation", {"position": str(CHILD), "confirmed_on": "soon"}, "is not a date (YYYY-MM-DD)"),
        (
            "cspa-confirmation", {"position": str(SPOUSE), "confirmed_on": "2026-11-20"},
            "is the spouse, not a child: CSPA is for children",
        ),
    ],
)
async def test_a_bad_date_or_applicant_is_refused_with_why_and_nothing_changes(
    signed_in, filed, db, path: str, form: dict[str, str], message: str
) -> None:
    response = await (await signed_in("officer.kim")).submit(f"/cases/{CASE}/{path}", form)
    assert response.status_code == 422
    assert "Nothing was recorded: " in response.text and message in response.text
    assert "Case file NRB2024100001" in response.text  # the page again, forms and all
    assert as_filed(db) == AS_IMPORTED


async def test_an_auditor_sees_the_case_file_without_the_forms(signed_in, filed) -> None:
    text = (await (await signed_in("auditor.lee")).get(f"/cases/{CASE}")).text
    assert "Amani Kamau" in text
    assert "/cspa-confirmation" not in text and f"/cases/{CASE}/contact" not in text


@pytest.mark.parametrize("name", ["auditor.lee", "admin.ana", "officer.sok"])
@pytest.mark.parametrize(
    ("path", "form"),
    [("contact", {"contacted_on": "2026-11-23"}), ("cspa-confirmation", {"position": str(CHILD), "confirmed_on": "2026-11-20"})],
)
async def test_only_those_who_decide_the_posts_requests_record(signed_in, filed, db, name, path, form) -> None:
    response = await (await signed_in(name)).submit(f"/cases/{CASE}/{path}", form)
    assert response.status_code == 403
    assert as_filed(db) == AS_IMPORTED


async def test_an_officer_of_another_post_cannot_see_the_case_file(signed_in, filed) -> None:
    response = await (await signed_in("officer.sok")).get(f"/cases/{CASE}")
    assert response.status_code == 403 and "nairobi is not one of your posts" in response.text
    assert "Amani Kamau" not in response.text


async def test_an_admin_cannot_see_the_case_file(signed_in, filed) -> None:
    response = await (await signed_in("admin.ana")).get(f"/cases/{CASE}")
    assert response.status_code == 403 and "Amani Kamau" not in response.text


@pytest.mark.parametrize("number", ["NRB2024199999", "not-a-case"])
async def test_an_unknown_case_is_not_found(signed_in, filed, number: str) -> None:
    page = await signed_in("officer.kim")
    assert (await page.get(f"/cases/{number}")).status_code == 404
    assert (await page.submit(f"/cases/{number}/contact", {"contacted_on": "2026-11-23"})).status_code == 404


async def test_recording_needs_the_sessions_csrf_token(signed_in, filed, db) -> None:
    page = await signed_in("officer.kim")
    response = await page.client.post(f"/cases/{CASE}/contact", data={"contacted_on": "2026-11-23"})
    assert response.status_code == 403
    forged = await page.client.post(f"/cases/{CASE}/contact", data={"contacted_on": "2026-11-23", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert as_filed(db) == AS_IMPORTED


async def test_signing_in_is_needed_to_see_the_case_file(browser, filed) -> None:
    response = await browser().get(f"/cases/{CASE}")
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")


async def test_the_request_page_links_to_the_case_file(signed_in, store_request) -> None:
    case = store_request()
    text = (await (await signed_in("officer.kim")).get(f"/requests/{case}")).text
    assert f'<a href="/cases/{case}">' in text
