"""The live models are read-only to the type checker and compare by value at run time.

They are declared with `live.model`: plain slots dataclasses at run time (a frozen
dataclass's __init__ is the largest part of reading a large account), frozen to mypy. This
is what keeps that promise: mypy --strict refuses an assignment to any of their fields.
"""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest
from mypy import api as mypy_api

from dropstream_sync import live

ROOT = Path(__file__).resolve().parents[1]
MODELS = [
    cls
    for _, cls in inspect.getmembers(live, inspect.isclass)
    if dataclasses.is_dataclass(cls) and cls.__module__ == live.__name__
]


def test_every_live_model_is_declared_read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert {cls.__name__ for cls in MODELS} >= {"Store", "Connection", "LiveState"}
    snippet = "\n".join(
        [
            "from typing import Any",
            "from dropstream_sync import live",
            *(
                f"def set_{cls.__name__}(x: live.{cls.__name__}, v: Any) -> None:\n"
                f"    x.{dataclasses.fields(cls)[0].name} = v"
                for cls in MODELS
            ),
        ]
    )
    monkeypatch.setenv("MYPYPATH", str(ROOT))
    out, _err, status = mypy_api.run(
        ["--strict", "--no-incremental", "--cache-dir=/dev/null", "-c", snippet]
    )
    refused = [line for line in out.splitlines() if "is read-only" in line]
    assert status == 1
    assert len(refused) == len(MODELS), out


@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_a_live_model_is_equal_and_hashed_by_value(cls: type) -> None:
    # Plans put live objects in sets and dicts; two reads of the same object are one.
    values = {
        f.name: f.default if f.default is not dataclasses.MISSING else 1
        for f in dataclasses.fields(cls)
    }
    a, b = cls(**values), cls(**values)
    assert a == b and a is not b
    assert len({a, b}) == 1
