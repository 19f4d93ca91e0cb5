"""The README's walk-through files say what they are: eligible requests pass screening
against the sample case files and Visa Bulletin, ineligible ones fail it, on the day the
walk-through was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.case_file import final_action_for, parse_bulletin_csv, parse_case_file
from reschedule_desk.domain.eligibility import failed_rules, screen
from reschedule_desk.domain.posts import PostsConfig
from reschedule_desk.domain.records import CaseFileFacts
from reschedule_desk.domain.request import RescheduleRequest

EXAMPLES = Path(__file__).parent.parent / "examples"
# The requests, not the sample case files (case-file-*), which are the post's records.
EXAMPLE_REQUESTS = sorted(path for path in EXAMPLES.glob("*.json") if not path.name.startswith("case-file-"))
SAMPLE_CASES = {
    case.case_number: case
    for path in sorted(EXAMPLES.glob("case-file-*"))
    for case in parse_case_file(path.read_text(encoding="utf-8"), path.name)
}
SAMPLE_BULLETIN = parse_bulletin_csv((EXAMPLES / "visa-bulletin.csv").read_text(encoding="utf-8"))
WALK_THROUGH_DAY = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def test_each_post_has_an_eligible_and_an_ineligible_example(posts: PostsConfig) -> None:
    assert {path.stem for path in EXAMPLE_REQUESTS} >= {
        f"{post}-{kind}" for post in posts.posts for kind in ("eligible", "ineligible")
    }


@pytest.mark.parametrize("example", EXAMPLE_REQUESTS, ids=[path.stem for path in EXAMPLE_REQUESTS])
def test_example_request_screens_as_its_name_says(example: Path, posts: PostsConfig) -> None:
    request = RescheduleRequest.model_validate_json(example.read_text(encoding="utf-8"))
    post = posts.post(request.post)
    day = WALK_THROUGH_DAY.date()
    case = SAMPLE_CASES[request.case_number]
    in_force = max(row.month for row in SAMPLE_BULLETIN if row.month <= day)
    bulletin = [row for row in SAMPLE_BULLETIN if row.month == in_force]
    facts = CaseFileFacts(
        post=post,
        calendar=build_post_calendar(post, day, day + timedelta(days=60)),
        case=case,
        bulletin_month=in_force,
        final_action=final_action_for(bulletin, case.preference_category, case.chargeability),
    )
    failures = failed_rules(screen(request, facts, WALK_THROUGH_DAY))
    if example.stem.endswith("-ineligible"):
        assert failures
    else:
        assert failures == []
