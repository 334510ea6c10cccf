"""Consent and the interchange: data products, consent versions and their signed events.

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_events",
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("consent_id", "version", "seq", name=op.f("pk_consent_events")),
    )
    op.create_table(
        "consent_products",
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "consent_id", "version", "provider", "product", name=op.f("pk_consent_products")
        ),
    )
    with op.batch_alter_table("consent_products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_products_provider"), ["provider"], unique=False
        )

    op.create_table(
        "consents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("data_owner", sa.String(length=40), nullable=False),
        sa.Column("consumer", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consumer"], ["organisations.id"], name=op.f("fk_consents_consumer_organisations")
        ),
        sa.ForeignKeyConstraint(
            ["data_owner"], ["organisations.id"], name=op.f("fk_consents_data_owner_organisations")
        ),
        sa.PrimaryKeyConstraint("id", "version", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_consumer"), ["consumer"], unique=False)
        batch_op.create_index(batch_op.f("ix_consents_data_owner"), ["data_owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_consents_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "data_products",
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("title_zh", sa.String(length=200), nullable=False),
        sa.Column("json_schema", sa.Text(), nullable=False),
        sa.Column("personal_information", sa.Boolean(), nullable=False),
        sa.Column("sensitive_categories", sa.String(length=500), nullable=False),
        sa.Column("held_in", sa.String(length=2), nullable=False),
        sa.Column("held_in_city", sa.String(length=32), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["provider"], ["organisations.id"], name=op.f("fk_data_products_provider_organisations")
        ),
        sa.PrimaryKeyConstraint("provider", "id", name=op.f("pk_data_products")),
    )

    op.create_table(
        "data_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("consent_version", sa.Integer(), nullable=False),
        sa.Column("consumer", sa.String(length=40), nullable=False),
        sa.Column("consumer_person", sa.String(length=40), nullable=False),
        sa.Column("provider", sa.String(length=40), nullable=False),
        sa.Column("product", sa.String(length=64), nullable=False),
        sa.Column("data_from", sa.DateTime(timezone=True), nullable=True),
        sa.Column("data_to", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ciphertext_digest", sa.LargeBinary(), nullable=True),
        sa.Column("receipt", sa.Text(), nullable=True),
        sa.Column("failure", sa.String(length=500), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deletion_receipt", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_requests")),
    )
    op.create_index(
        "ix_data_requests_window",
        "data_requests",
        ["consent_id", "provider", "product", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_data_requests_window", table_name="data_requests")
    op.drop_table("data_requests")
    op.drop_table("data_products")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consents_expires_at"))
        batch_op.drop_index(batch_op.f("ix_consents_data_owner"))
        batch_op.drop_index(batch_op.f("ix_consents_consumer"))

    op.drop_table("consents")
    with op.batch_alter_table("consent_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_products_provider"))

    op.drop_table("consent_products")
    op.drop_table("consent_events")
