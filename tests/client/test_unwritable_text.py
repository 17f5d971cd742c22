"""A server whose JSON holds a lone UTF-16 surrogate (`"\\ud800"`: valid JSON syntax, but
no character): plan, report, import and doctor end with one line, never a traceback from
the output that could not write it (tests/hostile.py rewrites the sandbox's answers)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.client.test_hostile_socket import cli
from tests.doctor.on_sandbox import Served
from tests.hostile import Hostile, Rule


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "stores.yaml", "--format", "json"),
        ("plan", "stores.yaml", "--out", "plan.json"),
        ("report", "stores.yaml", "--format", "markdown"),
        ("import",),
    ],
    ids=["plan-json", "plan-out", "report", "import"],
)
def test_a_store_name_holding_a_lone_surrogate_is_refused_in_one_line(
    served: Served, proxy: Hostile, tmp_path: Path, args: tuple[str, ...]
) -> None:
    first = cli(served, proxy, tmp_path, "apply", "stores.yaml", "--auto-approve")
    assert first.returncode == 0, first.stderr
    lone = Rule("GET", "/stores", "rewrite", find=b'"Acme US"', body=b'"Acme \\ud800US"', times=9)
    proxy.add(lone)
    result = cli(served, proxy, tmp_path, *args)
    # Was: exit 1 with a UnicodeEncodeError traceback from whichever output wrote it first.
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("error: GET /stores"), result.stderr
    assert "lone UTF-16 surrogate" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_an_api_message_holding_a_lone_surrogate_is_written_as_its_escape(
    served: Served, proxy: Hostile, tmp_path: Path
) -> None:
    refused = b'{"error": "refused \\ud800 here"}'
    proxy.add(Rule("GET", "/warehouses", "answer", status=422, body=refused, times=9))
    result = cli(served, proxy, tmp_path, "doctor", "--format", "json")
    # Was: a UnicodeEncodeError traceback once the JSON report was written.
    assert "Traceback" not in result.stderr, result.stderr
    checks = {c["id"]: c for c in json.loads(result.stdout)["checks"]}
    assert "refused \\ud800 here" in checks["list warehouses"]["summary"]


def test_doctor_writes_an_api_message_s_escape_sequences_as_escapes(
    served: Served, proxy: Hostile, tmp_path: Path
) -> None:
    refused = b'{"error": "refused \\u001b]0;owned\\u0007 \\u202eereh"}'
    proxy.add(Rule("GET", "/warehouses", "answer", status=422, body=refused, times=9))
    result = cli(served, proxy, tmp_path, "doctor")
    # Was: the OSC sequence retitled the terminal and U+202E reversed the rest of the line.
    assert not {"\x1b", "\x07", "\u202e"} & set(result.stdout), result.stdout
    assert "refused \\x1b]0;owned\\x07 \\u202eereh" in result.stdout
