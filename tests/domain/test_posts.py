"""Posts are configuration: the shipped posts.toml holds the pages' rules, and a broken file
says where and what."""

from __future__ import annotations

from datetime import time

import pytest

from reschedule_desk.domain.posts import (
    HoursBeforeClosing,
    PostsConfigError,
    PreviousWorkingDayClosing,
    UnknownPost,
    Weekday,
    parse_posts,
)
from reschedule_desk.domain.request import ReasonCategory
from reschedule_desk.settings import DEFAULT_POSTS_FILE

SHIPPED = DEFAULT_POSTS_FILE.read_text(encoding="utf-8")


def line_number_of(text: str, fragment: str) -> int:
    """The 1-based line of the first line holding `fragment`."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def broken(old: str, new: str) -> str:
    assert old in SHIPPED
    return SHIPPED.replace(old, new, 1)


def test_the_shipped_file_serves_nairobi_and_phnom_penh(posts):
    assert sorted(posts.posts) == ["nairobi", "phnom-penh"]
    assert posts.post("nairobi").name == "U.S. Embassy Nairobi"
    assert posts.post("phnom-penh").name == "U.S. Embassy Phnom Penh"


def test_not_including_k1s_at_both_posts(nairobi, phnom_penh):
    assert "K1" in nairobi.excluded_visa_classes
    assert "K1" in phnom_penh.excluded_visa_classes


def test_not_including_sb1s_at_nairobi_only(nairobi, phnom_penh):
    assert "SB1" in nairobi.excluded_visa_classes
    assert "SB1" not in phnom_penh.excluded_visa_classes


def test_time_zones_and_countries(nairobi, phnom_penh):
    assert (nairobi.country, nairobi.time_zone) == ("KE", "Africa/Nairobi")
    assert (phnom_penh.country, phnom_penh.time_zone) == ("KH", "Asia/Phnom_Penh")


def test_saturday_and_sunday_are_the_weekend(nairobi, phnom_penh):
    for post in (nairobi, phnom_penh):
        assert post.weekend == [Weekday.SATURDAY, Weekday.SUNDAY]


def test_nairobi_closing_time_is_48_hours(nairobi):
    assert nairobi.appointment_closing == HoursBeforeClosing(kind="hours_before", hours=48)


def test_phnom_penh_closing_time_is_11_am_the_previous_working_day(phnom_penh):
    assert phnom_penh.appointment_closing == PreviousWorkingDayClosing(
        kind="previous_working_day_at", at=time(11, 0)
    )


def test_cancel_at_least_three_working_days_prior_and_check_again_in_72_hours(nairobi, phnom_penh):
    for post in (nairobi, phnom_penh):
        assert post.cancel_notice_working_days == 3
        assert post.no_slots_retry_hours == 72


def test_nairobi_reasons_missed_or_attended_but_not_interviewed(nairobi):
    assert nairobi.eligible_reasons == [
        ReasonCategory.MISSED_APPOINTMENT,
        ReasonCategory.ATTENDED_NOT_INTERVIEWED,
    ]


def test_phnom_penh_reasons_missed_embassy_cancelled_or_follow_to_join(phnom_penh):
    assert phnom_penh.eligible_reasons == [
        ReasonCategory.MISSED_APPOINTMENT,
        ReasonCategory.EMBASSY_CANCELLED,
        ReasonCategory.FOLLOW_TO_JOIN_INVITED,
    ]


def test_nairobi_contacts_from_its_page(nairobi):
    assert nairobi.contacts.scheduling_url == "https://ais.usvisa-info.com/en-ke/iv/"
    assert nairobi.contacts.phone_local == "+254-20-6190-600"
    assert nairobi.contacts.phone_us == "+1-703-988-7112"


def test_a_posts_file_with_a_visa_bulletin_table_is_refused_pointing_at_bulletin_import():
    text = SHIPPED.replace(
        "[posts.nairobi]", '[visa_bulletin]\nas_of = "2026-11"\n\n[visa_bulletin.final_action_dates]\nF2A = "2024-02-01"\n\n[posts.nairobi]', 1
    )
    with pytest.raises(PostsConfigError) as error:
        parse_posts(text, source="posts.toml")
    assert str(error.value).startswith("posts.toml: visa_bulletin: the Visa Bulletin is data now")
    assert "`reschedule bulletin import FILE`" in str(error.value)


def test_the_shipped_posts_hold_no_visa_bulletin(posts):
    assert "visa_bulletin" not in SHIPPED
    assert not hasattr(posts, "visa_bulletin")


def test_a_broken_value_names_the_line_and_the_field():
    text = broken('time_zone = "Africa/Nairobi"', 'time_zone = "Africa/Nairobbi"')
    with pytest.raises(PostsConfigError) as error:
        parse_posts(text, source="posts.toml")
    line = line_number_of(text, "Africa/Nairobbi")
    assert f"posts.toml:{line}: posts.nairobi.time_zone:" in str(error.value)
    assert "not an IANA time zone" in str(error.value)


def test_a_broken_closing_rule_names_the_line_of_its_key():
    text = broken("hours = 48", "hours = 0")
    with pytest.raises(PostsConfigError) as error:
        parse_posts(text, source="posts.toml")
    assert f"posts.toml:{line_number_of(text, 'hours = 0')}: " in str(error.value)
    assert "posts.nairobi.appointment_closing" in str(error.value)


def test_a_missing_field_names_its_table_and_the_field():
    text = broken('inquiry_url = "https://kh.usembassy.gov/visas/"\n', "")
    with pytest.raises(PostsConfigError) as error:
        parse_posts(text, source="posts.toml")
    line = line_number_of(text, "[posts.phnom-penh.contacts]")
    assert f"posts.toml:{line}: posts.phnom-penh.contacts.inquiry_url: Field required" in str(error.value)


def test_an_unknown_field_is_refused_by_name():
    text = broken("no_slots_retry_hours = 72", "no_slots_retry_hours = 72\nslots_per_day = 40")
    with pytest.raises(PostsConfigError) as error:
        parse_posts(text, source="posts.toml")
    assert f"posts.toml:{line_number_of(text, 'slots_per_day')}: posts.nairobi.slots_per_day" in str(
        error.value
    )


def test_an_unknown_reason_is_refused():
    text = broken('"attended_not_interviewed"]', '"bad_weather"]')
    with pytest.raises(PostsConfigError, match=r"posts\.nairobi\.eligible_reasons"):
        parse_posts(text)


def test_a_reminder_must_come_before_the_window_ends():
    text = broken("reminder_lead_business_days = 2", "reminder_lead_business_days = 10")
    with pytest.raises(PostsConfigError, match="must be shorter than the shortest window"):
        parse_posts(text)


def test_a_toml_syntax_error_names_the_line():
    text = broken("hours = 48", "hours = = 48")
    with pytest.raises(PostsConfigError, match=rf"line {line_number_of(text, 'hours = = 48')}"):
        parse_posts(text)


def test_an_unknown_post_lists_the_known_posts(posts):
    with pytest.raises(UnknownPost) as error:
        posts.post("paris")
    assert str(error.value) == "unknown post 'paris'; known posts: nairobi, phnom-penh"
    assert isinstance(error.value, KeyError)
