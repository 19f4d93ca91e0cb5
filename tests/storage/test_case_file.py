"""The post's case file and the Visa Bulletin in the app database, on SQLite and
PostgreSQL: imports are upserts by key, all or nothing, and say what they did."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.domain.case_file import BulletinRow, CaseFile
from reschedule_desk.storage import case_file
from reschedule_desk.storage.tables import CaseFileRow, RosterApplicantRow, VisaBulletinRow

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def a_case(case_number: str, **changes: Any) -> CaseFile:
    document: dict[str, Any] = {
        "case_number": case_number,
        "visa_class": "F2A",
        "priority_date": "2023-05-10",
        "preference_category": "F2A",
        "chargeability": "KE",
        "petitioner_id": "NRB-P-000001",
        "original_appointment_at": "2026-10-14T08:30:00",
        "last_contact_on": "2026-09-30",
        "applicants": [
            {"full_name": "Wanjiru Kamau", "date_of_birth": "1990-06-21", "relationship": "principal",
             "marital_status": "married"},
            {"full_name": "Amani Kamau", "date_of_birth": "2004-02-01", "relationship": "child",
             "marital_status": "single"},
        ],
    }
    document.update(changes)
    return CaseFile.model_validate(document)


def a_month(month: str, **final_action_dates: str) -> list[BulletinRow]:
    return [
        BulletinRow(month=month, category=category, chargeability="ALL", final_action_date=value)
        for category, value in final_action_dates.items()
    ]


def imported(sessions: sessionmaker[Session], cases: list[CaseFile], post: str = "nairobi",
             at: datetime = NOW) -> case_file.ImportReport:
    with sessions.begin() as session:
        return case_file.import_cases(session, cases, post, at)


CASES = [a_case("NRB2024100001"), a_case("NRB2024100002"), a_case("NRB2024100003")]


def test_an_imported_case_reads_back_as_it_was_given_with_its_post(sessions) -> None:
    assert imported(sessions, CASES).added == ["NRB2024100001", "NRB2024100002", "NRB2024100003"]
    with sessions() as session:
        row = case_file.case_file(session, "nrb2024100002")
        assert (row.post, row.imported_at, row.updated_at) == ("nairobi", NOW, NOW)
        assert case_file.case_of(row) == CASES[1]


def test_an_unknown_case_has_no_file(sessions) -> None:
    imported(sessions, CASES)
    with sessions() as session:
        assert case_file.case_file(session, "NRB2024199999") is None


def test_a_reimport_that_changes_one_case_reports_exactly_that_one(sessions) -> None:
    imported(sessions, CASES)
    interviewed = a_case("NRB2024100002", interviewed_on="2026-11-20")
    report = imported(sessions, [CASES[0], interviewed, CASES[2]], at=NOW + timedelta(days=1))
    assert (report.added, report.changed) == ([], ["NRB2024100002"])
    assert report.unchanged == ["NRB2024100001", "NRB2024100003"]
    with sessions() as session:
        row = case_file.case_file(session, "NRB2024100002")
        assert row.interviewed_on == date(2026, 11, 20)
        assert (row.imported_at, row.updated_at) == (NOW, NOW + timedelta(days=1))


def test_a_changed_cases_roster_is_replaced_by_the_new_one(sessions) -> None:
    imported(sessions, CASES)
    principal, child = (applicant.model_dump() for applicant in CASES[0].applicants)
    spouse = {**principal, "full_name": "Otieno Kamau", "relationship": "spouse"}
    changed = a_case("NRB2024100001", applicants=[principal, spouse, {**child, "cspa_confirmed_on": "2026-11-03"}])
    imported(sessions, [changed])
    with sessions() as session:
        assert case_file.case_of(case_file.case_file(session, "NRB2024100001")).applicants == changed.applicants
        assert session.scalar(select(func.count()).select_from(RosterApplicantRow)) == 3 + 2 + 2


def test_an_unchanged_reimport_reports_every_case_unchanged(sessions) -> None:
    imported(sessions, CASES)
    report = imported(sessions, CASES, at=NOW + timedelta(days=1))
    assert (report.added, report.changed) == ([], [])
    assert report.unchanged == [case.case_number for case in CASES]
    with sessions() as session:
        assert set(session.scalars(select(CaseFileRow.updated_at))) == {NOW}


def test_a_case_filed_under_another_post_is_refused_and_nothing_is_imported(sessions) -> None:
    imported(sessions, [CASES[0]], post="phnom-penh")
    with pytest.raises(case_file.CaseOfAnotherPost, match="NRB2024100001 is filed under phnom-penh"):
        imported(sessions, CASES, post="nairobi")
    with sessions() as session:
        assert list(session.scalars(select(CaseFileRow.case_number))) == ["NRB2024100001"]


def test_a_case_given_twice_is_refused(sessions) -> None:
    with pytest.raises(ValueError, match="NRB2024100001 is given more than once"):
        imported(sessions, [CASES[0], CASES[0]])


def test_the_bulletin_in_force_on_a_day_is_that_months(sessions) -> None:
    with sessions.begin() as session:
        case_file.import_bulletin(session, a_month("2026-10", F2A="2024-01-01") + a_month("2026-11", F2A="2024-02-01"))
    with sessions() as session:
        (row,) = case_file.bulletin_in_force(session, date(2026, 11, 1))
        assert (row.month, row.final_action_date) == (date(2026, 11, 1), date(2024, 2, 1))
        assert case_file.bulletin_in_force(session, date(2027, 3, 15))[0].month == date(2026, 11, 1)


def test_on_the_last_day_before_a_new_month_the_previous_months_bulletin_is_in_force(sessions) -> None:
    with sessions.begin() as session:
        case_file.import_bulletin(session, a_month("2026-10", F2A="2024-01-01") + a_month("2026-11", F2A="2024-02-01"))
    with sessions() as session:
        assert case_file.bulletin_in_force(session, date(2026, 10, 31))[0].month == date(2026, 10, 1)


def test_before_the_first_bulletin_kept_none_is_in_force(sessions) -> None:
    with sessions.begin() as session:
        case_file.import_bulletin(session, a_month("2026-11", F2A="2024-02-01"))
    with sessions() as session:
        assert case_file.bulletin_in_force(session, date(2026, 10, 31)) == []


def test_current_is_kept_as_null_and_read_back_as_current(sessions) -> None:
    with sessions.begin() as session:
        case_file.import_bulletin(session, a_month("2026-11", E1="current"))
    with sessions() as session:
        assert session.scalar(select(VisaBulletinRow.final_action_date)) is None
        (row,) = case_file.bulletin_in_force(session, date(2026, 11, 21))
        assert row.final_action_date is None


def test_a_month_imported_again_holds_the_files_rows_and_the_other_months_stay(sessions) -> None:
    with sessions.begin() as session:
        case_file.import_bulletin(session, a_month("2026-10", F1="2016-09-22"))
        case_file.import_bulletin(session, a_month("2026-11", F1="2016-11-08", F2A="2024-02-01", F3="2011-07-15"))
    with sessions.begin() as session:
        report = case_file.import_bulletin(session, a_month("2026-11", F1="2016-11-08", F2A="2024-03-01"))
    assert (report.months, report.added, report.changed, report.unchanged, report.removed) == (
        [date(2026, 11, 1)], 0, 1, 1, 1
    )
    with sessions() as session:
        assert case_file.bulletin_months(session) == [date(2026, 10, 1), date(2026, 11, 1)]
        assert [row.category for row in case_file.bulletin_in_force(session, date(2026, 11, 2))] == ["F1", "F2A"]
