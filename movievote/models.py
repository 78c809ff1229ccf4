"""Every table, with the naming convention its constraints follow."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The one clock every row's timestamp comes from."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back time-zone aware (SQLite included)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _created_at() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class User(SQLModel, table=True):
    """An account; the email is stored normalised (lower-cased), so its uniqueness ignores case.

    Ids are never reused (AUTOINCREMENT on SQLite), so nothing that names a deleted account
    can ever name another one.
    """

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    display_name: str = Field(max_length=80)
    password_hash: str = Field(max_length=100)
    notification_channel: str = Field(default="in_app", max_length=16)
    phone: str | None = Field(default=None, max_length=20)
    is_admin: bool = Field(default=False)
    created_at: datetime = _created_at()
    # when the member proved they read this address (a link we mailed); None: not yet
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # the inbox the address reaches (sub-address and, for Gmail, dots dropped): one account
    # per inbox, so `ana+1@` ... `ana+99@` are not 99 voters
    mailbox: str | None = Field(default=None, max_length=254, unique=True)
    # the language the member chose (movievote.languages.LANGUAGES); None: not chosen yet
    language: str | None = Field(default=None, max_length=8)
    # when an admin blocked the member (no log-in, no vote, every session ended); None: not
    blocked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # a keyed hash (HMAC, the server's secret) of the client address it signed up from:
    # groups accounts made from one address without keeping the address; None: not known
    signup_source: str | None = Field(default=None, max_length=16, index=True)


class Session(SQLModel, table=True):
    """A log-in: every access token names one; a token whose session has ended is refused."""

    __tablename__ = "sessions"

    id: str = Field(primary_key=True, max_length=43)  # random, URL-safe
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = _created_at()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EmailLink(SQLModel, table=True):
    """A one-time link mailed to a member (verify the address, reset the password). Only the
    SHA-256 of its secret is stored: the database alone cannot be used to follow it."""

    __tablename__ = "email_links"
    __table_args__ = (
        sa.Index("ix_email_links_user_id_purpose_created_at", "user_id", "purpose", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    purpose: str = Field(max_length=16)  # verify | reset
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _created_at()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Invite(SQLModel, table=True):
    """An invite code for SIGNUP_MODE=invite: usable `max_uses` times until it expires."""

    __tablename__ = "invites"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    max_uses: int = Field(default=1)
    uses: int = Field(default=0)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = _created_at()


class Genre(SQLModel, table=True):
    """A movie genre, by name."""

    __tablename__ = "genres"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)


class Movie(SQLModel, table=True):
    """A movie of the catalogue, identified by where it came from."""

    __tablename__ = "movies"
    __table_args__ = (sa.UniqueConstraint("source", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=300, index=True)
    original_title: str = Field(default="", max_length=300)
    release_date: date | None = Field(default=None)
    year: int | None = Field(default=None, index=True)
    overview: str = Field(default="", sa_type=sa.Text)
    poster_url: str | None = Field(default=None, max_length=500)
    source: str = Field(max_length=32)
    external_id: str = Field(max_length=64)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()
    # when an admin hid the movie: out of the public catalogue and the vote (votes cast stay)
    hidden_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MovieGenre(SQLModel, table=True):
    """Which genres a movie has."""

    __tablename__ = "movie_genres"
    __table_args__ = (sa.Index("ix_movie_genres_genre_id_movie_id", "genre_id", "movie_id"),)

    movie_id: int = Field(foreign_key="movies.id", primary_key=True, ondelete="CASCADE")
    genre_id: int = Field(foreign_key="genres.id", primary_key=True, ondelete="CASCADE")


class MovieTranslation(SQLModel, table=True):
    """A movie's title and overview in a language other than the catalogue's default (English,
    which stays in `movies`); a language without a row reads the English ones."""

    __tablename__ = "movie_translations"

    movie_id: int = Field(foreign_key="movies.id", primary_key=True, ondelete="CASCADE")
    language: str = Field(primary_key=True, max_length=8)
    title: str = Field(max_length=300)
    overview: str = Field(default="", sa_type=sa.Text)


class Vote(SQLModel, table=True):
    """One user's vote in one period (a calendar month in the vote time zone): final once cast."""

    __tablename__ = "votes"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "period"),
        sa.Index("ix_votes_period_movie_id", "period", "movie_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    movie_id: int = Field(foreign_key="movies.id", ondelete="CASCADE", index=True)
    period: date  # the first day of the vote's month
    created_at: datetime = _created_at()
    # An admin voided the vote (revision 0006): it stays stored and still holds the member's
    # one vote of the month, but the tallies, rankings and results leave it out.
    voided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    voided_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    void_reason: str | None = Field(default=None, sa_type=sa.Text)


class VoteDelta(SQLModel, table=True):
    """A vote counted but not yet folded into the tallies (written by a trigger on votes).

    Append-only, so votes for one hot movie never wait on a shared counter row.
    """

    __tablename__ = "vote_deltas"

    id: int | None = Field(default=None, primary_key=True)
    period: date
    movie_id: int
    delta: int  # +1 for a vote inserted, -1 for a vote deleted
    voted_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class MonthlyTally(SQLModel, table=True):
    """Votes per movie per period; `reached_at` is when the movie reached its count."""

    __tablename__ = "monthly_tallies"

    period: date = Field(primary_key=True)
    movie_id: int = Field(primary_key=True, foreign_key="movies.id", ondelete="CASCADE")
    votes: int = Field(default=0)
    reached_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class AllTimeTally(SQLModel, table=True):
    """Votes per movie over all periods."""

    __tablename__ = "all_time_tallies"

    movie_id: int = Field(primary_key=True, foreign_key="movies.id", ondelete="CASCADE")
    votes: int = Field(default=0)
    reached_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


# The ranking's order, so "top N" is an index scan that stops after N rows.
sa.Index(
    "ix_monthly_tallies_ranking",
    MonthlyTally.period,  # type: ignore[arg-type]
    sa.desc(MonthlyTally.votes),  # type: ignore[call-overload]
    MonthlyTally.reached_at,  # type: ignore[arg-type]
    MonthlyTally.movie_id,  # type: ignore[arg-type]
)
sa.Index(
    "ix_all_time_tallies_ranking",
    sa.desc(AllTimeTally.votes),  # type: ignore[call-overload]
    AllTimeTally.reached_at,  # type: ignore[arg-type]
    AllTimeTally.movie_id,  # type: ignore[arg-type]
)


class PeriodTotal(SQLModel, table=True):
    """All votes cast in a period, for each movie's share."""

    __tablename__ = "period_totals"

    period: date = Field(primary_key=True)
    votes: int = Field(default=0)


class Notification(SQLModel, table=True):
    """One notification to one user through one channel, and what became of it."""

    __tablename__ = "notifications"
    __table_args__ = (sa.Index("ix_notifications_user_id_created_at", "user_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    channel: str = Field(max_length=16)
    kind: str = Field(max_length=32)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    status: str = Field(default="pending", max_length=16)  # pending | sent | failed
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _created_at()
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AuditLog(SQLModel, table=True):
    """One admin action: who, what, when, the target before and after, and why. Append-only:
    the database refuses UPDATE and DELETE (triggers of revision 0004), except the NULL its
    foreign key writes when the actor's account is deleted (`actor_label` keeps who it was)."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_target_type_target_id", "target_type", "target_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    actor_id: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    actor_label: str = Field(max_length=254)  # the actor's email at the time, or "cli"
    action: str = Field(max_length=48)  # admin.grant, member.block, ...
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    reason: str | None = Field(default=None, sa_type=sa.Text)


class Screen(SQLModel, table=True):
    """A lobby display, known by the hash of the secret its browser keeps. Unpaired, it shows
    a short pairing `code` until `code_expires_at`; paired (by an admin who typed the code),
    it has a name, a board and a language. The health columns are what its heartbeats last
    said (written at most every few seconds per screen, not on every beat)."""

    __tablename__ = "screens"
    __table_args__ = (
        sa.CheckConstraint(
            "board IN ('month', 'all_time', 'winner', 'hall_of_fame')", name="board_known"
        ),
        sa.CheckConstraint("language IN ('en', 'pt-BR')", name="language_known"),
        sa.CheckConstraint("(paired_at IS NULL) = (name IS NULL)", name="named_when_paired"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = Field(default=None, primary_key=True)
    device_hash: str = Field(max_length=64, unique=True)  # SHA-256 (hex) of the secret
    code: str | None = Field(default=None, max_length=8, unique=True)  # while unpaired
    code_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    name: str | None = Field(default=None, max_length=80)
    board: str = Field(default="month", max_length=16)
    language: str = Field(default="en", max_length=8)
    created_at: datetime = _created_at()
    last_seen_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ranking_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # what it shows
    user_agent: str | None = Field(default=None, max_length=300)
    resolution: str | None = Field(default=None, max_length=24)
    silence_logged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MonthResult(SQLModel, table=True):
    """A month's published result, final: computed from its ballots (frozen in
    `published_ballots` at the same instant), checked against the tallies (revision 0007).
    Nothing refers back to votes or users: deleting an account later changes nothing here."""

    __tablename__ = "month_results"

    period: date = Field(primary_key=True)  # the first day of the month
    published_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    total_votes: int  # the ballots counted (not voided)
    ballots: int  # every ballot frozen, voided ones included
    winner_movie_id: int | None = Field(default=None)  # None: no vote counted
    ballots_sha256: str = Field(max_length=64)  # of the canonical ballots CSV
    tallies_match: bool  # the live tallies said the same when it was published
    # where they did not: [{"movie_id": ..., "ballots": n, "tallies": m}, ...] (admins only)
    tally_mismatches: list[dict[str, Any]] | None = Field(default=None, sa_type=sa.JSON)
    # telling every member: who holds it since when (a lease), and when it was done
    notifying_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class MonthRanking(SQLModel, table=True):
    """One place of a published month's ranking (every movie with a counted vote)."""

    __tablename__ = "month_rankings"

    period: date = Field(primary_key=True, foreign_key="month_results.period", ondelete="CASCADE")
    rank: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    movie_id: int  # no foreign key: the result stays as published whatever the catalogue does
    title: str = Field(max_length=300)  # the English title when it was published
    votes: int
    reached_at: datetime = Field(sa_type=UTCDateTime, nullable=False)  # its last counted vote


class PublishedBallot(SQLModel, table=True):
    """A ballot as it was when its month was published: a copy, not a reference, so the export
    and its SHA-256 never change. `pseudonym` stands for the voter for the month (HMAC of the server's
    secret over "YYYY-MM:user_id"): one member's ballots of two months cannot be linked."""

    __tablename__ = "published_ballots"

    period: date = Field(primary_key=True, foreign_key="month_results.period", ondelete="CASCADE")
    vote_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    movie_id: int
    cast_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    pseudonym: str = Field(max_length=16)  # the CSV's `voter`
    voided: bool


REVIEW_MAX_CHARACTERS = 1000


class Rating(SQLModel, table=True):
    """One member's rating of one movie (revision 0008): `half_stars` 1..10 is 0.5..5 stars,
    with an optional review; changeable (one row per member and movie), removable. The
    database holds the rules: the range, the review's length, one rating per member and movie."""

    __tablename__ = "ratings"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "movie_id"),
        sa.CheckConstraint("half_stars BETWEEN 1 AND 10", name="half_stars_range"),
        sa.CheckConstraint(
            f"review IS NULL OR length(review) BETWEEN 1 AND {REVIEW_MAX_CHARACTERS}",
            name="review_length",
        ),
        # a movie's ratings, newest first (the reviews' pages)
        sa.Index("ix_ratings_movie_id_updated_at", "movie_id", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE")
    movie_id: int = Field(foreign_key="movies.id", ondelete="CASCADE")
    half_stars: int
    review: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = _created_at()
    updated_at: datetime = _created_at()


class RatingDelta(SQLModel, table=True):
    """A rating change not yet folded into the tallies, written by a trigger on ratings:
    (+1, +s) for a rating given, (-1, -s) for one removed, (0, new - old) for one changed.
    Append-only, so everyone rating one movie at once never waits on its tally row."""

    __tablename__ = "rating_deltas"

    id: int | None = Field(default=None, primary_key=True)
    movie_id: int
    ratings: int
    half_stars: int


class RatingTally(SQLModel, table=True):
    """A movie's ratings: how many, the sum of their half stars, and the Bayesian score in
    stars, (C·m + sum) / 2(C + n) with the prior in `rating_totals`, which "top rated" reads
    in the order of `ix_rating_tallies_top`."""

    __tablename__ = "rating_tallies"

    movie_id: int = Field(primary_key=True, foreign_key="movies.id", ondelete="CASCADE")
    ratings: int = Field(default=0)
    half_stars: int = Field(default=0)
    score: float


sa.Index(
    "ix_rating_tallies_top",
    sa.desc(RatingTally.score),  # type: ignore[call-overload]
    sa.desc(RatingTally.ratings),  # type: ignore[call-overload]
    RatingTally.movie_id,  # type: ignore[arg-type]
)


class RatingTotal(SQLModel, table=True):
    """Every rating folded so far (one row), and the prior the tallies' scores use: `prior_mean`
    (half stars) is the global mean when the scores were last recomputed, `prior_weight` C."""

    __tablename__ = "rating_totals"
    __table_args__ = (sa.CheckConstraint("id = 1", name="one_row"),)

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    ratings: int = Field(default=0, sa_type=sa.BigInteger)
    half_stars: int = Field(default=0, sa_type=sa.BigInteger)
    prior_mean: float
    prior_weight: float


# --- what leaves the service layer (API and pages read these, never the tables) ---


class UserPublic(SQLModel):
    id: int
    email: str
    display_name: str
    notification_channel: str
    is_admin: bool
    created_at: datetime
    email_verified: bool
    language: str | None  # None: not chosen yet (the pages go by the browser's language)


class MoviePublic(SQLModel):
    """A movie; `title` and `overview` in the language asked for (English where the movie has
    no translation), `original_title` as the film was released."""

    id: int
    title: str
    original_title: str
    year: int | None
    release_date: date | None
    overview: str
    poster_url: str | None
    genres: list[str]
    # an admin hid it: no vote for it. Only `get_movie` returns a hidden movie (a past vote
    # still shows its title); the catalogue's lists leave them out, the rankings do not say.
    hidden: bool = False
    # its ratings (0.5-5 stars): how many, their mean, and the Bayesian score "top rated"
    # sorts by (services/ratings.py); the catalogue's reads fill them, rankings leave them None
    rating_count: int | None = None
    rating_average: float | None = None
    rating_score: float | None = None


class MoviePage(SQLModel):
    items: list[MoviePublic]
    total: int
    page: int
    page_size: int


class VotePublic(SQLModel):
    id: int
    movie_id: int
    period: str  # YYYY-MM
    created_at: datetime
    next_vote_at: datetime
    # set when the vote's organisers voided it: it no longer counts (it is still the month's
    # one vote of its member)
    voided_at: datetime | None = None


class VoteStatus(SQLModel):
    """A vote as an admin acts on it: counted, or voided (when, by whom, why)."""

    id: int
    period: str  # YYYY-MM
    created_at: datetime
    movie_id: int
    movie_title: str
    user_id: int
    voided: bool
    voided_at: datetime | None
    voided_by: str | None  # the voiding admin's email (None: the account is gone)
    void_reason: str | None


class AdminVote(VoteStatus):
    """A vote in an admin's list of a month's votes, with who cast it and the stuffing signs
    it shows (`flags`: young_account, burst, signup_wave)."""

    email: str
    display_name: str
    account_age_hours: float  # how old the member's account was when the vote was cast
    verified: bool
    flags: list[str]


class SuspiciousMovie(SQLModel):
    """A movie some of whose votes of the month show stuffing signs (every vote counted,
    voided ones included: the signs say what happened, `voided` what was done about it)."""

    movie_id: int
    title: str
    votes: int
    voided: int
    young_account: int
    young_share: float  # of the movie's votes of the month, 0..1
    burst: int
    signup_wave: int
    shared_address: int
    flagged: int  # votes with at least one sign


class StuffingSigns(SQLModel):
    """The thresholds behind each sign."""

    young_account_hours: float
    burst_votes: int
    burst_minutes: float
    wave_accounts: int
    wave_minutes: float
    address_accounts: int
    address_minutes: float


class MonthVotes(SQLModel):
    period: str  # YYYY-MM
    final: bool  # the result is final: no vote of the month may be voided or restored
    final_at: datetime  # when it is (or was): the month's end plus RESULTS_GRACE_HOURS
    signs: StuffingSigns
    suspicious: list[SuspiciousMovie]
    items: list[AdminVote]
    total: int
    page: int
    page_size: int


class RankingEntry(SQLModel):
    rank: int
    movie: MoviePublic
    votes: int
    share: float  # of all the votes in the period, 0..1


class Ranking(SQLModel):
    period: str  # YYYY-MM or "all"
    generated_at: datetime
    total_votes: int
    items: list[RankingEntry]


class MemberPublic(SQLModel):
    """A member as an admin sees them."""

    id: int
    email: str
    display_name: str
    created_at: datetime
    verified: bool
    admin: bool
    blocked: bool
    blocked_at: datetime | None
    language: str | None


class MemberPage(SQLModel):
    items: list[MemberPublic]
    total: int
    page: int
    page_size: int


class AdminMovie(SQLModel):
    """A movie as an admin sees it in the catalogue section: hidden ones included."""

    id: int
    title: str
    year: int | None
    hidden: bool
    hidden_at: datetime | None


class AdminMoviePage(SQLModel):
    items: list[AdminMovie]
    total: int
    page: int
    page_size: int


class MovieText(SQLModel):
    """A movie's title and overview in one language."""

    title: str
    overview: str = ""


class MovieDetails(SQLModel):
    """A movie as an admin edits it: every text, in English (`title`, `overview`) and in the
    other languages (`translations`, by language; a language without one reads English)."""

    id: int
    source: str
    external_id: str
    title: str
    original_title: str
    year: int | None
    release_date: date | None
    overview: str
    poster_url: str | None
    genres: list[str]
    translations: dict[str, MovieText]
    hidden: bool


class MovieEdit(SQLModel):
    """An admin's changes to a movie: a field left out stays as it is. `year` and
    `poster_url` may be null (none); `genres` replaces the movie's genres; a language in
    `translations` given null (or an empty title and overview) loses its text and reads
    English again. The rules (lengths, ranges, an https poster) are the service's."""

    title: str | None = None
    original_title: str | None = None
    year: int | None = None
    overview: str | None = None
    poster_url: str | None = None
    genres: list[str] | None = None
    translations: dict[str, MovieText | None] | None = None


class ExternalMovie(SQLModel):
    """A hit of an external catalogue's search (TMDB, OMDb), and whether the catalogue has
    it: `movie_id` (the same source and id) or `lookalike_id` (another movie with the same
    title and year, from another source)."""

    source: str
    external_id: str
    title: str
    year: int | None
    overview: str
    poster_url: str | None
    movie_id: int | None = None
    lookalike_id: int | None = None


class ExternalSearch(SQLModel):
    source: str
    query: str
    items: list[ExternalMovie]


class AddedMovie(AdminMovie):
    """A movie added from an external catalogue; `created` False: it was there (same source
    and id) and was refreshed from the source."""

    created: bool


class FileProblem(SQLModel):
    """An entry of an imported file that was skipped (1 is the first entry), and why."""

    entry: int
    detail: str


class ImportSummary(SQLModel):
    """What a catalogue file's import did: `entries` = `added` + `updated` + `skipped`."""

    file: str
    source: str
    entries: int
    added: int
    updated: int
    skipped: int
    problems: list[FileProblem]


class InvitePublic(SQLModel):
    """An invite code as an admin sees it; `status`: active, used_up or expired (a revoked
    code expired when it was revoked)."""

    id: int
    code: str
    max_uses: int
    uses: int
    expires_at: datetime | None
    created_at: datetime
    created_by: int | None
    status: str


class InvitePage(SQLModel):
    items: list[InvitePublic]
    total: int
    page: int
    page_size: int


class AuditEntry(SQLModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_label: str
    action: str
    target_type: str | None
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


class AuditPage(SQLModel):
    items: list[AuditEntry]
    total: int
    page: int
    page_size: int


class ResultSummary(SQLModel):
    """A published month, as the list of results shows it."""

    month: str  # YYYY-MM
    published_at: datetime
    total_votes: int
    winner: RankingEntry | None  # None: no vote counted


class MonthResultPublic(SQLModel):
    """A month's published result: the whole ranking (titles in the language asked for) and
    what anyone needs to re-check it (the ballots' SHA-256 and the tie-break)."""

    month: str  # YYYY-MM
    published_at: datetime
    total_votes: int  # ballots counted
    ballots: int  # ballots published, voided ones included
    ballots_sha256: str  # of the canonical ballots CSV (GET .../ballots.csv)
    tie_break: str
    winner: RankingEntry | None
    ranking: list[RankingEntry]


class WinnerMovie(SQLModel):
    id: int
    title: str  # in the language asked for
    poster_url: str | None  # the catalogue's poster, if it has one
    cover_url: str  # the designed cover, always there (relative to the app)


class Winner(SQLModel):
    """The movie of a published month."""

    month: str  # YYYY-MM
    movie: WinnerMovie
    votes: int
    share: float  # of the month's counted votes, 0..1
    total_votes: int


class TallyMismatch(SQLModel):
    movie_id: int | None  # None: the month's total
    ballots: int  # what the ballots counted
    tallies: int  # what the live tallies said


class ResultCheck(SQLModel):
    """What admins see of a publication: did the live tallies agree with the ballots?"""

    month: str
    published_at: datetime
    total_votes: int
    ballots: int
    tallies_match: bool
    mismatches: list[TallyMismatch]
    notified_at: datetime | None  # every member was told (None: not yet, or nothing to say)


class PublishedBallotPublic(SQLModel):
    """One published ballot (a member looks up their own)."""

    month: str
    vote_id: int
    movie_id: int
    cast_at: str  # as the canonical CSV writes it: 2026-11-30T23:30:00.000000Z
    voter: str  # the month's pseudonym
    voided: bool


class RatingPublic(SQLModel):
    """A member's rating of a movie: 0.5 to 5 stars in half steps, and an optional review."""

    movie_id: int
    stars: float
    review: str | None
    created_at: datetime
    updated_at: datetime


class MyRating(RatingPublic):
    """One of my ratings, with the movie's title in the language asked for."""

    title: str


class MyRatingPage(SQLModel):
    items: list[MyRating]
    total: int
    page: int
    page_size: int


class ReviewPublic(SQLModel):
    """A rating as everyone sees it: who gave it (their display name), the stars, the review."""

    reviewer: str
    stars: float
    review: str | None
    created_at: datetime
    updated_at: datetime


class ReviewPage(SQLModel):
    """A movie's ratings, newest first; `total` from its tally (a fold behind at most)."""

    items: list[ReviewPublic]
    total: int
    page: int
    page_size: int


# the recommendations' model: "ready" (trained), "training" (the first training has not
# finished), "no_data" (no rating or vote to learn from yet)
ModelState = Literal["ready", "training", "no_data"]


class RecommendationReason(SQLModel):
    """Why a movie is recommended: `liked` or `voted` (because you liked, or voted for, the
    movie `movie_id`, titled `title` in the language asked for), `most_voted` (among this
    month's most voted) or `top_rated` (among the best rated)."""

    kind: Literal["liked", "voted", "most_voted", "top_rated"]
    movie_id: int | None = None
    title: str | None = None


class RecommendedMovie(SQLModel):
    movie: MoviePublic
    reason: RecommendationReason


class RecommendationList(SQLModel):
    """A member's recommendations ("for you"), best first; never a movie they rated or voted
    for, never a hidden one."""

    items: list[RecommendedMovie]
    state: ModelState
    trained_at: datetime | None  # when the model serving them was trained


class SimilarMovies(SQLModel):
    """Members who liked this movie also liked these (never a hidden movie); empty while no
    model is trained (`state`)."""

    movie_id: int
    items: list[MoviePublic]
    state: ModelState
    trained_at: datetime | None
