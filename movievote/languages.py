"""The languages movievote speaks: their codes, the default, and the choice from a browser's
Accept-Language header (Babel's negotiation). A new language is one more code here."""

from __future__ import annotations

import re
from typing import Literal, get_args

from babel.core import negotiate_locale

Language = Literal["en", "pt-BR"]  # the codes, exactly as stored and as the API takes them
LANGUAGES: tuple[str, ...] = get_args(Language)  # ("en", "pt-BR")
# the catalogue's own language (movies.title, movies.overview), and the one to fall back on
DEFAULT_LANGUAGE: Language = "en"

_BY_TAG = {code.lower(): code for code in LANGUAGES}
# a bare language asks for the first listed code of that language: "pt" (or "pt-PT") is pt-BR
_BY_PRIMARY: dict[str, str] = {}
for _code in LANGUAGES:
    _BY_PRIMARY.setdefault(_code.split("-")[0].lower(), _code)
_TAG = re.compile(r"^[a-z]{1,8}(-[a-z0-9]{1,8})*$")
_MAX_HEADER_CHARS, _MAX_RANGES = 1000, 30


def check(code: str) -> str:
    """`code` if it is one of LANGUAGES, written exactly so; ValueError (a sentence) otherwise
    (a browser's "pt-br" or "pt_BR" goes through `negotiate` instead)."""
    if code not in LANGUAGES:
        raise ValueError(f"Unknown language {code[:20]!r}: choose one of {', '.join(LANGUAGES)}")
    return code


def _preferred(accept_language: str) -> list[str]:
    """The header's language tags, most wanted first (`q` descending, then as written); `*`,
    `q=0` and anything unreadable left out."""
    ranked: list[tuple[float, int, str]] = []
    ranges = accept_language[:_MAX_HEADER_CHARS].split(",")[:_MAX_RANGES]
    for position, part in enumerate(ranges):
        tag, *params = (piece.strip() for piece in part.split(";"))
        tag = tag.replace("_", "-").lower()
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if _TAG.match(tag) and 0 < quality <= 1:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The supported language an Accept-Language header prefers: "pt", "pt-PT", "pt_BR" and
    "pt-br;q=0.9" all give "pt-BR", "en-GB" gives "en"; `default` when it names none of ours
    or cannot be read."""
    if not accept_language:
        return default
    # each tag, then its bare language, so a region we lack still finds the language
    wanted = [c for tag in _preferred(accept_language) for c in (tag, tag.split("-")[0])]
    found = negotiate_locale(wanted, LANGUAGES, sep="-", aliases=_BY_PRIMARY)
    if found is None:
        return default
    return _BY_TAG.get(found.lower()) or _BY_PRIMARY.get(found.lower(), default)
