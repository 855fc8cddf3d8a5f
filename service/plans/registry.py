"""The agency registry: which public bodies a plan names, read from an editable TOML data file."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from service.i18n import t
from service.plans.errors import PlanError

DATA_FILE = Path(__file__).parent / "data" / "agencies.toml"
LEVELS = ("trung_uong", "tinh", "huyen", "xa")

# Old style puts the tone on the first vowel of "oa", "oe", "uy" (hòa, thủy); new style on the
# second (hoà, thuỷ). Both are correct Vietnamese, so the key always uses the new style.
_TONE_PLACEMENT = {
    "òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ",
    "òe": "oè", "óe": "oé", "ỏe": "oẻ", "õe": "oẽ", "ọe": "oẹ",
    "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ",
}  # fmt: skip
_TONE_RE = re.compile("|".join(_TONE_PLACEMENT))
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))
_SEPARATOR_RE = re.compile(r"\s*([-&,])\s*")
_SPACED = {"-": " - ", "&": " & ", ",": ", "}
_EDGE = " \t\r\n.,:;!?-()[]{}\"'“”‘’*•+…"
_EDGE_KEEP_PARENS = _EDGE.replace("()", "")
# Inside one body's name, "-", ",", "&" and "và" join the same parts ("Tài chính - Kế hoạch" is
# "Tài chính và Kế hoạch", "Các phòng ban ngành" is "Các phòng, ban, ngành"), so a looser key
# compares names without them.
_JOINERS = frozenset({"-", "&", "và"})
_TRAILING_PAREN = re.compile(r"\s*\([^()]*\)$")
_CONNECTORS = frozenset({"và", "với", "cùng", "&", "-"})
_MAX_PLACE_WORDS = 4

_TOP_KEYS = {
    "agency",
    "abbreviations",
    "head_nouns",
    "level_words",
    "trailing_words",
    "collective_nouns",
    "not_agency_starts",
}
_AGENCY_FIELDS = ("canonical", "level", "kind", "aliases", "group", "note")
_KIND_RE = re.compile(r"[a-z][a-z_]*")
_TOML_WHERE = re.compile(r"line (\d+), column (\d+)")


def fold(text: str) -> str:
    """The comparison key of a name: same key for every spelling a person would call the same."""
    text = unicodedata.normalize("NFC", text).lower()
    text = _TONE_RE.sub(lambda m: _TONE_PLACEMENT[m.group()], text)
    text = _SEPARATOR_RE.sub(lambda m: _SPACED[m.group(1)], text.translate(_DASHES))
    return " ".join(text.split()).strip(_EDGE)


def _loose(key: str) -> str:
    return " ".join(w for w in key.replace(",", " ").split() if w not in _JOINERS)


def _words_re(words: Iterable[str], *, prefix: str = "") -> re.Pattern[str] | None:
    """One pattern for whole words or phrases, longest first so "phòng giao dịch" beats "phòng"."""
    ordered = sorted(set(words), key=len, reverse=True)
    if not ordered:
        return None
    return re.compile(rf"{prefix}(?:{'|'.join(map(re.escape, ordered))})(?!\w)")


class RegistryError(PlanError):
    """A registry data file that cannot be used.

    A PlanError, because the registry loads while a plan is parsed: callers that show plan errors
    to people show this one too, instead of a traceback.
    """


@dataclass(frozen=True)
class Agency:
    canonical: str
    level: str
    kind: str
    aliases: tuple[str, ...]
    group: bool


class Registry:
    """Known public bodies, matched by name regardless of tone placement, case or abbreviation."""

    def __init__(
        self,
        agencies: Iterable[Agency],
        *,
        abbreviations: Mapping[str, str],
        head_nouns: Iterable[str],
        level_words: Iterable[str],
        trailing_words: Iterable[str] = (),
        collective_nouns: Iterable[str] = (),
        not_agency_starts: Iterable[str] = (),
        source: Path | None = None,
    ) -> None:
        self.agencies: tuple[Agency, ...] = tuple(agencies)
        self.source = source
        self._abbreviations = {fold(k): fold(v) for k, v in abbreviations.items()}
        self._abbreviation_re = _words_re(self._abbreviations, prefix=r"(?<!\w)")
        self._level_words = frozenset(fold(w) for w in level_words)
        self._trailing_words = tuple(
            sorted({fold(w) for w in trailing_words}, key=len, reverse=True)
        )

        heads = {fold(h) for h in head_nouns}
        collective = "các" in heads
        heads.discard("các")
        self._head_re = _words_re(heads)
        nouns = {fold(n) for n in collective_nouns} | heads
        self._collective_re = _words_re(nouns, prefix="các ") if collective else None
        self._not_start_re = _words_re(fold(s) for s in not_agency_starts)

        self._index: dict[str, Agency] = {}
        for agency in self.agencies:
            for name in (agency.canonical, *agency.aliases):
                # "Các ngành có liên quan" is also "Các ngành": index both, as match() tries both.
                folded = fold(name)
                for key in {*self._keys(folded), *self._keys(self._trimmed(folded))}:
                    owner = self._index.setdefault(key, agency)
                    if owner is not agency:
                        raise RegistryError(
                            "registry.duplicate_name",
                            path=self._where(),
                            name=name,
                            first=owner.canonical,
                            second=agency.canonical,
                        )

    @classmethod
    def load(cls, path: Path | None = None) -> Registry:
        """Read a registry data file; by default the one packaged with dondoc."""
        path = DATA_FILE if path is None else path
        try:
            with path.open("rb") as f:
                data = tomllib.load(f)
        except FileNotFoundError:
            raise RegistryError("registry.not_found", path=str(path)) from None
        except tomllib.TOMLDecodeError as exc:
            where = _TOML_WHERE.search(str(exc))
            if where is None:
                raise RegistryError("registry.bad_toml_somewhere", path=str(path)) from None
            raise RegistryError(
                "registry.bad_toml", path=str(path), line=where[1], column=where[2]
            ) from None
        except (OSError, UnicodeDecodeError):
            raise RegistryError("registry.unreadable", path=str(path)) from None
        return cls._from_data(data, path)

    @classmethod
    def _from_data(cls, data: dict[str, Any], path: Path) -> Registry:
        where = str(path)
        for key in data:
            if key not in _TOP_KEYS:
                raise RegistryError("registry.unknown_key", path=where, setting=key)
        entries = data.get("agency")
        if not isinstance(entries, list) or not entries:
            raise RegistryError("registry.no_agencies", path=where)
        abbreviations = data.get("abbreviations", {})
        if not isinstance(abbreviations, dict) or not all(
            isinstance(v, str) and v.strip() and k.strip() for k, v in abbreviations.items()
        ):
            raise RegistryError("registry.bad_abbreviations", path=where)
        lists = {
            key: _string_list(data.get(key, []), path=where, setting=key)
            for key in _TOP_KEYS - {"agency", "abbreviations"}
        }
        for key in ("head_nouns", "level_words"):
            if not lists[key]:
                raise RegistryError("registry.empty_list", path=where, setting=key)
        agencies = [_agency(entry, path=where, index=i) for i, entry in enumerate(entries, 1)]
        return cls(agencies, abbreviations=abbreviations, source=path, **lists)

    def match(self, name: str) -> Agency | None:
        """The body `name` denotes, or None. Never a guess between two different bodies."""
        for candidate in self._candidates(name):
            for key in self._keys(fold(candidate)):
                agency = self._index.get(key)
                if agency is not None:
                    return agency
        return None

    def starts_like_agency(self, text: str) -> bool:
        """Whether `text` begins like the name of a body ("Phòng ...", "UBND các xã ...")."""
        key = fold(text)
        if self._not_start_re is not None and self._not_start_re.match(key):
            return False
        return any(
            pattern is not None and pattern.match(variant)
            for variant in (key, self.expand(key))
            for pattern in (self._head_re, self._collective_re)
        )

    def known_phrases(self) -> tuple[str, ...]:
        """Every canonical name and alias, longest first, so a scanner prefers the longer body."""
        names = {n for a in self.agencies for n in (a.canonical, *a.aliases)}
        return tuple(sorted(names, key=lambda n: (-len(n), n)))

    def expand(self, key: str) -> str:
        """A folded key with its abbreviations written out ("phòng lđ" -> "phòng lao động")."""
        if self._abbreviation_re is None:
            return key
        return self._abbreviation_re.sub(lambda m: self._abbreviations[m.group()], key)

    def _keys(self, key: str) -> tuple[str, str, str, str]:
        expanded = self.expand(key)
        return key, expanded, _loose(key), _loose(expanded)

    def _candidates(self, name: str) -> Iterator[str]:
        text = unicodedata.normalize("NFC", name).strip(_EDGE_KEEP_PARENS)
        yield text
        bare = _TRAILING_PAREN.sub("", text).strip(_EDGE)
        if bare and bare != text.strip(_EDGE):
            yield bare
        yield from self._without_place(bare)

    def _without_place(self, text: str) -> Iterator[str]:
        """Shorter forms of `text` without a trailing "huyện", "tỉnh Bình Định", "có liên quan"...

        A place name is only taken as one when it is capitalised, so "Phòng Y tế huyện và Trung tâm
        y tế" keeps its second body and never shrinks to "Phòng Y tế".
        """
        words = text.split()
        for place in range(min(_MAX_PLACE_WORDS, len(words) - 1) + 1):
            if place and not _is_place_word(words[-place]):
                break
            end = len(words) - place
            for size in (2, 1):
                start = end - size
                if start < 1 or fold(" ".join(words[start:end])) not in self._level_words:
                    continue
                if place and not words[end - 1][-1].isalnum():
                    continue
                if place:
                    yield " ".join(words[:end])
                rest = self._without_trailing(words[:start])
                shorter = " ".join(rest).strip(_EDGE)
                if shorter:
                    yield shorter
                    yield from self._without_place(shorter)
                return
        rest = self._without_trailing(words)
        if len(rest) < len(words) and rest:
            yield " ".join(rest).strip(_EDGE)

    def _without_trailing(self, words: list[str]) -> list[str]:
        """`words` without trailing "trên địa bàn", "có liên quan"... (data: trailing_words)."""
        key = fold(" ".join(words))
        dropped = len(key.split()) - len(self._trimmed(key).split())
        return words[: len(words) - dropped]

    def _trimmed(self, key: str) -> str:
        """A folded key without its trailing words; never empty."""
        trimmed = True
        while trimmed:
            trimmed = False
            for phrase in self._trailing_words:
                if key.endswith(" " + phrase):
                    key, trimmed = key[: -len(phrase) - 1], True
        return key

    def _where(self) -> str:
        return str(self.source) if self.source is not None else "?"


def _is_place_word(word: str) -> bool:
    return (
        (word[0].isupper() or word[0].isdigit())
        and word[-1].isalnum()
        and fold(word) not in _CONNECTORS
    )


def _string_list(value: Any, *, path: str, setting: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RegistryError("registry.bad_list", path=path, setting=setting)
    return tuple(value)


def _agency(entry: Any, *, path: str, index: int) -> Agency:
    if not isinstance(entry, dict):
        raise RegistryError("registry.missing_field", path=path, index=index, field="canonical")
    for field in ("canonical", "level", "kind"):
        if field not in entry:
            raise RegistryError("registry.missing_field", path=path, index=index, field=field)
    canonical = entry["canonical"]
    if not isinstance(canonical, str) or not canonical.strip(_EDGE):
        raise RegistryError(
            "registry.bad_field",
            path=path,
            index=index,
            name="?",
            field="canonical",
            expected=t("registry.expected_text"),
        )
    where = {"path": path, "index": index, "name": canonical}
    for field in entry:
        if field not in _AGENCY_FIELDS:
            raise RegistryError(
                "registry.unknown_field", **where, field=field, allowed=", ".join(_AGENCY_FIELDS)
            )
    level = entry["level"]
    if level not in LEVELS:
        raise RegistryError("registry.bad_level", **where, level=level, allowed=", ".join(LEVELS))
    kind = entry["kind"]
    if not isinstance(kind, str) or not _KIND_RE.fullmatch(kind):
        raise RegistryError(
            "registry.bad_field", **where, field="kind", expected=t("registry.expected_kind")
        )
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(
        isinstance(a, str) and a.strip(_EDGE) for a in aliases
    ):
        raise RegistryError(
            "registry.bad_field", **where, field="aliases", expected=t("registry.expected_list")
        )
    group = entry.get("group", False)
    if not isinstance(group, bool):
        raise RegistryError(
            "registry.bad_field", **where, field="group", expected=t("registry.expected_bool")
        )
    note = entry.get("note", "")
    if not isinstance(note, str):
        raise RegistryError(
            "registry.bad_field", **where, field="note", expected=t("registry.expected_text")
        )
    return Agency(
        canonical=canonical.strip(),
        level=level,
        kind=kind,
        aliases=tuple(a.strip() for a in aliases),
        group=group,
    )


@cache
def default_registry() -> Registry:
    """The packaged registry, loaded once per process."""
    return Registry.load()
