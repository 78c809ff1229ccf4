"""Text the databases can store: PostgreSQL refuses NUL in text, and UTF-8 has no lone surrogates."""

from __future__ import annotations

import re

from movievote.errors import N_, InvalidInput

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def cleaned(text: str) -> str:
    """`text` without what no database could keep (for imported data, not for people's input)."""
    if is_storable(text):
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def storable(text: str, *, field: str) -> str:
    """`text` unchanged, or InvalidInput (422) naming `field` if no database could keep it."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return text
    if found.group() == "\x00":
        raise InvalidInput(
            N_("The text in {field_name} cannot contain a NUL character."),
            field=field,
            field_name=field,
        )
    raise InvalidInput(
        N_("The text in {field_name} cannot contain an unpaired surrogate character."),
        field=field,
        field_name=field,
    )
