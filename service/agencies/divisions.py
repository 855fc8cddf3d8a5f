"""The official list of administrative units (package `vietnam-provinces`): a province's communes.

Since 1/7/2025 Vietnam has two levels of local government: 34 provinces and centrally governed
cities, and about 3,300 commune-level units (xã, phường, đặc khu). The package carries that list
and nothing older: the districts (huyện) abolished in 2025 and the communes they had are not in
the version installable on Python 3.11 (see docs/agency-registry.md).

This module only reads the list and names things; service.import_communes writes agencies.
The package is imported on first use: its tables cost every process ~70 ms to load.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from service.plans.registry import fold

if TYPE_CHECKING:
    from vietnam_provinces import Province

# The commune-level division types (the package's values), each the word a committee's name uses.
_UNIT_WORDS = ("xã", "phường", "đặc khu")
_CITY = "thành phố trung ương"
# What people put before a province's name; dropped before comparing.
_PROVINCE_PREFIXES = ("tinh ", "thanh pho ", "tp ")
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_CODE = re.compile(r"[0-9]{1,3}")
MAX_SUGGESTIONS = 5


def data_version() -> str:
    """The date the package's list was taken (e.g. "2025-10-18")."""
    import vietnam_provinces

    return str(getattr(vietnam_provinces, "__data_version__", vietnam_provinces.__version__))


@dataclass(frozen=True)
class Unit:
    """One commune-level unit: "Xã Tân Hòa" is word "xã", place "Tân Hòa"."""

    code: int
    name: str
    word: str
    place: str

    @property
    def committee(self) -> str:
        """The official name of its People's Committee, as dondoc stores it."""
        return f"Ủy ban nhân dân {self.word} {self.place}"

    @property
    def short_name(self) -> str:
        return f"UBND {self.word} {self.place}"

    def spellings(self) -> tuple[str, ...]:
        """The committee's name and its aliases: with and without the unit word, and the unit's
        own name, which plans use for its committee ("giao xã Tân Hòa ...")."""
        return (self.committee, self.short_name, *self.without_unit_word(), self.name)

    def without_unit_word(self) -> tuple[str, ...]:
        return (f"Ủy ban nhân dân {self.place}", f"UBND {self.place}")


@dataclass(frozen=True)
class ProvinceUnits:
    code: int
    name: str
    is_city: bool
    units: tuple[Unit, ...]

    @property
    def place(self) -> str:
        """ "Gia Lai", "Thành phố Hà Nội" → "thành phố Hà Nội" (as it follows "Ủy ban nhân dân")."""
        if self.is_city:
            return "thành phố " + self.name.removeprefix("Thành phố ").strip()
        return f"tỉnh {self.name}"

    def committee_spellings(self) -> tuple[str, ...]:
        """How the province's own People's Committee is written in the agency registry."""
        return (f"Ủy ban nhân dân {self.place}", f"UBND {self.place}")


class UnknownProvince(Exception):
    def __init__(self, query: str, suggestions: list[str]) -> None:
        self.query = query
        self.suggestions = suggestions
        super().__init__(query)


def plain(text: str) -> str:
    """Lower case, no tone marks, đ as d, words only: "Thành phố Hồ Chí Minh" → "thanh pho ho chi
    minh". Used only to find a province by what someone typed."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()
    return " ".join(_NOT_ALNUM.sub(" ", bare).split())


def _province_key(text: str) -> str:
    key = plain(text.replace("_", " "))
    for prefix in _PROVINCE_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


@cache
def _provinces() -> tuple[Province, ...]:
    from vietnam_provinces import Province

    return tuple(sorted(Province.iter_all(), key=lambda p: int(p.code)))


def province_names() -> list[str]:
    return [p.name for p in _provinces()]


def find_province(query: str) -> ProvinceUnits:
    """The province `query` names: its name with or without "tỉnh"/"thành phố", with or without
    tone marks, its codename ("ha_noi") or its code ("01"). Raises UnknownProvince."""
    text = query.strip()
    provinces = _provinces()
    found: list[Province] = []
    if _CODE.fullmatch(text):
        found = [p for p in provinces if int(p.code) == int(text)]
    else:
        exact = [p for p in provinces if fold(text) in (fold(p.name), fold(_short(p.name)))]
        key = _province_key(text)
        found = exact or [p for p in provinces if key and _province_key(p.name) == key]
    if len(found) != 1:
        raise UnknownProvince(query, _suggestions(text, provinces))
    return _with_units(found[0])


def _short(name: str) -> str:
    return name.removeprefix("Thành phố ").strip()


def _suggestions(text: str, provinces: tuple[Province, ...]) -> list[str]:
    key = _province_key(text)
    keys = {_province_key(p.name): p.name for p in provinces}
    close = difflib.get_close_matches(key, list(keys), n=MAX_SUGGESTIONS, cutoff=0.6)
    containing = [k for k in keys if key and len(key) >= 3 and (key in k or k in key)]
    return [keys[k] for k in dict.fromkeys([*close, *containing])][:MAX_SUGGESTIONS]


def _with_units(province: Province) -> ProvinceUnits:
    from vietnam_provinces import Ward

    units = []
    for ward in Ward.iter_by_province(province.code):
        # A few names in the list have a double space ("Xã  Xuân Giang").
        name = " ".join(unicodedata.normalize("NFC", ward.name).split())
        word = str(ward.division_type.value)
        if word not in _UNIT_WORDS or not name.lower().startswith(word + " "):
            # Not a commune-level type this module knows how to name: better left out than
            # given an invented name. The 2025 list has none.
            continue
        units.append(Unit(int(ward.code), name, word, name[len(word) + 1 :]))
    return ProvinceUnits(
        code=int(province.code),
        name=province.name,
        is_city=province.division_type.value == _CITY,
        units=tuple(units),
    )


def ambiguous_keys(units: tuple[Unit, ...]) -> set[str]:
    """Folded spellings without the unit word that two units of one province would share
    ("Xã Tân Hòa" and "Phường Tân Hòa"): such a spelling names neither, so neither gets it."""
    counts = Counter(fold(s) for unit in units for s in set(unit.without_unit_word()))
    return {key for key, n in counts.items() if n > 1}
