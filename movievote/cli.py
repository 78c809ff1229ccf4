"""`movievote` command line: migrate, seed, import a catalogue, prestart, rebuild tallies,
invite codes, admins."""

from __future__ import annotations

import argparse
import asyncio
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
from movievote.errors import DomainError, MemberNotFound
from movievote.languages import LANGUAGES
from movievote.services import accounts, admin, catalogue, tallies

BUNDLED_CATALOGUE = Path(__file__).resolve().parent / "data" / "catalogue.json"


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
