"""Covers for movies without a poster: valid SVG whatever the title, the whole title set and
fitted, text readable on what is behind it (WCAG AA), the same bytes for the same movie."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from movievote import posters
from movievote.posters import cover_svg, fit_title, main_genre, text_em

NS = "{http://www.w3.org/2000/svg}"
STRANGELOVE = "Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb"
CATALOGUE = Path(posters.__file__).parent / "data" / "catalogue.json"


def catalogue_movies() -> list[tuple[str, int | None, list[str]]]:
    """(title, year, genres) of the shipped catalogue, genres alphabetical as the service
    returns them."""
    data = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    names = {g["id"]: g["name"] for g in data["genres"]}
    return [
        (
            m["title"],
            int(m["release_date"][:4]) if m.get("release_date") else None,
            sorted(names[i] for i in m["genre_ids"]),
        )
        for m in data["results"]
    ]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{NS}svg"
    return root


def title_lines(root: ET.Element) -> tuple[float, list[tuple[str, float, float]]]:
    """The title's font size and its lines as (text, x, baseline y)."""
    (text,) = [t for t in root.iter(f"{NS}text") if t.find(f"{NS}tspan") is not None]
    lines = [
        (span.text or "", float(span.get("x", "0")), float(span.get("y", "0")))
        for span in text.iter(f"{NS}tspan")
    ]
    return float(text.get("font-size", "0")), lines


def fits(line: str, size: float, x: float = posters.MARGIN) -> bool:
    """The line, at its estimated width, ends inside the right margin (rounding aside)."""
    return x >= 0 and x + text_em(line) * size <= posters.WIDTH - posters.MARGIN + 1e-6


def art_of(svg: str) -> str:
    """The cover without its words: what the design alone looks like."""
    root = parse(svg)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag in (f"{NS}text", f"{NS}title"):
                parent.remove(child)
    return ET.tostring(root, encoding="unicode")


# --- WCAG 2.x contrast ------------------------------------------------------------------------


def rgb(colour: str) -> tuple[int, int, int]:
    assert len(colour) == 7 and colour.startswith("#"), colour
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def luminance(colour: tuple[float, float, float]) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def gradient_colours(top: str, bottom: str, steps: int = 20) -> list[tuple[float, float, float]]:
    """Every colour along the background (SVG interpolates in sRGB)."""
    a, b = rgb(top), rgb(bottom)
    return [
        (
            a[0] + (b[0] - a[0]) * t / steps,
            a[1] + (b[1] - a[1]) * t / steps,
            a[2] + (b[2] - a[2]) * t / steps,
        )
        for t in range(steps + 1)
    ]


def worst_text_contrast(svg: str) -> float:
    """The lowest contrast between any text of the cover and any colour behind it. Text only
    ever sits on the background gradient: the motif is clipped to the room above the title."""
    root = parse(svg)
    stops = [s.get("stop-color", "") for s in root.iter(f"{NS}stop")]
    assert len(stops) == 2
    size, lines = title_lines(root)
    clip = root.find(f"{NS}defs/{NS}clipPath/{NS}rect")
    assert clip is not None
    assert float(clip.get("height", "0")) < lines[0][2] - size, "the motif reaches the title"
    behind = gradient_colours(*stops)
    fills = {t.get("fill", "") for t in root.iter(f"{NS}text")}
    return min(contrast(rgb(fill), colour) for fill in fills for colour in behind)


# --- tests ------------------------------------------------------------------------------------

NASTY_TITLES = [
    '<script>alert("x")</script>',
    "Tom & Jerry",
    "\"Quoted\" 'single' and `back`",
    "]]> <![CDATA[ x ]]>",
    "&amp; &#x41; &bogus; &",
    "<!-- not a comment --> <?pi?>",
    "Bell\x07 escape\x1b NUL\x00 form\x0c feed",
    "lone \ud800 surrogate \ufffe nonchar",
    "Tabs\tand\nnew\r\nlines",
    "Emoji \U0001f3ac\U0001f37f",
    "\u05d0\u05d1\u05d2 \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "\u5343\u3068\u5343\u5c0b\u306e\u795e\u96a0\u3057",
    "Zalgo a\u0301\u0302\u0303\u0304 text",
    "",
    "   ",
]


@pytest.mark.parametrize("title", NASTY_TITLES)
def test_any_title_gives_valid_xml_with_its_words(title):
    svg = cover_svg(
        title=title, year=1999, genres=['<Drama> & "Co"', "x\x00"], genre_label=title or None
    )
    root = parse(svg)  # well-formed XML, or this raises
    assert "<script" not in svg
    spoken = root.find(f"{NS}title")
    assert spoken is not None and spoken.text
    shown = "".join(line for line, _, _ in title_lines(root)[1])  # a line may end mid-word
    assert "".join(spoken.text.split()) == ("".join(shown.split()) or "Untitled")
    for word in title.split():
        kept = "".join(ch for ch in word if ch.isprintable() and not 0xD800 <= ord(ch) <= 0xDFFF)
        kept = kept.replace("\ufffe", "")
        if kept:
            assert kept in spoken.text.split() and kept in shown


def test_special_characters_come_back_exactly():
    title = """Tom & Jerry's "<Big>" Day"""
    root = parse(cover_svg(title=title, year=None, genres=[]))
    spoken = root.find(f"{NS}title")
    assert spoken is not None and spoken.text == title
    assert " ".join(line for line, _, _ in title_lines(root)[1]) == title


def test_accessible_as_one_image_named_by_its_title():
    root = parse(cover_svg(title="Casablanca", year=1942, genres=["Drama", "Romance"]))
    assert root.get("role") == "img"
    assert root.get("viewBox") == "0 0 400 600"  # 2:3
    spoken = root.find(f"{NS}title")
    assert spoken is not None and spoken.text == "Casablanca"
    assert root.get("aria-labelledby") == spoken.get("id")


def test_a_long_title_is_wrapped_whole_and_fits():
    size, lines = fit_title(STRANGELOVE)
    assert len(lines) > 2 and size >= 28  # still large type
    assert " ".join(lines) == STRANGELOVE  # wrapped by word, nothing cut
    root = parse(cover_svg(title=STRANGELOVE, year=1964, genres=["Comedy", "War"]))
    drawn_size, drawn = title_lines(root)
    assert (drawn_size, [line for line, _, _ in drawn]) == (size, lines)
    for line, x, _ in drawn:
        assert fits(line, size, x)


def test_an_over_long_word_is_broken_not_cut():
    word = "Supercalifragilisticexpialidocious"
    size, lines = fit_title(word)
    assert len(lines) >= 2 and "".join(lines) == word
    assert size >= 20
    assert all(fits(line, size) for line in lines)
    assert fit_title("Ben-Hur") == (fit_title("Ben-Hur")[0], ["Ben-Hur"])  # smaller, unbroken
    hyphenated = "Extra-Terrestrial-Extraordinary-Adventures"
    size, lines = fit_title(hyphenated)
    assert "".join(lines) == hyphenated and lines[0].endswith("-")  # broken after a hyphen
    assert size > posters.BREAK_WORDS_BELOW


def test_short_titles_are_big_and_long_ones_smaller():
    assert fit_title("Jaws")[0] == posters.TITLE_SIZES[0]
    sizes = [fit_title(t)[0] for t in ("Jaws", "The Godfather", STRANGELOVE, "word " * 60)]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]


@pytest.mark.parametrize(
    "title",
    [
        STRANGELOVE,
        "x" * 300,  # the longest a stored title can be
        " ".join(["Wmw"] * 75),
        "W" * 2000,  # more than any database holds: smaller still, never cut
    ],
)
def test_every_line_fits_the_view_box_by_the_estimate(title):
    root = parse(cover_svg(title=title, year=2000, genres=["Drama"]))
    size, lines = title_lines(root)
    assert "".join(line.replace(" ", "") for line, _, _ in lines) == title.replace(" ", "")
    for line, x, y in lines:
        assert fits(line, size, x)
        assert y - posters.ASCENT * size >= 0  # not above the top edge
        assert y < posters.FOOTER_BASELINE - posters.FOOTER_SIZE  # not into the footer


def test_every_catalogue_title_fits_whole():
    for title, year, genres in catalogue_movies():
        root = parse(cover_svg(title=title, year=year, genres=genres))
        size, lines = title_lines(root)
        shown = "".join(line if line.endswith("-") else f"{line} " for line, _, _ in lines)
        assert shown.strip() == " ".join(title.split()), title  # words broken at hyphens only
        assert all(fits(line, size, x) for line, x, _ in lines), title
        assert lines[0][2] - posters.ASCENT * size > posters.MARGIN, title


def test_the_same_movie_gives_the_same_bytes_in_any_process():
    args = {"title": "Spirited Away", "year": 2001, "genres": ["Animation", "Fantasy"]}
    first = cover_svg(**args)
    posters._cover.cache_clear()
    assert cover_svg(**args) == first  # recomputed, not only the cached string
    script = (
        "import sys; from movievote.posters import cover_svg; "
        "sys.stdout.write(cover_svg(title='Spirited Away', year=2001, "
        "genres=('Animation', 'Fantasy')))"
    )
    for seed in ("1", "2"):  # Python's own str hash differs by seed; the cover must not
        other = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(posters.__file__).parents[1])},
        ).stdout
        assert other == first


def test_different_titles_give_different_designs():
    movies = catalogue_movies()
    arts = {art_of(cover_svg(title=t, year=y, genres=g)) for t, y, g in movies}
    assert len(arts) == len(movies)
    same_genre = [cover_svg(title=t, year=1970, genres=["Drama"]) for t in ("Heat", "Ran", "Up")]
    assert len({art_of(svg) for svg in same_genre}) == 3
    motifs = {
        name
        for t, y, g in movies
        for name, marker in (
            ("sun", 'stroke-width="2" opacity="0.7"'),
            ("rings", 'fill="none" stroke='),
            ("stripes", "rotate("),
            ("grid", "<pattern"),
            ("blocks", "<path"),
        )
        if marker in cover_svg(title=t, year=y, genres=g)
    }
    assert motifs == set(posters.MOTIFS)


def test_the_palette_follows_the_main_genre():
    assert main_genre(["Action", "Adventure", "Science Fiction"]) == "Science Fiction"
    assert main_genre(["Comedy", "Horror"]) == "Horror"
    assert main_genre(["Sci-Fi"]) == "Sci-Fi"
    assert posters.palette_for(["Sci-Fi"]) == posters.PALETTES["science fiction"]
    assert main_genre(["Cooking", "Travel"]) == "Cooking"
    assert posters.palette_for(["Cooking"]) == posters.DEFAULT_PALETTE
    assert main_genre([]) is None
    horror = cover_svg(title="Psycho", year=1960, genres=["Horror", "Thriller"])
    assert posters.PALETTES["horror"].top in horror


@pytest.mark.parametrize("name", [*posters.PALETTES, "default"])
def test_every_palette_keeps_its_text_readable(name):
    palette = posters.PALETTES.get(name, posters.DEFAULT_PALETTE)
    for colour in gradient_colours(palette.top, palette.bottom):
        assert contrast(rgb(palette.ink), colour) >= 4.5, name
        assert contrast(rgb(palette.muted), colour) >= 4.5, name


def test_text_on_every_cover_meets_wcag_aa():
    covers = [cover_svg(title=t, year=y, genres=g) for t, y, g in catalogue_movies()]
    covers += [cover_svg(title=STRANGELOVE, year=1964, genres=[g]) for g in posters.PALETTES]
    assert min(worst_text_contrast(svg) for svg in covers) >= 4.5


def test_year_and_genre_label_in_small_caps_at_the_bottom():
    def footer(svg: str) -> list[ET.Element]:
        return [t for t in parse(svg).iter(f"{NS}text") if t.find(f"{NS}tspan") is None]

    heat = footer(cover_svg(title="Heat", year=1995, genres=["Crime", "Drama", "Thriller"]))
    assert [t.text for t in heat] == ["1995", "Crime"]  # the first genre by default
    assert all(t.get("font-variant") == "small-caps" for t in heat)
    assert all(float(t.get("y", "0")) > 540 for t in heat)
    labelled = footer(cover_svg(title="Heat", year=None, genres=["Crime"], genre_label="Noir"))
    assert [t.text for t in labelled] == ["Noir"]
    long_label = "Science Fiction, Mystery, Thriller, Drama and Romance" * 2
    *_, label = footer(cover_svg(title="Heat", year=1995, genres=[], genre_label=long_label))
    shortened = label.text or ""
    assert shortened.endswith("\u2026") and long_label.startswith(shortened[:-1].rstrip())
    assert posters._caps_px("1995") + 24 + posters._caps_px(shortened) <= posters.TEXT_WIDTH


def test_nothing_to_fetch_and_nothing_to_run():
    svg = cover_svg(title='<img src=x onerror="alert(1)">', year=1, genres=["Horror"])
    for element in parse(svg).iter():
        tag = element.tag.removeprefix(NS)
        assert tag not in ("script", "foreignObject", "image", "style", "a", "use")
        for attribute, value in element.attrib.items():
            assert not attribute.lower().startswith("on")
            assert "href" not in attribute
            assert "url(" not in value or value.startswith("url(#")
    assert svg.count("http") == 1  # the SVG namespace, which is a name, not a fetch


def test_covers_are_kept_in_a_bounded_cache():
    posters._cover.cache_clear()
    for _ in range(3):
        cover_svg(title="Heat", year=1995, genres=["Crime"])
    info = posters._cover.cache_info()
    assert (info.hits, info.misses, info.maxsize) == (2, 1, posters.CACHED_COVERS)
