"""The changes officers make to a case file in the console, with who and when.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Officers record a child's CSPA confirmation and a contact with the case in the console;
each is one row here, in the same transaction as the change to the case file itself.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_file_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_file_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("value_before", sa.String(length=64), nullable=True),
        sa.Column("value_after", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_case_file_changes"),
        sa.ForeignKeyConstraint(
            ["case_file_id"],
            ["case_files.id"],
            name="fk_case_file_changes_case_file_id_case_files",
        ),
    )
    op.create_index("ix_case_file_changes_case_file_id", "case_file_changes", ["case_file_id"])


def downgrade() -> None:
    op.drop_table("case_file_changes")
