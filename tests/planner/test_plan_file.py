"""A saved plan read back: exactly the plan, or a clear PlanFileError naming what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from dropstream_sync.errors import PlanFileError
from dropstream_sync.planner import Plan, plan
from dropstream_sync.planner.model import ChangeKind
from dropstream_sync.render import render_json
from tests.planner.scenario import NOW, rich

SOURCE = "saved/plan.json"


def saved() -> dict[str, Any]:
    made = plan(
        *rich(),
        now=NOW,
        api_url="https://api.example",
        tool_version="0.1.0",
        created_at="2026-11-26T12:00:00Z",
    )
    document: dict[str, Any] = json.loads(render_json(made))
    return document


def refused(document: Any) -> str:
    with pytest.raises(PlanFileError) as caught:
        Plan.from_json(json.dumps(document), SOURCE)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: ")
    assert "Traceback" not in message and "KeyError" not in message
    return message


def test_a_saved_plan_reads_back_to_the_same_bytes_with_typed_kinds() -> None:
    text = json.dumps(saved())
    back = Plan.from_json(text, SOURCE)
    assert render_json(back) == render_json(Plan.from_dict(json.loads(text)))
    assert json.loads(render_json(back)) == saved()
    assert {c.kind for c in back.changes} <= set(ChangeKind)
    assert all(isinstance(c.kind, ChangeKind) for c in back.changes)


def test_json_syntax_error_names_file_line_and_column() -> None:
    text = json.dumps(saved(), indent=2)
    broken = text.replace('"changes": [', '"changes": [,', 1)
    line = broken[: broken.index('"changes": [,')].count("\n") + 1
    with pytest.raises(PlanFileError) as caught:
        Plan.from_json(broken, SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}:{line}:")
    assert "not a JSON plan" in str(caught.value)


def test_an_unknown_change_kind_is_refused_by_name() -> None:
    document = saved()
    document["changes"][2]["kind"] = "delete_everything"
    message = refused(document)
    assert "changes[2].kind" in message and "unknown change kind 'delete_everything'" in message


def test_from_dict_refuses_an_unknown_kind_too() -> None:
    document = saved()
    document["changes"][0]["kind"] = "drop_store"
    with pytest.raises(PlanFileError, match="unknown change kind 'drop_store'"):
        Plan.from_dict(document)


def test_a_duplicated_change_is_refused() -> None:
    document = saved()
    document["changes"].append(document["changes"][0])
    message = refused(document)
    assert "duplicate change id" in message and document["changes"][0]["id"] in message


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        del document["changes"][1]["detail"][key]

    return edit


@pytest.mark.parametrize(
    ("edit", "where", "what"),
    [
        (lambda d: d["changes"][0].pop("target"), "changes[0].target", "missing"),
        (
            lambda d: d["changes"][0]["detail"].update(company_name=7),
            "changes[0].detail.company_name",
            "must be a string, not an integer",
        ),
        (_drop("marketplace_id"), "changes[1].detail.marketplace_id", "missing"),
        (
            lambda d: d["changes"][1]["detail"]["settings"].update(fulfillment_latency="2"),
            "changes[1].detail.settings.fulfillment_latency",
            "must be an integer, not a string",
        ),
        (
            lambda d: d["changes"][0].update(depends_on="x"),
            "changes[0].depends_on",
            "must be a list",
        ),
        (lambda d: d.update(changes={}), "changes", "must be a list, not an object"),
        (
            lambda d: d["changes"][0]["fields"][0].update(before=[[1]]),
            "changes[0].fields[0].before",
            "must be a string, number",
        ),
        (
            lambda d: d["desired"]["merchants"][0].update(prune="yes"),
            "desired.merchants[0].prune",
            "must be a boolean",
        ),
        (lambda d: d.pop("live_fingerprint"), "live_fingerprint", "missing"),
    ],
)
def test_a_missing_or_ill_typed_field_is_named(
    edit: Callable[[dict[str, Any]], None], where: str, what: str
) -> None:
    document = saved()
    edit(document)
    message = refused(document)
    assert f"{where}: {what}" in message


def test_a_dependency_or_ref_naming_no_change_of_the_plan_is_refused() -> None:
    document = saved()
    store = next(i for i, c in enumerate(document["changes"]) if "refs" in c["detail"])
    document["changes"][store]["depends_on"] = ["create_merchant-000000000000"]
    assert f"changes[{store}].depends_on: names 'create_merchant-000000000000'" in refused(document)

    document = saved()
    document["changes"][store]["detail"]["refs"]["customer_id"] = "ghost"
    assert f"changes[{store}].detail.refs.customer_id: names 'ghost'" in refused(document)


def test_a_plan_of_another_format_version_or_not_an_object_is_refused() -> None:
    document = saved()
    document["format_version"] = "9"
    assert "format_version: '9' is not '1'" in refused(document)
    assert "the document is a list, not an object" in refused([1, 2])


def test_json_nested_absurdly_deep_is_a_clear_error_not_a_recursion_error() -> None:
    depth = 100_000
    text = '{"changes": ' + "[" * depth + "]" * depth + "}"
    with pytest.raises(PlanFileError) as caught:
        Plan.from_json(text, SOURCE)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}:1:") and "nested deeper than" in message


def test_a_number_too_long_for_python_to_read_is_a_clear_error_not_a_value_error() -> None:
    # Python refuses integers of more than 4,300 digits with a ValueError that is not a
    # JSONDecodeError: `show` and `apply` printed its traceback.
    text = json.dumps(saved(), indent=2).replace(
        '"reauthorize_days": 30', '"reauthorize_days": 1' + "0" * 5000, 1
    )
    line = text[: text.index('"reauthorize_days": 1')].count("\n") + 1
    with pytest.raises(PlanFileError) as caught:
        Plan.from_json(text, SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}:{line}:")
    assert "a number of 5001 digits" in str(caught.value)
