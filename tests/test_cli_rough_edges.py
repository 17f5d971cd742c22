"""The command line a person expects (issue 17.4): `--sandbox` next to a config path, a
saved plan mixed with config paths, `apply --merchant`, and the sandbox controls' wording."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from dropstream_sync.cli import cli
from tests.cli_in_process import EXAMPLE, run
from tests.sandbox.test_cli import Served


def test_sandbox_before_the_config_path_is_the_default_folder_and_the_path_is_planned(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "plan", "--sandbox", EXAMPLE)
    assert code == 0, err
    assert "Plan:" in out and (tmp_path / ".dropstream-sandbox").is_dir()
    assert not Path(EXAMPLE).is_dir()  # the config was not taken for a sandbox folder


def test_sandbox_with_a_folder_that_is_no_config_is_still_that_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "plan", "--sandbox", "state", EXAMPLE)
    assert code == 0, err
    assert (tmp_path / "state").is_dir() and not (tmp_path / ".dropstream-sandbox").exists()


def test_sandbox_before_a_missing_yaml_reports_the_missing_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "plan", "--sandbox", "typo.yaml")
    assert code == 1 and "typo.yaml" in err and "no such file" in err
    assert not (tmp_path / "typo.yaml").exists()


def test_an_empty_sandbox_folder_is_refused_and_the_working_folder_left_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--sandbox "$DIR"` with DIR unset: Path("") is ".", so the sandbox wrote its database
    # and secrets into the working folder and made it private (0700).
    monkeypatch.chdir(tmp_path)
    tmp_path.chmod(0o755)
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox=")
    assert code == 1
    assert err.startswith("error: --sandbox: an empty folder name")
    assert list(tmp_path.iterdir()) == [] and tmp_path.stat().st_mode & 0o777 == 0o755


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "stores.yaml"),
        ("report", "stores.yaml"),
        ("apply", "stores.yaml", "--auto-approve"),
        ("doctor",),
        ("import",),
    ],
)
@pytest.mark.parametrize("sandbox_first", [False, True])
def test_an_empty_sandbox_folder_as_its_own_argument_is_the_same_refusal(
    args: tuple[str, ...],
    sandbox_first: bool,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `--sandbox "$DIR"`, DIR unset, in a folder holding YAML: "" (the working folder) was
    # taken for a config path, so --sandbox became the default folder and "" a path to plan
    # ("'':1:1: an empty path names no file or folder", or doctor's "unexpected extra
    # argument"), where `--sandbox=""` gave the refusal.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stores.yaml").write_text(Path(EXAMPLE).read_text())
    command, rest = args[0], list(args[1:])
    given = ["--sandbox", "", *rest] if sandbox_first else [*rest, "--sandbox", ""]
    code, out, err = run(capsys, command, *given)
    assert (code, out) == (1, "")
    assert err == (
        "error: --sandbox: an empty folder name (an unset variable?); give a folder, or "
        "--sandbox alone for the default\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stores.yaml"]


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"secrets.json": b"{}"}, "(KeyError: 'signing_key')"),
        ({"secrets.json": b"\xff\xfe not json"}, "(UnicodeDecodeError: "),
        ({"secrets.json": b"[1, 2]"}, "its files are not a sandbox's state"),
        ({"sandbox.sqlite3": b"not a database" * 100}, "(DatabaseError: "),
    ],
)
def test_a_sandbox_folder_holding_other_files_is_one_error_not_a_traceback(
    files: dict[str, bytes], says: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    for name, data in files.items():
        (state / name).write_bytes(data)
    for args in (
        ["plan", EXAMPLE, "--sandbox", str(state)],
        ["sandbox", "serve", "--state", str(state), "--port", "0"],
    ):
        code, _, err = run(capsys, *args)
        assert code == 1
        assert (
            err.startswith(f"error: cannot use sandbox folder {str(state)!r}: ") and says in err
        ), err


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_a_sandbox_folder_that_cannot_hold_files_is_one_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox", "/proc")
    assert code == 1
    assert err.startswith("error: cannot use sandbox folder '/proc': ")


def test_a_saved_plan_cannot_be_mixed_with_config_paths(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox = str(tmp_path / "sb")
    saved = str(tmp_path / "plan.json")
    assert run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--out", saved)[0] == 0
    code, out, err = run(capsys, "apply", saved, EXAMPLE, "--sandbox", sandbox, "--auto-approve")
    assert code == 1 and out == ""
    assert err == (
        "error: a saved plan cannot be mixed with config paths: apply the plan file "
        "alone, or give only config files and folders\n"
    )


def test_apply_merchant_applies_only_that_merchant(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox = str(tmp_path / "sb")
    code, out, err = run(
        capsys,
        "apply",
        EXAMPLE,
        "--sandbox",
        sandbox,
        "--auto-approve",
        "--merchant",
        "Acme Outdoors",
        "--format",
        "json",
    )
    assert code == 0, err
    merchants = {r["merchant"] for r in json.loads(out)["results"]}
    assert merchants == {"Acme Outdoors"}
    code, out, _ = run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--format", "json")
    left = {c["merchant"] for c in json.loads(out)["changes"]}
    assert "Acme Outdoors" not in left and left


def test_apply_merchant_refuses_a_saved_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox = str(tmp_path / "sb")
    saved = str(tmp_path / "plan.json")
    assert run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--out", saved)[0] == 0
    code, _, err = run(capsys, "apply", saved, "--sandbox", sandbox, "--merchant", "Acme Outdoors")
    assert code == 1 and "a saved plan is applied exactly as saved" in err


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("served") / "state")
    yield server
    if server.process.poll() is None:
        server.stop()


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_sandbox_clock_without_options_shows_the_time_without_moving_it(served: Served) -> None:
    state = str(served.state)
    code, first = invoke("sandbox", "clock", "--state", state)
    assert code == 0 and first.startswith("Sandbox time is now ")
    code, second = invoke("sandbox", "clock", "--state", state)
    assert code == 0
    moved = _time(second) - _time(first)
    assert timedelta(0) <= moved < timedelta(hours=1)  # read twice, not moved on
    code, later = invoke("sandbox", "clock", "--state", state, "--advance", "2d")
    assert code == 0 and _time(later) - _time(second) >= timedelta(days=2)


def _time(line: str) -> datetime:
    stamp = line.removeprefix("Sandbox time is now ").strip().rstrip(".")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_a_wrong_admin_key_is_called_wrong_and_worded_like_the_tool(served: Served) -> None:
    code, out = invoke("sandbox", "outbox", "--url", served.info["url"], "--admin-key", "nope")
    assert code == 1
    assert out.startswith("error: ") and "refused the admin key" in out
    assert "needs X-Sandbox-Admin" not in out


def test_sandbox_errors_start_like_the_tools(tmp_path: Path) -> None:
    code, out = invoke("sandbox", "outbox", "--state", str(tmp_path))
    assert code == 1 and out.startswith("error: no running sandbox found")


def test_verbose_is_the_tools_progress_and_very_verbose_adds_each_request(tmp_path: Path) -> None:
    """-v: phases and pages read, no httpx line per request; -vv: our own redacted request
    lines (still none of httpx's or httpcore's)."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    config = str(root / "examples" / "stores.yaml")
    state = str(tmp_path / "state")
    cli_cmd = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]

    def stderr(*flags: str) -> str:
        done = subprocess.run(
            [*cli_cmd, *flags, "plan", config, "--sandbox", state],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stderr

    one = stderr("-v")
    assert "reading the live account" in one and "read /customers: 0 object(s) in 1 page(s)" in one
    assert "HTTP Request" not in one and "GET http" not in one
    two = stderr("-vv")
    assert "GET http://sandbox.local/customers" in two and "Bearer ***" in two
    assert "HTTP Request" not in two and "httpcore" not in two


def test_a_warning_is_said_once_on_stderr_and_kept_in_the_json_plan(tmp_path: Path) -> None:
    import subprocess
    import sys

    config = tmp_path / "stores.yaml"
    config.write_text(
        "version: 1\nmerchants:\n  - name: Acme\n    email: ops@acme.example\n    stores:\n"
        "      - name: Acme US\n        marketplace: US\n        fulfillment_channel: AFN\n"
        "        fulfillment_latency: 3\n"
    )
    cli_cmd = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
    state = str(tmp_path / "state")
    done = subprocess.run(
        [*cli_cmd, "plan", str(config), "--sandbox", state, "--out", str(tmp_path / "p.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    said = "fulfillment_latency means nothing for AFN"
    assert done.stderr.count(said) == 1 and said not in done.stdout
    saved = json.loads((tmp_path / "p.json").read_text())
    assert [w for w in saved["warnings"] if said in w]
    shown = subprocess.run(
        [*cli_cmd, "show", str(tmp_path / "p.json")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert shown.stderr.count(said) == 1 and said not in shown.stdout


def test_a_plan_saved_under_any_name_is_applied_as_a_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`plan --out tfplan` then `apply tfplan` (Terraform's habit): the file is the plan,
    not a config to load (which failed with a screenful of unknown keys)."""
    sandbox = str(tmp_path / "sb")
    saved = str(tmp_path / "tfplan")
    assert run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--out", saved)[0] == 0
    code, out, err = run(capsys, "apply", saved, "--sandbox", sandbox)
    assert code == 0, err
    assert "unknown key" not in err and "✓ create_merchant Acme Outdoors" in out
    code, out, err = run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--format", "json")
    assert code == 0, err
    assert not [c for c in json.loads(out)["changes"] if c["kind"] == "create_store"]
    code, _, err = run(capsys, "apply", saved, EXAMPLE, "--sandbox", sandbox)
    assert code == 1 and "a saved plan cannot be mixed with config paths" in err


_CLI_MD = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _documented_keys(heading: str) -> dict[str, set[str]]:
    """The backticked keys of the first column of each table under `heading` in cli.md,
    by the table's own first header cell."""
    section = _CLI_MD.read_text(encoding="utf-8").split(heading, 1)[1].split("\n## ", 1)[0]
    tables: dict[str, set[str]] = {}
    header = ""
    for line in section.splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            header = "" if not line.startswith("|") else header
            continue
        first = line.split("|")[1]
        if not header:
            header = first.strip()
            tables[header] = set()
            continue
        tables[header] |= {k for k in first.split("`")[1::2] if k.isidentifier()}
    return tables


def test_the_apply_result_document_has_the_keys_cli_md_documents(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`apply --format json` is a machine output: its fields are documented in cli.md (they
    were in no document before), and the implementation and the page name the same ones."""
    code, out, err = run(
        capsys,
        "apply",
        EXAMPLE,
        "--sandbox",
        str(tmp_path / "sb"),
        "--auto-approve",
        "--format",
        "json",
    )
    assert code == 0, err
    result = json.loads(out)
    tables = _documented_keys("### The result document (`apply --format json`)")
    assert tables["key"] == set(result)
    summary_row = next(r for r in _CLI_MD.read_text().splitlines() if r.startswith("| `summary`"))
    assert set(result["summary"]) == set(summary_row.split("|")[2].split("`")[1::2])
    assert tables["`results[]` key"] == set(result["results"][0])
    invites = [r for r in result["results"] if r["kind"] == "invite"]
    assert invites and all(isinstance(r["created_id"], int) for r in invites)


def test_import_output_into_a_new_config_folder_as_onboarding_writes_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/onboarding.md's first commands: `import --output stores/all.yaml` in a fresh
    repository, then `validate stores/` and `plan stores/ --detailed-exitcode` (exit 0).
    Before, import stopped with "cannot write stores/all.yaml: No such file or directory"."""
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "apply", EXAMPLE, "--sandbox", "--auto-approve")[0] == 0
    code, _, err = run(capsys, "import", "--sandbox", "--output", "stores/all.yaml")
    assert code == 0, err
    assert "Wrote stores/all.yaml: 4 merchants, 13 stores." in err
    assert run(capsys, "validate", "stores/")[0] == 0
    code, out, err = run(capsys, "plan", "stores/", "--sandbox", "--detailed-exitcode")
    assert code == 0, err
    assert "No changes." in out


def test_a_markdown_plan_not_saved_cites_no_plan_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`plan --format markdown` without `--out` saves nothing, so its hints must not send
    the reader to `dropstream-sync show plan.json` (a file that does not exist); with
    `--out FILE` they cite FILE."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "plan", EXAMPLE, "--sandbox", "--format", "markdown")
    assert code == 0, err
    assert "pending" in out and "show plan.json" not in out and not Path("plan.json").exists()
    assert "`--show-pending` lists each" in out
    code, out, err = run(
        capsys, "plan", EXAMPLE, "--sandbox", "--format", "markdown", "--out", "saved.json"
    )
    assert code == 0, err
    assert "`dropstream-sync show saved.json --show-pending` lists each" in out


def test_demo_refuses_a_negative_number_of_approvals(capsys: pytest.CaptureFixture[str]) -> None:
    """`demo --approve -2` approved all invites but the last two ("8 merchants approve");
    a count below 0 is a usage error."""
    code, out, err = run(capsys, "demo", "--approve", "-2")
    assert code == 1 and out == ""
    assert "Invalid value for '--approve': -2 is not in the range x>=0." in err


def test_demo_counts_the_merchants_who_approve_not_the_invitations(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The example's first three invitations are Acme Outdoors' stores: the demo said "3
    merchants approve the app", one merchant per invitation."""
    code, out, err = run(capsys, "demo")
    assert code == 0, err
    assert "== 3: 1 merchant(s) approve 3 invitation(s) in Seller Central" in out, out


def test_apply_with_stdin_closed_is_not_on_a_terminal_and_needs_auto_approve(
    tmp_path: Path,
) -> None:
    """A job started with its stdin closed (`<&-`; Python's sys.stdin is then None) is not
    on a terminal: apply refuses without --auto-approve, in one line. Before, it ended in a
    traceback (AttributeError: 'NoneType' object has no attribute 'isatty')."""
    import os
    import subprocess
    import sys

    cli_cmd = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
    done = subprocess.run(
        [*cli_cmd, "apply", EXAMPLE, "--sandbox", str(tmp_path / "sb")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        preexec_fn=lambda: os.close(0),
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1].startswith(
        "error: not on a terminal: add --auto-approve to apply without asking"
    )


def test_sandbox_reset_with_stdin_closed_asks_for_yes_instead_of_a_traceback(
    tmp_path: Path,
) -> None:
    """`sandbox reset` without --yes asks; with stdin closed there is nobody to ask. Before,
    click's prompt ended in a traceback (RuntimeError: input(): lost sys.stdin)."""
    import os
    import subprocess
    import sys

    cli_cmd = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
    done = subprocess.run(
        [*cli_cmd, "sandbox", "reset", "--state", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(0),
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr == "error: nobody to ask (stdin is closed): add --yes to empty it\n"


def test_an_output_file_that_cannot_be_written_whole_is_left_as_it_was(
    served: Served, tmp_path: Path
) -> None:
    # A write that fails part-way (here a file-size limit, as a full disk would) truncated
    # the file `import --output` names, the config itself, to what fitted.
    env = {
        **os.environ,
        "DROPSTREAM_API_URL": served.info["url"],
        "DROPSTREAM_USERNAME": served.info["username"],
        "DROPSTREAM_PASSWORD": served.info["password"],
    }
    cli = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
    made = subprocess.run(
        [*cli, "apply", EXAMPLE, "--auto-approve"], env=env, capture_output=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    config = tmp_path / "stores.yaml"
    config.write_text("version: 1\n" + "# kept\n" * 20)
    before = config.read_text()

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    result = subprocess.run(
        [*cli, "import", "--output", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_files,
    )
    assert result.returncode == 1
    assert f"error: cannot write {config}: File too large" in result.stderr
    assert config.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stores.yaml"]


def test_a_saved_plan_given_to_plan_is_named_as_a_plan_not_a_pile_of_unknown_keys(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `plan plan.json` (to look at the plan just saved) was 19 errors, one per key of the
    # plan ("changes: unknown key 'changes' (did you mean 'merchants'?)").
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox", "sb", "--out", "plan.json")
    assert code == 0, err
    for command in (("plan", "plan.json", "--sandbox", "sb"), ("validate", "plan.json")):
        code, out, err = run(capsys, *command)
        assert code == 1 and out == ""
        assert err.splitlines() == [
            "plan.json:1:1: a saved plan, not a config: `dropstream-sync show plan.json` "
            "shows it, `dropstream-sync apply plan.json` applies it",
            "error: configuration is invalid (1 error(s))",
        ]


def test_a_plan_saved_under_a_yaml_name_is_told_how_to_apply_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # apply reads a .yaml name as a config: the advice was `apply plan.yaml`, which only
    # printed the same line again.
    monkeypatch.chdir(tmp_path)
    # `plan --out plan.yaml` is refused now; an older version wrote it, or a hand renamed it.
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox", "sb", "--out", "plan.yaml")
    assert code == 1 and not (tmp_path / "plan.yaml").exists()
    assert err.splitlines()[-1] == (
        "error: --out plan.yaml: a .yaml/.yml file is read as a config, never as a saved "
        "plan, so `apply` could not apply it; name it plan.json (or any name without "
        ".yaml/.yml)"
    )
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox", "sb", "--out", "saved.json")
    assert code == 0, err
    (tmp_path / "saved.json").rename(tmp_path / "plan.yaml")
    code, out, err = run(capsys, "apply", "plan.yaml", "--sandbox", "sb")
    assert code == 1 and out == ""
    assert err.splitlines()[0] == (
        "plan.yaml:1:1: a saved plan, not a config: `dropstream-sync show plan.yaml` shows it; "
        "apply reads a .yaml or .yml file as a config, so rename it (`mv plan.yaml plan.json`) "
        "and run `dropstream-sync apply plan.json`"
    )
    (tmp_path / "plan.yaml").rename(tmp_path / "plan.json")
    code, _, err = run(capsys, "apply", "plan.json", "--sandbox", "sb", "--auto-approve")
    assert code == 0, err


def test_apply_of_a_plan_file_not_saved_yet_says_how_to_save_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: "plan.json:1:1: no such file or folder" and "error: configuration is invalid",
    # as if plan.json had been meant as a config.
    monkeypatch.chdir(tmp_path)
    # Without credentials too: they were the only thing said, and the file came next.
    for name in ("DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD", "DROPSTREAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for command in (
        ("apply", "plan.json", "--sandbox", "sb"),
        ("apply", "plan.json"),
        ("show", "plan.json"),
    ):
        code, out, err = run(capsys, *command)
        assert code == 1 and out == ""
        assert err == (
            "error: plan.json: no such plan file: save one first with `dropstream-sync plan "
            "PATH... --out plan.json`, or plan and apply config files at once with "
            "`dropstream-sync apply PATH...`\n"
        )


def test_a_missing_path_is_named_as_missing_and_apply_of_one_says_how_to_save_a_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: `apply tfplan` (Terraform's plan file name) was "no DropStream credentials",
    # or with them "tfplan:1:1: no such file or folder" and "error: configuration is
    # invalid"; `plan nosuchdir` was the same pair of lines, as if a file had been read.
    monkeypatch.chdir(tmp_path)
    for name in ("DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD", "DROPSTREAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    said = {
        "tfplan": (
            "error: tfplan: no such file or folder: save a plan first with `dropstream-sync "
            "plan PATH... --out tfplan`, or plan and apply config files at once with "
            "`dropstream-sync apply PATH...`\n"
        ),
        "missing.json": (
            "error: missing.json: no such plan file: save one first with `dropstream-sync "
            "plan PATH... --out missing.json`, or plan and apply config files at once with "
            "`dropstream-sync apply PATH...`\n"
        ),
    }
    for command, expected in [
        (("apply", "tfplan"), said["tfplan"]),
        (("apply", "tfplan", "--sandbox", "sb"), said["tfplan"]),
        (("apply", "missing.json"), said["missing.json"]),
        (("apply", "missing.json", "--sandbox", "sb"), said["missing.json"]),
        (("plan", "nosuchdir"), "error: nosuchdir: no such file or folder\n"),
        (("plan", "nosuchdir", "--sandbox", "sb"), "error: nosuchdir: no such file or folder\n"),
        (("report", "nosuchdir", "--sandbox", "sb"), "error: nosuchdir: no such file or folder\n"),
        (("apply", "stores/", "--sandbox", "sb"), "error: stores/: no such file or folder\n"),
        (("apply", EXAMPLE, "b.yaml"), "error: b.yaml: no such file or folder\n"),
    ]:
        code, out, err = run(capsys, *command)
        assert (code, out, err) == (1, "", expected), command
    assert not (tmp_path / "sb").exists()  # refused before the sandbox was opened
    # The advice, with the config for PATH..., makes the file that apply then applies.
    advised = said["tfplan"].split("`")[1].replace("PATH...", EXAMPLE).split()[1:]
    code, _, err = run(capsys, *advised, "--sandbox", "sb")
    assert code == 0, err
    code, out, err = run(capsys, "apply", "tfplan", "--sandbox", "sb")
    assert code == 0, err
    assert out.splitlines()[-1].startswith("Apply complete:")


@pytest.mark.parametrize(
    ("login", "first"), [(True, "POST /auth/token"), (False, "GET /customers")]
)
def test_an_api_url_with_a_path_after_the_host_says_to_check_the_url(
    login: bool,
    first: str,
    served: Served,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # `--api-url https://host/api` (a path copied from API docs) was only "POST /auth/token
    # -> 404: No such endpoint: /api/auth/token.", with nothing said about the URL.
    for name in ("DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD", "DROPSTREAM_PASSWORD_FILE"):
        monkeypatch.delenv(name, raising=False)
    if login:
        monkeypatch.setenv("DROPSTREAM_USERNAME", served.info["username"])
        monkeypatch.setenv("DROPSTREAM_PASSWORD", served.info["password"])
    else:
        monkeypatch.setenv("DROPSTREAM_TOKEN", "some-token")
    url = served.info["url"] + "/api"
    code, out, err = run(capsys, "plan", EXAMPLE, "--api-url", url)
    assert code == 1 and out == ""
    assert err == (
        f"error: {first} -> 404: No such endpoint: /api{first.split()[1]}. (check the API URL: "
        "it is the API's base, such as https://api.getdropstream.com; `dropstream-sync doctor "
        f"--api-url {url}` shows what answers there)\n"
    )


@pytest.mark.parametrize(
    ("password", "from_file", "says"),
    [
        ("wrong", False, "(check the login in DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD)"),
        (
            "{password}\n",
            False,
            "(check the login in DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD: the password ends "
            "with a space or line break, which is sent with it; remove it unless it belongs to "
            "the password)",
        ),
        (
            " {password}",
            True,
            "(check the login in DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD_FILE: the password "
            "starts with a space or line break, which is sent with it; remove it unless it "
            "belongs to the password)",
        ),
    ],
    ids=["wrong", "newline-in-the-variable", "space-in-the-file"],
)
def test_a_refused_login_names_the_variables_read_and_a_stray_space(
    password: str,
    from_file: bool,
    says: str,
    served: Served,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The hint was "check the login: set DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD (or
    # DROPSTREAM_PASSWORD_FILE), or DROPSTREAM_TOKEN", the variables just set, and nothing
    # about the newline a pasted secret (`gh secret set < file`) brings along.
    secret = password.format(password=served.info["password"])
    monkeypatch.delenv("DROPSTREAM_TOKEN", raising=False)
    monkeypatch.setenv("DROPSTREAM_USERNAME", served.info["username"])
    if from_file:
        monkeypatch.delenv("DROPSTREAM_PASSWORD", raising=False)
        (tmp_path / "pw").write_text(secret)
        (tmp_path / "pw").chmod(0o600)
        monkeypatch.setenv("DROPSTREAM_PASSWORD_FILE", str(tmp_path / "pw"))
    else:
        monkeypatch.delenv("DROPSTREAM_PASSWORD_FILE", raising=False)
        monkeypatch.setenv("DROPSTREAM_PASSWORD", secret)
    code, out, err = run(capsys, "plan", EXAMPLE, "--api-url", served.info["url"])
    assert code == 1 and out == ""
    assert err == f"error: POST /auth/token -> 401: Wrong username or password. {says}\n"
    assert served.info["password"] not in err


def test_a_plan_made_on_the_sandbox_applied_without_it_says_to_add_sandbox(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The onboarding's rehearsal, `plan --sandbox --out plan.json` then `apply plan.json`:
    # "no DropStream credentials", about an account the plan was never made for.
    monkeypatch.chdir(tmp_path)
    for name in ("DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD", "DROPSTREAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox", "--out", "plan.json")
    assert code == 0, err
    code, out, err = run(capsys, "apply", "plan.json")
    assert code == 1 and out == ""
    assert err == (
        "error: plan.json was planned on the built-in sandbox (--sandbox), which needs no "
        "credentials: apply it there with `dropstream-sync apply plan.json --sandbox [DIR]` "
        "(DIR: the folder it was planned in, default .dropstream-sandbox)\n"
    )
    code, out, err = run(capsys, "apply", "plan.json", "--sandbox")
    assert code == 0, err
    assert out.startswith("✓ create_merchant Acme Outdoors (customer 1)\n")


def test_a_sandbox_folder_that_cannot_be_made_names_the_flag_to_give_another(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--sandbox` alone in a read-only checkout (here: under a file, which fails the same
    # way) said only "cannot use sandbox folder '.dropstream-sandbox': ...", no way out.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("")
    code, out, err = run(capsys, "plan", EXAMPLE, "--sandbox", "file/sb")
    assert code == 1 and out == ""
    assert err == (
        "error: cannot use sandbox folder 'file/sb': Not a directory; give a folder it can "
        "write (--sandbox DIR)\n"
    )
