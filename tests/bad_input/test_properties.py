"""Property-based rules for what applicants and configuration can send: whatever comes in
is either taken whole or refused naming the field; nothing downstream (screening, the
calendar, storage, emails, the payload codec) ever breaks on what was taken."""

from __future__ import annotations

import asyncio
import re
import tomllib
import unicodedata
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

from reschedule_desk.domain.calendar import PostCalendar, build_post_calendar
from reschedule_desk.domain.case_file import BulletinRow, CaseFile
from reschedule_desk.domain.eligibility import (
    RULE_APPLICANTS_ON_LETTER,
    RULE_CASE_ON_FILE,
    RULE_REASON_ACCEPTED,
    RULES,
    screen,
)
from reschedule_desk.domain.posts import PostsConfigError, UnknownPost, parse_posts
from reschedule_desk.domain.records import CaseFileFacts, EmailKind
from reschedule_desk.domain.request import (
    CASE_NUMBER_PATTERN,
    POST_OWNED_APPLICANT_FIELDS,
    POST_OWNED_REQUEST_FIELDS,
    MaritalStatus,
    ReasonCategory,
    Relationship,
    RescheduleRequest,
    normalise_visa_class,
)
from reschedule_desk.mail.delivery import build_message
from reschedule_desk.mail.rendering import EmailContext, render_email
from reschedule_desk.settings import DEFAULT_POSTS_FILE
from tests.conftest import TEST_DATA_CONVERTER, make_case, make_request

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
    request = validated(applicants=[{"full_name": name, "date_of_birth": "1990-06-21"}])
    assert request.principal.full_name == name.strip()
    assert RescheduleRequest.model_validate_json(request.model_dump_json()) == request


@FAST
@given(st.text(min_size=1, max_size=20), st.sampled_from(["\x00", "\n", "\r", "\x1b", "\ud800", "\x7f"]))
def test_a_name_with_a_control_character_is_refused_naming_the_field(name: str, control: str) -> None:
    bad = f"a{name}{control}x"  # inside the name: surrounding whitespace is only trimmed
    with pytest.raises(ValidationError) as error:
        validated(applicants=[{"full_name": bad, "date_of_birth": "1990-06-21"}])
    assert refused_on(error.value) == {"applicants.0.full_name"}
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
        ("applicants", [{"full_name": f"A{i}", "date_of_birth": "1990-01-01"} for i in range(21)]),
        ("applicants", [{"full_name": "A", "date_of_birth": "1990-02-30"}]),
        ("contact_email", ""),
        ("contact_email", "x" * 300 + "@example.com"),
        ("reason_category", "bored"),
        ("reason_category", "MISSED_APPOINTMENT"),
    ],
)
def test_empty_oversized_or_unknown_values_are_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as error:
        validated(**{field: value})
    assert any(location == field or location.startswith(f"{field}.") for location in refused_on(error.value)) or (
        refused_on(error.value) == {""}  # a rule across fields names them in its message
        and field in str(error.value)
    )


# Whatever its value, a fact only the post's case file may state is refused by name.
any_value = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | st.sampled_from([*Relationship, *MaritalStatus])


@FAST
@given(st.sampled_from(POST_OWNED_REQUEST_FIELDS), any_value)
def test_a_fact_the_post_owns_is_refused_naming_it_whatever_its_value(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as error:
        validated(**{field: value})
    assert f"{field}: the post's case file holds this" in str(error.value)


@FAST
@given(st.sampled_from(POST_OWNED_APPLICANT_FIELDS), any_value)
def test_an_applicants_fact_the_post_owns_is_refused_naming_it_whatever_its_value(field: str, value: object) -> None:
    applicant = {"full_name": "A", "date_of_birth": "1990-01-01", field: value}
    with pytest.raises(ValidationError) as error:
        validated(applicants=[applicant])
    assert refused_on(error.value) == {"applicants.0"}
    assert f"{field}: the post's case file holds this" in str(error.value)


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


# Screening: any case the post may file, any request for it, at any time ----------------

any_day = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))
on_the_letter = st.builds(
    lambda name, born, relationship, marital_status, cspa: {
        "full_name": name, "date_of_birth": born.isoformat(), "relationship": relationship,
        "marital_status": marital_status, "cspa_confirmed_on": cspa.isoformat() if cspa else None,
    },
    names, any_day, st.sampled_from(["spouse", "child"]), st.sampled_from(list(MaritalStatus)), st.none() | any_day,
)


@st.composite
def cases(draw) -> CaseFile:
    principal = draw(on_the_letter) | {"relationship": "principal"}
    return CaseFile.model_validate(
        make_case(
            case_number="NRB2024100001",
            petitioner_id="NRB-P-000417",
            visa_class=draw(st.sampled_from(["IR1", "CR1", "F2A", "F4", "K1", "SB1", "E2", "DV"])),
            visa_class_on_letter=draw(st.none() | st.sampled_from(["IR1", "F2A", "F2B", "K1"])),
            priority_date=draw(st.none() | any_day.map(date.isoformat)),
            preference_category=draw(st.sampled_from(["IR", "K", "F2A", "F4", "E4", "DV"])),
            chargeability=draw(st.sampled_from(["KE", "KH", "PH"])),
            original_appointment_at=draw(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31))).isoformat(),
            interviewed_on=draw(st.none() | any_day.map(date.isoformat)),
            last_contact_on=draw(any_day).isoformat(),
            applicants=[principal, *draw(st.lists(on_the_letter, max_size=4))],
        )
    )


def final_actions(case: CaseFile) -> st.SearchStrategy[BulletinRow | None]:
    return st.none() | st.builds(
        lambda month, chargeability, cut_off: BulletinRow(
            month=month.replace(day=1), category=case.preference_category, chargeability=chargeability,
            final_action_date=cut_off,
        ),
        any_day, st.sampled_from(["ALL", case.chargeability]), st.none() | any_day,
    )


@st.composite
def screenings(draw) -> tuple[RescheduleRequest, CaseFile | None, BulletinRow | None, list[str]]:
    """A request as an applicant may send it for a case (some of its letter's names, and
    strangers), the case as filed (or not at all), the bulletin's row, other open cases."""
    case = draw(cases())
    travelling = draw(st.lists(st.sampled_from(case.applicants), max_size=5))
    named = [{"full_name": a.full_name, "date_of_birth": a.date_of_birth.isoformat()} for a in travelling]
    strangers = draw(st.lists(st.tuples(names, any_day), max_size=3))
    named += [{"full_name": name, "date_of_birth": born.isoformat()} for name, born in strangers]
    principal = case.applicants[0]
    request = validated(
        case_number=case.case_number,
        applicants=named or [{"full_name": principal.full_name, "date_of_birth": principal.date_of_birth.isoformat()}],
        reason_category=draw(st.sampled_from(list(ReasonCategory))),
    )
    filed = draw(st.sampled_from([case, case, case, None]))
    others = draw(st.lists(st.from_regex(r"NRB[0-9]{10}", fullmatch=True), max_size=3))
    return request, filed, draw(final_actions(case)), others


_calendars: dict[tuple[str, date], PostCalendar] = {}


def calendar_for(code: str, submitted_at: datetime) -> PostCalendar:
    post = POSTS.post(code)
    local = submitted_at.astimezone(post.zone).date()
    if (code, local) not in _calendars:
        _calendars[(code, local)] = build_post_calendar(post, local, local + timedelta(days=30))
    return _calendars[(code, local)]


def facts_for(code: str, case: CaseFile | None, row: BulletinRow | None, others: list[str], submitted_at: datetime) -> CaseFileFacts:
    return CaseFileFacts(
        post=POSTS.post(code), calendar=calendar_for(code, submitted_at), case=case,
        bulletin_month=row.month if row else None, final_action=row, other_open_cases_of_petitioner=others,
    )


A_YEAR_AFTER_THE_LAST_ONE = (
    validated(case_number="NRB2024100001", applicants=[{"full_name": "A", "date_of_birth": "9999-12-31"}]),
    CaseFile.model_validate(
        make_case(
            case_number="NRB2024100001", last_contact_on="9999-12-31", original_appointment_at="9999-12-31T23:59",
            applicants=[{"full_name": "A", "date_of_birth": "9999-12-31", "relationship": "principal", "marital_status": "single"},
                        {"full_name": "B", "date_of_birth": "0001-01-01", "relationship": "child", "marital_status": "single"}],
        )
    ),
    None,
    [],
)


@FAST
@given(screenings(), instants, st.sampled_from(list(POSTS.posts)))
@example(A_YEAR_AFTER_THE_LAST_ONE, datetime(2026, 11, 21, 12, tzinfo=UTC), "nairobi")
def test_screening_any_case_at_any_time_checks_every_rule_and_never_breaks(
    screening, submitted_at: datetime, code: str
) -> None:
    request, case, row, others = screening
    request = request.model_copy(update={"post": code})
    facts = facts_for(code, case, row, others, submitted_at)
    outcomes = screen(request, facts, submitted_at)
    if case is None:  # the reason, and no such case: screened no further
        assert [outcome.rule for outcome in outcomes] == [RULE_REASON_ACCEPTED, RULE_CASE_ON_FILE]
        assert not outcomes[1].passed
    else:
        assert [outcome.rule for outcome in outcomes] == list(RULES)
    assert all(outcome.explanation for outcome in outcomes)
    inquiry = POSTS.post(code).contacts.inquiry_url
    assert all(inquiry in outcome.explanation for outcome in outcomes if not outcome.passed)
    assert screen(request, facts, submitted_at) == outcomes, "deterministic"


# Latin letters with and without accents, and Khmer letters and vowel signs.
letters = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyzáéíóúñçãõüöäëïâêîôûàèìòùýčšžřěůőűłøåæ")
    + list("កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអ")
    + list("ាិីឹឺុូួើឿៀេែៃោៅំះ់")
)
name_parts = st.lists(st.text(letters, min_size=1, max_size=8), min_size=1, max_size=4)


def without_latin_accents(name: str) -> str:
    return unicodedata.normalize("NFC", re.sub("[\u0300-\u036f]", "", unicodedata.normalize("NFD", name)))


births = st.dates(min_value=date(1940, 1, 1), max_value=date(2026, 1, 1))
rewrites = st.sampled_from([str.upper, str.lower, without_latin_accents, lambda name: name])


@FAST
@given(st.lists(st.tuples(name_parts, births), min_size=1, max_size=5), st.data())
def test_everyone_on_the_letter_however_they_write_their_name_is_on_it(roster, data) -> None:
    letter = [
        {"full_name": " ".join(parts), "date_of_birth": born.isoformat(),
         "relationship": "child" if number else "principal", "marital_status": "single"}
        for number, (parts, born) in enumerate(roster)
    ]
    written = [
        {
            "full_name": data.draw(rewrites)(data.draw(st.sampled_from([" ", "  ", "-", "\u00a0"])).join(data.draw(st.permutations(parts)))),
            "date_of_birth": born.isoformat(),
        }
        for parts, born in roster
    ]
    case = CaseFile.model_validate(make_case(case_number="NRB2024100001", applicants=letter))
    request = validated(case_number="NRB2024100001", applicants=written)
    submitted_at = datetime(2026, 11, 21, 12, tzinfo=UTC)
    outcomes = screen(request, facts_for("nairobi", case, None, [], submitted_at), submitted_at)
    [on_letter] = [outcome for outcome in outcomes if outcome.rule == RULE_APPLICANTS_ON_LETTER]
    assert on_letter.passed, (written, letter)


# Downstream: storage, emails, the codec --------------------------------------------------


requests = st.builds(
    lambda names_and_days, reason: validated(
        applicants=[{"full_name": name, "date_of_birth": born.isoformat()} for name, born in names_and_days],
        reason_category=reason,
    ),
    st.lists(st.tuples(names, any_day), min_size=1, max_size=4),
    st.sampled_from(list(ReasonCategory)),
)


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
