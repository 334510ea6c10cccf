"""The hub's own metadata: its instance id and when it was first migrated."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bayflow.store.tables import hub_metadata

__all__ = ["HubMetadataRepository"]


class HubMetadataRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, key: str) -> str | None:
        return self._session.execute(
            select(hub_metadata.c.value).where(hub_metadata.c.key == key)
        ).scalar_one_or_none()

    def set(self, key: str, value: str, *, now: datetime) -> None:
        exists = self.get(key) is not None
        if exists:
            self._session.execute(
                hub_metadata.update()
                .where(hub_metadata.c.key == key)
                .values(value=value, updated_at=now)
            )
        else:
            self._session.execute(
                hub_metadata.insert().values(key=key, value=value, updated_at=now)
            )

    def ensure_instance_id(self, *, now: datetime) -> str:
        """The hub's stable random id, created the first time it is asked for."""
        existing = self.get("instance_id")
        if existing is not None:
            return existing
        instance_id = uuid.uuid4().hex
        self.set("instance_id", instance_id, now=now)
        self.set("created_at", now.isoformat(), now=now)
        return instance_id
