"""Who works a request, and the console's accounts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21

The console's accounts (with the posts of officers and supervisors), and the index its
queue pages through: a post's open requests by the end of their window.
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
        batch.create_index(
            "ix_reschedule_requests_post_window_ends_at_request_id", ["post", "window_ends_at", "request_id"]
        )

    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_accounts"),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
    )
    op.create_table(
        "account_posts",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("post", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "post", name="pk_account_posts"),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name="fk_account_posts_account_id_accounts", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    op.drop_table("account_posts")
    op.drop_table("accounts")
    with op.batch_alter_table("reschedule_requests") as batch:
        batch.drop_index("ix_reschedule_requests_post_window_ends_at_request_id")
        batch.drop_index("ix_reschedule_requests_assigned_officer")
        batch.drop_column("assigned_officer")
