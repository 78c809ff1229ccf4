"""Languages: every text a person reads is marked, extracted and translated, and dates,
numbers and plurals follow the language (Babel)."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from movievote import i18n
from movievote.errors import AlreadyVoted, InvalidInput
from movievote.i18n import (
    LANGUAGES,
    Day,
    Duration,
    Month,
    babel_locale,
    gettext,
    localised,
    month_name,
    negotiate,
    ngettext,
    number,
    percent,
)

APP = Path(i18n.__file__).resolve().parent
KEYWORDS = {"t": None, "nt": (1, 2), "N_": None, "gettext": (2,), "ngettext": (2, 3)}
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def extracted() -> set[str]:
    """What `scripts/i18n.sh` extracts from the code, now."""
    found = set()
    with (APP.parent / "babel.cfg").open() as config:
        method_map, options_map = __import__(
            "babel.messages.frontend", fromlist=["parse_mapping_cfg"]
        ).parse_mapping_cfg(config)
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(APP), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def catalogue(language: str):  # type: ignore[no-untyped-def]
    path = APP / "locales" / language.replace("-", "_") / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        return read_po(po, locale=babel_locale(language))


TRANSLATED = [language for language in LANGUAGES if language != LANGUAGES[0]]


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_text_is_in_the_catalogue(language):
    """Fails when the code holds a text the catalogue lacks: run scripts/i18n.sh, translate."""
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue(language) if m.id}
    missing = sorted(extracted() - ids)
    assert not missing, f"not in the {language} catalogue (run scripts/i18n.sh): {missing}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_of_the_catalogue_is_translated(language):
    untranslated = [
        m.id
        for m in catalogue(language)
        if m.id
        and (
            m.fuzzy
            or (isinstance(m.string, str) and not m.string.strip())
            or (isinstance(m.string, tuple) and not all(s.strip() for s in m.string))
        )
    ]
    assert not untranslated, f"untranslated or fuzzy in {language}: {untranslated}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_fill_the_same_placeholders(language):
    """A translation may leave a detail out ({reason}), never ask for one the code lacks."""
    for message in catalogue(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        given = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= given, (message.id, text)


# What the pages show people: texts given to components or to these props must be marked.
TEXT_PROPS = {"placeholder", "aria_label", "title", "alt", "label"}
MARKERS = {"t", "nt", "N_", "gettext", "ngettext"}
NOT_WORDS = re.compile(r"^[\W\d_]*$|^movievote$")  # punctuation, numbers, the brand
PAGE_MODULES = sorted(
    [*(APP / "pages").glob("*.py"), *(APP / "components").glob("*.py"), APP / "live.py"]
)


def unmarked_texts(source: str) -> list[str]:
    """String literals a component would show that no marker wraps."""
    found: list[str] = []

    def visit(node: ast.AST, shown: bool) -> None:
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            name = name or (node.func.id if isinstance(node.func, ast.Name) else "")
            if name in MARKERS:
                return
            is_component = isinstance(node.func, ast.Attribute) and _is_rx(node.func)
            for arg in node.args:
                visit(arg, is_component)
            for keyword in node.keywords:
                visit(keyword.value, keyword.arg in TEXT_PROPS)
            visit(node.func, False)
            return
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if shown and not NOT_WORDS.match(node.value.strip()):
                found.append(node.value)
            return
        if isinstance(node, ast.JoinedStr) and shown:
            found.append(ast.unparse(node))
            return
        for child in ast.iter_child_nodes(node):
            visit(child, shown and isinstance(node, ast.Tuple | ast.List | ast.IfExp))

    visit(ast.parse(source), False)
    return found


def _is_rx(func: ast.Attribute) -> bool:
    """`rx.text`, `rx.el.span`, `rx.callout.text`, ... (a component that shows its children)."""
    value: ast.AST = func
    while isinstance(value, ast.Attribute):
        value = value.value
    skipped = {
        "style",
        "script",
        "cond",
        "match",
        "foreach",
        "Var",
        "call_script",
        "redirect",
        "icon",
    }
    return isinstance(value, ast.Name) and value.id == "rx" and func.attr not in skipped


@pytest.mark.parametrize("module", PAGE_MODULES, ids=lambda p: p.name)
def test_page_modules_hold_no_unmarked_text(module):
    assert unmarked_texts(module.read_text()) == []


def test_the_scanner_finds_unmarked_texts():
    source = 'rx.button("Vote", aria_label="Vote now", title=t("ok"))\nrx.text(t("Fine"), " · ")'
    assert unmarked_texts(source) == ["Vote", "Vote now"]


def test_months_days_numbers_and_plurals_follow_the_language():
    november = date(2026, 11, 1)
    assert month_name("pt-BR", november) == "novembro de 2026"
    assert month_name("en", november) == "November 2026"
    assert number("pt-BR", 1234) == "1.234" and number("en", 1234) == "1,234"
    assert percent("pt-BR", 0.4166) == "41,7%" and percent("en", 0.4166) == "41.7%"
    assert ngettext("pt-BR", "{n} vote", "{n} votes", 1) == "1 voto"
    assert ngettext("pt-BR", "{n} vote", "{n} votes", 1234) == "1.234 votos"
    assert ngettext("en", "{n} vote", "{n} votes", 2) == "2 votes"
    assert Day(datetime(2026, 12, 1, tzinfo=UTC)).in_language("pt-BR") == "1 de dezembro de 2026"
    assert Duration(61).in_language("pt-BR") == "2 minutos"  # rounded up, never down
    assert str(Month(november)) == "November 2026"


def test_a_domain_error_reads_in_each_language():
    error = AlreadyVoted(
        "You have already voted in {month}. Your next vote opens on {day}.",
        vote_id=1,
        movie_id=2,
        period=date(2026, 11, 1),
        voted_at=datetime(2026, 11, 3, tzinfo=UTC),
        next_vote_at=datetime(2026, 12, 1, tzinfo=UTC),
        month=Month(date(2026, 11, 1)),
        day=Day(date(2026, 12, 1)),
    )
    assert error.message == (
        "You have already voted in November 2026. Your next vote opens on December 1, 2026."
    )
    assert localised(error, "pt-BR") == (
        "Você já votou em novembro de 2026. Seu próximo voto abre em 1 de dezembro de 2026."
    )
    limit = InvalidInput("The limit must be 1 to {count}.", field="limit", count=1000)
    assert localised(limit, "pt-BR") == "O limite deve ser de 1 a 1.000."


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("pt-BR,pt;q=0.9,en;q=0.8", "pt-BR"),
        ("pt", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("pt_br", "pt-BR"),
        ("en-US,en;q=0.9,pt;q=0.8", "en"),
        ("fr-FR, de;q=0.5, pt;q=0.4", "pt-BR"),
        ("fr, de", "en"),
        ("", "en"),
        (None, "en"),
        ("*", "en"),
        (";;q=x,,", "en"),
        ("pt;q=0", "en"),
    ],
)
def test_the_browser_language_is_negotiated(header, language):
    assert negotiate(header) == language


def test_an_unknown_language_falls_back_to_english():
    assert gettext("xx", "Vote") == "Vote"
    assert gettext("pt-BR", "Vote") == "Votar"


def test_a_text_formatted_for_the_language_inside_a_list_reads_the_language_itself():
    """`month_text` and `number_text` in an `rx.foreach`: the list is compiled into a component
    of its own, which must read the page's language itself. It did not (the language's var was
    written into the expression without its state), so the leaderboard's past-month selector
    threw a ReferenceError and took the page down as soon as a past month had votes."""
    import reflex as rx

    from movievote.components.i18n import month_text, number_text
    from movievote.pages.leaderboard import LeaderboardState

    months = rx.foreach(LeaderboardState.months, lambda m: rx.select.item(month_text(m), value=m))
    numbers = rx.foreach(LeaderboardState.months, lambda m: rx.text(number_text(m.length())))
    for listed in (months, numbers):
        hooks = "".join(listed._get_all_hooks())
        assert "movievote___state____locale_state = useStateContext" in hooks
