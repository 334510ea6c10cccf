"""Settings: the only module that reads the environment.

Every setting has the prefix ``BAYFLOW_`` (``BAYFLOW_DATABASE_URL``, ``BAYFLOW_DATA_DIR``…).
With nothing set, the hub keeps everything in ``./.bayflow/`` and uses an embedded SQLite
database there, so one command runs it on a machine with nothing but Python.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bayflow.errors import ConfigurationError

__all__ = ["LogFormat", "Settings", "load_settings"]

LogFormat = Literal["auto", "json", "text"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BAYFLOW_",
        extra="ignore",
        frozen=True,
    )

    data_dir: Path = Field(
        default=Path(".bayflow"),
        description="Where the hub keeps its database, keys and exported files.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL. None means the embedded SQLite file data_dir/bayflow.db; "
            "PostgreSQL is postgresql+psycopg://user@host:port/db."
        ),
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)
    log_format: LogFormat = Field(
        default="auto",
        description="json for JSON lines; text for people; auto picks text on a terminal.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    public_url: str | None = Field(
        default=None,
        description=(
            "The address others reach this hub at: the issuer of its tokens and the host of "
            "its did:web documents. None means http://HOST:PORT."
        ),
    )
    operator_name: str = Field(
        default="Bayflow Hub Operator",
        description="Legal name of the operator organisation the hub creates on first start.",
    )
    url: str | None = Field(
        default=None,
        description=(
            "For clients and the CLI: the hub to talk to. None means the hub named in the key "
            "file, else http://127.0.0.1:8000."
        ),
    )
    key_file: Path | None = Field(
        default=None,
        description="For clients and the CLI: the key file to authenticate with.",
    )
    ledger_origin: str = Field(
        default="bayflow.local/ledger",
        description="The C2SP origin line of the ledger's checkpoints.",
    )
    checkpoint_interval_s: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Longest time between integrating entries and publishing a checkpoint.",
    )
    checkpoint_min_interval_s: float = Field(
        default=0.2,
        ge=0,
        le=60,
        description=(
            "Shortest time between two sequencer runs: under load, entries wait at most this "
            "long to be batched into one checkpoint instead of one checkpoint each."
        ),
    )
    ledger_wait_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description=(
            "How long an anchoring request waits for its proofs before answering without them."
        ),
    )
    witness_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "Submission prefixes of the witnesses the hub sends its checkpoints to "
            "(c2sp.org/tlog-witness), separated by commas or spaces."
        ),
    )
    witness_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="The witnesses' cosignature verifier keys, in the order of witness_urls.",
    )
    witness_quorum: int | None = Field(
        default=None,
        ge=0,
        description=(
            "How many witnesses must cosign before a checkpoint is published. None means all."
        ),
    )

    @field_validator("witness_urls", "witness_keys", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # Environment variables hold one string; neither URLs nor note keys contain commas or
        # spaces, so either separates them.
        if isinstance(value, str):
            return value.replace(",", " ").split()
        return value

    @model_validator(mode="after")
    def _witnesses_match(self) -> Settings:
        if len(self.witness_urls) != len(self.witness_keys):
            raise ValueError(
                f"witness_urls: {len(self.witness_urls)} URLs but "
                f"{len(self.witness_keys)} witness_keys; give one key per witness"
            )
        if self.witness_quorum is not None and self.witness_quorum > len(self.witness_urls):
            raise ValueError(
                f"witness_quorum: {self.witness_quorum} is more than the "
                f"{len(self.witness_urls)} witnesses configured"
            )
        return self

    @property
    def effective_witness_quorum(self) -> int:
        """Cosignatures a checkpoint needs before it is published: all witnesses unless set."""
        if self.witness_quorum is None:
            return len(self.witness_urls)
        return self.witness_quorum

    @field_validator("database_url")
    @classmethod
    def _known_driver(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("only sqlite:// and postgresql+psycopg:// URLs are supported")
        if value.startswith("postgresql://"):
            # Plain postgresql:// would make SQLAlchemy look for psycopg2, which we do not ship.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def effective_database_url(self) -> str:
        """The database URL in force: the configured one or the embedded SQLite file."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'bayflow.db').as_posix()}"

    @property
    def is_embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def operator_key_file(self) -> Path:
        """The key file of the operator's administrator, written on first start."""
        return self.data_dir / "operator.key"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides winning.

    A bad value becomes a :class:`ConfigurationError` naming the variable, not a pydantic trace.
    """
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        if callable(errors):
            first = errors()[0]
            name = "BAYFLOW_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
            raise ConfigurationError(f"{name}: {first['msg']}") from exc
        raise ConfigurationError(str(exc)) from exc
