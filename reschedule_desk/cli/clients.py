"""`reschedule clients add|list|revoke`: the intake clients, the systems that submit
applicants' requests (the scheduling site)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from reschedule_desk.cli.users import REFUSED, sessions_of
from reschedule_desk.settings import Settings
from reschedule_desk.storage import tokens


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    clients = verbs.add_parser("clients", help="the intake clients that submit requests")
    client_verbs = clients.add_subparsers(dest="clients_verb", required=True)

    add = client_verbs.add_parser("add", help="register an intake client; its token is printed once, on the last line")
    add.add_argument("name", help="e.g. scheduling-site")
    add.set_defaults(run=_add)

    listing = client_verbs.add_parser("list", help="list the intake clients")
    listing.set_defaults(run=_list)

    revoke = client_verbs.add_parser("revoke", help="revoke an intake client and its token")
    revoke.add_argument("name")
    revoke.set_defaults(run=_revoke)


def _add(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with sessions_of(settings).begin() as session:
            token = tokens.add_intake_client(session, args.name, datetime.now(UTC))
    except tokens.ClientExists as exists:
        print(f"reschedule: {exists}", file=sys.stderr)
        return REFUSED
    print(f"intake client {args.name} added; its token, shown this once:")
    print(token)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    with sessions_of(settings)() as session:
        for client, last_used in tokens.intake_clients(session):
            state = f"revoked {client.revoked_at:%Y-%m-%d}" if client.revoked_at else "active"
            used = f"last used {last_used:%Y-%m-%d %H:%M}" if last_used else "never used"
            print(f"{client.name}\t{state}\t{used}")
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with sessions_of(settings).begin() as session:
            tokens.revoke_intake_client(session, args.name, datetime.now(UTC))
    except tokens.UnknownClient as unknown:
        print(f"reschedule: {unknown}", file=sys.stderr)
        return REFUSED
    print(f"intake client {args.name} revoked")
    return 0
