"""Bearer tokens: a staff account's (the API, the codec endpoint) and an intake client's
(the scheduling site that submits applicants' requests).

A token reads `rdt.<token_id>.<secret>`. It is shown once, when made; the database keeps
the token id, which finds the row, and the SHA-256 of the secret, compared in constant
time. A hash without a salt or a slow function is enough here, unlike for passwords: the
secret is 256 random bits, not something a person chose. The caller owns the transaction,
as in repository.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reschedule_desk.console.access import Principal
from reschedule_desk.domain.decisions import OfficerId
from reschedule_desk.storage.accounts import UnknownAccount, account_named, principal_of
from reschedule_desk.storage.tables import Account, ApiToken, IntakeClient

TOKEN_PREFIX = "rdt"
DEFAULT_LABEL = "default"
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 366
# "Last used" is written at most this often per token: every call would otherwise be a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_label = TypeAdapter(OfficerId)  # the same letters as an account name


class TokenLabelTaken(ValueError):
    pass


class UnknownClient(LookupError):
    pass


class ClientExists(ValueError):
    pass


@dataclass(frozen=True)
class TokenHolder:
    """Who a valid token belongs to: a staff account (`principal`) or an intake client."""

    principal: Principal | None = None
    intake_client: str | None = None


def _new_token() -> tuple[str, str, str]:
    """(the token as shown once, its id, the SHA-256 of its secret)."""
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}.{token_id}.{secret}", token_id, _sha256(secret)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_staff_token(
    session: Session,
    account_name: str,
    now: datetime,
    label: str = DEFAULT_LABEL,
    expires_in_days: int = DEFAULT_LIFETIME_DAYS,
) -> tuple[str, ApiToken]:
    """A new token for an enabled account: (the token, shown this once; its row)."""
    account = account_named(session, account_name)
    if account.disabled_at is not None:
        raise ValueError(f"the account {account.name} is disabled: enable it before giving it a token")
    try:
        label = _label.validate_python(label)
    except ValidationError:
        raise ValueError(f"{label!r} is not a valid label: letters, digits, '.', '@', '-' or '_'") from None
    if not 1 <= expires_in_days <= MAX_LIFETIME_DAYS:
        raise ValueError(f"a token lives 1 to {MAX_LIFETIME_DAYS} days, not {expires_in_days}")
    taken = select(ApiToken.id).where(ApiToken.account_id == account.id, ApiToken.label == label)
    if session.scalar(taken) is not None:
        raise TokenLabelTaken(
            f"{account.name} already has a token labelled {label}: revoke it first, or choose another --label"
        )
    token, token_id, digest = _new_token()
    row = ApiToken(
        token_id=token_id,
        secret_sha256=digest,
        account_id=account.id,
        label=label,
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days),
    )
    session.add(row)
    session.flush()
    return token, row


def tokens_of(session: Session, account: Account) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.label)))


def staff_tokens(session: Session) -> list[ApiToken]:
    """Every staff account's tokens, by account name and label (the Accounts page)."""
    return list(session.scalars(select(ApiToken).join(ApiToken.account).order_by(Account.name, ApiToken.label)))


def revoke_staff_tokens(session: Session, account_name: str, label: str | None = None) -> int:
    """End the account's token of that label, or all of them (label None); how many ended."""
    account = account_named(session, account_name)
    condition = ApiToken.account_id == account.id
    if label is not None:
        condition &= ApiToken.label == label
    ended = session.execute(delete(ApiToken).where(condition)).rowcount
    if label is not None and not ended:
        raise UnknownAccount(f"{account.name} has no token labelled {label}")
    return ended


def add_intake_client(session: Session, name: str, now: datetime) -> str:
    """Register an intake client; its token, shown this once."""
    try:
        name = _label.validate_python(name)
    except ValidationError:
        raise ValueError(f"{name!r} is not a valid client name: letters, digits, '.', '@', '-' or '_'") from None
    existing = session.scalar(select(IntakeClient).where(IntakeClient.name == name))
    if existing is not None:
        revoked = " (revoked; a name is not used twice)" if existing.revoked_at else ""
        raise ClientExists(f"an intake client named {name} already exists{revoked}")
    client = IntakeClient(name=name, created_at=now)
    session.add(client)
    session.flush()
    token, token_id, digest = _new_token()
    session.add(
        ApiToken(token_id=token_id, secret_sha256=digest, intake_client_id=client.id, label=name, created_at=now)
    )
    return token


def intake_clients(session: Session) -> list[tuple[IntakeClient, datetime | None]]:
    """Every intake client, with when its token was last used."""
    rows = session.execute(
        select(IntakeClient, ApiToken.last_used_at)
        .outerjoin(ApiToken, ApiToken.intake_client_id == IntakeClient.id)
        .order_by(IntakeClient.name)
    )
    return [(client, last_used) for client, last_used in rows]


def revoke_intake_client(session: Session, name: str, now: datetime) -> IntakeClient:
    client = session.scalar(select(IntakeClient).where(IntakeClient.name == name))
    if client is None:
        raise UnknownClient(f"no intake client named {name}")
    client.revoked_at = client.revoked_at or now
    session.execute(delete(ApiToken).where(ApiToken.intake_client_id == client.id))
    return client


def token_holder(session: Session, presented: str, now: datetime) -> TokenHolder | None:
    """Who `presented` belongs to, while it is unexpired and its account enabled (or its
    client not revoked); None for anything else, with no hint of which check failed."""
    prefix, _, rest = presented.partition(".")
    token_id, _, secret = rest.partition(".")
    if prefix != TOKEN_PREFIX or not token_id or not secret or len(presented) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_id == token_id))
    if row is None or not hmac.compare_digest(row.secret_sha256, _sha256(secret)):
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
    if row.account is not None:
        if row.account.disabled_at is not None:
            return None
        return TokenHolder(principal=principal_of(row.account))
    if row.intake_client is not None and row.intake_client.revoked_at is None:
        return TokenHolder(intake_client=row.intake_client.name)
    return None
