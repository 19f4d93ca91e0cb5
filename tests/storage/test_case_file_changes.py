"""Changes officers record to a case file, on SQLite and PostgreSQL: a CSPA confirmation
of a child on the roster or a contact, each with one change row saying who and when, and
bad input refused with nothing changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.storage import case_file
from reschedule_desk.storage.tables import CaseFileChange, CaseFileChangeKind
from tests.storage.test_case_file import NOW, a_case, imported

CASE = "NRB2024100001"
PRINCIPAL, CHILD = 0, 1  # roster positions of a_case's applicants
LATER = NOW + timedelta(hours=2)
TODAY = LATER.date()
NAIROBI = ZoneInfo("Africa/Nairobi")


@pytest.fixture
def filed(sessions: sessionmaker[Session]) -> str:
    imported(sessions, [a_case(CASE)])
    return CASE


def confirm(sessions, position: int = CHILD, confirmed_on: date = date(2026, 11, 30), **changes) -> CaseFileChange:
    with sessions.begin() as session:
        return case_file.record_cspa_confirmation(
            session, changes.pop("case_number", CASE), position, confirmed_on,
            changes.pop("by", "officer.kim"), changes.pop("at", LATER), **changes,
        )


def contact(sessions, contacted_on: date = date(2026, 11, 30), **changes) -> CaseFileChange:
    with sessions.begin() as session:
        return case_file.record_contact(
            session, changes.pop("case_number", CASE), contacted_on,
            changes.pop("by", "officer.kim"), changes.pop("at", LATER), **changes,
        )


def unchanged(sessions) -> bool:
    """The case is as imported and no change is recorded."""
    with sessions() as session:
        row = case_file.case_file(session, CASE)
        return (
            case_file.case_of(row) == a_case(CASE)
            and row.updated_at == NOW
            and session.scalar(select(func.count()).select_from(CaseFileChange)) == 0
        )


def test_a_cspa_confirmation_sets_the_childs_date_and_bumps_the_case(sessions, filed) -> None:
    confirm(sessions, confirmed_on=date(2026, 11, 30))
    with sessions() as session:
        row = case_file.case_file(session, CASE)
        assert row.applicants[CHILD].cspa_confirmed_on == date(2026, 11, 30)
        assert row.applicants[PRINCIPAL].cspa_confirmed_on is None
        assert row.updated_at == LATER


def test_a_cspa_confirmation_is_one_change_row_with_who_when_and_the_roster_position(sessions, filed) -> None:
    confirm(sessions, confirmed_on=date(2026, 11, 30), note="Form I-130 approval seen")
    with sessions() as session:
        (change,) = case_file.case_file_changes(session, CASE)
    assert (change.kind, change.position) == (CaseFileChangeKind.CSPA_CONFIRMATION, CHILD)
    assert (change.value_before, change.value_after) == (None, "2026-11-30")
    assert (change.actor, change.at, change.note) == ("officer.kim", LATER, "Form I-130 approval seen")


def test_a_change_row_holds_no_applicants_name(sessions, filed) -> None:
    confirm(sessions)
    with sessions() as session:
        (change,) = case_file.case_file_changes(session, CASE)
    written = " ".join(str(getattr(change, column.key)) for column in CaseFileChange.__table__.columns)
    assert "Kamau" not in written and "Amani" not in written


def test_a_second_cspa_confirmation_records_the_date_it_replaces(sessions, filed) -> None:
    confirm(sessions, confirmed_on=date(2026, 11, 2))
    confirm(sessions, confirmed_on=date(2026, 11, 30))
    with sessions() as session:
        changes = case_file.case_file_changes(session, CASE)
    assert [(c.value_before, c.value_after) for c in changes] == [(None, "2026-11-02"), ("2026-11-02", "2026-11-30")]


def test_cspa_is_confirmed_only_for_a_child(sessions, filed) -> None:
    with pytest.raises(ValueError, match="position 0 of case NRB2024100001 is the principal, not a child: CSPA is for children"):
        confirm(sessions, position=PRINCIPAL)
    assert unchanged(sessions)


def test_a_roster_position_not_on_the_roster_is_refused(sessions, filed) -> None:
    with pytest.raises(ValueError, match="case NRB2024100001 has no applicant at roster position 7"):
        confirm(sessions, position=7)
    assert unchanged(sessions)


def test_a_cspa_confirmation_cannot_be_dated_in_the_future(sessions, filed) -> None:
    with pytest.raises(ValueError, match=f"the CSPA confirmation date {TODAY + timedelta(days=1)} is in the future"):
        confirm(sessions, confirmed_on=TODAY + timedelta(days=1))
    assert unchanged(sessions)


def test_a_cspa_confirmation_can_be_dated_today(sessions, filed) -> None:
    assert confirm(sessions, confirmed_on=TODAY).value_after == TODAY.isoformat()


def test_a_cspa_confirmation_cannot_be_dated_before_the_child_was_born(sessions, filed) -> None:
    with pytest.raises(ValueError, match="before the child at position 1 was born"):
        confirm(sessions, confirmed_on=date(2003, 1, 1))
    assert unchanged(sessions)


def test_a_contact_moves_the_last_contact_forward_and_bumps_the_case(sessions, filed) -> None:
    contact(sessions, contacted_on=date(2026, 11, 30))
    with sessions() as session:
        row = case_file.case_file(session, CASE)
        assert (row.last_contact_on, row.updated_at) == (date(2026, 11, 30), LATER)


def test_a_contact_is_one_change_row_with_who_when_and_the_date_it_replaces(sessions, filed) -> None:
    contact(sessions, contacted_on=date(2026, 11, 30), by="officer.njeri", note="Phoned the principal")
    with sessions() as session:
        (change,) = case_file.case_file_changes(session, CASE)
    assert (change.kind, change.position) == (CaseFileChangeKind.CONTACT, None)
    assert (change.value_before, change.value_after) == ("2026-09-30", "2026-11-30")
    assert (change.actor, change.at, change.note) == ("officer.njeri", LATER, "Phoned the principal")


def test_the_last_contact_can_only_move_forward(sessions, filed) -> None:
    with pytest.raises(ValueError, match="the last contact can only move forward: .* on file is 2026-09-30, after 2026-09-29"):
        contact(sessions, contacted_on=date(2026, 9, 29))
    assert unchanged(sessions)


def test_a_contact_on_the_day_already_on_file_is_recorded(sessions, filed) -> None:
    assert contact(sessions, contacted_on=date(2026, 9, 30)).value_before == "2026-09-30"


def test_a_contact_cannot_be_dated_in_the_future(sessions, filed) -> None:
    with pytest.raises(ValueError, match=f"the contact date {TODAY + timedelta(days=1)} is in the future"):
        contact(sessions, contacted_on=TODAY + timedelta(days=1))
    assert unchanged(sessions)


def test_the_future_begins_after_the_day_of_at_in_its_own_zone(sessions, filed) -> None:
    # 23:00 UTC on the 30th is already 1 December at a post three hours ahead.
    at = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
    assert contact(sessions, contacted_on=date(2026, 12, 1), at=at.astimezone(NAIROBI)).value_after == "2026-12-01"
    with pytest.raises(ValueError, match="in the future"):
        contact(sessions, contacted_on=date(2026, 12, 2), at=at.astimezone(NAIROBI))


def test_an_unknown_case_is_refused(sessions, filed) -> None:
    with pytest.raises(case_file.UnknownCase, match="there is no case NRB2024199999 in the case file"):
        contact(sessions, case_number="NRB2024199999")
    with pytest.raises(case_file.UnknownCase):
        confirm(sessions, case_number="not a case")
    assert unchanged(sessions)


def test_an_unknown_case_has_no_history(sessions, filed) -> None:
    with sessions() as session, pytest.raises(case_file.UnknownCase):
        case_file.case_file_changes(session, "NRB2024199999")


def test_an_empty_note_is_no_note(sessions, filed) -> None:
    assert contact(sessions, note="   ").note is None


def test_a_note_with_a_control_character_is_refused(sessions, filed) -> None:
    with pytest.raises(ValueError, match="the note must not contain the control or invalid character U\\+0000"):
        contact(sessions, note="Phoned\x00")
    assert unchanged(sessions)


def test_the_history_is_oldest_first_and_only_the_cases_own(sessions, filed) -> None:
    imported(sessions, [a_case("NRB2024100002")])
    contact(sessions, at=LATER + timedelta(minutes=5))
    confirm(sessions, at=LATER)
    contact(sessions, case_number="NRB2024100002")
    with sessions() as session:
        changes = case_file.case_file_changes(session, CASE)
    assert [change.kind for change in changes] == [CaseFileChangeKind.CSPA_CONFIRMATION, CaseFileChangeKind.CONTACT]


def test_a_reimport_of_the_posts_export_overwrites_a_recorded_value_and_keeps_the_history(sessions, filed) -> None:
    # The export is the post's system of record: what it says wins, the history stays.
    contact(sessions, contacted_on=date(2026, 11, 30))
    report = imported(sessions, [a_case(CASE)], at=LATER + timedelta(days=1))
    assert report.changed == [CASE]
    with sessions() as session:
        assert case_file.case_file(session, CASE).last_contact_on == date(2026, 9, 30)
        assert len(case_file.case_file_changes(session, CASE)) == 1
