"""Corp ID: organisations, people, keys, mandates and client-assertion replay guard.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_assertions",
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("jti", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_oauth_assertions")),
    )
    with op.batch_alter_table("oauth_assertions", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_assertions_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("legal_name_en", sa.String(length=300), nullable=False),
        sa.Column("legal_name_zh", sa.String(length=300), nullable=True),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("city", sa.String(length=32), nullable=False),
        sa.Column("hk_brn", sa.String(length=8), nullable=True),
        sa.Column("cn_uscc", sa.String(length=18), nullable=True),
        sa.Column("mo_registration", sa.String(length=32), nullable=True),
        sa.Column("lei", sa.String(length=20), nullable=True),
        sa.Column("is_operator", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("cn_uscc", name=op.f("uq_organisations_cn_uscc")),
        sa.UniqueConstraint("hk_brn", name=op.f("uq_organisations_hk_brn")),
        sa.UniqueConstraint("lei", name=op.f("uq_organisations_lei")),
        sa.UniqueConstraint("mo_registration", name=op.f("uq_organisations_mo_registration")),
    )
    op.create_table(
        "identity_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("owner_kind", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=40), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_identity_keys_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_identity_keys")),
    )
    with op.batch_alter_table("identity_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_keys_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_identity_keys_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "mandates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=40), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("persons", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("min_signers", sa.Integer(), nullable=False),
        sa.Column("limit_currency", sa.String(length=3), nullable=True),
        sa.Column("limit_amount", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_mandates_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mandates")),
    )
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mandates_organisation_id"), ["organisation_id"], unique=False
        )

    op.create_table(
        "persons",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_zh", sa.String(length=300), nullable=True),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_persons_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_persons")),
    )
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_persons_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("persons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_persons_organisation_id"))

    op.drop_table("persons")
    with op.batch_alter_table("mandates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mandates_organisation_id"))

    op.drop_table("mandates")
    with op.batch_alter_table("identity_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identity_keys_owner_id"))
        batch_op.drop_index(batch_op.f("ix_identity_keys_organisation_id"))

    op.drop_table("identity_keys")
    op.drop_table("organisations")
    with op.batch_alter_table("oauth_assertions", schema=None) as batch_op:
        batch_op.drop_index("ix_oauth_assertions_expires_at")

    op.drop_table("oauth_assertions")
