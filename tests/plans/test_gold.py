"""Every annotated plan (the three real ones and the extra variants) agrees with its gold file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from service.plans.errors import PlanError
from service.plans.parser import parse_file
from tests.plans.gold import compare, gold_files, load, plan_file

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "service/plans/plan-extraction.schema.json").read_text()
)
CASES = gold_files()


@pytest.mark.parametrize("gold_path", CASES, ids=[p.name.removesuffix(".gold.json") for p in CASES])
def test_extraction_matches_gold(gold_path: Path) -> None:
    gold = load(gold_path)
    if "expect_error" in gold:
        with pytest.raises(PlanError) as caught:
            parse_file(plan_file(gold_path))
        assert caught.value.code == gold["expect_error"]
        return
    result = parse_file(plan_file(gold_path))
    jsonschema.validate(result.to_json_dict(), SCHEMA, format_checker=jsonschema.FormatChecker())
    score = compare(result, gold)
    assert score.differences == []
    if "deadlines" in gold:
        mine = {(d.kind, d.due_on.isoformat()) for d in result.deadlines}
        assert {(d["kind"], d["due_on"]) for d in gold["deadlines"]} <= mine


def test_the_real_plans_are_all_there() -> None:
    names = {p.name for p in CASES}
    assert {"thanh-liem-2021.gold.json", "tuy-phuoc-2024.gold.json"} <= names


def test_gold_files_agree_with_their_plans() -> None:
    """The annotations themselves are checked: shape, and every phrase really in the plan."""
    import importlib.util

    checker_path = Path(__file__).resolve().parent.parent / "fixtures/plans/extra/check_gold.py"
    spec = importlib.util.spec_from_file_location("check_gold", checker_path)
    assert spec is not None
    assert spec.loader is not None
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    assert checker.check_dir(checker_path.parent) == []
