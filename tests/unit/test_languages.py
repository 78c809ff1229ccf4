"""The languages: their one spelling, and the choice from an Accept-Language header."""

from __future__ import annotations

import pytest

from movievote.languages import DEFAULT_LANGUAGE, LANGUAGES, check, negotiate


def test_the_languages():
    assert LANGUAGES == ("en", "pt-BR") and DEFAULT_LANGUAGE == "en"


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("pt", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("pt_BR", "pt-BR"),
        ("pt-br;q=0.9", "pt-BR"),
        ("PT-BR", "pt-BR"),
        ("pt-BR,pt;q=0.9,en-US;q=0.8,en;q=0.7", "pt-BR"),  # a Brazilian browser
        ("en-US,en;q=0.9", "en"),
        ("en-GB", "en"),
        ("en-GB,pt;q=0.8", "en"),
        ("en;q=0.1, pt-BR;q=0.9", "pt-BR"),  # by quality, not by order
        ("fr-CA, fr;q=0.9, pt;q=0.5", "pt-BR"),  # the first one we speak
        ("zh-Hant-TW, PT-br", "pt-BR"),
        ("pt;q=0, en;q=0.5", "en"),  # q=0: not wanted
    ],
)
def test_negotiate_picks_the_best_language_we_speak(header, language):
    assert negotiate(header) == language


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "de-DE, fr",
        "*",
        "garbage;;;,,",
        "pt;q=abc",
        "pt;q=2",
        "\x00\ud800 ;; = ,",
        "12345, --, -pt",
        "x" * 100_000,
        ",".join(["de"] * 50 + ["pt"]),  # past the ranges read
    ],
)
def test_negotiate_gives_the_default_for_anything_else(header):
    assert negotiate(header) == "en"
    assert negotiate(header, default="pt-BR") == "pt-BR"


def test_check_takes_the_codes_exactly_as_written():
    assert [check(code) for code in LANGUAGES] == ["en", "pt-BR"]
    for other in ("klingon", "pt-br", "pt_BR", "pt", "EN", " en", ""):
        with pytest.raises(ValueError, match="choose one of en, pt-BR"):
            check(other)
