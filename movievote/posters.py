"""Designed covers for movies without a poster: a minimalist film poster as SVG, made from the
title, year and genres (the palette from the main genre, the motif and its angles from a hash
of the title and year), the whole title always set in full."""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

WIDTH, HEIGHT = 400, 600  # 2:3, the shape of a one-sheet
MARGIN = 32
TEXT_WIDTH = WIDTH - 2 * MARGIN
SERIF = "Georgia, 'Times New Roman', Times, serif"
SANS = "'Helvetica Neue', Helvetica, Arial, sans-serif"

TITLE_BASELINE = 512  # the last line of the title; the block grows upwards from it
TITLE_MAX_HEIGHT = 290  # room the title may take before the motif has too little
TITLE_SIZES = (84, 12)  # px, largest first
BREAK_AT_HYPHENS_BELOW = 56  # px: from this size down, a word too wide may split at a hyphen
BREAK_WORDS_BELOW = 28  # px: and from this one, anywhere
LINE_HEIGHT = 1.08  # of the font size
ASCENT = 0.78  # of the font size: how far a line's letters rise above its baseline
FOOTER_BASELINE = 564
FOOTER_SIZE = 16
FOOTER_TRACKING = 0.12  # em of letter-spacing in the small caps
SPACE_EM = 0.34
MIN_MOTIF_HEIGHT = 40  # px: less room than this above the title, and the cover has no motif
CACHED_COVERS = 512  # bounded: a cover is about 2 KB


@dataclass(frozen=True)
class Palette:
    """Colours of one genre: a gradient from `top` to `bottom`, motif colours, and text colours
    that keep WCAG AA contrast (4.5:1) against every colour of the gradient."""

    top: str
    bottom: str
    accent: str
    accent2: str
    ink: str  # the title
    muted: str  # the year and the genre
    serif: bool = True


PALETTES: dict[str, Palette] = {
    "horror": Palette("#120708", "#3a0a0f", "#b0141f", "#5c0b12", "#f3e9e4", "#d9bdb5"),
    "animation": Palette(
        "#ffd447", "#ff9f43", "#ff5e7e", "#2ec4b6", "#1b1740", "#3b2350", serif=False
    ),
    "science fiction": Palette(
        "#050d24", "#0b2b55", "#22d3ee", "#3b82f6", "#e6fbff", "#9fdcea", serif=False
    ),
    "western": Palette("#f4c98f", "#de8b4f", "#8c2f1b", "#fbe3b9", "#2a1307", "#3f1f0c"),
    "war": Palette("#272c20", "#4a5236", "#c9b26f", "#7d8457", "#f1ecd6", "#d5cca8"),
    "documentary": Palette(
        "#efeae0", "#dcd4c4", "#c23b22", "#1f1f1f", "#1c1c1c", "#4a4339", serif=False
    ),
    "music": Palette("#1f0833", "#6a1a63", "#ff4fa3", "#ffb347", "#fff0fa", "#f2bfdc", serif=False),
    "romance": Palette("#fbd3d3", "#f4a7b0", "#c2185b", "#fff1f1", "#3d0b1f", "#5c1630"),
    "fantasy": Palette("#170b33", "#46206b", "#f2c46b", "#a77bf0", "#f7f0ff", "#d6c3f2"),
    "mystery": Palette("#0a1822", "#1c3a4c", "#7fc4c9", "#e0b15a", "#eaf5f5", "#b3d4d6"),
    "thriller": Palette(
        "#0a0d12", "#1d2631", "#e63946", "#a8dadc", "#f1faee", "#c2cfd4", serif=False
    ),
    "crime": Palette("#0e0f11", "#2a2e35", "#d9a93f", "#8a1c1c", "#f3f1ea", "#cfc8b6"),
    "family": Palette(
        "#a6e1fa", "#c9f2c7", "#ff7a90", "#ffd166", "#0e2a47", "#1f3d5c", serif=False
    ),
    "comedy": Palette(
        "#ffe066", "#ffc53d", "#ff6b4a", "#2d6cdf", "#231a05", "#4a3708", serif=False
    ),
    "history": Palette("#2f261b", "#5f4b32", "#c9a56b", "#8b3a2b", "#f6edd9", "#dccba8"),
    "adventure": Palette("#0c3b37", "#1f6e5a", "#f2c14e", "#f78154", "#f7f3e3", "#e0eee4"),
    "action": Palette(
        "#0f0f10", "#2d2d30", "#ff5a1f", "#ffd23f", "#ffffff", "#cfcfd4", serif=False
    ),
    "drama": Palette("#3a1c17", "#8a3a22", "#eba35a", "#f3d9b1", "#fbf1e4", "#efcfb2"),
}
DEFAULT_PALETTE = Palette("#1f2933", "#3e4c59", "#f0b429", "#9fb3c8", "#f5f7fa", "#c9d3de")
# The most telling genre of a movie's list sets its colours (the catalogue lists genres
# alphabetically, so "Action, Drama, Science Fiction" is science fiction, not action).
GENRE_PRIORITY = (
    "horror",
    "animation",
    "science fiction",
    "western",
    "war",
    "documentary",
    "music",
    "romance",
    "fantasy",
    "mystery",
    "thriller",
    "crime",
    "family",
    "comedy",
    "history",
    "adventure",
    "action",
    "drama",
)
GENRE_ALIASES = {
    "sci-fi": "science fiction",
    "scifi": "science fiction",
    "science-fiction": "science fiction",
    "animated": "animation",
    "film-noir": "crime",
    "film noir": "crime",
    "musical": "music",
    "biography": "history",
    "suspense": "thriller",
    "romantic": "romance",
}

# XML 1.0 cannot carry these at all, not even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SPACES = re.compile(r"\s+")
T = TypeVar("T")


def main_genre(genres: Sequence[str]) -> str | None:
    """The genre (as given) that sets a cover's palette: the most telling one, else the first."""
    known = {_canonical(g): g for g in reversed(genres)}
    for name in GENRE_PRIORITY:
        if name in known:
            return known[name]
    return genres[0] if genres else None


def palette_for(genres: Sequence[str]) -> Palette:
    genre = main_genre(genres)
    return PALETTES.get(_canonical(genre), DEFAULT_PALETTE) if genre else DEFAULT_PALETTE


def cover_svg(
    *, title: str, year: int | None, genres: Sequence[str], genre_label: str | None = None
) -> str:
    """The cover as an SVG document (400x600), the same bytes for the same arguments."""
    return _cover(title, year, tuple(genres), genre_label)


# --- text measure -----------------------------------------------------------------------------
# Widths in em of bold type, by kind of character. Checked over the catalogue's title lines:
# Georgia Bold's own widths are always narrower (13% at the median), Times' and Arial's narrower
# still, and DejaVu Serif/Sans Bold, the widest fonts a browser falls back to, at most 5% wider
# (measured in Chromium), which the 32 px margin absorbs: a title stays inside the cover.


def char_em(ch: str) -> float:
    if ch == " ":
        return SPACE_EM
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.02
    if ch in "ijl.,:;'|`\u2019\u2018\u00b7":
        return 0.4
    if ch in 'frtI()[]{}-/\\"\u201c\u201d*!\u2010':
        return 0.52
    if ch == "m":
        return 1.06
    if ch in "MW&%@\u00bd\u00bc\u00be\u2014\u2026":
        return 1.14
    if ch == "w":
        return 0.92
    if ch.isupper():
        return 0.88
    return 0.7


def text_em(text: str) -> float:
    """Estimated width of `text` in em (bold, no font file needed)."""
    return sum(char_em(ch) for ch in text)


# --- the title's lines ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    text: str
    em: float
    glued: bool  # continues the previous piece without a space (a broken word)


def _clusters(word: str) -> list[str]:
    """Characters with their combining marks: the places a word may be broken."""
    out: list[str] = []
    for ch in word:
        if out and char_em(ch) == 0.0:
            out[-1] += ch
        else:
            out.append(ch)
    return out


def _pieces(words: Sequence[str], max_em: float, *, breaks: int) -> list[_Piece] | None:
    """The words as pieces no wider than `max_em`, a word too wide split after its hyphens
    (`breaks` >= 1), then anywhere (2); None if a word does not fit and may not be split."""
    pieces: list[_Piece] = []
    for word in words:
        if text_em(word) <= max_em:
            pieces.append(_Piece(word, text_em(word), glued=False))
            continue
        if breaks < 1:
            return None
        glued = False
        for part in filter(None, re.split(r"(?<=-)", word)):
            if text_em(part) <= max_em:
                pieces.append(_Piece(part, text_em(part), glued))
            elif breaks < 2:
                return None
            else:
                chunk, chunk_em = "", 0.0
                for cluster in _clusters(part):
                    if chunk and chunk_em + text_em(cluster) > max_em:
                        pieces.append(_Piece(chunk, chunk_em, glued))
                        chunk, chunk_em, glued = "", 0.0, True
                    chunk, chunk_em = chunk + cluster, chunk_em + text_em(cluster)
                pieces.append(_Piece(chunk, chunk_em, glued))
            glued = True
    return pieces


def _greedy(pieces: Sequence[_Piece], max_em: float) -> list[str]:
    """Lines filled one piece at a time, none wider than `max_em`."""
    lines: list[str] = []
    line, line_em = "", 0.0
    for piece in pieces:
        gap = 0.0 if piece.glued or not line else SPACE_EM
        if line and line_em + gap + piece.em > max_em:
            lines.append(line)
            line, line_em = piece.text, piece.em
        else:
            line += (" " if gap else "") + piece.text
            line_em += gap + piece.em
    if line:
        lines.append(line)
    return lines


def _balanced(pieces: Sequence[_Piece], max_em: float) -> list[str]:
    """As few lines as fit `max_em`, made as even as possible (no lonely last word)."""
    count = len(_greedy(pieces, max_em))
    low, high = max(p.em for p in pieces), max_em
    for _ in range(20):
        middle = (low + high) / 2
        if len(_greedy(pieces, middle)) <= count:
            high = middle
        else:
            low = middle
    return _greedy(pieces, high)


def fit_title(title: str) -> tuple[float, list[str]]:
    """The largest font size (px) at which the whole title fits its box, and its lines. A word
    too wide for a line is split after a hyphen only below BREAK_AT_HYPHENS_BELOW, anywhere
    only below BREAK_WORDS_BELOW: until then, the type gets smaller instead."""
    words = title.split()
    largest, smallest = TITLE_SIZES

    def lines_at(size: float, *, breaks: int) -> list[str] | None:
        pieces = _pieces(words, TEXT_WIDTH / size, breaks=breaks)
        if pieces is None:  # a word too wide, and it may not be split
            return None
        return _balanced(pieces, TEXT_WIDTH / size) if pieces else []

    for size in range(largest, smallest - 1, -1):
        breaks = (size <= BREAK_AT_HYPHENS_BELOW) + (size <= BREAK_WORDS_BELOW)
        lines = lines_at(size, breaks=breaks)
        if lines is not None and len(lines) * size * LINE_HEIGHT <= TITLE_MAX_HEIGHT:
            return size, lines
    fallback = float(smallest)  # longer than any film's title: smaller, and all the height
    while True:
        lines = lines_at(fallback, breaks=2) or []
        if fallback <= 1 or len(lines) * fallback * LINE_HEIGHT <= TITLE_BASELINE - MARGIN:
            return fallback, lines
        fallback = math.floor(fallback * 9) / 10


# --- drawing ----------------------------------------------------------------------------------


def _canonical(genre: str | None) -> str:
    name = (genre or "").strip().lower()
    return GENRE_ALIASES.get(name, name)


def _clean(text: str) -> str:
    """One line of text XML can carry: no control characters, spaces collapsed."""
    return _SPACES.sub(" ", _NOT_XML.sub("", text)).strip()


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&apos;")
    )


def _n(value: float) -> str:
    """A coordinate, written the same way every time."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


class _Dice:
    """Deterministic choices from a hash of the title and year (not Python's salted hash)."""

    def __init__(self, seed: str) -> None:
        self._bytes = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
        self._at = 0

    def byte(self) -> int:
        value = self._bytes[self._at % len(self._bytes)]
        self._at += 1
        return value

    def pick(self, options: Sequence[T]) -> T:
        return options[self.byte() % len(options)]

    def between(self, low: float, high: float) -> float:
        return low + (high - low) * self.byte() / 255


# Each motif draws inside (0, 0)-(WIDTH, bottom), the room above the title; `ids` makes the
# ids it defines unique to the cover.


def _sun(dice: _Dice, p: Palette, bottom: float, ids: str) -> Iterator[str]:
    """A low sun with a halo, cut by a horizon of three bars."""
    r = dice.between(0.3, 0.42) * min(WIDTH, bottom) + 40
    cx, cy = dice.between(110, 290), dice.between(0.4, 0.62) * bottom
    yield f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="{p.accent}"/>'
    yield (
        f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r * dice.between(1.18, 1.4))}" '
        f'fill="none" stroke="{p.accent2}" stroke-width="2" opacity="0.7"/>'
    )
    for i in range(3):
        yield (
            f'<rect x="0" y="{_n(cy + r * (0.35 + 0.2 * i))}" width="{WIDTH}" '
            f'height="{3 + 3 * i}" fill="{p.top}" opacity="0.9"/>'
        )


def _rings(dice: _Dice, p: Palette, bottom: float, ids: str) -> Iterator[str]:
    """Concentric rings from an edge or the middle, every fourth in the second colour."""
    cx, cy = dice.pick((0, WIDTH, WIDTH // 2)), dice.between(0.25, 0.75) * bottom
    step = dice.between(16, 26)
    for i in range(1, 26):
        yield (
            f'<circle cx="{cx}" cy="{_n(cy)}" r="{_n(i * step)}" fill="none" '
            f'stroke="{p.accent if i % 4 else p.accent2}" stroke-width="{_n(1.5 + i % 3)}"/>'
        )


def _stripes(dice: _Dice, p: Palette, bottom: float, ids: str) -> Iterator[str]:
    """Diagonal bands fading in threes, and a ringed disc over them."""
    width = dice.between(10, 22)
    yield f'<g transform="rotate({dice.pick((-60, -45, -30, 30, 45, 60))} 200 {_n(bottom / 2)})">'
    for i in range(-24, 25):
        yield (
            f'<rect x="{_n(200 + i * width * 2)}" y="-400" width="{_n(width)}" '
            f'height="{_n(bottom + 800)}" fill="{p.accent}" opacity="{(1, 0.55, 0.25)[abs(i) % 3]}"/>'
        )
    yield "</g>"
    yield (
        f'<circle cx="{_n(dice.between(100, 300))}" cy="{_n(bottom / 2)}" '
        f'r="{_n(dice.between(50, 90))}" fill="{p.top}" stroke="{p.accent2}" stroke-width="6"/>'
    )


def _grid(dice: _Dice, p: Palette, bottom: float, ids: str) -> Iterator[str]:
    """A field of dots with one large disc on it."""
    gap = 25
    rows = int(bottom // gap)  # counted up from the bottom: a cut row bleeds off the top
    yield (
        f'<pattern id="d-{ids}" width="{gap}" height="{gap}" patternUnits="userSpaceOnUse" '
        f'x="{-gap / 2}" y="{_n(bottom % gap)}"><circle cx="{gap / 2}" cy="{gap / 2}" r="2" '
        f'fill="{p.ink}" opacity="0.3"/></pattern>'
    )
    yield f'<rect x="{gap}" width="{WIDTH - gap}" height="{_n(bottom)}" fill="url(#d-{ids})"/>'
    cx = round(dice.between(100, 300) / gap) * gap
    cy = bottom - gap / 2 - round(dice.between(0.4, 0.65) * rows) * gap
    yield f'<circle cx="{cx}" cy="{_n(cy)}" r="{_n(dice.between(60, 110))}" fill="{p.accent}"/>'


def _blocks(dice: _Dice, p: Palette, bottom: float, ids: str) -> Iterator[str]:
    """A Bauhaus tiling, three tiles wide: squares, discs and quarter circles."""
    size = WIDTH / 3
    for row in range(int(bottom // size) + 1):
        for col in range(3):
            x, y = col * size, bottom - (row + 1) * size  # up from the bottom edge
            shape, colour = dice.byte() % 6, dice.pick((p.accent, p.accent2, p.bottom))
            seamless = f'stroke="{colour}" stroke-width="1"'  # no hairline between two tiles
            if shape == 0:
                yield (
                    f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(size)}" height="{_n(size)}" '
                    f'fill="{colour}" {seamless}/>'
                )
            elif shape == 1:
                yield (
                    f'<circle cx="{_n(x + size / 2)}" cy="{_n(y + size / 2)}" '
                    f'r="{_n(size * 0.42)}" fill="{colour}"/>'
                )
            else:  # a quarter circle centred on one corner of the tile, filling it
                dx, dy = (1, 1, -1, -1)[shape - 2], (1, -1, 1, -1)[shape - 2]
                cx, cy = (x if dx > 0 else x + size), (y if dy > 0 else y + size)
                yield (
                    f'<path d="M{_n(cx)} {_n(cy)}H{_n(cx + dx * size)}'
                    f'A{_n(size)} {_n(size)} 0 0 {int(dx == dy)} {_n(cx)} {_n(cy + dy * size)}Z" '
                    f'fill="{colour}" {seamless}/>'
                )


MOTIFS: dict[str, Callable[[_Dice, Palette, float, str], Iterator[str]]] = {
    "sun": _sun,
    "rings": _rings,
    "stripes": _stripes,
    "grid": _grid,
    "blocks": _blocks,
}
GRADIENT_ANGLES = (45, 60, 75, 90, 105, 120, 135)  # degrees; 90 runs from top to bottom


@lru_cache(maxsize=CACHED_COVERS)
def _cover(title: str, year: int | None, genres: tuple[str, ...], label: str | None) -> str:
    name = _clean(title) or "Untitled"
    palette = palette_for(genres)
    dice = _Dice(f"{name}\x1f{year}")
    uid = hashlib.sha256(repr((name, year, genres, label)).encode("utf-8", "surrogatepass"))
    ids = uid.hexdigest()[:8]  # ids unique to the cover, should one be inlined in a page

    size, lines = fit_title(name)
    leading = size * LINE_HEIGHT
    first_baseline = TITLE_BASELINE - (len(lines) - 1) * leading
    title_top = first_baseline - ASCENT * size
    motif_bottom = title_top - 44  # the motif never reaches behind the text
    angle = math.radians(dice.pick(GRADIENT_ANGLES))
    dx, dy = math.cos(angle) / 2, math.sin(angle) / 2
    motif = MOTIFS[dice.pick(sorted(MOTIFS))]

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="t-{ids}">',
        f'<title id="t-{ids}">{_esc(name)}</title>',
        f'<defs><linearGradient id="bg-{ids}" x1="{_n(0.5 - dx)}" y1="{_n(0.5 - dy)}" '
        f'x2="{_n(0.5 + dx)}" y2="{_n(0.5 + dy)}">'
        f'<stop offset="0" stop-color="{palette.top}"/>'
        f'<stop offset="1" stop-color="{palette.bottom}"/></linearGradient>'
        f'<clipPath id="m-{ids}"><rect width="{WIDTH}" height="{_n(max(motif_bottom, 0))}"/>'
        "</clipPath></defs>",
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="url(#bg-{ids})"/>',
    ]
    if motif_bottom >= MIN_MOTIF_HEIGHT:
        parts.append(f'<g clip-path="url(#m-{ids})">')
        parts.extend(motif(dice, palette, motif_bottom, ids))
        parts.append("</g>")
        parts.append(
            f'<rect x="{MARGIN}" y="{_n(title_top - 26)}" width="44" height="5" '
            f'fill="{palette.accent}"/>'
        )
    spans = "".join(  # no whitespace between the lines: it would be text too
        f'<tspan x="{MARGIN}" y="{_n(first_baseline + i * leading)}">{_esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    parts.append(
        f'<text font-family="{_esc(SERIF if palette.serif else SANS)}" font-size="{_n(size)}" '
        f'font-weight="700" fill="{palette.ink}">{spans}</text>'
    )
    parts.extend(_footer(year, label if label is not None else next(iter(genres), ""), palette))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _footer(year: int | None, label: str, palette: Palette) -> Iterator[str]:
    """The year on the left and the genre on the right, in small caps; a genre too long for
    the room left is shortened with an ellipsis (the title never is)."""
    attributes = (
        f'y="{FOOTER_BASELINE}" font-family="{_esc(SANS)}" font-size="{FOOTER_SIZE}" '
        f'font-weight="700" font-variant="small-caps" letter-spacing="{FOOTER_TRACKING}em" '
        f'fill="{palette.muted}"'
    )
    year_text = "" if year is None else str(year)
    if year_text:
        yield f'<text x="{MARGIN}" {attributes}>{year_text}</text>'
    label = _clean(label)
    room = TEXT_WIDTH - (_caps_px(year_text) + 24 if year_text else 0)
    if _caps_px(label) > room:
        while label and _caps_px(label + "\u2026") > room:
            label = label[:-1]
        label = label.rstrip() + "\u2026"
    if label.strip("\u2026"):
        yield f'<text x="{WIDTH - MARGIN}" text-anchor="end" {attributes}>{_esc(label)}</text>'


def _caps_px(text: str) -> float:
    """Width of footer text, every letter counted as a capital."""
    return sum(char_em(ch.upper()) + FOOTER_TRACKING for ch in text) * FOOTER_SIZE
