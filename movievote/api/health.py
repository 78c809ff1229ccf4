"""Is the service able to serve: database reachable."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel

from movievote.api.errors import ApiError, doc
from movievote.db import get_database

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: bool


@router.get(
    "/api/health",
    response_model=Health,
    summary="Health check",
    responses={**doc(503, "The database is unreachable (`database_unavailable`).")},
)
async def health() -> Health:
    try:
        async with get_database().engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        raise ApiError(503, "database_unavailable", "The database is unreachable.") from exc
    return Health(status="ok", database=True)
