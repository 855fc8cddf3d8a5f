"""The message catalogue: every sentence a person reads comes from here, by a stable key."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "vi"


@cache
def catalogue(locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """Flatten every `locales/<locale>/*.toml` into {"section.key": "text"}.

    One file per domain keeps edits apart; keys are section-qualified, so files never collide.
    """
    data: dict[str, Any] = {}
    for path in sorted((LOCALES_DIR / locale).glob("*.toml")):
        with path.open("rb") as f:
            for section, entries in tomllib.load(f).items():
                data.setdefault(section, {}).update(entries)
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            name = f"{prefix}.{key}" if prefix else key
            if isinstance(value, dict):
                walk(name, value)
            else:
                flat[name] = str(value)

    walk("", data)
    return flat


def t(key: str, locale: str = DEFAULT_LOCALE, **params: Any) -> str:
    """The text for `key`, formatted with `params`. An unknown key is a programming error."""
    return catalogue(locale)[key].format(**params)
