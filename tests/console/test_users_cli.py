"""`reschedule users`: accounts from the command line, the password from standard input."""

from __future__ import annotations

import io

import pytest

from reschedule_desk import cli
from reschedule_desk.settings import Settings
from reschedule_desk.storage import accounts
from reschedule_desk.storage.tables import Account


@pytest.fixture
def users(console_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setattr(cli.Settings, "from_env", classmethod(lambda cls, environ=None: console_settings))

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(["users", *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


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
