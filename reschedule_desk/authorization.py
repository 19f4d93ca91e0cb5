"""The one gate every staff action passes, from the console's forms, the API and the CLI:
the access rules (console/access.py) applied to the request's post and, for a
reassignment, to the officer it goes to. The caller owns the database session."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from reschedule_desk.console.access import ACTION_PERMISSIONS, Forbidden, Principal, require
from reschedule_desk.desk import CaseNotFound
from reschedule_desk.storage import accounts, queue
from reschedule_desk.storage.tables import Account


class NotAnAssignee(ValueError):
    """The officer a request is being given to does not work its post."""


def post_of_request(session: Session, case_number: str) -> str:
    """The post of the case's latest request, as screening stored it."""
    row = queue.latest_request(session, case_number)
    if row is None:
        raise CaseNotFound(f"No request for case {case_number.strip().upper()} has been screened yet.")
    return row.post


def authorize_action(
    session: Session, principal: Principal, post: str, action: str, assignee: str | None = None
) -> None:
    """Raise unless `principal` may take `action` (a key of ACTION_PERMISSIONS) on a request
    of `post`: Forbidden, saying why; NotAnAssignee for a reassignment to someone who does
    not work that post."""
    require(principal, ACTION_PERMISSIONS[action], post)
    if action == "assign" and assignee not in accounts.workers_at(session, post):
        raise NotAnAssignee(f"{assignee or 'nobody'} is not an officer of this request's post")


def acting_account(session: Session, name: str) -> Principal:
    """The enabled account named `name`, as the access rules see it: for the CLI, whose
    caller names the officer. Forbidden when there is none."""
    account = session.scalar(select(Account).where(Account.name == name.strip()))
    if account is None or account.disabled_at is not None:
        raise Forbidden(f"{name} is not an enabled account of the desk")
    return accounts.principal_of(account)
