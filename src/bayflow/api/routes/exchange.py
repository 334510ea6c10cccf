"""The interchange over HTTP: data products."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from bayflow.api.auth import PrincipalDep
from bayflow.api.deps import SessionDep
from bayflow.exchange.models import DataProduct
from bayflow.identity.auth import Scope
from bayflow.identity.models import City, Jurisdiction
from bayflow.store.exchange import SqlProductRepository

__all__ = ["router"]

router = APIRouter(prefix="/exchange/v1", tags=["interchange"])


class ProductBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title_en: str
    title_zh: str
    json_schema: dict[str, Any] = Field(description="JSON Schema of one payload")
    personal_information: bool
    sensitive_categories: list[str] = Field(default_factory=list)
    held_in: Jurisdiction
    held_in_city: str
    endpoint: str = Field(description="The provider's delivery endpoint (http/https)")


def _view(product: DataProduct) -> dict[str, Any]:
    return {
        "provider": product.provider,
        "id": product.id,
        "title_en": product.title_en,
        "title_zh": product.title_zh,
        "json_schema": product.json_schema,
        "personal_information": product.personal_information,
        "sensitive_categories": sorted(product.sensitive_categories),
        "held_in": product.held_in.value,
        "held_in_city": product.held_in_city.value,
        "endpoint": product.endpoint,
        "created_at": product.created_at.isoformat(),
    }


@router.get("/products", summary="Published data products")
def list_products(
    principal: PrincipalDep, session: SessionDep, provider: str | None = None
) -> list[dict[str, Any]]:
    principal.require(Scope.EXCHANGE)
    return [_view(p) for p in SqlProductRepository(session).list_products(provider)]


@router.post("/products", status_code=201, summary="Publish a data product (provider admins)")
def publish_product(
    body: ProductBody, principal: PrincipalDep, request: Request, session: SessionDep
) -> dict[str, Any]:
    principal.require(Scope.EXCHANGE)
    principal.require(Scope.ORG_ADMIN)
    product = DataProduct(
        provider=principal.organisation_id,
        id=body.id,
        title_en=body.title_en,
        title_zh=body.title_zh,
        json_schema=body.json_schema,
        personal_information=body.personal_information,
        sensitive_categories=frozenset(body.sensitive_categories),
        held_in=body.held_in,
        held_in_city=City.parse(body.held_in_city),
        endpoint=body.endpoint,
        created_at=request.app.state.clock.now(),
    )
    SqlProductRepository(session).add(product)
    return _view(product)
