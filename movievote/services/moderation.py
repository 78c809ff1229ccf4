"""Moderating a month's votes: void a vote (it stays stored but no longer counts), restore it,
and the list an operator reads to find stuffing: the month's votes with the signs each shows,
and the movies those signs gather on.

A void or a restore is one transaction holding its change and its audit row; the vote-delta
trigger turns it into a -1 or +1 for the tallies, and the ranking subject folds it at once (and
recomputes the tie-break's `reached_at`: services/tallies.py), so every open ranking moves as
it does for a vote. Neither is possible once the month's result is final (its end in the vote
time zone plus RESULTS_GRACE_HOURS: `periods.results_due`).

The signs are computed by the database over the month's votes (window functions, one pass per
movie and month), and they are signs, not proof: a lobby screen with a QR code makes young
accounts voting in bursts too. `signup_wave` groups voters' accounts by when they were made,
`shared_address` by the address they signed up from (kept as a keyed hash: users.signup_source).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from movievote.config import Settings
from movievote.db import Database
from movievote.errors import N_, ResultFinal, VoteNotFound, VoteNotVoided, VoteVoided
from movievote.i18n import Month
from movievote.models import (
    AdminVote,
    MonthResult,
    MonthVotes,
    Movie,
    PeriodTotal,
    StuffingSigns,
    SuspiciousMovie,
    User,
    UTCDateTime,
    Vote,
    VoteStatus,
    utcnow,
)
from movievote.periods import current_period, format_period, results_due
from movievote.services.admin import Actor, _check_page, _instant, _reason, record
from movievote.services.observer import RankingSubject
from movievote.services.results import PUBLISH_LOCK

votes_t = Vote.__table__  # type: ignore[attr-defined]
users_t = User.__table__  # type: ignore[attr-defined]
movies_t = Movie.__table__  # type: ignore[attr-defined]
totals_t = PeriodTotal.__table__  # type: ignore[attr-defined]
results_t = MonthResult.__table__  # type: ignore[attr-defined]

YOUNG_ACCOUNT = "young_account"
BURST = "burst"
SIGNUP_WAVE = "signup_wave"
SHARED_ADDRESS = "shared_address"
FLAGS = (YOUNG_ACCOUNT, BURST, SIGNUP_WAVE, SHARED_ADDRESS)


@dataclass(frozen=True)
class Signs:
    """When a vote shows a stuffing sign.

    - young_account: its account was less than `young_account_hours` old when it voted;
    - burst: it is one of at least `burst_votes` votes for the same movie cast within
      `burst_minutes`;
    - signup_wave: it is one of at least `wave_accounts` votes for the same movie whose
      accounts were all created within `wave_minutes` of each other;
    - shared_address: it is one of at least `address_accounts` votes for the same movie whose
      accounts were all signed up from one address within `address_minutes`.
    """

    young_account_hours: float = 48
    burst_votes: int = 10
    burst_minutes: float = 10
    wave_accounts: int = 5
    wave_minutes: float = 10
    address_accounts: int = 3
    address_minutes: float = 60

    def public(self) -> StuffingSigns:
        return StuffingSigns(
            young_account_hours=self.young_account_hours,
            burst_votes=self.burst_votes,
            burst_minutes=self.burst_minutes,
            wave_accounts=self.wave_accounts,
            wave_minutes=self.wave_minutes,
            address_accounts=self.address_accounts,
            address_minutes=self.address_minutes,
        )


SIGNS = Signs()


def is_final(period: date, *, now: datetime | None = None, settings: Settings) -> bool:
    """Whether a month's result is final at `now`: its votes can no longer change."""
    due = results_due(period, settings.zone, settings.results_grace_hours)
    return (now or utcnow()) >= due


_HELD = (
    votes_t.c.period,
    votes_t.c.movie_id,
    votes_t.c.user_id,
    votes_t.c.voided_at,
    votes_t.c.voided_by,
    votes_t.c.void_reason,
)


async def _hold(conn: AsyncConnection, db: Database, vote_id: int) -> Any:
    """The vote, held until the transaction ends, so that what is checked is what is changed:
    PostgreSQL locks its row; on SQLite a write comes first (touching no counted column: no
    delta), which takes the database's write lock before anything is read. A second admin
    acting on the same vote waits, then sees the first one's change."""
    held: sa.Executable
    if db.dialect == "postgresql":
        held = sa.select(*_HELD).where(votes_t.c.id == vote_id).with_for_update()
    else:
        held = (
            sa.update(votes_t)
            .where(votes_t.c.id == vote_id)
            .values(id=votes_t.c.id)
            .returning(*_HELD)
        )
    row = (await conn.execute(held)).first()
    if row is None:
        raise VoteNotFound(N_("There is no vote with id {vote_id}."), vote_id=str(vote_id))
    return row


async def _check_open(
    conn: AsyncConnection, db: Database, period: date, instant: datetime, settings: Settings
) -> None:
    """Refuse a change to a month whose result is final: by the clock, or because a publisher
    has already frozen its ballots. A void checked a moment before the deadline may commit
    after it, so the clock alone cannot tell: on PostgreSQL the change holds the month's
    publication lock shared until it commits (a publisher takes it exclusively before its
    snapshot: one waits for the other), and on SQLite the vote's write lock, held already,
    serialises it with the publisher's transaction. Either way, a change that commits is in
    the frozen ballots, and one that comes after them is refused."""
    final = is_final(period, now=instant, settings=settings)
    if not final:
        if db.dialect == "postgresql":
            await conn.execute(
                sa.select(
                    sa.func.pg_advisory_xact_lock_shared(
                        PUBLISH_LOCK, period.year * 100 + period.month
                    )
                )
            )
        published = await conn.scalar(
            sa.select(results_t.c.period).where(results_t.c.period == period)
        )
        final = published is not None
    if final:
        raise ResultFinal(
            N_("The result of {month} is final: its votes can no longer be voided or restored."),
            month=Month(period),
        )


def _facts(row: Any, vote_id: int, **change: Any) -> dict[str, Any]:
    """What the audit row records of a vote: which vote, and its void state."""
    return {
        "vote_id": vote_id,
        "period": format_period(row.period),
        "movie_id": row.movie_id,
        "user_id": row.user_id,
        "voided_at": _instant(row.voided_at),
        "voided_by": row.voided_by,
        "void_reason": row.void_reason,
        **change,
    }


_voider = users_t.alias("voider")


async def _status(conn: AsyncConnection, vote_id: int) -> VoteStatus:
    row = (
        await conn.execute(
            sa.select(
                votes_t.c.id,
                votes_t.c.period,
                votes_t.c.created_at,
                votes_t.c.movie_id,
                movies_t.c.title,
                votes_t.c.user_id,
                votes_t.c.voided_at,
                _voider.c.email.label("voided_by"),
                votes_t.c.void_reason,
            )
            .select_from(
                votes_t.join(movies_t, movies_t.c.id == votes_t.c.movie_id).outerjoin(
                    _voider, _voider.c.id == votes_t.c.voided_by
                )
            )
            .where(votes_t.c.id == vote_id)
        )
    ).one()
    return VoteStatus(
        id=row.id,
        period=format_period(row.period),
        created_at=row.created_at,
        movie_id=row.movie_id,
        movie_title=row.title,
        user_id=row.user_id,
        voided=row.voided_at is not None,
        voided_at=row.voided_at,
        voided_by=row.voided_by,
        void_reason=row.void_reason,
    )


async def void_vote(
    *,
    vote_id: int,
    reason: str,
    actor: Actor,
    now: datetime | None = None,
    settings: Settings,
    db: Database,
    subject: RankingSubject,
) -> VoteStatus:
    """Take a vote out of the count (it stays stored, and still is its member's one vote of
    the month), with its audit row (`vote.void`), in one transaction; then fold it into the
    rankings at once. Refused: an unknown vote (VoteNotFound), a month whose result is final
    (ResultFinal), a vote voided already (VoteVoided: two admins racing void it once)."""
    why = _reason(reason, required=True, missing=N_("Give a reason for voiding the vote."))
    instant = now or utcnow()
    return await _change_void(
        vote_id=vote_id,
        voiding=True,
        stored={"voided_at": instant, "voided_by": actor.id, "void_reason": why},
        why=why,
        actor=actor,
        instant=instant,
        settings=settings,
        db=db,
        subject=subject,
    )


async def restore_vote(
    *,
    vote_id: int,
    reason: str | None = None,
    actor: Actor,
    now: datetime | None = None,
    settings: Settings,
    db: Database,
    subject: RankingSubject,
) -> VoteStatus:
    """Count a voided vote again, with its audit row (`vote.restore`, recording the void it
    undoes), in one transaction; then fold it into the rankings at once. Refused: an unknown
    vote, a month whose result is final, a vote that is not voided (VoteNotVoided)."""
    return await _change_void(
        vote_id=vote_id,
        voiding=False,
        stored={"voided_at": None, "voided_by": None, "void_reason": None},
        why=_reason(reason, required=False),
        actor=actor,
        instant=now or utcnow(),
        settings=settings,
        db=db,
        subject=subject,
    )


async def _change_void(
    *,
    vote_id: int,
    voiding: bool,
    stored: dict[str, Any],
    why: str | None,
    actor: Actor,
    instant: datetime,
    settings: Settings,
    db: Database,
    subject: RankingSubject,
) -> VoteStatus:
    """Void (`voiding`) or restore a vote: hold it, refuse a final month, write `stored` only
    if the vote is in the other state (racing admins make one change), the audit row, all in
    one transaction; then fold it into the rankings, as for a vote."""
    voided = votes_t.c.voided_at.is_(None) if voiding else votes_t.c.voided_at.is_not(None)
    async with db.transaction() as conn:
        row = await _hold(conn, db, vote_id)
        await _check_open(conn, db, row.period, instant, settings)
        changed = await conn.scalar(
            sa.update(votes_t)
            .where(votes_t.c.id == vote_id, voided)
            .values(**stored)
            .returning(votes_t.c.id)
        )
        if changed is None:
            if voiding:
                raise VoteVoided(N_("This vote is voided already."))
            raise VoteNotVoided(N_("This vote is not voided: it counts already."))
        shown = {**stored, "voided_at": _instant(instant) if voiding else None}
        await record(
            conn,
            actor=actor,
            action="vote.void" if voiding else "vote.restore",
            target_type="vote",
            target_id=vote_id,
            before=_facts(row, vote_id),
            after=_facts(row, vote_id, **shown),
            reason=why,
        )
        status = await _status(conn, vote_id)
    subject.vote_cast(period=row.period)  # the fold and every live ranking, as for a vote
    return status


async def vote_months(
    *, now: datetime | None = None, settings: Settings, db: Database
) -> list[str]:
    """The months an admin can look at (YYYY-MM), newest first: every month with votes, and
    the current one."""
    async with db.engine.connect() as conn:
        found = set(await conn.scalars(sa.select(totals_t.c.period)))
    found.add(current_period(settings.zone, now))
    return [format_period(p) for p in sorted(found, reverse=True)]


def _seconds(db: Database, earlier: Any, later: Any) -> Any:
    """`later - earlier` in seconds, in SQL."""
    if db.dialect == "postgresql":
        return sa.extract("epoch", later - earlier)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def _signed_votes(db: Database, period: date, signs: Signs) -> sa.CTE:
    """The month's votes, each with its member and its signs (1 or 0), computed in SQL.

    A burst is `burst_votes` consecutive votes for a movie (in time order) spanning less than
    `burst_minutes`: a vote is in one if one of the `burst_votes` windows it belongs to is; a
    sign-up wave is the same over the voters' account creation times.
    """
    n_burst: Any = sa.literal_column(str(int(signs.burst_votes) - 1))
    n_wave: Any = sa.literal_column(str(int(signs.wave_accounts) - 1))
    n_address: Any = sa.literal_column(str(int(signs.address_accounts) - 1))
    one_address = (votes_t.c.movie_id, users_t.c.signup_source)
    by_time = (votes_t.c.created_at, votes_t.c.id)
    by_joined = (users_t.c.created_at, users_t.c.id)
    base = (
        sa.select(
            votes_t.c.id,
            votes_t.c.movie_id,
            votes_t.c.user_id,
            votes_t.c.created_at,
            votes_t.c.voided_at,
            votes_t.c.voided_by,
            votes_t.c.void_reason,
            users_t.c.created_at.label("joined"),
            users_t.c.email,
            users_t.c.display_name,
            users_t.c.email_verified_at,
            users_t.c.signup_source,
            sa.func.lead(users_t.c.created_at, n_address, type_=UTCDateTime())
            .over(partition_by=one_address, order_by=by_joined)
            .label("address_end"),
            sa.func.lead(votes_t.c.created_at, n_burst, type_=UTCDateTime())
            .over(partition_by=votes_t.c.movie_id, order_by=by_time)
            .label("burst_end"),
            sa.func.lead(users_t.c.created_at, n_wave, type_=UTCDateTime())
            .over(partition_by=votes_t.c.movie_id, order_by=by_joined)
            .label("wave_end"),
        )
        .select_from(votes_t.join(users_t, users_t.c.id == votes_t.c.user_id))
        .where(votes_t.c.period == period)
        .cte("month_votes")
    )
    starts = sa.select(
        base,
        sa.case(
            (_seconds(db, base.c.created_at, base.c.burst_end) < signs.burst_minutes * 60, 1),
            else_=0,
        ).label("burst_start"),
        sa.case(
            (_seconds(db, base.c.joined, base.c.wave_end) < signs.wave_minutes * 60, 1), else_=0
        ).label("wave_start"),
        sa.case(
            (
                sa.and_(
                    base.c.signup_source.is_not(None),
                    _seconds(db, base.c.joined, base.c.address_end) < signs.address_minutes * 60,
                ),
                1,
            ),
            else_=0,
        ).label("address_start"),
        _seconds(db, base.c.joined, base.c.created_at).label("age_seconds"),
    ).cte("sign_starts")
    return sa.select(
        *(
            starts.c[c.key]
            for c in base.c
            if c.key not in ("burst_end", "wave_end", "address_end", "signup_source")
        ),
        starts.c.age_seconds,
        sa.case((starts.c.age_seconds < signs.young_account_hours * 3600, 1), else_=0).label(
            YOUNG_ACCOUNT
        ),
        sa.func.max(starts.c.burst_start)
        .over(
            partition_by=starts.c.movie_id,
            order_by=(starts.c.created_at, starts.c.id),
            rows=(-(signs.burst_votes - 1), 0),
        )
        .label(BURST),
        sa.func.max(starts.c.wave_start)
        .over(
            partition_by=starts.c.movie_id,
            order_by=(starts.c.joined, starts.c.user_id),
            rows=(-(signs.wave_accounts - 1), 0),
        )
        .label(SIGNUP_WAVE),
        sa.func.max(starts.c.address_start)
        .over(
            partition_by=(starts.c.movie_id, starts.c.signup_source),
            order_by=(starts.c.joined, starts.c.user_id),
            rows=(-(signs.address_accounts - 1), 0),
        )
        .label(SHARED_ADDRESS),
    ).cte("signed_votes")


def _flagged(signed: sa.CTE) -> sa.ColumnElement[bool]:
    return sa.or_(*(signed.c[flag] == 1 for flag in FLAGS))


def _admin_vote(row: Any, period: date) -> AdminVote:
    return AdminVote(
        id=row.id,
        period=format_period(period),
        created_at=row.created_at,
        movie_id=row.movie_id,
        movie_title=row.title,
        user_id=row.user_id,
        voided=row.voided_at is not None,
        voided_at=row.voided_at,
        voided_by=row.voided_by_email,
        void_reason=row.void_reason,
        email=row.email,
        display_name=row.display_name,
        account_age_hours=round(max(0.0, float(row.age_seconds or 0)) / 3600, 1),
        verified=row.email_verified_at is not None,
        flags=[flag for flag in FLAGS if row._mapping[flag]],
    )


async def month_votes(
    *,
    period: date | None = None,
    page: int = 1,
    page_size: int = 50,
    movie_id: int | None = None,
    only_flagged: bool = False,
    signs: Signs = SIGNS,
    now: datetime | None = None,
    settings: Settings,
    db: Database,
) -> MonthVotes:
    """A month's votes (default: the current month), newest first, a page at a time, each with
    its member, the account's age when it voted, whether it is voided (when, by whom, why) and
    its stuffing signs; `movie_id` keeps one movie's, `only_flagged` those with a sign. Also
    the movies whose votes show signs (over the whole month), most flagged votes first."""
    _check_page(page, page_size)
    period = period or current_period(settings.zone, now)
    signed = _signed_votes(db, period, signs)
    where: list[Any] = []
    if movie_id is not None:
        where.append(signed.c.movie_id == movie_id)
    if only_flagged:
        where.append(_flagged(signed))
    listed = (
        sa.select(
            signed,
            movies_t.c.title,
            _voider.c.email.label("voided_by_email"),
            sa.func.count().over().label("matching"),
        )
        .select_from(
            signed.join(movies_t, movies_t.c.id == signed.c.movie_id).outerjoin(
                _voider, _voider.c.id == signed.c.voided_by
            )
        )
        .where(*where)
        .order_by(signed.c.created_at.desc(), signed.c.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    flagged = sa.func.sum(sa.case((_flagged(signed), 1), else_=0))
    summary = (
        sa.select(
            signed.c.movie_id,
            movies_t.c.title,
            sa.func.count().label("votes"),
            sa.func.sum(sa.case((signed.c.voided_at.is_not(None), 1), else_=0)).label("voided"),
            sa.func.sum(signed.c[YOUNG_ACCOUNT]).label(YOUNG_ACCOUNT),
            sa.func.sum(signed.c[BURST]).label(BURST),
            sa.func.sum(signed.c[SIGNUP_WAVE]).label(SIGNUP_WAVE),
            sa.func.sum(signed.c[SHARED_ADDRESS]).label(SHARED_ADDRESS),
            flagged.label("flagged"),
        )
        .select_from(signed.join(movies_t, movies_t.c.id == signed.c.movie_id))
        .group_by(signed.c.movie_id, movies_t.c.title)
        .having(flagged > 0)
        .order_by(flagged.desc(), sa.func.count().desc(), signed.c.movie_id)
    )
    async with db.engine.connect() as conn:
        rows = (await conn.execute(listed)).all()
        if rows:
            total = int(rows[0].matching)
        else:  # past the last page: count without the page
            total = int(
                await conn.scalar(sa.select(sa.func.count()).select_from(signed).where(*where)) or 0
            )
        movies = (await conn.execute(summary)).all()
    return MonthVotes(
        period=format_period(period),
        final=is_final(period, now=now, settings=settings),
        final_at=results_due(period, settings.zone, settings.results_grace_hours),
        signs=signs.public(),
        suspicious=[
            SuspiciousMovie(
                movie_id=m.movie_id,
                title=m.title,
                votes=int(m.votes),
                voided=int(m.voided),
                young_account=int(m.young_account),
                young_share=round(int(m.young_account) / int(m.votes), 4),
                burst=int(m.burst),
                signup_wave=int(m.signup_wave),
                shared_address=int(m.shared_address),
                flagged=int(m.flagged),
            )
            for m in movies
        ],
        items=[_admin_vote(row, period) for row in rows],
        total=total,
        page=page,
        page_size=page_size,
    )
