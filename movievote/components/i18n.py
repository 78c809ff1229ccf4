"""Texts in the page's language: `t("Vote")`, `t("Vote for {title}", title=movie["title"])`,
`nt("{n} vote", "{n} votes", count)`.

Every language's catalogue is compiled into the page (a few kilobytes): switching language is
instant and needs no round trip. Numbers inside live texts are formatted in the browser with
`Intl` (the same CLDR data Babel uses on the server).
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx

from movievote.i18n import GENRE_NAMES, LANGUAGE_NAMES, LANGUAGES, babel_locale, translations
from movievote.state import LocaleState

LANG = LocaleState.lang


def _choose(texts: dict[str, Any]) -> rx.Var:
    """The text of the page's language, as a chain of JS ternaries."""
    source, *others = LANGUAGES
    chosen: Any = texts[source]
    for language in reversed(others):
        if str(texts[language]) != str(texts[source]):
            chosen = rx.cond(language == LANG, texts[language], chosen)
    return chosen if isinstance(chosen, rx.Var) else rx.Var.create(chosen)


def t(message: str, /, **params: Any) -> rx.Var:
    """`message` in the page's language; `{name}` placeholders take strings or Vars."""
    return _choose(
        {language: _fill(translations(language).gettext(message), params) for language in LANGUAGES}
    )


def _intl(kind: str, language: str | rx.Var, options: str = "", key: str = "") -> str:
    """JS for an `Intl` formatter made once per page and language, then reused: building one
    costs far more than using it, and a live page formats every row at every update. A Var
    `language` is formatted with its data (`{language}`, not `!s`), so the Var built from this
    carries the page-language state it reads: a component showing only a formatted number
    (nothing else of that state) still gets the state's hook."""
    memo = f"(globalThis.__mvIntl ??= {{}})[{language} + '|{kind}{key}']"
    made = f"new Intl.{kind}({language}{', ' + options if options else ''})"
    return f"({memo} ??= {made})"


SAMPLES = (0, 1, 2, 3, 5, 11, 21, 100, 1_000_000)  # a number of each CLDR plural category


def nt(singular: str, plural: str, n: rx.Var[int] | int, /, **params: Any) -> rx.Var:
    """The plural form of the page's language for `n`, chosen in the browser by CLDR's rules
    (`Intl.PluralRules`, the data Babel's gettext forms follow: "1 voto", "2 votos",
    "1.000.000 de votos"); `{n}` is `n` with the language's digit grouping."""
    count = rx.Var.create(n)
    texts = {}
    for language in LANGUAGES:
        catalogue, rule = translations(language), babel_locale(language).plural_form
        forms = {rule(sample): catalogue.ngettext(singular, plural, sample) for sample in SAMPLES}
        grouped: rx.Var[str] = rx.Var(
            f"{_intl('NumberFormat', repr(language))}.format(({count}) ?? 0)", _var_type=str
        )
        category: rx.Var[str] = rx.Var(
            f"{_intl('PluralRules', repr(language))}.select(({count}) ?? 0)", _var_type=str
        )
        chosen: Any = _fill(forms.pop("other"), {**params, "n": grouped})
        for name, form in forms.items():
            chosen = rx.cond(category == name, _fill(form, {**params, "n": grouped}), chosen)
        texts[language] = chosen
    return _choose(texts)


def _genre_maps() -> str:
    """Per language, the genre names that read differently from English (JSON)."""
    maps = {}
    for language in LANGUAGES:
        catalogue = translations(language)
        maps[language] = {g: catalogue.gettext(g) for g in GENRE_NAMES if catalogue.gettext(g) != g}
    return json.dumps(maps, ensure_ascii=False, sort_keys=True)


def genre_text(genre: rx.Var[str]) -> rx.Var[str]:
    """A genre's name (stored in English) in the page's language."""
    return rx.Var(f"(({_genre_maps()})[{LANG}] || {{}})[{genre}] ?? ({genre})", _var_type=str)


def genre_list_text(genres: rx.Var) -> rx.Var[str]:
    """A movie's genres in the page's language, joined with commas."""
    return rx.Var(
        f"((m) => (({genres}) || []).map((g) => m[g] ?? g).join(', '))"
        f"(({_genre_maps()})[{LANG}] || {{}})",
        _var_type=str,
    )


def _fill(text: str, params: dict[str, Any]) -> str:
    return text.format(**params) if params else text


def language_switch() -> rx.Component:
    """The languages, each named in itself, behind a compact button (the globe and "PT" / "EN":
    it fits a phone's bar)."""
    short: rx.Var[str] = rx.Var(f"({LANG}).split('-')[0].toUpperCase()", _var_type=str)
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("languages", size=16),
                rx.text(short, size="2"),
                variant="ghost",
                size="2",
                aria_label=t("Language: {code}", code=short),  # it holds what it shows
                id="language-switch",
            ),
        ),
        rx.menu.content(
            *[
                rx.menu.item(
                    LANGUAGE_NAMES[language],
                    on_select=LocaleState.choose(language),  # type: ignore[operator]
                    lang=language,
                )
                for language in LANGUAGES
            ]
        ),
        modal=False,  # a modal menu hides the page, focusable controls and all (see layout)
    )


def number_text(n: rx.Var | int) -> rx.Var[str]:
    """A number with the page language's digit grouping: "1,234", "1.234"."""
    return rx.Var(f"{_intl('NumberFormat', LANG)}.format(({rx.Var.create(n)}) ?? 0)", _var_type=str)


def percent_text(share: rx.Var | float) -> rx.Var[str]:
    """A share (0 to 1) as a percentage with one decimal: "41.7%", "41,7%"."""
    options = "{style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1}"
    return rx.Var(
        f"{_intl('NumberFormat', LANG, options, '%')}.format(({rx.Var.create(share)}) ?? 0)",
        _var_type=str,
    )


def month_text(period: rx.Var[str], *, year: bool = True) -> rx.Var[str]:
    """A "YYYY-MM" month as people read it: "November 2026", "novembro de 2026" (without
    the `year`: "November", "novembro")."""
    with_year = "year: 'numeric', " if year else ""
    options = f"{{month: 'long', {with_year}timeZone: 'UTC'}}"
    key = "month" if year else "month-name"
    return rx.Var(
        f"((p) => p ? {_intl('DateTimeFormat', LANG, options, key)}"
        f".format(new Date(p.slice(0, 7) + '-01T12:00:00Z')) : '')({period})",
        _var_type=str,
    )


def day_text(moment: rx.Var[str], zone: str) -> rx.Var[str]:
    """An ISO 8601 instant as the day it is in the vote's time zone: "December 1, 2026",
    "1 de dezembro de 2026"."""
    options = f"{{day: 'numeric', month: 'long', year: 'numeric', timeZone: {zone!r}}}"
    return rx.Var(
        f"((m) => m ? {_intl('DateTimeFormat', LANG, options, 'day' + zone)}"
        f".format(new Date(m)) : '')"
        f"({moment})",
        _var_type=str,
    )
