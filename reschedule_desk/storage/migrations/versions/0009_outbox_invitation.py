"""An email may carry the booked appointment as an .ics invitation.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

The confirmation of a booking carries the appointment as an iCalendar file, queued with
its email in the outbox and attached as the email leaves. Emails queued before have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it.
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("invitation", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("invitation")
