"""Interchange persistence: data products."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import bindparam, insert, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bayflow.consent.models import ProductScope
from bayflow.errors import Conflict
from bayflow.exchange.models import DataProduct
from bayflow.identity.models import City, Jurisdiction
from bayflow.store.driver import DriverStatement
from bayflow.store.tables import data_products

__all__ = ["SqlProductRepository"]

# Looked up on every data request, on the driver's cursor (see store.driver).
_GET: Final = DriverStatement(
    select(data_products).where(
        data_products.c.provider == bindparam("provider"), data_products.c.id == bindparam("id")
    )
)


def _product(row: Row[Any]) -> DataProduct:
    return DataProduct(
        provider=row.provider,
        id=row.id,
        title_en=row.title_en,
        title_zh=row.title_zh,
        json_schema=json.loads(row.json_schema),
        personal_information=row.personal_information,
        sensitive_categories=frozenset(row.sensitive_categories.split()),
        held_in=Jurisdiction(row.held_in),
        held_in_city=City(row.held_in_city),
        endpoint=row.endpoint,
        created_at=row.created_at,
    )


class SqlProductRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, product: DataProduct) -> None:
        try:
            with self._session.begin_nested():
                self._session.execute(
                    insert(data_products).values(
                        provider=product.provider,
                        id=product.id,
                        title_en=product.title_en,
                        title_zh=product.title_zh,
                        json_schema=json.dumps(product.json_schema, ensure_ascii=False),
                        personal_information=product.personal_information,
                        sensitive_categories=" ".join(sorted(product.sensitive_categories)),
                        held_in=product.held_in.value,
                        held_in_city=product.held_in_city.value,
                        endpoint=product.endpoint,
                        created_at=product.created_at,
                    )
                )
        except IntegrityError as exc:
            raise Conflict(f"product {product.id} of this provider already exists") from exc

    def get(self, provider: str, product_id: str) -> DataProduct | None:
        row = _GET.one_or_none(self._session, {"provider": provider, "id": product_id})
        return _product(row) if row else None

    def list_products(self, provider: str | None = None) -> list[DataProduct]:
        query = select(data_products).order_by(data_products.c.provider, data_products.c.id)
        if provider is not None:
            query = query.where(data_products.c.provider == provider)
        return [_product(r) for r in self._session.execute(query).all()]

    def missing(self, products: Sequence[ProductScope]) -> list[ProductScope]:
        """The products no provider publishes (the consent service's ProductCatalogue)."""
        if not products:
            return []
        keys = [(p.provider, p.product) for p in products]
        found = {
            (r.provider, r.id)
            for r in self._session.execute(
                select(data_products.c.provider, data_products.c.id).where(
                    tuple_(data_products.c.provider, data_products.c.id).in_(keys)
                )
            ).all()
        }
        return [p for p in products if (p.provider, p.product) not in found]
