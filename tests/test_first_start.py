"""`make run` on a fresh machine: the README's walk-through needs the posts' records, so the
first start loads the sample case files and Visa Bulletin, and no later start touches them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select

from reschedule_desk.run import load_samples_on_first_start
from reschedule_desk.settings import Settings
from reschedule_desk.storage import case_file
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from reschedule_desk.storage.tables import CaseFileRow, VisaBulletinRow


def counts(settings: Settings) -> tuple[int, int]:
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as session:
        found = (session.scalar(select(func.count(CaseFileRow.id))), session.scalar(select(func.count()).select_from(VisaBulletinRow)))
    engine.dispose()
    return found


def test_the_first_start_loads_the_sample_case_files_and_bulletin(desk_settings: Settings) -> None:
    load_samples_on_first_start(desk_settings)
    assert counts(desk_settings) == (11, 30)


def test_a_later_start_leaves_the_posts_records_as_they_are(desk_settings: Settings) -> None:
    load_samples_on_first_start(desk_settings)
    engine = make_engine(desk_settings.database_url)
    with make_sessionmaker(engine).begin() as session:
        case_file.record_contact(session, "NRB2024100001", date(2026, 11, 30), "officer.kim", datetime(2026, 12, 1, tzinfo=UTC))
    load_samples_on_first_start(desk_settings)
    with make_sessionmaker(engine)() as session:
        assert case_file.case_at_post(session, "NRB2024100001", "nairobi").last_contact_on == date(2026, 11, 30)
    engine.dispose()
    assert counts(desk_settings) == (11, 30)
