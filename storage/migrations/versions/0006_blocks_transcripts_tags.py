"""blocks, transcripts, tags, saved replies, duty and categories: customers whose messages
open no ticket, each close's record, the tags agents sort tickets by, saved replies added from
chat, replies sent in the team's voice, agents' shifts for round-robin assignment, and the
intake category a ticket was opened in with the answers to its questions

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tags", sa.String(length=600), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("category", sa.String(length=40), server_default="general", nullable=False)
        )
        batch_op.add_column(sa.Column("answers", sa.JSON(), server_default="[]", nullable=False))
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("anonymous", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "snippets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("locale", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("by_name", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", "locale", name=op.f("pk_snippets")),
    )
    op.create_table(
        "agent_duty",
        sa.Column("agent_ref", sa.String(length=100), nullable=False),
        sa.Column("agent_name", sa.String(length=200), nullable=False),
        sa.Column("teams", sa.String(length=600), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("since", UTCDateTime(), nullable=True),
        sa.Column("last_assigned_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("agent_ref", name=op.f("pk_agent_duty")),
    )
    op.create_table(
        "customer_blocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("by_ref", sa.String(length=100), nullable=False),
        sa.Column("by_name", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("blocked_at", UTCDateTime(), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=True),
        sa.Column("noticed_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_by_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_blocks_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_blocks")),
    )
    op.create_index(
        op.f("ix_customer_blocks_customer_id"), "customer_blocks", ["customer_id"], unique=False
    )
    op.create_table(
        "transcripts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("made_at", UTCDateTime(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_transcripts_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcripts")),
    )
    op.create_index(op.f("ix_transcripts_ticket_id"), "transcripts", ["ticket_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_transcripts_ticket_id"), table_name="transcripts")
    op.drop_table("transcripts")
    op.drop_index(op.f("ix_customer_blocks_customer_id"), table_name="customer_blocks")
    op.drop_table("customer_blocks")
    op.drop_table("agent_duty")
    op.drop_table("snippets")
    with op.batch_alter_table("ticket_messages", schema=None) as batch_op:
        batch_op.drop_column("anonymous")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("answers")
        batch_op.drop_column("category")
        batch_op.drop_column("tags")
