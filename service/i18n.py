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
    """Flatten `locales/<locale>.toml` into {"section.key": "text"}."""
    with (LOCALES_DIR / f"{locale}.toml").open("rb") as f:
        data = tomllib.load(f)
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
