"""Languages: the gettext catalogues and Babel's formats (dates, months, numbers, plurals).

Every text a person reads is written in English in the code and marked for translation:

- `_("...")` where the text is used at once (a message built on the server, in the language of
  whoever reads it: `gettext(language, "...")`);
- `N_("...")` where it is only named now and translated later (a domain error's template, a
  page's title): it returns the text unchanged, and extraction finds it;
- in pages, `t("...")` and `nt("...", "...", n)` (movievote.components.i18n) render the text in
  the browser's language.

`scripts/i18n.sh` extracts the marked texts into `locales/messages.pot` and merges them into
each language's `messages.po`; the catalogues are compiled in memory when a process first asks
for a language (no build step, nothing generated in the tree).

Templates use `{name}` placeholders; numbers and dates passed in are formatted per language.
"""

from __future__ import annotations

import io
import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time, format_timedelta
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

from movievote.errors import N_, DomainError, InvalidInput
from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES, negotiate

# also imported from here: marking texts, and the languages with the texts
__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "N_", "negotiate"]

logger = logging.getLogger(__name__)

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
# each language named in itself, for the switch (LANGUAGES: movievote.languages)
LANGUAGE_NAMES = {"en": "English", "pt-BR": "Português (Brasil)"}

# the genre names the catalogues use (TMDB's, and OMDb's spellings): stored in English,
# shown in the reader's language
GENRE_NAMES = (
    N_("Action"),
    N_("Adventure"),
    N_("Animation"),
    N_("Biography"),
    N_("Comedy"),
    N_("Crime"),
    N_("Documentary"),
    N_("Drama"),
    N_("Family"),
    N_("Fantasy"),
    N_("Film-Noir"),
    N_("History"),
    N_("Horror"),
    N_("Music"),
    N_("Musical"),
    N_("Mystery"),
    N_("Romance"),
    N_("Sci-Fi"),
    N_("Science Fiction"),
    N_("Short"),
    N_("Sport"),
    N_("Thriller"),
    N_("TV Movie"),
    N_("War"),
    N_("Western"),
)

_lock = threading.Lock()


def checked_language(language: str) -> str:
    """`language` if movievote speaks it, written exactly so ("pt-BR"); InvalidInput otherwise
    (a browser's "pt-br" goes through `negotiate` instead)."""
    if language not in LANGUAGES:
        raise InvalidInput(
            N_("Unknown language {language}: choose one of {choices}."),
            field="language",
            language=repr(language[:20]),
            choices=", ".join(LANGUAGES),
        )
    return language


def supported(language: str | None) -> str:
    """`language` if people can choose it, else the default."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def babel_locale(language: str) -> Locale:
    """Babel's locale for a language code ("pt-BR" -> pt_BR); parsed once per language."""
    return _parsed_locale(supported(language))


@cache
def _parsed_locale(language: str) -> Locale:
    return Locale.parse(language, sep="-")


def _catalogue_path(language: str) -> Path:
    return LOCALES_DIR / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> NullTranslations:
    """The language's messages, compiled from its `.po` on first use (the source language
    and a language without a catalogue translate to themselves)."""
    language = supported(language)
    path = _catalogue_path(language)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return NullTranslations()
    with _lock, path.open("rb") as po:
        catalogue = read_po(po, locale=babel_locale(language), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


class Localised:
    """A value that reads differently in each language (a month, a day, a duration)."""

    def in_language(self, language: str) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.in_language(DEFAULT_LANGUAGE)


@dataclass(frozen=True)
class Month(Localised):
    """A month: "November 2026", "novembro de 2026"."""

    period: date

    def in_language(self, language: str) -> str:
        return month_name(language, self.period)


@dataclass(frozen=True)
class Day(Localised):
    """A day: "December 1, 2026", "1 de dezembro de 2026"."""

    moment: date | datetime

    def in_language(self, language: str) -> str:
        return day_name(language, self.moment)


@dataclass(frozen=True)
class Duration(Localised):
    """A wait: "40 seconds", "5 minutos", "1 day"; rounded up (a person told "5 minutes"
    must not find it still closed after 5 minutes)."""

    seconds: float

    def in_language(self, language: str) -> str:
        seconds = max(1, math.ceil(self.seconds))
        for unit in (86400, 3600, 60):
            if seconds >= unit:
                seconds = math.ceil(seconds / unit) * unit
                break
        return format_timedelta(
            timedelta(seconds=seconds),
            threshold=1.0,
            add_direction=False,
            format="long",
            locale=babel_locale(language),
        )


@dataclass(frozen=True)
class Text(Localised):
    """A text marked with N_ that is itself translated when it goes into a sentence."""

    message: str

    def in_language(self, language: str) -> str:
        return translations(language).gettext(self.message)


def localise(language: str, value: Any) -> Any:
    """A value as it reads inside a sentence of this language (numbers grouped: "1.234")."""
    if isinstance(value, Localised):
        return value.in_language(language)
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return format_decimal(value, locale=babel_locale(language))
    return value


def localised(error: DomainError, language: str) -> str:
    """A domain error's message in this language."""
    return gettext(language, error.template, **error.params)


def gettext(language: str, message: str, /, **params: Any) -> str:
    """`message` in this language, its `{placeholders}` filled (numbers per locale)."""
    text = translations(language).gettext(message)
    return _fill(language, text, params)


def ngettext(language: str, singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The plural form of this language for `n` ("1 voto", "2 votos"); `{n}` is `n`."""
    text = translations(language).ngettext(singular, plural, n)
    return _fill(language, text, {"n": n, **params})


def _fill(language: str, text: str, params: Mapping[str, Any]) -> str:
    if not params:
        return text
    try:
        return text.format(**{k: localise(language, v) for k, v in params.items()})
    except (KeyError, IndexError, ValueError):  # a broken translation: never an error page
        logger.error("translation of %r into %s does not fit its placeholders", text, language)
        return text


def month_name(language: str, period: date) -> str:
    """A month as people read it: "November 2026", "novembro de 2026"."""
    return format_skeleton("yMMMM", period, locale=babel_locale(language))


def day_name(language: str, moment: date | datetime) -> str:
    """A day as people read it: "December 1, 2026", "1 de dezembro de 2026"."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return format_date(day, "long", locale=babel_locale(language))


def moment_name(language: str, moment: datetime) -> str:
    """A day and time: "Dec 1, 2026 3:04 PM", "1 de dez. de 2026 15:04"."""
    locale = babel_locale(language)
    return f"{format_date(moment, 'medium', locale=locale)} {format_time(moment, 'short', locale=locale)}"


def number(language: str, value: float) -> str:
    return format_decimal(value, locale=babel_locale(language))


def percent(language: str, share: float) -> str:
    """A share as a percentage with one decimal: "41.7%", "41,7%"."""
    return format_percent(share, "#,##0.0%", locale=babel_locale(language))


def check_languages() -> None:
    """Fail early (start-up, tests) if a listed language is unknown to Babel."""
    for language in LANGUAGES:
        try:
            babel_locale(language)
        except (ValueError, UnknownLocaleError) as exc:  # pragma: no cover - a typo in LANGUAGES
            raise RuntimeError(f"unknown language {language!r} in LANGUAGES") from exc
