"""Ballots anyone can re-check: the canonical form of a month's ballots, the voters'
pseudonyms, the ranking rule, and the verification of an export (`movievote verify-results`).

The canonical form (docs/architecture.md, "Month results"): a CSV in UTF-8 with LF line ends,
the header `vote_id,movie_id,cast_at,voter,voided`, then one row per ballot sorted by vote_id;
`cast_at` is ISO-8601 in UTC with microseconds and `Z` (2026-11-30T23:30:00.000000Z), `voter`
the month's pseudonym (16 hex digits), `voided` `true` or `false`. A month's `ballots_sha256`
is the SHA-256 of exactly those bytes.

Nothing here touches the database: the server and a member verifying an export at home run the
same functions, streaming (memory grows with the movies, never with the ballots).
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import io
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import httpx

from movievote.errors import N_
from movievote.periods import format_period

CSV_HEADER = "vote_id,movie_id,cast_at,voter,voided\n"
TIE_BREAK = N_(  # in every export as it is; the result pages show it translated
    "more votes first; among equal counts, the movie that reached its count first (the "
    "earliest last counted vote); then the lower movie id"
)
PSEUDONYM_CHARS = 16
_PSEUDONYM_LABEL = b"movievote ballot pseudonyms v1"
_CAST_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_VOTER = re.compile(r"^[0-9a-f]{16}$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_PROBLEMS = 20  # format problems listed one by one; the rest are counted
READ_CHUNK = 1 << 16
HASH_BATCH = 2000  # ballots hashed per update()


# --- the canonical form ---------------------------------------------------------------------


def cast_at_text(moment: datetime) -> str:
    """An instant as the canonical form writes it: 2026-11-30T23:30:00.000000Z."""
    utc = moment.astimezone(UTC) if moment.tzinfo is not None else moment
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def csv_row(vote_id: int, movie_id: int, cast_at: str, voter: str, voided: bool) -> str:
    """One ballot's line of the canonical CSV (`cast_at` already in its canonical text)."""
    return f"{vote_id},{movie_id},{cast_at},{voter},{'true' if voided else 'false'}\n"


def json_ballot(vote_id: int, movie_id: int, cast_at: str, voter: str, voided: bool) -> str:
    """One ballot as the JSON export writes it (the same five fields)."""
    return (
        f'{{"vote_id": {vote_id}, "movie_id": {movie_id}, "cast_at": "{cast_at}", '
        f'"voter": "{voter}", "voided": {"true" if voided else "false"}}}'
    )


# --- pseudonyms -------------------------------------------------------------------------------


def pseudonym_key(secret_key: str) -> bytes:
    """The key voters' pseudonyms are made with, derived from SECRET_KEY (never the JWT key
    itself): HMAC-SHA256(SECRET_KEY, a fixed label)."""
    return hmac.new(secret_key.encode(), _PSEUDONYM_LABEL, hashlib.sha256).digest()


def pseudonym(key: bytes, period: date, user_id: int) -> str:
    """A voter's pseudonym for one month: the first 16 hex digits of HMAC-SHA256(key,
    "YYYY-MM:user_id"). The same all month; unlinkable across months without the key."""
    message = f"{format_period(period)}:{user_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:PSEUDONYM_CHARS]


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104), so a database with only a plain
    `sha256()` computes the same pseudonym: sha256(outer || sha256(inner || message))."""
    block = key.ljust(64, b"\0")  # a 32-byte key: padded, never hashed first
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


# --- the ranking rule -------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A movie's place in a month's ranking, computed from the counted ballots."""

    rank: int
    movie_id: int
    votes: int
    reached_at: str  # its last counted ballot's cast_at (canonical text)
    share: float  # of the counted ballots, rounded to 6 decimals


def rank_movies(counts: Mapping[int, tuple[int, str]]) -> list[Place]:
    """The ranking of `counts` (movie id -> (counted ballots, latest cast_at text)) by the
    tie-break (TIE_BREAK): votes descending, then the earliest last ballot, then the lower id.
    Canonical cast_at texts sort as the instants they name."""
    total = sum(votes for votes, _ in counts.values())
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))
    return [
        Place(
            rank=position,
            movie_id=movie_id,
            votes=votes,
            reached_at=last,
            share=round(votes / total, 6) if total else 0.0,
        )
        for position, (movie_id, (votes, last)) in enumerate(ordered, start=1)
    ]


class Tally:
    """Counted ballots per movie, fed one ballot at a time (memory: one entry per movie)."""

    def __init__(self) -> None:
        self.counts: dict[int, tuple[int, str]] = {}
        self.ballots = 0
        self.voided = 0

    def add(self, movie_id: int, cast_at: str, voided: bool) -> None:
        self.ballots += 1
        if voided:
            self.voided += 1
            return
        votes, last = self.counts.get(movie_id, (0, ""))
        self.counts[movie_id] = (votes + 1, cast_at if cast_at > last else last)

    @property
    def counted(self) -> int:
        return self.ballots - self.voided

    def ranking(self) -> list[Place]:
        return rank_movies(self.counts)


def _votes(n: int) -> str:
    return f"{n:,} vote" if n == 1 else f"{n:,} votes"


# --- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """What a document (an export's header, or the server's published result) says a month's
    result is."""

    source: str  # "the export", "the server"
    month: str | None
    ballots_sha256: str | None
    total_votes: int | None
    ranking: list[tuple[int, int, int]] | None  # (rank, movie id, votes)


@dataclass
class Verification:
    """What re-checking an export found: the recomputed ranking and SHA-256, and every
    difference from what the export (and the server) claim."""

    month: str | None = None
    ballots: int = 0
    counted: int = 0
    sha256: str = ""
    ranking: list[Place] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    checked_against: list[str] = field(default_factory=list)
    _format_problems: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def format_problem(self, text: str) -> None:
        self._format_problems += 1
        if self._format_problems <= MAX_PROBLEMS:
            self.problems.append(text)

    def close(self) -> None:
        if self._format_problems > MAX_PROBLEMS:
            self.problems.append(
                f"... and {self._format_problems - MAX_PROBLEMS:,} more ballots like those"
            )

    def report(self) -> str:
        """The verdict for a person: OK and what was checked, or each difference."""
        month = self.month or "(unknown month)"
        head = (
            f"{month}: {self.ballots:,} ballots, {self.counted:,} counted, "
            f"{self.ballots - self.counted:,} voided; SHA-256 {self.sha256}"
        )
        if self.ok:
            against = " and ".join(self.checked_against) or "nothing (no claim to compare)"
            lines = [f"OK: {head}", f"  the hash and the ranking match {against}"]
            if self.ranking:
                top = self.ranking[0]
                lines.append(
                    f"  winner: movie {top.movie_id} with {_votes(top.votes)} ({top.share:.1%})"
                )
            return "\n".join(lines)
        return "\n".join([f"FAILED: {head}", *(f"  - {p}" for p in self.problems)])

    def compare(self, claim: Claimed) -> None:
        """Record every difference between what the ballots give and what `claim` says."""
        self.checked_against.append(claim.source)
        if claim.month is not None and self.month is not None and claim.month != self.month:
            self.problems.append(
                f"month: the ballots are of {self.month}, {claim.source} is about {claim.month}"
            )
        if claim.ballots_sha256 is not None and claim.ballots_sha256 != self.sha256:
            self.problems.append(
                f"ballots SHA-256 mismatch: the ballots hash to {self.sha256}, "
                f"{claim.source} says {claim.ballots_sha256} (a ballot was changed, added, "
                "removed or reordered)"
            )
        if claim.total_votes is not None and claim.total_votes != self.counted:
            self.problems.append(
                f"total mismatch: the ballots count {self.counted:,} votes, "
                f"{claim.source} says {claim.total_votes:,}"
            )
        if claim.ranking is not None:
            self.problems.extend(ranking_differences(self.ranking, claim.ranking, claim.source))


def ranking_differences(
    computed: Sequence[Place], claimed: Sequence[tuple[int, int, int]], source: str
) -> list[str]:
    """Each place where `claimed` (rank, movie id, votes) differs from the recomputed ranking."""
    found: list[str] = []
    by_rank = {rank: (movie_id, votes) for rank, movie_id, votes in claimed}
    if len(by_rank) != len(claimed):
        found.append(f"ranking mismatch: {source} lists a rank twice")
    for place in computed:
        said = by_rank.pop(place.rank, None)
        if said is None:
            found.append(
                f"ranking mismatch: rank {place.rank}: the ballots give movie "
                f"{place.movie_id} with {_votes(place.votes)}, {source} has no such rank"
            )
        elif said != (place.movie_id, place.votes):
            found.append(
                f"ranking mismatch: rank {place.rank}: {source} says movie {said[0]} with "
                f"{_votes(said[1])}, the ballots give movie {place.movie_id} with "
                f"{_votes(place.votes)}"
            )
    for rank, (movie_id, votes) in sorted(by_rank.items()):
        found.append(
            f"ranking mismatch: rank {rank}: {source} says movie {movie_id} with "
            f"{_votes(votes)}, the ballots give no such rank"
        )
    return found


class _Ballots:
    """Checks ballots one by one (their form and order), hashes their canonical form and
    counts them."""

    def __init__(self, result: Verification) -> None:
        self.result = result
        self.tally = Tally()
        self.digest = hashlib.sha256(CSV_HEADER.encode())
        self.pending: list[str] = []
        self.previous = 0

    def add(
        self,
        where: Callable[[], str],
        vote_id: Any,
        movie_id: Any,
        cast_at: Any,
        voter: Any,
        voided: Any,
    ) -> None:
        """Check and count one ballot; `where` says where it is (asked only if it is wrong)."""
        result = self.result
        valid = True
        if type(vote_id) is not int or vote_id < 1:
            result.format_problem(f"{where()}: vote_id {vote_id!r} is not a positive integer")
            valid = False
        if type(movie_id) is not int or movie_id < 1:
            result.format_problem(f"{where()}: movie_id {movie_id!r} is not a positive integer")
            valid = False
        if not isinstance(cast_at, str) or not _CAST_AT.match(cast_at):
            result.format_problem(
                f"{where()}: cast_at {cast_at!r} is not ISO-8601 UTC with microseconds and Z"
            )
            valid = False
        if not isinstance(voter, str) or not _VOTER.match(voter):
            result.format_problem(f"{where()}: voter {voter!r} is not 16 hex digits")
            valid = False
        if type(voided) is not bool:
            result.format_problem(f"{where()}: voided {voided!r} is not true or false")
            valid = False
        if not valid:
            return
        if vote_id <= self.previous:
            result.format_problem(
                f"{where()}: vote {vote_id} comes after vote {self.previous}: the ballots must be "
                "sorted by vote_id, each once"
            )
        self.previous = max(self.previous, vote_id)
        self.tally.add(movie_id, cast_at, voided)
        self.pending.append(csv_row(vote_id, movie_id, cast_at, voter, voided))
        if len(self.pending) >= HASH_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.digest.update("".join(self.pending).encode())
            self.pending.clear()

    def finish(self, *, sha256: str | None = None) -> None:
        """Close the count; `sha256`: the digest of the exact bytes read (a CSV file), which
        is what must match, rather than the canonical form rebuilt from its fields."""
        self.flush()
        result = self.result
        result.ballots = self.tally.ballots
        result.counted = self.tally.counted
        result.ranking = self.tally.ranking()
        result.sha256 = sha256 or self.digest.hexdigest()


class _JsonReader:
    """A JSON text read piece by piece: the top-level object's small values whole, the
    `ballots` array one element at a time (memory: one read chunk and one value)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.decoder = json.JSONDecoder()
        self.text = codecs.getincrementaldecoder("utf-8")()
        self.buffer = ""
        self.pos = 0
        self.eof = False
        self.line = 1

    def _more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(READ_CHUNK)
        self.line += self.buffer.count("\n", 0, self.pos)
        self.buffer = self.buffer[self.pos :] + self.text.decode(chunk, final=not chunk)
        self.pos = 0
        self.eof = not chunk
        return True

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._more():
                return ""

    def expect(self, char: str) -> None:
        found = self.peek()
        if found != char:
            raise ValueError(f"expected {char!r} but found {found or 'the end'!r}")
        self.pos += 1

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                found, end = self.decoder.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError:
                if not self._more():
                    raise
                continue
            if end == len(self.buffer) and not self.eof and self._more():
                continue  # a number cut by the chunk's end would decode short: read on
            self.pos = end
            return found

    def where(self) -> str:
        return f"line {self.line + self.buffer.count(chr(10), 0, self.pos)}"


def _claimed_ranking(value: Any, source: str, result: Verification) -> list[tuple[int, int, int]]:
    places = []
    if not isinstance(value, list):
        result.problems.append(f"{source}: `ranking` is not a list")
        return []
    for entry in value:
        try:
            movie = entry.get("movie_id", entry.get("movie", {}).get("id"))
            places.append((int(entry["rank"]), int(movie), int(entry["votes"])))
        except (AttributeError, KeyError, TypeError, ValueError):
            result.problems.append(f"{source}: a ranking entry is unreadable: {entry!r:.80}")
    return places


def _verify_json(stream: IO[bytes], result: Verification) -> Claimed:
    reader = _JsonReader(stream)
    ballots = _Ballots(result)
    header: dict[str, Any] = {}
    seen_ballots = False
    reader.expect("{")
    while reader.peek() != "}":
        key = reader.value()
        reader.expect(":")
        if key != "ballots":
            header[key] = reader.value()
        else:
            seen_ballots = True
            reader.expect("[")
            position = 0
            while reader.peek() != "]":
                ballot = reader.value()
                position += 1

                def where(n: int = position) -> str:
                    return f"ballot {n} ({reader.where()})"

                if isinstance(ballot, dict):
                    ballots.add(
                        where,
                        ballot.get("vote_id"),
                        ballot.get("movie_id"),
                        ballot.get("cast_at"),
                        ballot.get("voter"),
                        ballot.get("voided"),
                    )
                else:
                    result.format_problem(f"{where()}: not an object")
                if reader.peek() == ",":
                    reader.expect(",")
            reader.expect("]")
        if reader.peek() == ",":
            reader.expect(",")
    reader.expect("}")
    if not seen_ballots:
        result.problems.append("the export has no `ballots`")
    ballots.finish()
    month = header.get("month")
    result.month = month if isinstance(month, str) else None
    total = header.get("total_votes")
    sha = header.get("ballots_sha256")
    return Claimed(
        source="the export",
        month=result.month,
        ballots_sha256=sha if isinstance(sha, str) else None,
        total_votes=total if type(total) is int else None,
        ranking=_claimed_ranking(header.get("ranking", []), "the export", result),
    )


def _verify_csv(stream: IO[bytes], result: Verification) -> None:
    digest = hashlib.sha256()
    ballots = _Ballots(result)
    header = stream.readline()
    digest.update(header)
    if header != CSV_HEADER.encode():
        result.problems.append(
            f"line 1: the header is {header[:80]!r}, the canonical form's is {CSV_HEADER!r}"
        )
    number = 1
    for raw in stream:
        number += 1
        digest.update(raw)
        line = raw.decode("utf-8", errors="replace")
        if not line.endswith("\n") or line.endswith("\r\n"):
            result.format_problem(f"line {number}: does not end with a single LF")
        fields = line.rstrip("\r\n").split(",")
        if len(fields) != 5:
            result.format_problem(f"line {number}: {len(fields)} fields instead of 5")
            continue
        vote_id, movie_id, cast_at, voter, voided = fields
        ballots.add(
            lambda n=number: f"line {n}",  # type: ignore[misc]
            int(vote_id) if vote_id.isdigit() else vote_id,
            int(movie_id) if movie_id.isdigit() else movie_id,
            cast_at,
            voter,
            {"true": True, "false": False}.get(voided, voided),
        )
    ballots.finish(sha256=digest.hexdigest())


def verify_export(
    source: str | Path | IO[bytes], *, month: str | None = None, published: Claimed | None = None
) -> Verification:
    """Re-check a month's export: a JSON export (`export.json`) or the ballots CSV
    (`ballots.csv`, whose month is `month`). Recomputes the SHA-256 of the canonical ballots
    and the ranking from the ballots that are not voided (TIE_BREAK), and compares them with
    what the export itself claims and, if given, with what the server `published`
    (`fetch_published`). Streams: memory grows with the movies, not the ballots."""
    result = Verification(month=month)
    if isinstance(source, str | Path):
        with open(source, "rb") as stream:
            return verify_export(stream, month=month, published=published)
    buffered = source if isinstance(source, io.BufferedReader) else io.BufferedReader(source)  # type: ignore[type-var]
    first = buffered.peek(64).lstrip()[:1]
    try:
        if first == b"{":
            claim = _verify_json(buffered, result)
            if month is not None and result.month not in (None, month):
                result.problems.append(f"month: the export is of {result.month}, not {month}")
            result.compare(claim)
        else:
            _verify_csv(buffered, result)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        result.problems.append(f"the file cannot be read as a movievote export: {exc}")
    result.close()
    if published is not None:
        result.compare(published)
    if result.month is None:
        result.month = published.month if published is not None else None
    return result


def month_of_file(path: str | Path) -> str | None:
    """The month a downloaded file's name carries (movievote-2026-11-ballots.csv)."""
    found = re.search(r"(\d{4}-(0[1-9]|1[0-2]))", Path(path).name)
    return found.group(1) if found else None


async def fetch_published(server: str, month: str, *, http: httpx.AsyncClient) -> Claimed:
    """What a movievote server published for `month` (GET /api/results/YYYY-MM): its ballots'
    SHA-256, its total and its ranking. ValueError with the server's words if it has none."""
    if not _MONTH.match(month):
        raise ValueError(f"a month is written YYYY-MM, got {month!r}")
    response = await http.get(f"{server.rstrip('/')}/api/results/{month}")
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text[:200]
        raise ValueError(f"{server} answered {response.status_code}: {detail}")
    body = response.json()
    places: list[tuple[int, int, int]] = [
        (int(e["rank"]), int(e["movie"]["id"]), int(e["votes"])) for e in body["ranking"]
    ]
    return Claimed(
        source=f"the server ({server})",
        month=body["month"],
        ballots_sha256=body["ballots_sha256"],
        total_votes=int(body["total_votes"]),
        ranking=places,
    )
