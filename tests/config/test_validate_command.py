"""`dropstream-sync validate` and `dropstream-sync schema` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from dropstream_sync.cli import cli
from dropstream_sync.config import check, load
from dropstream_sync.config.schema import generate_schema

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "stores.yaml"
MAIN = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]


def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    # main() maps errors to exit codes; only a real process shows what a user sees.
    return subprocess.run([*MAIN, *args], capture_output=True, text=True, timeout=60)


def test_valid_example_prints_one_summary_line_on_stdout() -> None:
    result = CliRunner().invoke(cli, ["validate", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("OK: 1 file")
    for word in ("merchant", "store", "marketplace", "0 warning"):
        assert word in lines[0]


def test_summary_counts_files_merchants_stores_and_marketplaces(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - {name: Acme US, marketplace: US}\n      - {name: Acme UK, marketplace: GB}\n"
    )
    (tmp_path / "b.yml").write_text(
        "version: 1\nmerchants:\n  - name: Beta\n    stores:\n"
        "      - {name: Beta UK, marketplace: UK}\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        "OK: 2 file(s), 2 merchant(s), 3 store(s) in 2 marketplace(s), 0 warning(s)"
    )


def test_check_says_what_load_says_of_the_same_files(tmp_path: Path) -> None:
    # validate counts through config.check, plan reads config.load: one verdict for both.
    (tmp_path / "a.yaml").write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - {name: Acme US, marketplace: us}\n      - {name: Acme GB, marketplace: GB}\n"
        "      - {name: Acme UK, marketplace: UK, fulfillment_channel_code: LOC-1}\n"
    )
    paths = [str(tmp_path), str(EXAMPLE)]
    checked, loaded = check(paths), load(paths)
    stores = [s for m in loaded.desired.merchants for s in m.stores]
    assert checked.warnings == loaded.warnings and len(checked.warnings) == 2
    assert checked.files == loaded.files
    assert checked.merchants == len(loaded.desired.merchants)
    assert checked.stores == len(stores)
    assert checked.marketplaces == len({s.marketplace for s in stores})


def test_warnings_go_to_stderr_with_their_position_and_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - name: Acme DE\n        marketplace: DE\n        fulfillment_channel_code: LOC-1\n"
    )
    result = run_main("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1 and "1 warning" in result.stdout
    warning = [ln for ln in result.stderr.splitlines() if ln.startswith(f"{path}:")]
    assert len(warning) == 1
    # At the store's own fulfillment_channel_code, the value the warning is about.
    assert warning[0].startswith(f"{path}:7:35:") and "warning:" in warning[0]
    assert "outside the US" in warning[0]


def test_invalid_config_exits_1_with_every_problem_and_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "stores.yaml"
    path.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - name: Acme US\n        marketplace: USA\n        fulfilment_latency: 2\n"
    )
    result = run_main("validate", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"{path}:6:22: merchants[0].stores[0].marketplace: unknown marketplace 'USA'" in (
        result.stderr
    )
    assert (
        f"{path}:7:9: merchants[0].stores[0].fulfilment_latency: unknown key "
        "'fulfilment_latency' (did you mean 'fulfillment_latency'?)"
    ) in result.stderr
    assert "2 error(s)" in result.stderr


def test_keys_and_values_quoted_in_errors_cannot_forge_a_line_or_send_escapes(
    tmp_path: Path,
) -> None:
    # A quoted key or value may hold a line break or a terminal escape sequence: echoed as
    # they were, a pull request's file could print a forged "OK" line, or rewrite the
    # reviewer's terminal (colour was on there, so click let the escapes through).
    path = tmp_path / "odd.yaml"
    path.write_text(
        'version: 1\n"k\\nOK: 1 file(s), 0 merchant(s)": 1\n'
        'defaults: {channels: {"\\e]0;owned\\a": true}}\n"\\u202eprune": true\n'
    )
    result = run_main("validate", str(path))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 4, result.stderr
    assert all(ln.startswith(f"{path}:") for ln in lines[:3]), result.stderr
    assert lines[3] == "error: configuration is invalid (3 error(s))"
    assert "unknown key 'k\\nOK: 1 file(s), 0 merchant(s)'" in lines[0]
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "\u202e" not in result.stderr and "'\\u202eprune'" in result.stderr


def test_an_empty_path_is_refused_not_read_as_the_current_folder(tmp_path: Path) -> None:
    # `plan "$CONFIG"` with CONFIG unset: Path("") is ".", so every YAML file below the
    # working folder was read as the config (and `apply` would have applied it).
    copy = tmp_path / "stores.yaml"
    copy.write_text(EXAMPLE.read_text())
    for args in (["validate", ""], ["show", ""]):
        result = subprocess.run(
            [*MAIN, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert result.returncode == 1, result.stdout
        assert "an empty path names no" in result.stderr
        assert "OK:" not in result.stdout and "Traceback" not in result.stderr


def test_missing_path_exits_1_naming_it(tmp_path: Path) -> None:
    result = run_main("validate", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert "nope.yaml" in result.stderr and "no such file or folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_folder_without_yaml_exits_1(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("version: 1\n")
    result = run_main("validate", str(tmp_path))
    assert result.returncode == 1
    assert "no *.yaml or *.yml" in result.stderr


def test_validate_needs_a_path() -> None:
    result = run_main("validate")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


def test_schema_prints_the_committed_schema() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    assert printed == generate_schema()
    assert printed == json.loads((ROOT / "schemas" / "stores.schema.json").read_text())
    assert result.stdout.startswith('{\n  "')  # indent 2, for diffs that read well


def test_schema_module_prints_the_same_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dropstream_sync.config.schema"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert json.loads(result.stdout) == generate_schema()


def test_schema_is_deterministic() -> None:
    first = json.dumps(generate_schema(), sort_keys=True)
    assert json.dumps(generate_schema(), sort_keys=True) == first
    assert generate_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for key in ("$id", "title", "description"):
        assert generate_schema()[key]


def test_help_of_validate_and_schema_shows_examples() -> None:
    for command in ("validate", "schema"):
        result = CliRunner().invoke(cli, [command, "--help"])
        assert result.exit_code == 0
        assert "Examples:" in result.stdout
        assert f"dropstream-sync {command}" in result.stdout


def test_a_fifo_is_named_as_a_fifo_not_as_missing(tmp_path: Path) -> None:
    fifo = tmp_path / "stores.yaml"
    os.mkfifo(fifo)
    result = run_main("validate", str(fifo))
    assert result.returncode == 1
    assert f"{fifo}:1:1: is a named pipe (FIFO), not a file or folder" in result.stderr
    assert "no such file" not in result.stderr and "Traceback" not in result.stderr


def test_symlinks_inside_a_config_folder_are_reported_not_skipped(tmp_path: Path) -> None:
    config, outside = tmp_path / "config", tmp_path / "outside"
    (config / "team").mkdir(parents=True)
    outside.mkdir()
    (config / "a.yaml").write_text("version: 1\nmerchants: []\n")
    (outside / "b.yaml").write_text("version: 1\nmerchants: [{name: B, stores: []}]\n")
    (config / "shared").symlink_to(outside)
    (config / "team" / "loop").symlink_to(config)
    (config / "c.yaml").symlink_to(outside / "b.yaml")
    result = run_main("validate", str(config))
    assert result.returncode == 1
    for link, kind, target in [
        ("shared", "folder", outside),
        ("team/loop", "folder", config),
        ("c.yaml", "file", outside / "b.yaml"),
    ]:
        assert (
            f"{config / link}:1:1: a symlinked {kind} inside a config folder is not "
            f"followed (it points to {target})"
        ) in result.stderr, result.stderr
    assert "(3 error(s))" in result.stderr and "Traceback" not in result.stderr
    # The target, given as a path of its own, is read.
    assert run_main("validate", str(config / "a.yaml"), str(outside)).returncode == 0


def test_a_broken_symlink_given_as_the_path_says_so(tmp_path: Path) -> None:
    (tmp_path / "stores.yaml").symlink_to(tmp_path / "gone.yaml")
    result = run_main("validate", str(tmp_path / "stores.yaml"))
    assert result.returncode == 1
    assert "broken symlink (it points to" in result.stderr and "Traceback" not in result.stderr


def test_a_file_nested_100000_levels_deep_is_refused_not_a_crash(tmp_path: Path) -> None:
    # libyaml's composer recurses in C: at this depth it would kill the process.
    path = tmp_path / "deep.yaml"
    path.write_text("version: 1\nmerchants: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = run_main("validate", str(path))
    assert result.returncode == 1, result.stderr
    assert f"{path}:2:61: nested deeper than 50 levels" in result.stderr


def test_a_merchant_in_two_files_is_reported_with_the_other_files_errors(
    tmp_path: Path,
) -> None:
    # docs/config.md's sample: a file with an error in a store and another file defining
    # the same merchant are reported in one run. The duplicate was reported only once the
    # store's error was fixed: a second round of `validate` for one more error.
    stores = tmp_path / "stores.yaml"
    stores.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - {name: Acme US, marketplace: DEU}\n"
    )
    other = tmp_path / "other.yaml"
    other.write_text("version: 1\nmerchants:\n  - name: Acme\n    stores: []\n")
    for first, second in ((stores, other), (other, stores)):
        result = run_main("validate", str(first), str(second))
        assert result.returncode == 1, result.stderr
        lines = result.stderr.splitlines()
        assert (
            f"{second}:3:11: merchants[0].name: merchant 'Acme' is already defined at {first}:3:11"
            in lines
        )
        assert any("unknown marketplace 'DEU'" in line for line in lines), lines
        assert lines[-1] == "error: configuration is invalid (2 error(s))"


def test_a_refused_merchant_name_is_not_also_called_a_duplicate(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text('version: 1\nmerchants:\n  - name: "Acme\\t"\n')
    (tmp_path / "b.yaml").write_text('version: 1\nmerchants:\n  - name: "Acme\\t"\n')
    result = run_main("validate", str(tmp_path))
    assert result.returncode == 1
    assert "already defined" not in result.stderr, result.stderr


def test_two_stores_of_one_name_are_reported_with_the_files_other_errors(
    tmp_path: Path,
) -> None:
    # Like a merchant in two files: the duplicate came only in a second round of validate.
    path = tmp_path / "stores.yaml"
    path.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    stores:\n"
        "      - {name: Acme US, marketplace: US}\n      - {name: Acme US, marketplace: CA}\n"
        "      - {name: Acme DE, marketplace: DEU}\n"
    )
    result = run_main("validate", str(path))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == (
        f"{path}:6:16: merchants[0].stores[1].name: duplicate store name 'Acme US' in "
        "merchant 'Acme' (also line 5)"
    )
    assert "unknown marketplace 'DEU'" in lines[1]
    assert lines[-1] == "error: configuration is invalid (2 error(s))"


def test_a_store_id_pinned_in_two_files_is_reported_with_the_other_files_errors(
    tmp_path: Path,
) -> None:
    one, two = tmp_path / "one.yaml", tmp_path / "two.yaml"
    one.write_text(
        "version: 1\nmerchants:\n  - name: A\n    stores:\n"
        "      - {name: S, marketplace: US, id: 7}\n      - {name: T, marketplace: DEU}\n"
    )
    two.write_text(
        "version: 1\nmerchants:\n  - name: B\n    stores:\n"
        "      - {name: S, marketplace: US, id: 7}\n"
    )
    result = run_main("validate", str(one), str(two))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert (
        f"{two}:5:40: merchants[0].stores[0].id: store id 7 is pinned twice (also {one}:5:40)"
        in lines
    )
    assert lines[-1] == "error: configuration is invalid (2 error(s))"
