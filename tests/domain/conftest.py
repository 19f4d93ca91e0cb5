"""The shipped posts one by one and their real calendars (holidays from the `holidays`
package); `posts` itself is in tests/conftest.py."""

from __future__ import annotations

from datetime import date

import pytest

from reschedule_desk.domain.calendar import PostCalendar, build_post_calendar
from reschedule_desk.domain.posts import Post, PostsConfig

# Two whole years: every example in the tests falls inside them.
CALENDAR_FIRST_DAY = date(2026, 1, 1)
CALENDAR_LAST_DAY = date(2027, 12, 31)


@pytest.fixture(scope="session")
def nairobi(posts: PostsConfig) -> Post:
    return posts.post("nairobi")


@pytest.fixture(scope="session")
def phnom_penh(posts: PostsConfig) -> Post:
    return posts.post("phnom-penh")


@pytest.fixture(scope="session")
def nairobi_calendar(nairobi: Post) -> PostCalendar:
    return build_post_calendar(nairobi, CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY)


@pytest.fixture(scope="session")
def phnom_penh_calendar(phnom_penh: Post) -> PostCalendar:
    return build_post_calendar(phnom_penh, CALENDAR_FIRST_DAY, CALENDAR_LAST_DAY)
