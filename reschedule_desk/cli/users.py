"""`reschedule users add|list|disable|enable|token|revoke-token`: the desk's staff accounts,
and their API tokens.

The password is asked for twice at a terminal, or read from standard input (one line)
when it is not a terminal, so scripts can pipe it in; it never appears in arguments,
where `ps` and shell histories would keep it.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime

from reschedule_desk.console.access import Role
from reschedule_desk.settings import Settings
from reschedule_desk.storage import accounts, tokens
from reschedule_desk.storage.database import make_engine, make_sessionmaker, migrate

REFUSED = 1


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    users = verbs.add_parser("users", help="the console's accounts")
    user_verbs = users.add_subparsers(dest="users_verb", required=True)

    add = user_verbs.add_parser("add", help="add an account; the password is asked for or read from standard input")
    add.add_argument("name", help="the officer id decisions carry, e.g. officer.kim")
    add.add_argument("--role", required=True, choices=[role.value for role in Role])
    add.add_argument(
        "--post", dest="posts", action="append", default=[], metavar="POST",
        help="a post the officer or supervisor works at; repeat for several",
    )
    add.set_defaults(run=_add)

    listing = user_verbs.add_parser("list", help="list the accounts")
    listing.set_defaults(run=_list)

    for verb, summary in (
        ("disable", "disable an account and end its sessions and API tokens"),
        ("enable", "enable an account again (its tokens stay ended)"),
    ):
        parser = user_verbs.add_parser(verb, help=summary)
        parser.add_argument("name")
        parser.set_defaults(run=_set_disabled)

    token = user_verbs.add_parser(
        "token", help="make an API token for an account; printed once, alone on the last line"
    )
    token.add_argument("name")
    token.add_argument("--label", default=tokens.DEFAULT_LABEL, help="which token this is, e.g. a laptop or a script")
    token.add_argument(
        "--expires-in-days", type=int, default=tokens.DEFAULT_LIFETIME_DAYS,
        help=f"default {tokens.DEFAULT_LIFETIME_DAYS}, at most {tokens.MAX_LIFETIME_DAYS}",
    )
    token.set_defaults(run=_token)

    revoke = user_verbs.add_parser("revoke-token", help="end an account's token of one label, or all of them")
    revoke.add_argument("name")
    which = revoke.add_mutually_exclusive_group(required=True)
    which.add_argument("--label")
    which.add_argument("--all", action="store_true")
    revoke.set_defaults(run=_revoke_token)


def sessions_of(settings: Settings):
    migrate(settings.database_url)  # the accounts may come before the first `make run`
    return make_sessionmaker(make_engine(settings.database_url))


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise ValueError("the two passwords differ")
    return password


def _add(args: argparse.Namespace, settings: Settings) -> int:
    for post in args.posts:
        settings.posts.post(post)  # an unknown post is bad input, named
    password = _read_password()
    try:
        with sessions_of(settings).begin() as session:
            account = accounts.add_account(session, args.name, Role(args.role), args.posts, password, datetime.now(UTC))
            print(_line(account))
    except accounts.AccountExists as exists:
        print(f"reschedule: {exists}", file=sys.stderr)
        return REFUSED
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with sessions_of(settings)() as session:
        for account in accounts.accounts(session):
            print(_line(account))
    return 0


def _set_disabled(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with sessions_of(settings).begin() as session:
            print(_line(accounts.set_disabled(session, args.name, args.users_verb == "disable", datetime.now(UTC))))
    except accounts.UnknownAccount as unknown:
        print(f"reschedule: {unknown}", file=sys.stderr)
        return REFUSED
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with sessions_of(settings).begin() as session:
            token, row = tokens.issue_staff_token(
                session, args.name, datetime.now(UTC), label=args.label, expires_in_days=args.expires_in_days
            )
            print(f"token {row.label} for {args.name}, expires {row.expires_at:%Y-%m-%d %H:%M} UTC; shown this once:")
    except (accounts.UnknownAccount, tokens.TokenLabelTaken) as refusal:
        print(f"reschedule: {refusal}", file=sys.stderr)
        return REFUSED
    print(token)
    return 0


def _revoke_token(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with sessions_of(settings).begin() as session:
            ended = tokens.revoke_staff_tokens(session, args.name, None if args.all else args.label)
    except accounts.UnknownAccount as unknown:
        print(f"reschedule: {unknown}", file=sys.stderr)
        return REFUSED
    print(f"{ended} token{'s' if ended != 1 else ''} of {args.name} ended")
    return 0


def _line(account) -> str:
    posts = ",".join(post.post for post in account.posts) or "-"
    state = "disabled" if account.disabled_at else "enabled"
    return f"{account.name}\t{account.role.value}\t{posts}\t{state}"
