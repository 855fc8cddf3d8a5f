"""Compare an extraction with a gold annotation; shared by the tests and bench/score.py."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.plans.registry import fold
from service.plans.schemas import PlanExtraction

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plans"
_LEVEL_SUFFIX = re.compile(r"\s+(?:huyện|tỉnh|xã|thị xã|thành phố|quận|phường|thị trấn)$")


def gold_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.gold.json")) + sorted(FIXTURES.glob("extra/*.gold.json"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def plan_file(gold_path: Path) -> Path:
    stem = gold_path.name.removesuffix(".gold.json")
    for candidate in sorted(gold_path.parent.glob(f"{stem}.*")):
        if not candidate.name.endswith(".gold.json"):
            return candidate
    raise FileNotFoundError(stem)


def name_key(name: str | None) -> str:
    """Names compare without case, tone placement, or a trailing level word.

    The gold files themselves differ on whether a level word shared by a list ("... và các tổ
    chức chính trị - xã hội Huyện") belongs to every member, so that word does not count.
    """
    return _LEVEL_SUFFIX.sub("", fold(name or ""))


@dataclass
class Score:
    """Counts for the measures the parser is judged by."""

    members_true: int = 0
    members_found: int = 0
    members_gold: int = 0
    lead_right: int = 0
    tasks_exact: int = 0
    blocks: int = 0
    dates_found: int = 0
    dates_gold: int = 0
    differences: list[str] = field(default_factory=list)


def compare(result: PlanExtraction, gold: dict[str, Any]) -> Score:
    score = Score()
    diff = score.differences
    if gold.get("section_numeral") != result.implementation_section.numeral:
        diff.append(
            f"numeral {result.implementation_section.numeral!r} != {gold['section_numeral']!r}"
        )

    found = [name_key(m) for a in result.assignments for m in a.members]
    expected = [name_key(m) for a in gold["agencies"] for m in a["members"]]
    remaining = list(expected)
    for key in found:
        if key in remaining:
            remaining.remove(key)
            score.members_true += 1
    score.members_found, score.members_gold = len(found), len(expected)
    if remaining or len(found) != len(expected):
        diff.append(f"members missing {remaining}, extra {[k for k in found if k not in expected]}")

    by_heading = {" ".join(a.heading.split()): a for a in result.assignments}
    for agency in gold["agencies"]:
        score.blocks += 1
        heading = " ".join(agency["heading"].split())
        mine = by_heading.get(heading)
        if mine is None:
            diff.append(f"heading not found: {heading!r}")
            continue
        if len(mine.tasks) == agency["task_count"]:
            score.tasks_exact += 1
        else:
            diff.append(f"{heading!r}: {len(mine.tasks)} tasks, gold {agency['task_count']}")
        if mine.is_request != agency["is_request"]:
            diff.append(f"{heading!r}: is_request {mine.is_request}")
        if mine.is_lead != agency.get("is_lead", False):
            diff.append(f"{heading!r}: is_lead {mine.is_lead}")
    if len(result.assignments) != len(gold["agencies"]):
        diff.append(f"{len(result.assignments)} blocks, gold {len(gold['agencies'])}")

    if name_key(result.lead_agency) == name_key(gold.get("lead_agency")):
        score.lead_right = 1
    else:
        diff.append(f"lead {result.lead_agency!r} != {gold.get('lead_agency')!r}")
    if name_key(result.report_to) != name_key(gold.get("report_to")):
        diff.append(f"report_to {result.report_to!r} != {gold.get('report_to')!r}")

    mine_regime = {(r.kind, r.due_day_month) for r in result.reporting}
    gold_regime = {(r["kind"], r["due_day_month"]) for r in gold["reporting"]}
    if mine_regime != gold_regime:
        diff.append(f"reporting {sorted(mine_regime, key=str)} != {sorted(gold_regime, key=str)}")
    stated = {r["due_day_month"] for r in gold["reporting"] if r["due_day_month"]}
    score.dates_gold = len(stated)
    score.dates_found = len(stated & {r.due_day_month for r in result.reporting})
    return score
