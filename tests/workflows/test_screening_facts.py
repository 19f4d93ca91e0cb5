"""The screening activity: the facts a request is screened on, read at submission from the
post's case file and the Visa Bulletin in force."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from temporalio.testing import ActivityEnvironment

from activities.screening import CALENDAR_SPAN, ScreeningActivities
from reschedule_desk.domain.case_file import BulletinRow
from reschedule_desk.domain.records import CaseFileQuery
from reschedule_desk.domain.self_reported import Petitioner, ScreeningQuery
from reschedule_desk.storage import case_file
from reschedule_desk.storage.database import make_engine, make_sessionmaker
from tests.conftest import file_cases, make_case


def query(case_number: str, submitted_at: datetime, post: str = "nairobi") -> CaseFileQuery:
    return CaseFileQuery(case_number=case_number, post=post, submitted_at=submitted_at)


@pytest.fixture
def activities(desk_settings) -> Iterator[ScreeningActivities]:
    engine = make_engine(desk_settings.database_url)
    yield ScreeningActivities(make_sessionmaker(engine), desk_settings.posts)
    engine.dispose()


def import_bulletin(settings, *rows: tuple[str, str, str, str | None]) -> None:
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine).begin() as session:
        case_file.import_bulletin(
            session,
            [
                BulletinRow(month=month, category=category, chargeability=chargeability, final_action_date=cut_off)
                for month, category, chargeability, cut_off in rows
            ],
        )
    engine.dispose()


def test_the_calendar_runs_from_the_local_day_of_submission(activities) -> None:
    # 22:30 UTC on 1 December is already 2 December in Nairobi (UTC+3).
    facts = ActivityEnvironment().run(
        activities.read_case_file, query("NRB2024000001", datetime(2026, 12, 1, 22, 30, tzinfo=UTC))
    )
    assert facts.calendar.first_day == date(2026, 12, 2)
    assert facts.calendar.last_day == date(2026, 12, 2) + CALENDAR_SPAN
    assert date(2026, 12, 25) in facts.calendar.non_business_days


def test_requests_submitted_at_a_post_on_the_same_day_share_one_calendar(activities) -> None:
    environment = ActivityEnvironment()
    morning = environment.run(activities.read_case_file, query("NRB2024000001", datetime(2026, 12, 2, 6, tzinfo=UTC)))
    evening = environment.run(activities.read_case_file, query("NRB2024000002", datetime(2026, 12, 2, 18, tzinfo=UTC)))
    assert evening.calendar is morning.calendar


def test_the_next_day_or_another_post_gets_a_calendar_of_its_own(activities) -> None:
    environment = ActivityEnvironment()
    today = environment.run(activities.read_case_file, query("NRB2024000001", datetime(2026, 12, 2, 6, tzinfo=UTC)))
    tomorrow = environment.run(activities.read_case_file, query("NRB2024000002", datetime(2026, 12, 3, 6, tzinfo=UTC)))
    phnom_penh = environment.run(
        activities.read_case_file, query("PHP2024000001", datetime(2026, 12, 2, 6, tzinfo=UTC), post="phnom-penh")
    )
    assert tomorrow.calendar.first_day == date(2026, 12, 3)
    assert phnom_penh.calendar.post == "phnom-penh"
    assert len({id(today.calendar), id(tomorrow.calendar), id(phnom_penh.calendar)}) == 3


def test_the_case_is_read_from_the_posts_case_file(activities, desk_settings) -> None:
    case = make_case(visa_class="F2A", preference_category="F2A")
    file_cases(desk_settings.database_url, "nairobi", case)
    facts = ActivityEnvironment().run(activities.read_case_file, query(case["case_number"], datetime.now(UTC)))
    assert facts.case is not None and facts.case.case_number == case["case_number"]
    assert facts.case.visa_class == "F2A" and facts.case.applicants[0].full_name == "Wanjiru Kamau"


def test_a_case_another_post_holds_is_no_case_at_this_post(activities, desk_settings) -> None:
    case = make_case("phnom-penh")
    file_cases(desk_settings.database_url, "phnom-penh", case)
    facts = ActivityEnvironment().run(activities.read_case_file, query(case["case_number"], datetime.now(UTC)))
    assert facts.case is None and facts.final_action is None


def test_the_bulletin_in_force_is_the_latest_month_begun_by_the_day_of_submission(activities, desk_settings) -> None:
    case = make_case(visa_class="F2A", preference_category="F2A")
    file_cases(desk_settings.database_url, "nairobi", case)
    import_bulletin(
        desk_settings,
        ("2026-11", "F2A", "ALL", "2024-02-01"),
        ("2026-12", "F2A", "ALL", "2024-03-01"),
        ("2026-12", "F2A", "KE", "2023-01-01"),
    )
    environment = ActivityEnvironment()
    november = environment.run(activities.read_case_file, query(case["case_number"], datetime(2026, 11, 30, 12, tzinfo=UTC)))
    december = environment.run(activities.read_case_file, query(case["case_number"], datetime(2026, 12, 1, 12, tzinfo=UTC)))
    before_any = environment.run(activities.read_case_file, query(case["case_number"], datetime(2026, 10, 1, 12, tzinfo=UTC)))
    assert (november.bulletin_month, november.final_action.final_action_date) == (date(2026, 11, 1), date(2024, 2, 1))
    # Kenya has a row of its own that month: it is the case's.
    assert (december.final_action.chargeability, december.final_action.final_action_date) == ("KE", date(2023, 1, 1))
    assert before_any.bulletin_month is None and before_any.final_action is None


def test_requests_started_before_the_case_file_still_get_their_facts(activities, desk_settings) -> None:
    """A workflow that asked for the old facts before the upgrade gets them after it."""
    import_bulletin(desk_settings, ("2026-11", "F2A", "ALL", "2024-02-01"), ("2026-11", "E1", "ALL", None))
    facts = ActivityEnvironment().run(
        activities.gather_screening_facts,
        ScreeningQuery(
            case_number="NRB2024000001",
            post="nairobi",
            petitioner=Petitioner(full_name="Petitioner of NRB2024000001"),
            submitted_at=datetime(2026, 11, 20, 6, tzinfo=UTC),
        ),
    )
    assert facts.visa_bulletin.as_of == "2026-11"
    assert facts.visa_bulletin.final_action_dates == {"F2A": date(2024, 2, 1), "E1": "C"}
