"""Who works a request, and the console's accounts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it.
    with op.batch_alter_table("reschedule_requests") as batch:
        batch.add_column(sa.Column("assigned_officer", sa.String(length=64), nullable=True))
        batch.create_index("ix_reschedule_requests_assigned_officer", ["assigned_officer"])


def downgrade() -> None:
    with op.batch_alter_table("reschedule_requests") as batch:
        batch.drop_index("ix_reschedule_requests_assigned_officer")
        batch.drop_column("assigned_officer")
