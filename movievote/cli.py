"""`movievote` command line: migrate, seed, import a catalogue, prestart, rebuild tallies,
invite codes, admins, publish and verify month results."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import sqlalchemy as sa
from tqdm import tqdm

from movievote.adapters.base import MovieData, MovieSource
from movievote.adapters.omdb import OmdbClient
from movievote.adapters.tmdb import TmdbClient, TmdbFile
from movievote.config import PROJECT_ROOT, get_settings
from movievote.db import (
    Database,
    adopt_legacy_database,
    ensure_database_directory,
    get_database,
    reset_database,
)
from movievote.errors import DomainError, MemberNotFound, ResultNotDue, ResultNotFound
from movievote.languages import LANGUAGES
from movievote.periods import format_period, parse_period
from movievote.services import (
    accounts,
    admin,
    ballots,
    catalogue,
    published,
    ratings,
    results,
    tallies,
)
from movievote.services.dispatcher import NotificationDispatcher

BUNDLED_CATALOGUE = Path(__file__).resolve().parent / "data" / "catalogue.json"
VERIFY_HELP = """Re-check a published month from its export, without trusting the server:

  movievote verify-results movievote-2026-11.json --server https://votes.example.com
  movievote verify-results movievote-2026-11-ballots.csv --server https://votes.example.com

It recomputes the SHA-256 of the canonical ballots and the ranking from the ballots that are
not voided, compares them with what the export claims and, with --server, with what the server
published (GET /api/results/YYYY-MM), and prints OK or each difference (exit status 1).

The canonical form: the ballots CSV in UTF-8 with LF line ends, the header
`vote_id,movie_id,cast_at,voter,voided`, one row per ballot sorted by vote_id; cast_at is
ISO-8601 in UTC with microseconds and Z (2026-11-30T23:30:00.000000Z), voter the month's
pseudonym of the member (16 hex digits), voided true or false. ballots_sha256 is the SHA-256
of exactly those bytes (the JSON export's ballots are written back into that form).

The ranking: more votes first; among equal counts, the movie that reached its count first
(the earliest last counted ballot); then the lower movie id.
"""


def migrate() -> None:
    """Bring the database schema to the newest Alembic revision."""
    from alembic.config import Config

    from alembic import command

    ensure_database_directory(get_settings())
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.attributes["skip_logging"] = True
    command.upgrade(config, "head")


async def import_source(
    source: MovieSource, *, db: Database, quiet: bool = False
) -> catalogue.ImportResult:
    """Import a source with a progress bar."""
    total = await source.total()
    with tqdm(total=total, unit="movie", desc=f"importing {source.name}", disable=quiet) as bar:
        return await catalogue.import_catalogue(source, db=db, on_progress=bar.update)


class Only:
    """The movies of a source whose external ids are listed."""

    def __init__(self, source: MovieSource, external_ids: set[str]) -> None:
        self.name = source.name
        self.source = source
        self.external_ids = external_ids

    async def total(self) -> int | None:
        return len(self.external_ids)

    async def movies(self) -> AsyncIterator[MovieData]:
        async for movie in self.source.movies():
            if movie.external_id in self.external_ids:
                yield movie


async def seed(*, db: Database, quiet: bool = False) -> catalogue.ImportResult | None:
    """Import the bundled catalogue if the movies table is empty. A database seeded before
    the catalogue had translations gets them: the bundled movies it has are imported again
    (updated, none added back), once. None: nothing to do."""
    settings = get_settings()
    source = TmdbFile(BUNDLED_CATALOGUE, image_base_url=settings.tmdb_image_base_url)
    if not await catalogue.count_movies(db=db):
        return await import_source(source, db=db, quiet=quiet)
    untranslated = await catalogue.untranslated_movies(source=source.name, db=db)
    if not untranslated:
        return None
    return await import_source(Only(source, untranslated), db=db, quiet=quiet)


def seeded(result: catalogue.ImportResult | None) -> str:
    """What `seed` did, in words."""
    if result is None:
        return "catalogue already present"
    if result.created:
        return f"seeded {result.created} movies"
    return f"added the bundled translations to {result.updated} movies"


async def wait_for_database(db: Database, timeout_seconds: float = 60.0) -> None:
    """Wait until the database accepts connections."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            async with db.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
            return
        except Exception as exc:
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"database not reachable after {timeout_seconds:.0f} s: {exc}"
                ) from exc
            await asyncio.sleep(1)


async def _import(args: argparse.Namespace, db: Database) -> None:
    settings = get_settings()
    async with httpx.AsyncClient(timeout=20) as http:
        source: MovieSource
        if args.file:
            source = TmdbFile(Path(args.file), image_base_url=settings.tmdb_image_base_url)
        elif args.tmdb:
            source = TmdbClient(
                http=http,
                base_url=settings.tmdb_base_url,
                api_key=settings.tmdb_api_key,
                image_base_url=settings.tmdb_image_base_url,
                max_pages=args.pages,
                languages=LANGUAGES,  # each page again in every other language we speak
            )
        else:
            source = OmdbClient(
                http=http,
                base_url=settings.omdb_base_url,
                api_key=settings.omdb_api_key,
                search=args.omdb,
                max_pages=args.pages,
            )
        result = await import_source(source, db=db, quiet=args.quiet)
    print(f"imported {result.total} movies: {result.created} new, {result.updated} updated")


async def set_admin(action: str, email: str, *, db: Database) -> str:
    """`movievote admin grant|revoke EMAIL`, recorded in the audit log as done by "cli"."""
    change = admin.grant_admin if action == "grant" else admin.revoke_admin
    try:
        changed = await change(email=email, actor=admin.CLI, db=db)
    except MemberNotFound as exc:
        raise SystemExit(exc.message) from exc
    address = accounts.account_key(email)
    if action == "grant":
        return f"{address} is an admin" if changed else f"{address} was an admin already"
    return f"{address} is no longer an admin" if changed else f"{address} was not an admin"


def published_line(done: results.Publication) -> str:
    """What `movievote publish` says of a month it published."""
    winner = done.winner

    def many(n: int, word: str) -> str:
        return f"{n:,} {word}" + ("" if n == 1 else "s")

    line = (
        f"published {format_period(done.period)}: {many(done.total_votes, 'vote')} counted of "
        f"{many(done.ballots, 'ballot')}; "
        + (
            f"winner: movie {winner.movie_id} with {many(winner.votes, 'vote')}"
            if winner
            else "no winner"
        )
        + f"; ballots SHA-256 {done.ballots_sha256}"
    )
    if not done.tallies_match:
        line += "\n  WARNING: the live tallies disagreed with the ballots (see the log, or "
        line += f"GET /api/admin/results/{format_period(done.period)})"
    return line


async def publish(month: str | None, *, db: Database) -> str:
    """`movievote publish [--month YYYY-MM]`: publish the months that are due (or that one),
    recorded in the audit log as done by "cli"."""
    settings = get_settings()
    dispatcher = NotificationDispatcher(settings=settings, db=db)
    if month is None:
        done = await results.publish_due(
            actor=admin.CLI, settings=settings, db=db, dispatcher=dispatcher
        )
        return "\n".join(published_line(d) for d in done) or "no month is due: nothing to publish"
    try:
        period = parse_period(month)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    try:
        one = await results.publish_month(
            period=period, actor=admin.CLI, settings=settings, db=db, dispatcher=dispatcher
        )
    except (ResultNotDue, ResultNotFound) as exc:
        raise SystemExit(exc.message) from exc
    if one is not None:
        return published_line(one)
    row = await published.published_row(period=period, settings=settings, db=db)
    return (
        f"{month} was published already, on {row.published_at:%Y-%m-%d %H:%M} UTC "
        f"(ballots SHA-256 {row.ballots_sha256})"
    )


async def verify_results(
    path: str,
    *,
    server: str | None = None,
    month: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> ballots.Verification:
    """`movievote verify-results FILE [--server URL]`: re-check an export, and what a server
    published for its month."""
    found = await asyncio.to_thread(ballots.verify_export, path, month=month)
    if found.month is None:  # a CSV says no month: its file name does (movievote-2026-11-...)
        found.month = ballots.month_of_file(path)
    if server:
        asked = month or found.month
        if asked is None:
            raise SystemExit("which month is this? give --month YYYY-MM")
        async with contextlib.AsyncExitStack() as stack:
            if http is None:
                http = await stack.enter_async_context(httpx.AsyncClient(timeout=30))
            try:
                claim = await ballots.fetch_published(server, asked, http=http)
            except (ValueError, httpx.HTTPError) as exc:
                raise SystemExit(f"cannot read the published result: {exc}") from exc
        found.compare(claim)
    return found


async def _run(args: argparse.Namespace) -> None:
    db = get_database()  # the CLI's own: it serves no request, so it builds no root
    try:
        if args.command == "seed":
            print(seeded(await seed(db=db, quiet=args.quiet)))
        elif args.command == "import":
            await _import(args, db)
        elif args.command == "prestart":
            await wait_for_database(db, args.timeout)
            await asyncio.to_thread(migrate)
            result = await seed(db=db, quiet=args.quiet)
            await tallies.fold_vote_deltas(db=db)
            print("ready" + ("" if result is None else f" ({seeded(result)})"))
        elif args.command == "rebuild-tallies":
            await tallies.rebuild_tallies(db=db)
            print("tallies rebuilt from the votes")
        elif args.command == "rebuild-rating-tallies":
            await ratings.rebuild_rating_tallies(db=db)
            print("rating tallies and scores rebuilt from the ratings")
        elif args.command == "invite":
            try:  # recorded in the audit log, as done by "cli"
                invite = await admin.create_invite(
                    max_uses=args.uses,
                    days=args.days if args.days > 0 else None,
                    actor=admin.CLI,
                    db=db,
                )
            except DomainError as exc:
                raise SystemExit(exc.message) from exc
            until = (
                f"until {invite.expires_at:%Y-%m-%d %H:%M} UTC"
                if invite.expires_at
                else "with no expiry"
            )
            print(f"invite code {invite.code}: {invite.max_uses} sign-up(s), {until}")
        elif args.command == "verify-email":
            user = await accounts.get_user_by_email(db=db, email=args.email)
            if user is None or user.id is None:
                raise SystemExit(f"no account uses {args.email}")
            await accounts.mark_verified(db=db, user_id=user.id)
            print(f"{user.email} is verified: the account may vote")
        elif args.command == "admin":
            print(await set_admin(args.action, args.email, db=db))
        elif args.command == "publish":
            print(await publish(args.month, db=db))
        elif args.command == "verify-results":
            found = await verify_results(args.file, server=args.server, month=args.month)
            print(found.report())
            if not found.ok:
                sys.exit(1)
    finally:
        await reset_database()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="movievote", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    seed_p = sub.add_parser(
        "seed",
        help="import the bundled catalogue if there are no movies (or its translations, once)",
    )
    seed_p.add_argument("--quiet", action="store_true")
    imp = sub.add_parser("import", help="import movies (idempotent: re-import updates)")
    src = imp.add_mutually_exclusive_group(required=True)
    src.add_argument("--file", help="a JSON file in TMDB format")
    src.add_argument("--tmdb", action="store_true", help="TMDB /discover/movie (TMDB_API_KEY)")
    src.add_argument("--omdb", metavar="SEARCH", help="OMDb title search (OMDB_API_KEY)")
    imp.add_argument("--pages", type=int, default=5, help="pages to fetch from an API")
    imp.add_argument("--quiet", action="store_true")
    pre = sub.add_parser("prestart", help="wait for the database, migrate, seed when empty")
    pre.add_argument("--timeout", type=float, default=60.0)
    pre.add_argument("--quiet", action="store_true")
    sub.add_parser("rebuild-tallies", help="recompute every ranking tally from the votes")
    sub.add_parser(
        "rebuild-rating-tallies", help="recompute every rating tally and score from the ratings"
    )
    inv = sub.add_parser("invite", help="create an invite code (SIGNUP_MODE=invite)")
    inv.add_argument("--uses", type=int, default=1, help="how many sign-ups it admits")
    inv.add_argument("--days", type=float, default=14, help="days it stays valid (0: forever)")
    ver = sub.add_parser(
        "verify-email", help="mark an account's address verified (an operator vouches for it)"
    )
    ver.add_argument("email")
    adm = sub.add_parser("admin", help="grant or revoke the admin role (recorded in the audit log)")
    adm.add_argument("action", choices=("grant", "revoke"))
    adm.add_argument("email")
    pub = sub.add_parser(
        "publish",
        help="publish the month results that are due (recorded in the audit log)",
        description="Publish every month whose result is due (its end in VOTE_TIMEZONE plus "
        "RESULTS_GRACE_HOURS) and tell the members; the server does it by itself every minute. "
        "A month not yet due is refused.",
    )
    pub.add_argument("--month", metavar="YYYY-MM", help="publish only this month")
    check = sub.add_parser(
        "verify-results",
        help="re-check a month's export: the ballots' SHA-256 and the ranking",
        description=VERIFY_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument("file", help="export.json, or ballots.csv (with --server or --month)")
    check.add_argument("--server", metavar="URL", help="also compare with what URL published")
    check.add_argument("--month", metavar="YYYY-MM", help="the month (a CSV does not say)")
    args = parser.parse_args(argv)
    moved = adopt_legacy_database(get_settings())
    if moved:
        print(moved)
    if args.command == "migrate":
        migrate()
        return
    asyncio.run(_run(args))


if __name__ == "__main__":
    main()
