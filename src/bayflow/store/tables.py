"""The schema, as SQLAlchemy Core tables.

Column types are portable (no server-side defaults that only PostgreSQL has); times are stored
timezone-aware; binary digests are ``LargeBinary``. Constraint names follow one convention so
Alembic can alter them on both databases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

__all__ = [
    "UTCDateTime",
    "compliance_contracts",
    "compliance_decisions",
    "compliance_volume_individuals",
    "consent_events",
    "consent_products",
    "consents",
    "data_products",
    "data_requests",
    "form_requests",
    "hub_metadata",
    "identity_keys",
    "ledger_checkpoints",
    "ledger_entries",
    "ledger_state",
    "ledger_tiles",
    "mandates",
    "metadata",
    "oauth_assertions",
    "organisations",
    "persons",
    "status_lists",
    "wallet_credentials",
    "wallet_documents",
    "webhook_messages",
    "webhook_subscriptions",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both databases.

    PostgreSQL keeps the zone; SQLite stores text and hands back naive values, which would make
    every comparison with an aware ``now`` fail. Values are normalised to UTC going in and
    marked UTC coming out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs a timezone-aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Facts about this hub installation (its instance id, when it was created). Small and keyed, so
# it is a key/value table rather than a one-row table that every feature would widen.
hub_metadata = Table(
    "hub_metadata",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# --- Corp ID -------------------------------------------------------------------------------

organisations = Table(
    "organisations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("legal_name_en", String(300), nullable=False),
    Column("legal_name_zh", String(300)),
    Column("jurisdiction", String(2), nullable=False),
    Column("city", String(32), nullable=False),
    # Registry numbers are unique where present: one registration, one Corp ID.
    Column("hk_brn", String(8), unique=True),
    Column("cn_uscc", String(18), unique=True),
    Column("mo_registration", String(32), unique=True),
    Column("lei", String(20), unique=True),
    Column("is_operator", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

persons = Table(
    "persons",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("name", String(300), nullable=False),
    Column("name_zh", String(300)),
    # Space-separated role names: a handful of fixed words, read and written whole.
    Column("roles", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

identity_keys = Table(
    "identity_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("owner_kind", String(16), nullable=False),
    Column("owner_id", String(40), nullable=False, index=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_key", LargeBinary(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("retired_at", UTCDateTime()),
)

mandates = Table(
    "mandates",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("description", String(500), nullable=False),
    Column("role", String(32)),
    Column("persons", Text, nullable=False),
    Column("actions", Text, nullable=False),
    Column("min_signers", Integer, nullable=False),
    Column("limit_currency", String(3)),
    Column("limit_amount", Numeric(20, 2)),
    Column("valid_from", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime()),
    Column("created_at", UTCDateTime(), nullable=False),
)

# RFC 7523 §3 item 7: a client assertion's jti is accepted once. Rows are kept until the
# assertion expires, after which a replay fails on its expiry anyway.
oauth_assertions = Table(
    "oauth_assertions",
    metadata,
    Column("client_id", String(40), nullable=False),
    Column("jti", String(128), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("client_id", "jti"),
    Index("ix_oauth_assertions_expires_at", "expires_at"),
)

# --- Consent and the interchange -----------------------------------------------------------

data_products = Table(
    "data_products",
    metadata,
    Column("provider", ForeignKey("organisations.id"), nullable=False),
    Column("id", String(64), nullable=False),
    Column("title_en", String(200), nullable=False),
    Column("title_zh", String(200), nullable=False),
    Column("json_schema", Text, nullable=False),
    Column("personal_information", Boolean, nullable=False),
    Column("sensitive_categories", String(500), nullable=False),
    Column("held_in", String(2), nullable=False),
    Column("held_in_city", String(32), nullable=False),
    Column("endpoint", String(500), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("provider", "id"),
)

# One row per consent version. The canonical terms are kept verbatim: they are what every
# event signature covers, so they are never re-serialised from columns.
consents = Table(
    "consents",
    metadata,
    Column("id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("terms", Text, nullable=False),
    Column("digest", LargeBinary(), nullable=False),
    Column("data_owner", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("consumer", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("id", "version"),
)

consent_products = Table(
    "consent_products",
    metadata,
    Column("consent_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("provider", String(40), nullable=False, index=True),
    Column("product", String(64), nullable=False),
    PrimaryKeyConstraint("consent_id", "version", "provider", "product"),
)

consent_events = Table(
    "consent_events",
    metadata,
    Column("consent_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("action", String(16), nullable=False),
    Column("to_state", String(16), nullable=False),
    Column("actor", String(40), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("jws", Text, nullable=False),
    Column("digest", LargeBinary(), nullable=False),
    # (consent, version, seq) is unique: two clients signing "event 3" cannot both land.
    PrimaryKeyConstraint("consent_id", "version", "seq"),
)

# Every request routed under a consent: the access journal its data owner reads. Payloads are
# never stored; only the digest of the ciphertext relayed and the provider's signed receipt.
data_requests = Table(
    "data_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("consent_id", String(40), nullable=False),
    Column("consent_version", Integer, nullable=False),
    Column("consumer", String(40), nullable=False),
    Column("consumer_person", String(40), nullable=False),
    Column("provider", String(40), nullable=False),
    Column("product", String(64), nullable=False),
    Column("data_from", UTCDateTime()),
    Column("data_to", UTCDateTime()),
    Column("status", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("completed_at", UTCDateTime()),
    Column("ciphertext_digest", LargeBinary()),
    Column("receipt", Text),
    Column("failure", String(500)),
    # The consumer's signed statement that it purged what it received (end of data life).
    Column("deleted_at", UTCDateTime()),
    Column("deletion_receipt", Text),
    # The transfer gate's decision (in compliance_decisions; its digest is anchored).
    Column("decision_id", String(40)),
    Column("decision_digest", LargeBinary(32)),
    Column("decision_basis", String(300)),
    # The request's position among the requests under the same consent for the same product:
    # 1, 2, 3… in insertion order. The frequency limit counts a window as the difference of two
    # positions instead of reading every request in it (see store.requests). NULL only for a
    # row written other than through SqlRequestRepository.add, which nothing does.
    Column("seq", Integer),
    # Finds a window's earliest request.
    Index("ix_data_requests_window", "consent_id", "provider", "product", "created_at", "status"),
    # Finds the latest position, and the next one to assign.
    Index("ix_data_requests_seq", "consent_id", "provider", "product", "seq"),
    # Counts a window's requests of one status (failed ones are rare) without reading the rest.
    Index("ix_data_requests_status", "consent_id", "provider", "product", "status", "created_at"),
)

# --- Credential wallet and pre-filled forms --------------------------------------------------

# Token Status Lists the hub serves at /status-lists/{id}. Entries are not stored here: a list
# is rebuilt from its credentials' states whenever it is served.
status_lists = Table(
    "status_lists",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bits", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

wallet_credentials = Table(
    "wallet_credentials",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("type", String(40), nullable=False),
    Column("subject_id", String(40), nullable=False, index=True),
    Column("holder_kid", String(64), nullable=False),
    Column("sd_jwt", Text, nullable=False),
    Column("status_list_id", ForeignKey("status_lists.id"), nullable=False),
    Column("status_idx", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("issued_by", String(40), nullable=False),
    Column("mandate_id", String(40)),
    Column("form_request_id", String(40)),
    Column("state_changed_at", UTCDateTime()),
    Column("state_reason", String(300)),
    # One credential per status list entry: the constraint is what makes random allocation
    # safe with several workers.
    UniqueConstraint("status_list_id", "status_idx", name="uq_wallet_credentials_status_entry"),
)

wallet_documents = Table(
    "wallet_documents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("sha256", LargeBinary(), nullable=False),
    Column("size", Integer, nullable=False),
    Column("issuer", String(300)),
    Column("reference", String(100)),
    Column("expires_on", Date()),
    Column("uploaded_by", String(40), nullable=False),
    Column("uploaded_at", UTCDateTime(), nullable=False),
    Column("content", LargeBinary(), nullable=False),
)

form_requests = Table(
    "form_requests",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("requester_org", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("requester_person", String(40), nullable=False),
    Column("subject_org", ForeignKey("organisations.id"), nullable=False, index=True),
    # Space-separated claim paths, as mandates store their actions.
    Column("fields", Text, nullable=False),
    Column("purpose", String(500), nullable=False),
    Column("audience", String(300), nullable=False),
    Column("nonce", String(128), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("decided_at", UTCDateTime()),
    Column("decided_by", String(40)),
    Column("shared_fields", Text),
    Column("credential_id", String(40)),
    Column("presentation", Text),
    Column("reason", String(500)),
)

# Webhooks: where an organisation wants its notifications, and the outbox of messages to them.
# Removing a subscription marks it inactive, so the messages sent to it stay readable.
webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id"), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    # Space-separated event types; empty means every type, including ones added later.
    Column("event_types", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("active", Boolean, nullable=False),
)

# One row per message to one subscription, inserted in the transaction of the event it tells
# of. next_attempt_at is NULL once the message is delivered or dead, so the index on it holds
# the pending ones; a claimed message's next_attempt_at is the end of its claim's lease.
webhook_messages = Table(
    "webhook_messages",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("subscription_id", ForeignKey("webhook_subscriptions.id"), nullable=False, index=True),
    Column("organisation_id", String(40), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("url", String(2048), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), index=True),
    Column("claim", String(32)),
    Column("delivered_at", UTCDateTime()),
    Column("dead_at", UTCDateTime()),
    Column("last_status", Integer),
    Column("last_error", String(500)),
    Index("ix_webhook_messages_recent", "organisation_id", "created_at"),
)

# --- Verification ledger -------------------------------------------------------------------

# SQLite makes an INTEGER PRIMARY KEY the rowid, so a table keyed by a log index needs no second
# index; BIGINT there would get one. PostgreSQL needs 64 bits for a log of up to 2**63 entries.
_LogIndex = BigInteger().with_variant(Integer(), "sqlite")

# Every entry, with the exact leaf bytes the tree hashes (bayflow.ledger.entry, version 1).
# ``idx`` is given when the entry is anchored; the sequencer integrates entries into the tree in
# index order. Kind and digest are copied out of the leaf for look-ups: the unique constraint
# makes a resubmission find its original entry. Its column order is (digest, kind), so that the
# same index answers "every entry for this commitment", whatever its kind.
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("idx", _LogIndex, primary_key=True, autoincrement=False),
    Column("kind", String(32), nullable=False),
    Column("digest", LargeBinary(32), nullable=False),
    Column("issuer", String(255), nullable=False),
    Column("leaf", LargeBinary(), nullable=False),
    Column("anchored_at", UTCDateTime(), nullable=False),
    UniqueConstraint("digest", "kind", name="uq_ledger_entries_digest_kind"),
)

# c2sp.org/tlog-tiles hash tiles, keyed by (level, n). A full tile (width 256) never changes;
# the rightmost tile of a level is kept at its latest width and grows in place, and a partial
# tile of any smaller width is a prefix of it. Tiles rather than one row per stored hash: a tree
# of N leaves has about N/255 tiles but 2N stored hashes, and tiles are what the API serves.
ledger_tiles = Table(
    "ledger_tiles",
    metadata,
    Column("level", SmallInteger(), nullable=False),
    Column("n", BigInteger(), nullable=False),
    Column("width", SmallInteger(), nullable=False),
    Column("data", LargeBinary(), nullable=False),
    PrimaryKeyConstraint("level", "n"),
)

# Every checkpoint the log signed, one per tree size. ``note`` is the log-signed note;
# witnesses' cosignature lines accumulate in ``cosignatures`` as they arrive. A checkpoint is
# published (served, and used for proofs) once ``published_at`` is set: at signing without
# witnesses, when enough witnesses have cosigned with them.
ledger_checkpoints = Table(
    "ledger_checkpoints",
    metadata,
    Column("size", _LogIndex, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("note", Text(), nullable=False),
    Column("cosignatures", Text(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("published_at", UTCDateTime()),
)

# Two counters: ``next_index`` (the index the next anchored entry gets; its row lock orders
# anchoring transactions) and ``tree_size`` (how many entries the sequencer has integrated).
# Separate rows, so that the sequencer never waits on an anchoring transaction's row lock.
ledger_state = Table(
    "ledger_state",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("value", BigInteger(), nullable=False),
)

# --- Compliance ------------------------------------------------------------------------------

# Every compliance decision, as the RFC 8785 JSON whose SHA-256 (``digest``) is anchored in the
# ledger; the other columns are copied out of it for look-ups.
compliance_decisions = Table(
    "compliance_decisions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("requested_by", String(64), index=True),
    Column("exporter", String(64), index=True),
    Column("recipient", String(64), index=True),
    Column("verdict", String(32), nullable=False),
    Column("rules_version", String(32), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),
    Column("digest", LargeBinary(32), nullable=False, unique=True),
)

# Year-to-date volumes: one row per individual an exporter reported in a year, as the keyed
# pseudonym the exporter computed (never the identifier), sensitive and non-sensitive apart.
# The primary key de-duplicates, so a count of rows is a count of distinct individuals.
compliance_volume_individuals = Table(
    "compliance_volume_individuals",
    metadata,
    Column("exporter", String(64), nullable=False),
    Column("year", Integer, nullable=False),
    Column("sensitive", Boolean, nullable=False),
    Column("pseudonym", LargeBinary(32), nullable=False),
    Column("first_seen_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("exporter", "year", "sensitive", "pseudonym"),
)

# GBA Standard Contracts. ``body`` is the contract's JSON (parties, deadlines, filings); the
# parties and dates are copied out for look-ups.
compliance_contracts = Table(
    "compliance_contracts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("route", String(40), nullable=False),
    Column("exporter", String(64), nullable=False, index=True),
    Column("recipient", String(64), nullable=False, index=True),
    Column("effective_on", Date, nullable=False),
    Column("terminated_on", Date),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("body", Text, nullable=False),
)
