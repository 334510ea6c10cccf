"""Compliance: decisions, year-to-date volume pseudonyms, GBA Standard Contracts.

Revision ID: 0040
Revises: 0030
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_decisions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("exporter", sa.String(length=64), nullable=True),
        sa.Column("recipient", sa.String(length=64), nullable=True),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("rules_version", sa.String(length=32), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_decisions")),
        sa.UniqueConstraint("digest", name=op.f("uq_compliance_decisions_digest")),
    )
    with op.batch_alter_table("compliance_decisions", schema=None) as batch_op:
        for column in ("requested_by", "exporter", "recipient"):
            batch_op.create_index(
                batch_op.f(f"ix_compliance_decisions_{column}"), [column], unique=False
            )

    op.create_table(
        "compliance_volume_individuals",
        sa.Column("exporter", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sensitive", sa.Boolean(), nullable=False),
        sa.Column("pseudonym", sa.LargeBinary(length=32), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "exporter",
            "year",
            "sensitive",
            "pseudonym",
            name=op.f("pk_compliance_volume_individuals"),
        ),
    )

    op.create_table(
        "compliance_contracts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("route", sa.String(length=40), nullable=False),
        sa.Column("exporter", sa.String(length=64), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.Column("terminated_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_contracts")),
    )
    with op.batch_alter_table("compliance_contracts", schema=None) as batch_op:
        for column in ("exporter", "recipient"):
            batch_op.create_index(
                batch_op.f(f"ix_compliance_contracts_{column}"), [column], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("compliance_contracts", schema=None) as batch_op:
        for column in ("recipient", "exporter"):
            batch_op.drop_index(batch_op.f(f"ix_compliance_contracts_{column}"))
    op.drop_table("compliance_contracts")
    op.drop_table("compliance_volume_individuals")
    with op.batch_alter_table("compliance_decisions", schema=None) as batch_op:
        for column in ("recipient", "exporter", "requested_by"):
            batch_op.drop_index(batch_op.f(f"ix_compliance_decisions_{column}"))
    op.drop_table("compliance_decisions")
