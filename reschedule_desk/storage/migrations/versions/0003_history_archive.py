"""The auditors' archive of workflow histories, and the audit trail's hash chain.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21

Audit rows written before this revision keep empty hash columns: `reschedule audit
verify` names them, and checks them against the workflow history alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it.
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("previous_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))

    op.create_table(
        "workflow_histories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("case_number", sa.String(length=20), nullable=False),
        sa.Column("workflow_id", sa.String(length=255), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("history_json", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workflow_histories"),
        sa.UniqueConstraint("run_id", "content_hash", name="uq_workflow_histories_run_id_content_hash"),
    )
    op.create_index("ix_workflow_histories_request_id", "workflow_histories", ["request_id"])
    op.create_index("ix_workflow_histories_case_number", "workflow_histories", ["case_number"])


def downgrade() -> None:
    op.drop_index("ix_workflow_histories_case_number", table_name="workflow_histories")
    op.drop_index("ix_workflow_histories_request_id", table_name="workflow_histories")
    op.drop_table("workflow_histories")
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("row_hash")
        batch.drop_column("previous_hash")
