"""The console's accounts: who signs in, with which role, at which posts.

Passwords are hashed with Argon2id (argon2-cffi). Repeated failures lock the account for
a while; the lock lives in the database, so it holds across every web process. The caller
owns the transaction, as in repository.py.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from reschedule_desk.console.access import Principal, Role, can_work, check_account_posts
from reschedule_desk.domain.decisions import OfficerId
from reschedule_desk.storage.tables import Account, AccountPost, ApiToken

# Lock-out: this many failures in a row lock the account for LOCKOUT.
MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()
_officer_id = TypeAdapter(OfficerId)


class AccountExists(ValueError):
    pass


class UnknownAccount(LookupError):
    pass


class SignInOutcome(StrEnum):
    SIGNED_IN = "signed_in"
    REFUSED = "refused"  # unknown name, wrong password or disabled: the same answer for each
    LOCKED = "locked"


@dataclass(frozen=True)
class SignIn:
    outcome: SignInOutcome
    account: Account | None = None
    locked_until: datetime | None = None


def principal_of(account: Account) -> Principal:
    return Principal(name=account.name, role=account.role, posts=frozenset(p.post for p in account.posts))


def add_account(
    session: Session, name: str, role: Role, posts: Collection[str], password: str, now: datetime
) -> Account:
    """A new, enabled account. The name must be a valid officer id: decisions carry it."""
    try:
        name = _officer_id.validate_python(name)
    except ValidationError:
        raise ValueError(f"{name!r} is not a valid account name: letters, digits, '.', '@', '-' or '_'") from None
    check_account_posts(role, posts)
    check_password(password)
    if session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise AccountExists(f"an account named {name} already exists")
    account = Account(
        name=name,
        role=role,
        password_hash=_hasher.hash(password),
        created_at=now,
        failed_sign_ins=0,
        session_version=0,
        posts=[AccountPost(post=post) for post in sorted(set(posts))],
    )
    session.add(account)
    session.flush()
    return account


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.name)))


def account_named(session: Session, name: str) -> Account:
    account = session.scalar(select(Account).where(Account.name == name))
    if account is None:
        raise UnknownAccount(f"no account named {name}")
    return account


def set_disabled(session: Session, name: str, disabled: bool, now: datetime) -> Account:
    """Disable (ending its sessions and its API tokens, for good) or enable an account."""
    account = account_named(session, name)
    if disabled and account.disabled_at is None:
        account.disabled_at = now
        account.session_version += 1
        session.execute(delete(ApiToken).where(ApiToken.account_id == account.id))
    elif not disabled:
        account.disabled_at = None
        account.failed_sign_ins = 0
        account.locked_until = None
    return account


def sign_in(session: Session, name: str, password: str, now: datetime) -> SignIn:
    """Check a name and password, counting failures towards the lock-out."""
    account = session.scalar(select(Account).where(Account.name == name.strip()))
    if account is None or account.disabled_at is not None:
        # Spend the time a real check takes, so the answer's delay does not tell
        # which names exist.
        _verify(_dummy_hash(), password)
        return SignIn(SignInOutcome.REFUSED)
    if account.locked_until is not None and account.locked_until > now:
        return SignIn(SignInOutcome.LOCKED, locked_until=account.locked_until)
    if not _verify(account.password_hash, password):
        account.failed_sign_ins += 1
        if account.failed_sign_ins >= MAX_FAILED_SIGN_INS:
            account.failed_sign_ins = 0
            account.locked_until = now + LOCKOUT
            return SignIn(SignInOutcome.LOCKED, locked_until=account.locked_until)
        return SignIn(SignInOutcome.REFUSED)
    account.failed_sign_ins = 0
    account.locked_until = None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return SignIn(SignInOutcome.SIGNED_IN, account=account)


def signed_in_account(session: Session, account_id: int, session_version: int) -> Account | None:
    """The account a session cookie names, while it is enabled and the session not ended."""
    account = session.get(Account, account_id)
    if account is None or account.disabled_at is not None or account.session_version != session_version:
        return None
    return account


def end_sessions(session: Session, account_id: int) -> None:
    """Sign the account out everywhere: every cookie issued so far stops working."""
    account = session.get(Account, account_id)
    if account is not None:
        account.session_version += 1


def workers_at(session: Session, post: str) -> list[str]:
    """Names of the enabled accounts a request of `post` may be assigned to."""
    rows = session.scalars(
        select(Account).join(AccountPost).where(AccountPost.post == post, Account.disabled_at.is_(None))
    )
    return sorted({account.name for account in rows if can_work(principal_of(account), post)})


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash("not a password anyone has")
