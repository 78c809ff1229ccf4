"""Is the service able to serve: database reachable."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from movievote.api.deps import RootDep
from movievote.api.errors import UNAVAILABLE, unavailable
from movievote.i18n import N_

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
async def health(root: RootDep) -> Health:
    try:
        await root.db.ping()
    except Exception as exc:
        raise unavailable(N_("The database is unreachable.")) from exc
    return Health(status="ok", database=True)
