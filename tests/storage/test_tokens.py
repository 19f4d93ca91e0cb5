"""API tokens and intake clients in the app database, on SQLite and PostgreSQL: a token
works while it is unexpired and its holder enabled, and nothing but its hash is kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from reschedule_desk.console.access import Role
from reschedule_desk.storage import accounts, tokens
from reschedule_desk.storage.tables import ApiToken

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def officer_token(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        accounts.add_account(session, "officer.kim", Role.OFFICER, ["nairobi"], "a long enough secret", NOW)
        token, _ = tokens.issue_staff_token(session, "officer.kim", NOW, expires_in_days=30)
    return token


def holder(sessions: sessionmaker[Session], token: str, at: datetime = NOW) -> tokens.TokenHolder | None:
    with sessions.begin() as session:
        return tokens.token_holder(session, token, at)


def test_a_token_names_its_account_with_its_role_and_posts(sessions, officer_token: str) -> None:
    principal = holder(sessions, officer_token).principal
    assert (principal.name, principal.role, principal.posts) == ("officer.kim", Role.OFFICER, {"nairobi"})


def test_only_the_secrets_hash_is_stored(sessions, officer_token: str) -> None:
    secret = officer_token.split(".")[2]
    with sessions() as session:
        (row,) = session.scalars(select(ApiToken)).all()
        assert secret not in (row.secret_sha256, row.token_id, row.label)
        assert len(row.secret_sha256) == 64


@pytest.mark.parametrize(
    "mistyped",
    ["", "rdt", "rdt..", "Bearer rdt.x.y", "rdt.0000000000000000.wrong", "xyz.{id}.{secret}", "rdt.{id}.{secret}x"],
)
def test_a_mistyped_token_belongs_to_nobody(sessions, officer_token: str, mistyped: str) -> None:
    _, token_id, secret = officer_token.split(".")
    assert holder(sessions, mistyped.format(id=token_id, secret=secret)) is None


def test_a_token_ends_when_it_expires(sessions, officer_token: str) -> None:
    assert holder(sessions, officer_token, NOW + timedelta(days=30) - timedelta(seconds=1)) is not None
    assert holder(sessions, officer_token, NOW + timedelta(days=30)) is None


def test_a_token_ends_when_its_account_is_disabled(sessions, officer_token: str) -> None:
    with sessions.begin() as session:
        accounts.set_disabled(session, "officer.kim", True, NOW)
    assert holder(sessions, officer_token) is None


def test_a_revoked_token_ends_and_the_others_go_on(sessions, officer_token: str) -> None:
    with sessions.begin() as session:
        other, _ = tokens.issue_staff_token(session, "officer.kim", NOW, label="script")
        assert tokens.revoke_staff_tokens(session, "officer.kim", tokens.DEFAULT_LABEL) == 1
    assert holder(sessions, officer_token) is None
    assert holder(sessions, other) is not None


def test_last_used_is_written_at_most_once_a_minute(sessions, officer_token: str) -> None:
    holder(sessions, officer_token, NOW)
    holder(sessions, officer_token, NOW + timedelta(seconds=30))
    with sessions() as session:
        assert session.scalar(select(ApiToken.last_used_at)) == NOW
    holder(sessions, officer_token, NOW + timedelta(minutes=1))
    with sessions() as session:
        assert session.scalar(select(ApiToken.last_used_at)) == NOW + timedelta(minutes=1)


def test_an_intake_client_token_names_the_client_until_it_is_revoked(sessions) -> None:
    with sessions.begin() as session:
        token = tokens.add_intake_client(session, "scheduling-site", NOW)
    assert holder(sessions, token) == tokens.TokenHolder(intake_client="scheduling-site")
    with sessions.begin() as session:
        tokens.revoke_intake_client(session, "scheduling-site", NOW)
    assert holder(sessions, token) is None
