"""shared rate turns: processes sharing a database pace a platform's limits together

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_turns",
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("full_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("route", name=op.f("pk_rate_turns")),
    )


def downgrade() -> None:
    op.drop_table("rate_turns")
