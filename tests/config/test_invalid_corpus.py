"""Every malformed config in the corpus: exit 1, FILE:LINE:COLUMN, the message, no traceback.

One file per failure, named after it; tests/config/invalid/expected.json gives for each the
line, the column where the parser's column is stable, the path, and a message fragment.
`dropstream-sync validate FILE` runs in-process through the console entry point (main), so
the exit code and stderr are exactly what a user sees; one test also runs it as a process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from dropstream_sync.cli import main
from dropstream_sync.config import load
from dropstream_sync.errors import ConfigError

CORPUS = Path(__file__).parent / "invalid"
EXPECTED: dict[str, dict[str, object]] = json.loads((CORPUS / "expected.json").read_text())


def run_validate(capsys: pytest.CaptureFixture[str], *paths: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(["validate", *paths])
    out, err = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 1), out, err


def test_corpus_has_a_file_per_expectation_and_at_least_forty_five() -> None:
    files = {p.stem for p in CORPUS.glob("*.yaml")}
    assert files == set(EXPECTED)
    assert len(files) >= 45


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_config_is_reported_with_its_position(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(CORPUS / f"{name}.yaml")
    expected = EXPECTED[name]
    code, out, err = run_validate(capsys, path)
    assert code == 1
    assert "Traceback" not in out + err
    assert not out.strip(), "nothing on stdout when the config is invalid"
    where = f"{path}:{expected['line']}:" + (
        f"{expected['column']}:" if "column" in expected else ""
    )
    reported = [ln for ln in err.splitlines() if ln.startswith(f"{path}:")]
    matching = [ln for ln in reported if ln.startswith(where) and str(expected["message"]) in ln]
    assert matching, err
    if "path" in expected:
        assert f": {expected['path']}: " in matching[0], err
    assert "(1 error(s))" in err, f"{name} should hold exactly one failure:\n{err}"


def test_the_console_command_reports_without_a_traceback() -> None:
    path = CORPUS / "unknown_store_key.yaml"
    cli = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
    result = subprocess.run(
        [*cli, "validate", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        f"{path}:8:9: merchants[0].stores[0].fulfilment_latency: unknown key "
        "'fulfilment_latency' (did you mean 'fulfillment_latency'?)" in result.stderr
    )


def test_file_over_ten_megabytes_is_refused_before_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("version: 1\n# " + "x" * (10 * 1024 * 1024) + "\n")
    tracemalloc.start()
    try:
        code, _, err = run_validate(capsys, str(big))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == 1
    assert f"{big}:1:1:" in err and "limit is 10 MB" in err
    assert peak < 2 * 1024 * 1024, "the file was read, not refused by its size"


def test_alias_bomb_fails_before_expanding() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="too many alias expansions"):
            load([CORPUS / "alias_bomb.yaml"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024


def test_anchors_reused_once_per_store_are_not_an_alias_bomb(tmp_path: Path) -> None:
    stores = "\n".join(
        f"      - {{name: S{i}, marketplace: US, import_order_statuses: *statuses}}"
        for i in range(6000)
    )
    path = tmp_path / "anchors.yaml"
    path.write_text(
        "version: 1\nx-statuses: &statuses [Unshipped, Shipped]\n"
        "merchants:\n  - name: A\n    stores:\n" + stores + "\n"
    )
    with pytest.raises(ConfigError) as caught:
        load([path])
    # Only the unknown helper key: 6,000 expansions of one anchor are fine.
    assert [p.path for p in caught.value.problems] == ["x-statuses"]


def test_all_problems_of_a_file_are_reported_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    email: nope\n    stores:\n"
        "      - name: A\n        marketplace: XX\n        fulfilment_latency: 3\n"
    )
    code, _, err = run_validate(capsys, str(path))
    assert code == 1
    assert f"{path}:4:12: merchants[0].email:" in err
    assert f"{path}:7:22: merchants[0].stores[0].marketplace:" in err
    assert f"{path}:8:9: merchants[0].stores[0].fulfilment_latency:" in err
    assert "3 error(s)" in err


def test_problems_in_several_files_are_all_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.yaml").write_text("version: 2\n")
    (tmp_path / "b.yaml").write_text("version: 1\nprune: 'yes'\n")
    code, _, err = run_validate(capsys, str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'a.yaml'}:1:10: version:" in err
    assert f"{tmp_path / 'b.yaml'}:2:8: prune:" in err


def test_every_unknown_channel_type_is_reported_at_its_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # One check of the whole mapping stopped at the first unknown type: a user fixing it then
    # met the next one on the following run.
    path = tmp_path / "stores.yaml"
    path.write_text(
        "version: 1\n"
        "defaults:\n"
        "  channels: {salse_order: true, shipment: true}\n"
        "merchants:\n"
        "  - name: Acme\n"
        "    stores:\n"
        "      - name: Acme US\n"
        "        marketplace: US\n"
        "        channels:\n"
        "          return: true\n"
        "          shipmnt: false\n"
    )
    code, _, err = run_validate(capsys, str(path))
    assert code == 1
    assert f"{path}:3:14: defaults.channels.salse_order: unknown channel type 'salse_order'" in err
    assert f"{path}:10:11: merchants[0].stores[0].channels.return: unknown channel type" in err
    assert (
        f"{path}:11:11: merchants[0].stores[0].channels.shipmnt: unknown channel type "
        "'shipmnt' (did you mean 'shipment'?)" in err
    )
    assert "(3 error(s))" in err
