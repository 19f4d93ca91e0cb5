"""Requests screened from the post's case file: what the applicant no longer states.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

A request now carries only what the applicant knows. Its row takes the visa class from
the case file (none when the post has no file of the case), finds the petitioner's other
cases through the case file rather than a fingerprint of a typed name, and an applicant
who is not on the letter has no relationship or marital status the post vouches for.
Rows written before keep their values.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite alters a table by copying it.
    with op.batch_alter_table("reschedule_requests") as batch:
        batch.alter_column("visa_class", existing_type=sa.String(length=8), nullable=True)
        batch.alter_column("petitioner_fingerprint", existing_type=sa.String(length=64), nullable=True)
    with op.batch_alter_table("applicants") as batch:
        batch.alter_column("relationship", existing_type=sa.String(length=32), nullable=True)
        batch.alter_column("marital_status", existing_type=sa.String(length=32), nullable=True)


def downgrade() -> None:
    # Only rows written before this revision have every value; newer rows stop a downgrade.
    with op.batch_alter_table("applicants") as batch:
        batch.alter_column("marital_status", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("relationship", existing_type=sa.String(length=32), nullable=False)
    with op.batch_alter_table("reschedule_requests") as batch:
        batch.alter_column("petitioner_fingerprint", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("visa_class", existing_type=sa.String(length=8), nullable=False)
