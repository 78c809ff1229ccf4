"""What moved in a live ranking, said in a sentence for screen readers: "Jaws moves up to
second", "Alien enters the top 10 at ninth", "Jaws is now first".

Only the movies that rose or came in are named (the ones they passed went down: saying so
would double the words), the highest place first, at most `MAX_NAMED`; a vote that moved no
one says nothing (the counts are on the page, read when asked). No database: the live feed
calls it with the ranking it last announced and the new one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from movievote.i18n import N_, gettext, ngettext

MAX_NAMED = 3  # a longer sentence is one nobody waits for: "and 2 other movies moved up"

# the places of a top 10, by name (Babel spells no ordinals): "moves up to second"
PLACES = {
    2: N_("second"),
    3: N_("third"),
    4: N_("fourth"),
    5: N_("fifth"),
    6: N_("sixth"),
    7: N_("seventh"),
    8: N_("eighth"),
    9: N_("ninth"),
    10: N_("tenth"),
}


@dataclass(frozen=True)
class Move:
    """A movie that rose to `rank`, or came into the ranking there (`entered`)."""

    movie_id: int
    rank: int
    entered: bool


def moves(before: Mapping[int, int], after: Mapping[int, int]) -> list[Move]:
    """The movies (id -> rank) that rose or entered between two rankings, best place first."""
    found = [
        Move(movie_id, rank, movie_id not in before)
        for movie_id, rank in after.items()
        if movie_id not in before or rank < before[movie_id]
    ]
    return sorted(found, key=lambda move: move.rank)


def _place(language: str, rank: int) -> str:
    return gettext(language, PLACES[rank]) if rank in PLACES else str(rank)


def _sentence(language: str, move: Move, title: str, top: int) -> str:
    if move.rank == 1:
        return gettext(language, N_("{title} is now first"), title=title)
    place = _place(language, move.rank)
    if move.entered:
        return gettext(
            language,
            N_("{title} enters the top {top} at {place}"),
            title=title,
            top=top,
            place=place,
        )
    return gettext(language, N_("{title} moves up to {place}"), title=title, place=place)


def describe(found: Sequence[Move], titles: Mapping[int, str], *, language: str, top: int) -> str:
    """`moves` in words, in `language` ("" when nothing moved); `titles`: id -> title."""
    named = [
        _sentence(language, move, titles.get(move.movie_id, ""), top) for move in found[:MAX_NAMED]
    ]
    rest = len(found) - len(named)
    if rest:
        named.append(
            ngettext(language, "{n} other movie moved up", "{n} other movies moved up", rest)
        )
    return ". ".join(named) + ("." if named else "")
