"""Credential wallet: status lists, issued credentials, uploaded documents, form requests.

Revision ID: 0020
Revises: 0010
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_lists",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_lists")),
    )
    op.create_table(
        "form_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("requester_org", sa.String(length=40), nullable=False),
        sa.Column("requester_person", sa.String(length=40), nullable=False),
        sa.Column("subject_org", sa.String(length=40), nullable=False),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=500), nullable=False),
        sa.Column("audience", sa.String(length=300), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=40), nullable=True),
        sa.Column("shared_fields", sa.Text(), nullable=True),
        sa.Column("credential_id", sa.String(length=40), nullable=True),
        sa.Column("presentation", sa.Text(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["requester_org"],
            ["organisations.id"],
            name=op.f("fk_form_requests_requester_org_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["subject_org"],
            ["organisations.id"],
            name=op.f("fk_form_requests_subject_org_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_requests")),
    )
    with op.batch_alter_table("form_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_form_requests_requester_org"), ["requester_org"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_form_requests_subject_org"), ["subject_org"], unique=False
        )

    op.create_table(
        "wallet_credentials",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=False),
        sa.Column("holder_kid", sa.String(length=64), nullable=False),
        sa.Column("sd_jwt", sa.Text(), nullable=False),
        sa.Column("status_list_id", sa.Integer(), nullable=False),
        sa.Column("status_idx", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=40), nullable=False),
        sa.Column("mandate_id", sa.String(length=40), nullable=True),
        sa.Column("form_request_id", sa.String(length=40), nullable=True),
        sa.Column("state_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state_reason", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_wallet_credentials_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["status_list_id"],
            ["status_lists.id"],
            name=op.f("fk_wallet_credentials_status_list_id_status_lists"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_credentials")),
        sa.UniqueConstraint(
            "status_list_id", "status_idx", name="uq_wallet_credentials_status_entry"
        ),
    )
    with op.batch_alter_table("wallet_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_credentials_organisation_id"), ["organisation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_wallet_credentials_subject_id"), ["subject_id"], unique=False
        )

    op.create_table(
        "wallet_documents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organisation_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=300), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=40), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_wallet_documents_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_documents")),
    )
    with op.batch_alter_table("wallet_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_documents_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("wallet_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_documents_organisation_id"))
    op.drop_table("wallet_documents")
    with op.batch_alter_table("wallet_credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_credentials_subject_id"))
        batch_op.drop_index(batch_op.f("ix_wallet_credentials_organisation_id"))
    op.drop_table("wallet_credentials")
    with op.batch_alter_table("form_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_requests_subject_org"))
        batch_op.drop_index(batch_op.f("ix_form_requests_requester_org"))
    op.drop_table("form_requests")
    op.drop_table("status_lists")
