"""Property-based rules for what applicants and configuration can send: whatever comes in
is either taken whole or refused naming the field; nothing downstream (screening, the
calendar, storage, emails, the payload codec) ever breaks on what was taken."""

from __future__ import annotations

import asyncio
import re
import tomllib
from datetime import UTC, date, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from pydantic import ValidationError

from reschedule_desk.domain.calendar import build_post_calendar
from reschedule_desk.domain.eligibility import RULES, screen
from reschedule_desk.domain.posts import PostsConfigError, UnknownPost, parse_posts
from reschedule_desk.domain.records import EmailKind, ScreeningFacts
from reschedule_desk.domain.request import (
    CASE_NUMBER_PATTERN,
    MaritalStatus,
    ReasonCategory,
    Relationship,
    RescheduleRequest,
    normalise_visa_class,
)
from reschedule_desk.mail.delivery import build_message
from reschedule_desk.mail.rendering import EmailContext, render_email
from reschedule_desk.settings import DEFAULT_POSTS_FILE
from tests.conftest import TEST_DATA_CONVERTER, make_request

SHIPPED_POSTS = DEFAULT_POSTS_FILE.read_text(encoding="utf-8")
POSTS = parse_posts(SHIPPED_POSTS)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Names as applicants write them: Khmer, Swahili, accents, and any letter at all.
NAMES = ("សុខ ចាន់ធីតា", "Wanjiru wa Kamau", "Zoë Ñúñez-Ólafsdóttir", "Nguyễn Thị Minh Khai", "O'Brien", "李小龙", "محمد")
printable = st.characters(blacklist_categories=("Cc", "Cs"))
names = st.one_of(
    st.sampled_from(NAMES),
    st.just("<b>Amina</b> & Co"),
    st.text(printable, min_size=1, max_size=200).filter(lambda name: name.strip()),
)
# Instants the desk may see, across every offset and DST change in these zones.
ZONES = ("Africa/Nairobi", "Asia/Phnom_Penh", "America/New_York", "Europe/London", "Australia/Lord_Howe",
         "Pacific/Chatham", "America/Sao_Paulo", "Asia/Kathmandu")
instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))


def refused_on(error: ValidationError) -> set[str]:
    return {".".join(str(part) for part in problem["loc"]) for problem in error.errors()}


def validated(**changes) -> RescheduleRequest:
    return RescheduleRequest.model_validate(make_request(**changes))


# Fields -------------------------------------------------------------------------------


@FAST
@given(st.text(max_size=30))
@example("nrb2024123456")
@example(" NRB2024123456 ")
@example("NRB20241234567")
def test_a_case_number_is_taken_normalised_or_refused_naming_the_field(text: str) -> None:
    try:
        request = validated(case_number=text)
    except ValidationError as error:
        assert refused_on(error) == {"case_number"}
        assert not re.fullmatch(CASE_NUMBER_PATTERN, text.strip().upper())
    else:
        assert re.fullmatch(CASE_NUMBER_PATTERN, request.case_number)
        assert request.case_number == text.strip().upper()


@FAST
@given(names)
def test_a_name_in_any_script_is_taken_as_written(name: str) -> None:
    applicant = {"full_name": name, "date_of_birth": "1990-06-21", "relationship": "principal"}
    request = validated(applicants=[applicant], petitioner={"full_name": name})
    assert request.principal.full_name == name.strip()
    assert RescheduleRequest.model_validate_json(request.model_dump_json()) == request


@FAST
@given(st.text(min_size=1, max_size=20), st.sampled_from(["\x00", "\n", "\r", "\x1b", "\ud800", "\x7f"]))
def test_a_name_with_a_control_character_is_refused_naming_the_field(name: str, control: str) -> None:
    bad = f"a{name}{control}x"  # inside the name: surrounding whitespace is only trimmed
    with pytest.raises(ValidationError) as error:
        validated(petitioner={"full_name": bad})
    assert refused_on(error.value) == {"petitioner.full_name"}
    assert bad not in str(error.value), "the refusal does not repeat the input"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reason", ""),
        ("reason", "   "),
        ("reason", "x" * 2001),
        ("reason", "tab\tand\nnew lines are fine, but not \x00"),
        ("post", ""),
        ("post", "x" * 41),
        ("applicants", []),
        ("applicants", [{"full_name": f"A{i}", "date_of_birth": "1990-01-01", "relationship": "child"} for i in range(21)]),
        ("contact_email", ""),
        ("contact_email", "x" * 300 + "@example.com"),
        ("visa_class", ""),
        ("visa_class", "IR1" * 10),
        ("reason_category", "bored"),
        ("reason_category", "MISSED_APPOINTMENT"),
        ("last_contact_on", "2026-02-30"),
        ("original_appointment_at", "2026-11-20T08:30:00+03:00"),
    ],
)
def test_empty_oversized_or_unknown_values_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as error:
        validated(**{field: value})
    assert any(location == field or location.startswith(f"{field}.") for location in refused_on(error.value)) or (
        refused_on(error.value) == {""}  # a rule across fields names them in its message
        and field in str(error.value)
    )


@FAST
@given(
    st.sampled_from(["relationship", "marital_status"]),
    st.text(max_size=12).filter(lambda value: value not in {*Relationship, *MaritalStatus}),
)
def test_an_unknown_enum_value_is_refused_naming_the_field(field: str, value: str) -> None:
    applicant = {"full_name": "A", "date_of_birth": "1990-01-01", "relationship": "principal", field: value}
    with pytest.raises(ValidationError) as error:
        validated(applicants=[applicant])
    assert f"applicants.0.{field}" in refused_on(error.value)


@FAST
@given(st.text(max_size=12))
@example("K-1")
@example(" k 1 ")
@example("SB-1")
def test_a_visa_class_is_normalised_once_or_refused_with_an_example(text: str) -> None:
    try:
        cleaned = normalise_visa_class(text)
    except ValueError as error:
        assert "is not a visa class such as IR1" in str(error)
    else:
        assert normalise_visa_class(cleaned) == cleaned
        assert len(cleaned) <= 8, "fits its column"


@FAST
@given(st.text(max_size=40))
def test_an_unknown_post_is_refused_naming_the_posts_there_are(code: str) -> None:
    assume(code not in POSTS.posts)
    with pytest.raises(UnknownPost, match="known posts: nairobi, phnom-penh"):
        POSTS.post(code)


# Dates, time zones and DST -------------------------------------------------------------


@FAST
@given(st.sampled_from(ZONES), instants, st.integers(min_value=0, max_value=30), st.sampled_from(list(POSTS.posts)))
def test_windows_and_releases_fall_on_business_days_in_the_posts_own_time(
    zone: str, started: datetime, days: int, code: str
) -> None:
    post = POSTS.post(code).model_copy(update={"time_zone": zone})
    local_start = started.astimezone(ZoneInfo(zone)).date()
    calendar = build_post_calendar(post, local_start, local_start + timedelta(days=2 * 366))
    release = calendar.release_time(started, days)
    end = calendar.window_end(started, max(days, 1))
    reminder = calendar.reminder_time(end, 1) if max(days, 1) > 1 else None

    for moment in filter(None, (release, end, reminder)):
        assert moment.utcoffset() is not None
    assert calendar.local_date(end) > local_start and calendar.is_business_day(calendar.local_date(end))
    if days:
        assert calendar.is_business_day(calendar.local_date(release)) and release > started
    assert end.astimezone(ZoneInfo(zone)).time().replace(second=0) in (post.closing_time, _shifted(post.closing_time))
    if reminder is not None:
        assert started < reminder < end


def _shifted(moment: time) -> time:
    """A wall time inside a DST gap reads an hour (Lord Howe: half an hour) later."""
    return (datetime.combine(date(2000, 1, 1), moment) + timedelta(hours=1)).time()


requests = st.builds(
    lambda name, born, contacted, appointment, priority, reason, visa: validated(
        applicants=[{"full_name": name, "date_of_birth": born.isoformat(), "relationship": "principal"}],
        last_contact_on=contacted.isoformat(),
        original_appointment_at=appointment.isoformat(),
        priority_date=priority.isoformat() if priority else None,
        reason_category=reason,
        visa_class=visa,
    ),
    names,
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)),
    st.none() | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.sampled_from(list(ReasonCategory)),
    st.sampled_from(["IR1", "F2A", "F4", "K1", "SB1", "E2", "DV", "CR1"]),
)


@FAST
@given(requests, instants, st.sampled_from(list(POSTS.posts)))
@example(
    validated(  # a year later than the last year there is
        last_contact_on="9999-12-31",
        applicants=[{"full_name": "A", "date_of_birth": "9999-12-31", "relationship": "principal"}],
    ),
    datetime(2026, 11, 21, 12, tzinfo=UTC),
    "nairobi",
)
def test_screening_any_request_at_any_time_checks_every_rule_and_never_breaks(
    request: RescheduleRequest, submitted_at: datetime, code: str
) -> None:
    request = request.model_copy(update={"post": code})
    post = POSTS.post(code)
    local = submitted_at.astimezone(post.zone).date()
    facts = ScreeningFacts(
        post=post,
        visa_bulletin=POSTS.visa_bulletin,
        calendar=build_post_calendar(post, local, local + timedelta(days=30)),
    )
    outcomes = screen(request, facts, submitted_at)
    assert [outcome.rule for outcome in outcomes] == list(RULES)
    assert all(outcome.explanation for outcome in outcomes)


# Downstream: storage, emails, the codec --------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(requests)
def test_any_request_taken_renders_its_email_and_survives_the_encrypted_converter(request: RescheduleRequest) -> None:
    post = POSTS.post(request.post)
    rendered = render_email(
        EmailContext(
            request=request, post=post, kind=EmailKind.ACKNOWLEDGEMENT, submitted_at=datetime.now(UTC),
            approval_email_release_at=datetime.now(UTC) + timedelta(days=7),
        )
    )
    name = request.principal.full_name
    if name in rendered.text_body:
        assert str(escape(name)) in rendered.html_body, "named in the HTML too, as text"
    if "<" in name:
        assert name not in rendered.html_body, "a name is never markup"
    message = build_message(
        SimpleNamespace(
            message_key="k-001-acknowledgement", recipient=request.contact_email, subject=rendered.subject,
            text_body=rendered.text_body, html_body=rendered.html_body, created_at=datetime.now(UTC),
        )
    )
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes())
    assert parsed["Subject"] == rendered.subject

    async def round_trip() -> RescheduleRequest:
        payloads = await TEST_DATA_CONVERTER.encode([request])
        return (await TEST_DATA_CONVERTER.decode(payloads, [RescheduleRequest]))[0]

    assert asyncio.run(round_trip()) == request


# The posts file ---------------------------------------------------------------------------

def _whole_value_on_the_line(line: str) -> bool:
    try:
        tomllib.loads(line)
    except tomllib.TOMLDecodeError:
        return False
    return True


# Lines of the shipped file that set a value inside a post's table, with their number.
POST_VALUE_LINES = [
    (number, line)
    for number, line in enumerate(SHIPPED_POSTS.splitlines(), 1)
    if re.match(r"^[a-z_]+ = ", line)
    and number > SHIPPED_POSTS.splitlines().index("[posts.nairobi]")
    and _whole_value_on_the_line(line)
]
WRONG_VALUES = ['"not that"', "-7", "[1, 2]", "{ a = 1 }", '"2026-13-45"', "99999"]


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(POST_VALUE_LINES), st.sampled_from(WRONG_VALUES))
def test_a_wrong_value_in_the_posts_file_is_refused_naming_its_line_and_field(line_and_text, wrong: str) -> None:
    number, line = line_and_text
    key = line.split(" = ")[0]
    lines = SHIPPED_POSTS.splitlines()
    lines[number - 1] = f"{key} = {wrong}"
    try:
        parse_posts("\n".join(lines), source="posts.toml")
    except PostsConfigError as error:
        message = str(error)
        assert f"posts.toml:{number}:" in message, message
        assert key in message, message
    # Some wrong values are right for some keys (99999 where any number will do): fine.
