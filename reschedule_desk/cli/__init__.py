"""`reschedule`: the desk's verbs for scripts, the same as the API's and the console's.

Each group of verbs lives in a module of this package and adds its own subcommands.
Exit status: 0 done, 1 refused or not found (the reason on standard error), 2 bad usage
or bad input.
"""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from reschedule_desk.cli import audit, bulletin, calendar, cases, clients, requests, slots, users
from reschedule_desk.console.access import Forbidden
from reschedule_desk.desk import ActionRefused, CaseNotFound, RequestAlreadyOpen
from reschedule_desk.domain.posts import PostsConfigError, UnknownPost
from reschedule_desk.settings import Settings

REFUSED = 1
BAD_INPUT = 2

VERB_GROUPS = (requests, calendar, users, clients, audit, cases, bulletin, slots)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reschedule", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    for group in VERB_GROUPS:
        group.add_verbs(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Each verb's `run(args, settings)` prints its result and returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()  # a TLS setting it cannot use is bad input too
        return args.run(args, settings)
    except (ValidationError, ValueError, UnknownPost, PostsConfigError, OSError) as error:
        print(f"reschedule: {error}", file=sys.stderr)
        return BAD_INPUT
    except (ActionRefused, CaseNotFound, RequestAlreadyOpen, Forbidden) as error:
        print(f"reschedule: {error}", file=sys.stderr)
        return REFUSED
    except RuntimeError as error:  # the Temporal client's "failed client connect"
        print(f"reschedule: cannot reach Temporal at {settings.temporal_address}: {error}", file=sys.stderr)
        return REFUSED


if __name__ == "__main__":
    sys.exit(main())
