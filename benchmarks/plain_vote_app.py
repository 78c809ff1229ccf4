"""The yardstick for the vote route (issue 16): a plain FastAPI + psycopg app serving the same
vote contract as movievote's `POST /api/vote/{movie_id}`, with no Reflex, no ORM and nothing
else in the process. `bench_api` serves it beside the app, on the same database, and
alternates their rounds.

    uvicorn benchmarks.plain_vote_app:app --loop uvloop --http httptools --no-access-log

The same contract: the same bearer token checks (HS256 pinned; `exp`, `iat`, `sub`, `sid`
required; 401 otherwise), one vote statement per request with the same semantics as the app's
single-vote statement (`voting.PG_CAST_VOTE`, imported so the two cannot drift: the session
open, the account not blocked and verified, the movie not hidden, all checked inside the
`INSERT ... SELECT ... ON CONFLICT (user_id, period) DO NOTHING RETURNING`), in autocommit on
a psycopg pool, 201 with the vote's JSON; no row back is a refusal, told apart by one query.
What it leaves out, and the app does not: the "vote registered" notification, the ranking's
fold and the live pages. The settings (DATABASE_URL, SECRET_KEY, EMAIL_VERIFICATION,
VOTE_TIMEZONE) are movievote's own, read once at start.
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Path
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordBearer
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel

from movievote.config import get_settings
from movievote.periods import format_period, next_vote_opens, period_of
from movievote.services.voting import PG_CAST_VOTE

settings = get_settings()
ZONE = settings.zone
VERIFIED = settings.email_verification == "required"
STATEMENT = PG_CAST_VOTE[(True, VERIFIED)]
REFUSAL = """
    SELECT (SELECT count(*) FROM votes WHERE user_id = %(user_id)s AND period = %(period)s),
           (SELECT count(*) FROM sessions JOIN users ON users.id = sessions.user_id
             WHERE sessions.id = %(session_id)s AND sessions.user_id = %(user_id)s
               AND sessions.ended_at IS NULL AND users.blocked_at IS NULL)
"""
pool = AsyncConnectionPool(
    sa.make_url(settings.database_url).set(drivername="postgresql").render_as_string(False),
    # grows to 20 under load, as the app's SQLAlchemy pool does; starting with 20 a worker held
    # connections a shared server (max_connections 100) then refused to other processes
    min_size=4,
    max_size=int(os.environ.get("PLAIN_POOL_SIZE", "20")),
    kwargs={"autocommit": True},
    open=False,
)


@asynccontextmanager
async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
    await pool.open(wait=True)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)
bearer = OAuth2PasswordBearer(tokenUrl="/api/token", auto_error=False)


class Claims(BaseModel):
    user_id: int
    session_id: str


class Vote(BaseModel):
    id: int
    movie_id: int
    period: str
    created_at: datetime
    next_vote_at: datetime
    voided_at: datetime | None = None


def claims(token: Annotated[str | None, Depends(bearer)]) -> Claims:
    if not token:
        raise HTTPException(401, "not_authenticated", headers={"WWW-Authenticate": "Bearer"})
    try:
        found = jwt.decode(
            token,
            settings.secret_key,
            algorithms=["HS256"],
            options={"require": ["exp", "iat", "sub", "sid"]},
        )
        user_id, session_id = int(found["sub"]), str(found["sid"])
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise HTTPException(401, "invalid_token", headers={"WWW-Authenticate": "Bearer"}) from exc
    if not 0 < len(session_id) <= 43:
        raise HTTPException(401, "invalid_token", headers={"WWW-Authenticate": "Bearer"})
    return Claims(user_id=user_id, session_id=session_id)


@app.post("/api/vote/{movie_id}", status_code=201, response_model=Vote)
async def vote(
    movie_id: Annotated[int, Path(ge=1, le=2**31 - 1)], who: Annotated[Claims, Depends(claims)]
) -> Any:
    now = datetime.now(UTC)
    params: dict[str, Any] = {
        "user_id": who.user_id,
        "movie_id": movie_id,
        "period": period_of(now, ZONE),
        "created_at": now,
        "session_id": who.session_id,
    }
    async with pool.connection() as conn:
        row = await (await conn.execute(STATEMENT, params)).fetchone()
        if row is None:
            voted, session = await (await conn.execute(REFUSAL, params)).fetchone()  # type: ignore[misc]
    if row is None:
        status, code = (409, "already_voted") if voted else (401, "invalid_token")
        if not voted and session:
            status, code = 404, "movie_not_found"  # or hidden, or not verified: rare here
        return JSONResponse({"detail": code, "code": code}, status_code=status)
    vote_id, movie, period, created_at = row
    return Vote(
        id=vote_id,
        movie_id=movie,
        period=format_period(period),
        created_at=created_at.astimezone(UTC),
        next_vote_at=next_vote_opens(period, ZONE),
    )


@app.get("/api/health")
async def health() -> dict[str, bool]:
    async with pool.connection() as conn:
        await conn.execute("SELECT 1")
    return {"ok": True}
