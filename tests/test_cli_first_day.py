"""A newcomer's first day with the tool: the shell habits and mistakes of someone who knows
Terraform (`| head`, `python -m`, a typo in a port, an --out folder not made yet, a URL that
is some other web server), each ending in the exit code and the one line product.md §4 and
docs/cli.md promise."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli_in_process import EXAMPLE, run
from tests.sandbox.test_cli import Served

CLI = [sys.executable, "-m", "dropstream_sync"]


def test_python_m_with_the_package_name_runs_the_command_line() -> None:
    # Before: "'dropstream_sync' is a package and cannot be directly executed", exit 1.
    result = subprocess.run([*CLI, "plan", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: dropstream-sync plan [OPTIONS] PATH...")


def _into_a_closed_pipe(
    *args: str, unbuffered: bool, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The command with its stdout a pipe whose reader has gone (`| head` after its lines),
    so its first write meets a broken pipe."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run(
            [*CLI, *args],
            stdout=writer,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            env=env,
            cwd=cwd,
        )
    finally:
        os.close(writer)


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_apply_piped_into_head_makes_every_change_and_exits_0(
    unbuffered: bool, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Before: the broken pipe came out of a change's result line inside the applier's
    # tasks: a traceback per change, the apply stopped half done, exit 1.
    state = str(tmp_path / "state")
    result = _into_a_closed_pipe(
        "apply", EXAMPLE, "--sandbox", state, "--auto-approve", unbuffered=unbuffered, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr
    code, out, err = run(capsys, "plan", EXAMPLE, "--sandbox", state, "--detailed-exitcode")
    assert code == 0, out + err  # every change was made
    assert "No changes." in out


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_plan_piped_into_head_keeps_its_detailed_exit_code(
    unbuffered: bool, tmp_path: Path
) -> None:
    # Before: click turned the broken pipe into exit 1 ("error"), so a CI step running
    # `plan --detailed-exitcode | head` with pipefail read a plan with changes as a failure.
    state = str(tmp_path / "state")
    result = _into_a_closed_pipe(
        "plan",
        EXAMPLE,
        "--sandbox",
        state,
        "--detailed-exitcode",
        unbuffered=unbuffered,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == ""


def test_import_piped_into_head_exits_0(tmp_path: Path) -> None:
    # `import` writes its YAML as bytes, under the text layer.
    state = str(tmp_path / "state")
    result = _into_a_closed_pipe("import", "--sandbox", state, unbuffered=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", ["plan", "report"])
@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("missing/plan.json", "the folder missing does not exist; create it first"),
        ("stores.yaml/plan.json", "stores.yaml is not a folder"),
    ],
)
def test_an_out_file_whose_folder_cannot_hold_it_is_refused_before_connecting(
    command: str,
    out: str,
    says: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before: the whole account was read and planned first (nothing listens on port 1
    # here, so that was this error), then "cannot write ...: No such file or directory",
    # and no plan printed either.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "stores.yaml").write_text(Path(EXAMPLE).read_text())
    monkeypatch.setenv("DROPSTREAM_USERNAME", "ops")
    monkeypatch.setenv("DROPSTREAM_PASSWORD", "pw")
    code, out_text, err = run(
        capsys, command, "stores.yaml", "--out", out, "--api-url", "http://127.0.0.1:1"
    )
    assert code == 1
    assert err == f"error: --out {out}: {says}\n"
    assert out_text == ""


class _NotDropStream(http.server.SimpleHTTPRequestHandler):
    """`python -m http.server`: a web server that answers a POST 501 Not Implemented."""

    posts = 0

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if self.command == "POST":
            type(self).posts += 1
        super().send_error(code, message, explain)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_dropstream(tmp_path: Path) -> Iterator[str]:
    _NotDropStream.posts = 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotDropStream)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_web_server_that_is_not_dropstream_is_one_request_and_says_check_the_url(
    not_dropstream: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: its 501 to POST /auth/token was retried 8 times over ~20 s, and the error
    # ended "(gave up after 8 attempt(s) in 18.3 s)" with nothing about the URL.
    monkeypatch.setenv("DROPSTREAM_USERNAME", "ops")
    monkeypatch.setenv("DROPSTREAM_PASSWORD", "pw")
    code, out, err = run(capsys, "plan", EXAMPLE, "--api-url", not_dropstream)
    assert code == 1 and out == ""
    assert err.startswith("error: POST /auth/token -> 501: ")
    assert "(check the API URL: it is the API's base" in err
    assert f"`dropstream-sync doctor --api-url {not_dropstream}`" in err
    assert "attempt" not in err and _NotDropStream.posts == 1


@pytest.mark.parametrize("port", ["99999", "-1"])
def test_sandbox_serve_on_a_port_that_cannot_be_is_a_usage_error(
    port: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Before: an OverflowError traceback from bind().
    code, _, err = run(capsys, "sandbox", "serve", "--port", port, "--state", str(tmp_path / "s"))
    assert code == 1
    assert f"Invalid value for '--port': {port} is not in the range 0<=x<=65535." in err


def test_sandbox_served_on_every_address_prints_a_url_the_tool_accepts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: "DropStream sandbox at http://0.0.0.0:PORT", and its "Try:" line, which the
    # tool refused ("refusing plain http:// to 0.0.0.0").
    server = Served(tmp_path / "state", "--host", "0.0.0.0")
    try:
        url = server.info["url"]
        assert url.startswith("http://127.0.0.1:")
        monkeypatch.setenv("DROPSTREAM_USERNAME", server.info["username"])
        monkeypatch.setenv("DROPSTREAM_PASSWORD", server.info["password"])
        code, out, err = run(capsys, "plan", EXAMPLE, "--api-url", url)
        assert code == 0, err
        assert "Plan: 4 merchant(s) to create" in out
        code, out, err = run(capsys, "sandbox", "outbox", "--state", str(server.state))
        assert (code, out) == (0, "The outbox is empty.\n"), err
    finally:
        server.stop()
    assert f"DropStream sandbox at {url} (listening on 0.0.0.0)" in server.log.read_text()


@pytest.mark.parametrize("command", ["plan", "report", "apply", "import", "doctor"])
def test_an_empty_api_url_typed_is_refused_not_taken_for_the_default(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `--api-url "$URL"` with URL unset. Before: it counted as not given, and the command
    # went on to DROPSTREAM_API_URL (here nothing listens: "cannot reach ...") or to the
    # real service, with this environment's login.
    monkeypatch.setenv("DROPSTREAM_API_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("DROPSTREAM_USERNAME", "ops")
    monkeypatch.setenv("DROPSTREAM_PASSWORD", "pw")
    paths = [EXAMPLE] if command in ("plan", "report", "apply") else []
    code, out, err = run(capsys, command, *paths, "--api-url", "")
    assert code == 1 and out == ""
    assert "Invalid value for '--api-url': an empty URL (an unset shell variable?)" in err
    assert "cannot reach" not in err


def test_sandbox_reset_without_a_terminal_says_to_add_yes() -> None:
    # In CI or with `< /dev/null` the question meets the end of stdin. Before: a bare
    # "Aborted.", which does not say how to reset without being asked.
    result = subprocess.run(
        [*CLI, "sandbox", "reset", "--url", "http://127.0.0.1:1", "--admin-key", "k"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.endswith(
        "error: nobody answered (stdin ended): add --yes to empty it without asking\n"
    )


def test_import_from_a_list_that_may_be_partial_says_nothing_was_imported(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: import said "Nothing was planned from it (a plan would create or disable
    # objects it never read)", about a plan nobody had asked for.
    state = tmp_path / "state"
    assert run(capsys, "apply", EXAMPLE, "--sandbox", str(state), "--auto-approve")[0] == 0
    server = Served(state, "--quirk", "cap:100")
    try:
        monkeypatch.setenv("DROPSTREAM_USERNAME", server.info["username"])
        monkeypatch.setenv("DROPSTREAM_PASSWORD", server.info["password"])
        output = tmp_path / "all.yaml"
        code, _, err = run(
            capsys, "import", "--api-url", server.info["url"], "--output", str(output)
        )
        planned = run(capsys, "plan", EXAMPLE, "--api-url", server.info["url"])
    finally:
        server.stop()
    assert code == 1 and not output.exists()
    # The same refusal as plan's for this account, exit code and words: before, import
    # named /authorization_requests (its read of every invitation went out first).
    assert (code, err) == (planned[0], planned[2])
    assert err.startswith("error: GET /customers: the list /customers may not have been")
    assert "may not have been read whole" in err
    assert "Nothing was planned, imported or reported from it" in err
    assert "an import would leave them out of the file" in err


def test_show_of_a_config_says_to_plan_it(capsys: pytest.CaptureFixture[str]) -> None:
    # Before: "error: ...stores.yaml:1:1: not a JSON plan: Expecting value".
    code, out, err = run(capsys, "show", EXAMPLE)
    assert code == 1 and out == ""
    assert err == (
        f"error: {EXAMPLE}: a .yaml/.yml file is a config, never a saved plan (`plan --out` "
        f"saves JSON): `dropstream-sync plan {EXAMPLE}` shows what it would change\n"
    )


def test_a_second_serve_on_a_taken_port_leaves_the_running_sandbox_reachable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `sandbox serve` typed again in another terminal. Before: the failed start removed the
    # running sandbox's sandbox.json first, and its controls then said "no running sandbox
    # found (.../sandbox.json missing)" while it ran.
    server = Served(tmp_path / "state")
    try:
        port = server.info["url"].rsplit(":", 1)[1]
        code, _, err = run(capsys, "sandbox", "serve", "--port", port, "--state", str(server.state))
        # Refused before it listens: the folder is served (tests/e2e/test_serve_one_folder.py).
        assert code == 1 and "is already served: another `sandbox serve` (pid" in err
        # Another folder, the same port: the port is what is taken.
        other = str(tmp_path / "other")
        code, _, err = run(capsys, "sandbox", "serve", "--port", port, "--state", other)
        assert code == 1 and "Address already in use" in err
        code, out, err = run(capsys, "sandbox", "outbox", "--state", str(server.state))
        assert (code, out) == (0, "The outbox is empty.\n"), err
    finally:
        server.stop()


@pytest.mark.parametrize("command", ["plan", "report", "apply", "import", "doctor"])
def test_api_url_and_sandbox_both_typed_is_a_usage_error(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Before: --sandbox won, the URL was ignored without a word, and the plan of the
    # sandbox (here "No changes.") read as the server's.
    paths = [EXAMPLE] if command in ("plan", "report", "apply") else []
    state = str(tmp_path / "state")
    code, out, err = run(
        capsys, command, *paths, "--sandbox", state, "--api-url", "https://ds.example"
    )
    assert code == 1 and out == ""
    assert "Error: --api-url and --sandbox name two places to connect: give one" in err
    assert not Path(state).exists()


def test_sandbox_beside_dropstream_api_url_in_the_environment_is_the_sandbox(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DROPSTREAM_API_URL", "https://ds.example")
    code, out, err = run(capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "state"))
    assert code == 0, err
    assert "Plan: 4 merchant(s) to create" in out


def test_a_sandbox_control_with_url_but_no_admin_key_asks_for_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: "no running sandbox found (.dropstream-sandbox/sandbox.json missing): start one
    # with `dropstream-sync sandbox serve`, or give --url and --admin-key", to someone who
    # had given --url.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DROPSTREAM_SANDBOX_ADMIN_KEY", raising=False)
    code, out, err = run(capsys, "sandbox", "outbox", "--url", "http://127.0.0.1:8765")
    assert code == 1 and out == ""
    assert err.startswith(
        "error: --url http://127.0.0.1:8765 given without its admin key: add --admin-key KEY"
    )


def test_doctor_at_a_port_nobody_listens_on_does_not_tell_you_to_run_doctor(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: its url check read "... Check the URL, or run `dropstream-sync doctor
    # --api-url http://127.0.0.1:1` to see what answers there", the command just run.
    monkeypatch.setenv("DROPSTREAM_USERNAME", "ops")
    monkeypatch.setenv("DROPSTREAM_PASSWORD", "pw")
    code, out, _ = run(capsys, "doctor", "--api-url", "http://127.0.0.1:1")
    assert code == 3
    url_line = next(line for line in out.splitlines() if line.startswith("✗ url: "))
    assert url_line.endswith(")") and "connection refused: nothing listens there" in url_line
    assert "run `dropstream-sync doctor" not in out
    assert "do: check the URL (--api-url / DROPSTREAM_API_URL)" in out


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://ds.example", "invalid API URL 'ftp://ds.example': it must start with https://"),
        ("http://ds.example", "refusing plain http:// to ds.example"),
    ],
)
def test_a_bad_url_in_dropstream_api_url_says_it_came_from_the_environment(
    url: str,
    says: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before: the same words as a typed --api-url, to someone who had typed none.
    monkeypatch.setenv("DROPSTREAM_API_URL", url)
    monkeypatch.setenv("DROPSTREAM_USERNAME", "ops")
    monkeypatch.setenv("DROPSTREAM_PASSWORD", "pw")
    code, out, err = run(capsys, "plan", EXAMPLE)
    assert code == 1 and out == ""
    assert err.startswith(f"error: DROPSTREAM_API_URL (in the environment): {says}")
    # --sandbox leaves the variable aside, as before.
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "state"))
    assert code == 0, err


@pytest.mark.parametrize("value", ["abc", "0", "nan"])
def test_a_bad_dropstream_max_rate_says_it_came_from_the_environment(
    value: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Before: "Invalid value for '--max-rate': ..." alone, to someone who had typed none.
    monkeypatch.setenv("DROPSTREAM_MAX_RATE", value)
    state = str(tmp_path / "state")
    code, out, err = run(capsys, "plan", EXAMPLE, "--sandbox", state)
    assert code == 1 and out == ""
    assert "Invalid value for '--max-rate'" in err
    assert err.endswith(" (from DROPSTREAM_MAX_RATE in the environment)\n")
    monkeypatch.delenv("DROPSTREAM_MAX_RATE")
    code, _, err = run(capsys, "plan", EXAMPLE, "--max-rate", value, "--sandbox", state)
    assert code == 1 and "DROPSTREAM_MAX_RATE" not in err


@pytest.mark.parametrize(
    ("args", "typed", "meant"),
    [
        (["plan", EXAMPLE, "-out=tfplan"], "-out", "--out"),
        (["plan", EXAMPLE, "-detailed-exitcode"], "-detailed-exitcode", "--detailed-exitcode"),
        (["apply", EXAMPLE, "-auto-approve"], "-auto-approve", "--auto-approve"),
        (["-no-color", "plan", EXAMPLE], "-no-color", "--no-color"),
    ],
)
def test_a_terraform_flag_with_one_dash_names_the_option_meant(
    args: list[str], typed: str, meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: click read `-out` as the short options -o -u -t: "No such option '-o'".
    code, out, err = run(capsys, *args)
    assert code == 1 and out == ""
    assert err.endswith(
        f"Error: No such option '{typed}': options take two dashes here; did you mean '{meant}'?\n"
    )


@pytest.mark.parametrize("typed", ["-json", "--json"])
def test_show_with_terraforms_json_flag_names_format_json(
    typed: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `terraform show -json tfplan`. Before: "No such option '-j'" (and for --json, click's
    # "No such option: --json" with no suggestion).
    plan_file = str(tmp_path / "plan.json")
    assert (
        run(capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "s"), "--out", plan_file)[0] == 0
    )
    code, out, err = run(capsys, "show", plan_file, typed)
    assert code == 1 and out == ""
    assert err.endswith(f"Error: No such option '{typed}'; did you mean '--format json'?\n")


def test_sandbox_serve_outside_a_checkout_suggests_a_config_that_exists(tmp_path: Path) -> None:
    # Before: "Try: ... dropstream-sync plan examples/stores.yaml" wherever it ran, and
    # outside a checkout (an installed tool) that was "no such file or folder".
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [*CLI, "sandbox", "serve", "--port", "0", "--state", "state"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 30
        while "Try: " not in log.read_text():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "sandbox serve did not start"
            time.sleep(0.05)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=20)
    tried = next(line for line in log.read_text().splitlines() if line.startswith("Try: "))
    config = tried.split("dropstream-sync plan ", 1)[1]
    assert config != "examples/stores.yaml"
    assert Path(config).is_file()


@pytest.mark.parametrize(
    "args",
    [
        ("plan", EXAMPLE, "--out"),
        ("report", EXAMPLE, "--out"),
        ("import", "--output"),
        ("apply", EXAMPLE, "--auto-approve", "--audit-log"),
    ],
    ids=["plan --out", "report --out", "import --output", "apply --audit-log"],
)
def test_an_empty_file_name_is_refused_before_anything_is_read(
    args: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--out "$PLAN"` with PLAN unset. import's `--output ""` wrote the YAML to stdout
    # (the empty name read as none); the others read the whole account before "cannot
    # write : Is a directory", and apply made its changes with no audit log.
    state = tmp_path / "sb"
    code, out, err = run(capsys, *args, "", "--sandbox", str(state))
    assert code == 1 and out == ""
    assert "an empty path (an unset shell variable?): give a file name" in err
    assert not state.exists()  # nothing connected, no sandbox made
