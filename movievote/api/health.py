"""Is the service able to serve: database reachable."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from fastapi import APIRouter
from pydantic import BaseModel

from movievote.api.errors import UNAVAILABLE, unavailable
from movievote.config import get_settings
from movievote.db import get_database

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str
    database: bool


@router.get(
    "/api/health",
    response_model=Health,
    summary="Health check",
    responses={**UNAVAILABLE},
)
async def health() -> Health:
    settings = get_settings()
    # whatever the network does, the answer comes within the longer of the two time-outs
    deadline = max(
        settings.database_connect_timeout_seconds, settings.database_statement_timeout_seconds
    )
    try:
        async with asyncio.timeout(deadline), get_database().engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        raise unavailable("The database is unreachable.") from exc
    return Health(status="ok", database=True)
