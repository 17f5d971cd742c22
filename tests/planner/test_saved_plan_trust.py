"""A saved plan carries its account and a digest of its content: an edited one is refused
as edited, and every live object a change names is one the plan read (issue 13.2)."""

from __future__ import annotations

import json
import typing
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given, settings

from dropstream_sync.desired import DesiredState
from dropstream_sync.errors import PlanError, PlanFileError
from dropstream_sync.live import LiveState
from dropstream_sync.planner import Plan, plan
from dropstream_sync.planner.details import NeutralizeDuplicate
from dropstream_sync.planner.model import DETAIL_TYPES, ID_FIELD_TYPES, plan_digest
from dropstream_sync.render import render_json
from tests.planner.scenario import NOW, rich
from tests.planner.test_properties import desired_states, live_states

SOURCE = "saved/plan.json"


def saved() -> dict[str, Any]:
    made = plan(
        *rich(),
        now=NOW,
        api_url="https://api.example",
        account="ops@3pl.example",
        tool_version="0.1.0",
        created_at="2026-11-26T12:00:00Z",
    )
    document: dict[str, Any] = json.loads(render_json(made))
    return document


def test_the_saved_plan_records_its_account_and_the_digest_of_everything_else() -> None:
    document = saved()
    assert document["account"] == "ops@3pl.example"
    assert document["plan_digest"] == plan_digest(document)
    back = Plan.from_json(json.dumps(document), SOURCE)
    assert back.account == "ops@3pl.example"
    assert json.loads(render_json(back)) == document


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["changes"][1]["detail"].update(name="Another store"),
        lambda d: d["changes"].append({**d["changes"][0], "id": "create_merchant-copy"}),
        lambda d: d.update(api_url="https://elsewhere.example"),
        lambda d: d.update(account="someone-else"),
        lambda d: d["summary"].update(changes=1),
        lambda d: d.update(plan_digest="sha256:" + "0" * 64),
    ],
    ids=["detail", "copied-change", "api-url", "account", "summary", "digest"],
)
def test_an_edited_plan_is_refused_as_edited(edit: Any) -> None:
    document = saved()
    edit(document)
    with pytest.raises(PlanFileError) as caught:
        Plan.from_json(json.dumps(document), SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}: the plan file was edited after it was saved: ")


def test_reformatting_the_file_is_not_an_edit() -> None:
    document = saved()
    text = json.dumps(document, indent=None, sort_keys=False, ensure_ascii=True)
    assert Plan.from_json(text, SOURCE).account == "ops@3pl.example"


@pytest.mark.parametrize("key", ["plan_digest", "account"])
def test_a_plan_without_its_digest_or_account_is_refused_by_name(key: str) -> None:
    document = saved()
    del document[key]
    with pytest.raises(PlanFileError, match=f"{key}: missing"):
        Plan.from_json(json.dumps(document), SOURCE)


def test_every_id_field_of_every_detail_names_a_kind_of_live_object() -> None:
    # A new detail field holding a live id must be classified, or the target check of a
    # saved plan would not see it.
    for cls in DETAIL_TYPES.values():
        hints = typing.get_type_hints(cls)
        for f in fields(cls):  # type: ignore[arg-type]
            hint = hints[f.name]
            if f.name in cls.OTHER_ID_FIELDS:
                continue
            if f.name.endswith(("_id", "_ids")) and int in (hint, *typing.get_args(hint)):
                assert any(f.name.endswith(suffix) for suffix, _ in ID_FIELD_TYPES), f.name


def test_a_neutralized_duplicate_names_the_duplicate_the_kept_one_and_what_it_touches() -> None:
    made = plan(*rich(), now=NOW)
    duplicates = [c for c in made.changes if c.kind == "neutralize_duplicate"]
    assert duplicates, "the rich scenario has a duplicate store"
    for c in duplicates:
        d = c.detail_as(NeutralizeDuplicate)
        keys = set(c.object_keys())
        assert {f"{d.object_type}/{d.object_id}", f"{d.object_type}/{d.kept_id}"} <= keys
        assert {f"store/{i}" for i in d.store_ids} <= keys
        assert {f"authorization_request/{i}" for i in d.request_ids} <= keys
        assert made.objects_outside({k for k in keys if k != f"{d.object_type}/{d.kept_id}"})


def test_a_change_names_its_target_and_the_ids_in_its_detail() -> None:
    made = plan(*rich(), now=NOW)
    keys = {key for c in made.changes for key in c.object_keys()}
    assert any(k.startswith("authorization_request/") for k in keys)
    assert any(k.startswith("store/") for k in keys)
    assert made.objects_outside(made.live_index.keys()) == []
    assert made.objects_outside(set())  # something is named, so a narrower read is caught


@settings(max_examples=200, deadline=None)
@given(desired=desired_states(), live=live_states())
def test_a_fresh_plan_names_only_objects_its_fingerprint_covers(
    desired: DesiredState, live: LiveState
) -> None:
    try:
        made = plan(desired, live, now=NOW)
    except PlanError:
        return
    assert made.objects_outside(made.live_index.keys()) == []


def test_a_stale_plan_lists_what_changed_in_id_order() -> None:
    from dataclasses import replace

    from dropstream_sync.apply import check_fresh
    from dropstream_sync.errors import StalePlanError
    from tests.planner.scenario import account, live_store, merchant, state, store

    ids = (2, 10, 9)
    desired = state(merchant("Acme", *(store("Acme", f"S{i}") for i in ids)))
    live = account(*(live_store(i, f"S{i}") for i in ids))
    made = plan(desired, live, now=NOW)
    renamed = replace(live, stores=tuple(replace(s, name=s.name + "!") for s in live.stores))
    with pytest.raises(StalePlanError) as caught:
        check_fresh(made, renamed)
    # Numbers in number order: as text, store/10 came before store/2.
    assert "changed: store/2, store/9, store/10)" in str(caught.value)


def test_a_plan_with_a_key_written_twice_is_refused_at_that_object() -> None:
    # `plan --out` never writes a key twice. Python's reader keeps the last value, so a
    # copy with `"account": "someone-else"` written before the real one matched its digest
    # and was applied, while a reader that keeps the first (or a reviewer's eye) sees the
    # other account: the file says two things, and is refused rather than read one way.
    text = json.dumps(saved(), indent=2)
    twice = text.replace('"account": ', '"account": "someone-else",\n  "account": ', 1)
    assert json.loads(twice)["account"] == "ops@3pl.example"
    with pytest.raises(PlanFileError) as refused:
        Plan.from_json(twice, SOURCE)
    message = str(refused.value)
    assert message.startswith(f"{SOURCE}:1:1: not a dropstream-sync plan: ")
    assert "'account' twice" in message
    # Deeper down, the object that holds the key twice is the one named.
    nested = text.replace('"kind": ', '"kind": "disable", "kind": ', 1)
    line = next(n for n, row in enumerate(nested.splitlines(), 1) if '"kind": "disable", ' in row)
    with pytest.raises(PlanFileError) as refused:
        Plan.from_json(nested, SOURCE)
    where = str(refused.value).split(": not a")[0]
    assert where.startswith(f"{SOURCE}:") and int(where.split(":")[1]) < line
    assert "'kind' twice" in str(refused.value)


def test_a_key_written_twice_deep_inside_is_refused_without_a_traceback() -> None:
    # The C reader reads 600 levels; the pure-Python one that looks for the object's position
    # takes several frames a level, and its RecursionError reached the user as a traceback.
    text = '{"a":' * 600 + '{"k":1,"k":2}' + "}" * 600
    with pytest.raises(PlanFileError) as refused:
        Plan.from_json(text, SOURCE)
    assert str(refused.value).startswith(f"{SOURCE}:1:1: not a dropstream-sync plan: ")
    assert "'k' twice" in str(refused.value)
