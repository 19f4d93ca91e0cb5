"""`reschedule users` and `reschedule clients`: accounts, their API tokens and the intake
clients from the command line; the password from standard input."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from reschedule_desk import cli
from reschedule_desk.settings import Settings
from reschedule_desk.storage import accounts, tokens
from reschedule_desk.storage.tables import Account, ApiToken


@pytest.fixture
def reschedule(console_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setattr(cli.Settings, "from_env", classmethod(lambda cls, environ=None: console_settings))

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


@pytest.fixture
def users(reschedule):
    return lambda *argv, stdin="": reschedule("users", *argv, stdin=stdin)


@pytest.fixture
def clients(reschedule):
    return lambda *argv: reschedule("clients", *argv)


def test_adding_an_officer_reads_the_password_from_standard_input(users, db) -> None:
    code, out, _ = users("add", "officer.kim", "--role", "officer", "--post", "nairobi", "--post", "phnom-penh",
                         stdin="a long enough secret\n")
    assert code == 0 and out == "officer.kim\tofficer\tnairobi,phnom-penh\tenabled\n"
    with db.begin() as session:
        stored = session.query(Account).one()
        assert stored.password_hash.startswith("$argon2id$"), "hashed with Argon2id, never kept as typed"
        assert accounts.sign_in(session, "officer.kim", "a long enough secret", stored.created_at).account is not None


def test_listing_and_disabling_accounts(users) -> None:
    users("add", "auditor.lee", "--role", "auditor", stdin="a long enough secret\n")
    users("add", "officer.kim", "--role", "officer", "--post", "nairobi", stdin="a long enough secret\n")
    assert users("disable", "officer.kim")[0] == 0
    code, out, _ = users("list")
    assert code == 0
    assert out.splitlines() == ["auditor.lee\tauditor\t-\tenabled", "officer.kim\tofficer\tnairobi\tdisabled"]
    assert users("enable", "officer.kim")[1] == "officer.kim\tofficer\tnairobi\tenabled\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("add", "officer.x", "--role", "officer"), "an officer needs at least one post (--post)"),
        (("add", "auditor.x", "--role", "auditor", "--post", "nairobi"), "an auditor has no posts"),
        (("add", "officer.x", "--role", "officer", "--post", "atlantis"), "unknown post 'atlantis'"),
        (("add", "officer x", "--role", "officer", "--post", "nairobi"), "is not a valid account name"),
    ],
)
def test_bad_input_is_exit_status_2_naming_the_problem(users, argv: tuple[str, ...], message: str) -> None:
    code, _, err = users(*argv, stdin="a long enough secret\n")
    assert code == 2 and message in err


def test_a_short_password_is_refused(users) -> None:
    code, _, err = users("add", "officer.x", "--role", "officer", "--post", "nairobi", stdin="short\n")
    assert code == 2 and "at least 12 characters" in err


def test_a_second_account_of_the_same_name_is_refused(users) -> None:
    users("add", "officer.kim", "--role", "officer", "--post", "nairobi", stdin="a long enough secret\n")
    code, _, err = users("add", "officer.kim", "--role", "admin", stdin="another long secret\n")
    assert code == 1 and "an account named officer.kim already exists" in err


def test_disabling_an_unknown_account_is_refused(users) -> None:
    code, _, err = users("disable", "nobody.here")
    assert code == 1 and "no account named nobody.here" in err


# API tokens ------------------------------------------------------------------------------


@pytest.fixture
def officer(users) -> str:
    users("add", "officer.kim", "--role", "officer", "--post", "nairobi", stdin="a long enough secret\n")
    return "officer.kim"


def test_a_token_is_printed_once_alone_on_the_last_line_and_stored_only_as_a_hash(users, officer, db) -> None:
    code, out, _ = users("token", officer, "--label", "laptop", "--expires-in-days", "30")
    token = out.splitlines()[-1]
    assert code == 0 and token.startswith("rdt.") and len(token) > 50
    with db() as session:
        (stored,) = session.scalars(select(ApiToken)).all()
        assert stored.label == "laptop" and (stored.expires_at - stored.created_at).days == 30
        assert token.split(".")[2] not in (stored.secret_sha256, stored.token_id)
        assert tokens.token_holder(session, token, stored.created_at).principal.name == officer


def test_a_second_token_of_the_same_label_is_refused(users, officer) -> None:
    users("token", officer)
    code, _, err = users("token", officer)
    assert code == 1 and "already has a token labelled default" in err


@pytest.mark.parametrize("days", ["0", "367"])
def test_a_token_lives_one_day_to_a_year(users, officer, days: str) -> None:
    code, _, err = users("token", officer, "--expires-in-days", days)
    assert code == 2 and "a token lives 1 to 366 days" in err


def test_a_disabled_account_gets_no_token(users, officer) -> None:
    users("disable", officer)
    code, _, err = users("token", officer)
    assert code == 2 and "is disabled" in err


def test_revoking_one_label_or_all_tokens(users, officer, db) -> None:
    for label in ("laptop", "script", "phone"):
        users("token", officer, "--label", label)
    assert users("revoke-token", officer, "--label", "laptop")[1] == "1 token of officer.kim ended\n"
    assert users("revoke-token", officer, "--all")[1] == "2 tokens of officer.kim ended\n"
    code, _, err = users("revoke-token", officer, "--label", "laptop")
    assert code == 1 and "has no token labelled laptop" in err


def test_revoking_needs_a_label_or_all(users, officer) -> None:
    with pytest.raises(SystemExit) as usage:
        users("revoke-token", officer)
    assert usage.value.code == 2


def test_disabling_an_account_ends_its_tokens_and_enabling_does_not_bring_them_back(users, officer, db) -> None:
    token = users("token", officer)[1].splitlines()[-1]
    users("disable", officer)
    users("enable", officer)
    with db() as session:
        assert tokens.token_holder(session, token, datetime.now(UTC)) is None
        assert session.scalars(select(ApiToken)).all() == []


# Intake clients --------------------------------------------------------------------------


def test_an_intake_client_gets_a_token_on_the_last_line(clients, db) -> None:
    code, out, _ = clients("add", "scheduling-site")
    token = out.splitlines()[-1]
    assert code == 0 and token.startswith("rdt.")
    with db() as session:
        assert tokens.token_holder(session, token, datetime.now(UTC)).intake_client == "scheduling-site"
    assert clients("list")[1].startswith("scheduling-site\tactive\t")


def test_a_revoked_intake_client_is_listed_and_its_token_ends(clients, db) -> None:
    token = clients("add", "scheduling-site")[1].splitlines()[-1]
    assert clients("revoke", "scheduling-site")[0] == 0
    with db() as session:
        assert tokens.token_holder(session, token, datetime.now(UTC)) is None
    assert "\trevoked " in clients("list")[1]
    code, _, err = clients("add", "scheduling-site")
    assert code == 1 and "already exists (revoked" in err


def test_revoking_an_unknown_intake_client_is_refused(clients) -> None:
    code, _, err = clients("revoke", "nobody")
    assert code == 1 and "no intake client named nobody" in err
