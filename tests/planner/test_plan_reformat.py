"""Reformatting a saved plan is not an edit (docs/plan-format.md): not with jq, not with
JavaScript's JSON.stringify, not with Python's json.dumps, all of which keep every value but
may write a whole-number float (`30.0`) as an integer (`30`). An edited value is still refused,
and a plan saved by the version before (whose digest is of `30.0` as written) is still read,
as saved and reformatted."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dropstream_sync.planner.model import plan_digest
from tests.cli_in_process import run

# Written by dropstream-sync (main at 29772f3) before whole-number floats were written as
# integers: `plan stores.yaml --sandbox --out` of CONFIG below. Its digest is of
# `"max_update_percent": 30.0` as written, and of "Café Côte" in UTF-8.
SAVED_BEFORE = Path(__file__).parent / "data" / "plan-saved-before-whole-numbers.json"
EDITED = "the plan file was edited after it was saved"


def jq_binary() -> str:
    found = shutil.which("jq")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("jq is missing in CI: .ci/run installs it (apt-get install jq)")
        pytest.skip("jq is not installed: the Python emulation of its numbers still runs")
    return found


def jq(text: str, *args: str) -> str:
    return subprocess.run(
        [jq_binary(), *args, "."], input=text, capture_output=True, text=True, check=True
    ).stdout


def _double(literal: str) -> int | float:
    # A JavaScript number (jq 1.6 stores its numbers the same way): a whole one is written
    # with no fraction, and an integer beyond 2**53 comes back rounded.
    value = float(literal)
    return int(value) if value.is_integer() else value


def like_jq(text: str) -> str:
    """jq 1.6's `jq .` in Python: numbers as doubles (`30.0` -> `30`, `1e2` -> `100`,
    `-0.0` -> `-0`), keys in their order, non-ASCII as UTF-8, two-space indent."""
    data = json.loads(text, parse_float=_double, parse_int=_double)
    return json.dumps(data, indent=2, ensure_ascii=False).replace("-0.0", "-0") + "\n"


def like_node(text: str) -> str:
    """`JSON.stringify(JSON.parse(text), null, 2)`: as jq, and `-0` written as `0`."""
    data = json.loads(text, parse_float=_double, parse_int=_double)
    return json.dumps(data, indent=2, ensure_ascii=False)


REWRITES: dict[str, Callable[[str], str]] = {
    "like-jq": like_jq,
    "like-node": like_node,
    "json.dumps-indent-4": lambda t: json.dumps(json.loads(t), indent=4),
    "json.dumps-compact-ascii": lambda t: json.dumps(json.loads(t), separators=(",", ":")),
    "json.dumps-keys-reversed": lambda t: json.dumps(_reversed_keys(json.loads(t))),
    "jq-real": lambda t: jq(t),
    "jq-real-sorted-ascii": lambda t: jq(t, "--sort-keys", "--ascii-output"),
    "jq-real-compact": lambda t: jq(t, "--compact-output"),
}


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(value)}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


CONFIG = """\
version: 1
safety:
  max_update_percent: 30
  max_disable_percent: 12.5
merchants:
  - name: Café Côte
    email: ops@cafe-cote.example
    stores:
      - name: Café Côte FR
        marketplace: FR
        fulfillment_latency: 2
"""


def saved(tmp_path: Path, capsys: pytest.CaptureFixture[str], written_by: str) -> Path:
    """A real saved plan: one this version saves with `plan --sandbox --out`, or the one
    the version before saved of the same config (against a sandbox as fresh as tmp_path's)."""
    path = tmp_path / "p1.json"
    if written_by == "before-whole-numbers":
        shutil.copy(SAVED_BEFORE, path)
        return path
    (tmp_path / "stores.yaml").write_text(CONFIG, encoding="utf-8")
    code, _, err = run(
        capsys,
        "plan",
        str(tmp_path / "stores.yaml"),
        "--sandbox",
        str(tmp_path / "state"),
        "--out",
        str(path),
    )
    assert code == 0, err
    return path


WRITERS = ["this-version", "before-whole-numbers"]


def test_a_plan_is_saved_with_its_whole_number_floats_as_integers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # As jq writes it, so that a reformat rewrites no number, and so that the previous
    # version (whose digest is of the numbers as written) reads this version's plans too.
    text = saved(tmp_path, capsys, "this-version").read_text()
    assert '"max_update_percent": 30,' in text
    assert '"max_disable_percent": 12.5,' in text
    document = json.loads(text)
    body = {k: v for k, v in document.items() if k != "plan_digest"}
    as_written = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert document["plan_digest"] == "sha256:" + hashlib.sha256(as_written.encode()).hexdigest()


def test_the_plan_saved_by_the_previous_version_holds_a_float_jq_rewrites() -> None:
    text = SAVED_BEFORE.read_text()
    assert '"max_update_percent": 30.0,' in text
    assert '"max_update_percent": 30,' in like_jq(text)


@pytest.mark.parametrize("rewrite", REWRITES, ids=list(REWRITES))
@pytest.mark.parametrize("written_by", WRITERS)
def test_show_and_apply_read_a_reformatted_plan_as_the_plan_saved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rewrite: str, written_by: str
) -> None:
    p1 = saved(tmp_path, capsys, written_by)
    p3 = tmp_path / "p3.json"
    p3.write_text(REWRITES[rewrite](p1.read_text(encoding="utf-8")), encoding="utf-8")
    if written_by == "before-whole-numbers":
        # This version's plans are written as jq writes them: only the older one changes.
        assert p3.read_bytes() != p1.read_bytes()

    code, shown, err = run(capsys, "show", str(p3))
    assert (code, err) == (0, "")
    assert run(capsys, "show", str(p1))[1] == shown
    code, out, err = run(
        capsys, "apply", str(p3), "--sandbox", str(tmp_path / "state"), "--auto-approve"
    )
    assert code == 0, err
    assert "Apply complete: 3 done, 0 failed" in out


def _percent_to(value: str) -> Callable[[str], str]:
    # The number as either writer put it: `30` or `30.0`.
    return lambda t: re.sub(r'"max_update_percent": 30(\.0)?', f'"max_update_percent": {value}', t)


EDITS: dict[str, Callable[[str], str]] = {
    "percent": _percent_to("31"),
    "percent-fraction": _percent_to("30.5"),
    "percent-no-float-has": _percent_to("1" + "0" * 400),
    "latency": lambda t: t.replace('"fulfillment_latency": 2', '"fulfillment_latency": 3', 1),
    "accent": lambda t: t.replace("Café Côte FR", "Cafe Côte FR"),
}


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
@pytest.mark.parametrize("rewrite", ["like-jq", "json.dumps-indent-4", "jq-real"])
@pytest.mark.parametrize("written_by", WRITERS)
def test_an_edited_value_is_refused_after_a_reformat_too(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    edit: str,
    rewrite: str,
    written_by: str,
) -> None:
    p1 = saved(tmp_path, capsys, written_by)
    # The edit is made on the text a tool wrote (`30`, not `30.0`), in one layout.
    reformatted = json.dumps(
        json.loads(REWRITES[rewrite](p1.read_text(encoding="utf-8"))), indent=2, ensure_ascii=False
    )
    edited = EDITS[edit](reformatted)
    assert edited != reformatted
    p3 = tmp_path / "p3.json"
    p3.write_text(edited, encoding="utf-8")
    for command in (["show", str(p3)], ["apply", str(p3), "--sandbox", str(tmp_path / "s")]):
        code, _, err = run(capsys, *command)
        assert code == 1
        assert err.startswith(f"error: {p3}: {EDITED}"), err


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (30.0, 30),
        (1e2, 100),
        (-0.0, 0),
        ("\u00e9", "é"),
        ({"b": 1, "a": 2}, {"a": 2, "b": 1}),
        ([1.0, {"x": 2.0}], [1, {"x": 2}]),
    ],
)
def test_the_digest_is_of_values_a_reformat_keeps(one: Any, other: Any) -> None:
    assert plan_digest({"v": one}) == plan_digest({"v": other})


@pytest.mark.parametrize(
    ("one", "other"),
    [(30.5, 30), (True, 1), (False, 0), ("30", 30), (None, 0), ([30], 30)],
)
def test_the_digest_still_tells_other_values_apart(one: Any, other: Any) -> None:
    assert plan_digest({"v": one}) != plan_digest({"v": other})


def test_a_large_integer_jq_rounds_is_a_changed_value() -> None:
    # jq 1.6 and JSON.stringify hold numbers as doubles: beyond 2**53 an integer comes back
    # another integer. No plan holds one (ids are small), but such a rewrite is an edit.
    document = {"n": 2**53 + 1}
    rounded = json.loads(like_jq(json.dumps(document)))
    assert rounded == {"n": 2**53}
    assert plan_digest(rounded) != plan_digest(document)
