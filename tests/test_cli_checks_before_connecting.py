"""What a command can check without the network (its flags, its files, the config and the
`--merchant` names in it) is refused before a client is built: a typo costs no token
request and no read of the whole account, and is said as itself, not as a refused login.

The sandbox is served over a loopback socket in this process, so that its stats count
every request the command line (run in this process too) sends to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from dropstream_sync.sandbox import create_app
from tests.cli_in_process import EXAMPLE, run
from tests.sandbox.conftest import serve_in_thread

STATS = "GET /_sandbox/stats"


@dataclass
class Account:
    url: str
    admin_key: str

    def requests(self) -> dict[str, int]:
        """What the sandbox was sent, by route; the stats request asking it is counted too."""
        answer = httpx.get(
            self.url + "/_sandbox/stats", headers={"X-Sandbox-Admin": self.admin_key}, timeout=30
        )
        answer.raise_for_status()
        counts: dict[str, int] = answer.json()["requests"]
        return counts

    def sent_nothing(self) -> bool:
        """Nothing but this question reached the sandbox (not even the token request)."""
        return self.requests() == {STATS: 1}


@pytest.fixture
def account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    app = create_app(tmp_path / "state")
    server, thread, url = serve_in_thread(app)
    info = app.sandbox_info
    for name in ("DROPSTREAM_TOKEN", "DROPSTREAM_PASSWORD_FILE", "DROPSTREAM_MAX_RATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DROPSTREAM_API_URL", url)
    monkeypatch.setenv("DROPSTREAM_USERNAME", info.username)
    monkeypatch.setenv("DROPSTREAM_PASSWORD", info.password)
    monkeypatch.chdir(tmp_path)
    yield Account(url, info.admin_key)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.mark.parametrize(
    "command",
    [("plan",), ("report", "--format", "json"), ("apply", "--auto-approve")],
    ids=lambda c: c[0],
)
def test_a_merchant_not_in_the_config_is_refused_before_any_request(
    command: tuple[str, ...], account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    # It was refused by the planner, after the token request and the read of every list.
    code, out, err = run(capsys, command[0], EXAMPLE, *command[1:], "--merchant", "Acme Outdors")
    assert (code, out) == (1, "")
    assert err == (
        "error: --merchant 'Acme Outdors' is not in the config (did you mean 'Acme Outdoors'?)\n"
    )
    assert account.sent_nothing()


def test_a_merchant_typo_is_said_as_such_when_the_login_is_wrong_too(
    account: Account, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The login was tried first, and its refusal was all that was said of the typo.
    monkeypatch.setenv("DROPSTREAM_PASSWORD", "not-the-password")
    for command in ("plan", "apply", "report"):
        code, _, err = run(capsys, command, EXAMPLE, "--merchant", "Nobody")
        assert code == 1
        assert err == "error: --merchant 'Nobody' is not in the config\n", command
    monkeypatch.delenv("DROPSTREAM_USERNAME")
    monkeypatch.delenv("DROPSTREAM_PASSWORD")
    code, _, err = run(capsys, "apply", EXAMPLE, "--merchant", "Nobody")
    assert (code, err) == (1, "error: --merchant 'Nobody' is not in the config\n")
    assert account.sent_nothing()


def test_a_merchant_of_the_config_is_still_planned_and_import_still_reads_live_merchants(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "plan", EXAMPLE, "--merchant", "Acme Outdoors")
    assert code == 0, err
    assert "Acme Outdoors" in out and "Bella Cosmetics" not in out
    # import has no config: its --merchant names live customers, and is checked against
    # the account it reads.
    code, _, err = run(capsys, "import", "--merchant", "Nobody")
    assert code == 1 and "no Amazon stores found for merchant(s): 'Nobody'" in err
    assert account.requests().get("GET /customers", 0) >= 2


def _saved_plan(capsys: pytest.CaptureFixture[str]) -> str:
    """A plan saved from the built-in sandbox (no request to the served one)."""
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox", "made-here", "--out", "plan.json")
    assert code == 0, err
    return "plan.json"


# What each case of the test below gives apply, and what it must say (a whole line exactly;
# the parser's and the loader's words after the beginning shown are theirs).
APPLY_REFUSALS: dict[str, str] = {
    "saved plan with --merchant": (
        "error: --merchant chooses what to plan; a saved plan is applied exactly as saved "
        "(make it with `plan --merchant NAME --out FILE`)\n"
    ),
    "saved plan with a config": (
        "error: a saved plan cannot be mixed with config paths: apply the plan file alone, "
        "or give only config files and folders\n"
    ),
    "no plan": "error: broken.json:1:3: not a JSON plan: ",
    "invalid config": "bad.yaml:3:5: merchants[0].colour: ",
    "audit log in no folder": (
        "error: --audit-log logs/audit.jsonl: the folder logs does not exist; create it first\n"
    ),
}


@pytest.mark.parametrize("case", APPLY_REFUSALS)
def test_apply_refuses_what_needs_no_request_before_the_login_and_sends_nothing(
    case: str,
    account: Account,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    # Each was checked after the client was built: without credentials it was "no
    # DropStream credentials" (or, for a plan made on the sandbox, advice to apply it there).
    (tmp_path / "broken.json").write_text("{ not json\n")
    (tmp_path / "bad.yaml").write_text(
        "version: 1\nmerchants:\n  - colour: red\n    name: Acme\n    email: ops@acme.example\n"
        "    stores: []\n"
    )
    args = {
        "saved plan with --merchant": (_saved_plan(capsys), "--merchant", "Acme Outdoors"),
        "saved plan with a config": (_saved_plan(capsys), EXAMPLE),
        "no plan": ("broken.json",),
        "invalid config": ("bad.yaml", "--auto-approve"),
        "audit log in no folder": (EXAMPLE, "--auto-approve", "--audit-log", "logs/audit.jsonl"),
    }[case]
    code, out, err = run(capsys, "apply", *args)
    assert (code, out) == (1, "")
    said = APPLY_REFUSALS[case]
    assert err == said if said.endswith("\n") else err.startswith(said)
    assert account.sent_nothing()
    for name in ("DROPSTREAM_USERNAME", "DROPSTREAM_PASSWORD"):
        monkeypatch.delenv(name)
    assert run(capsys, "apply", *args) == (code, out, err)
    assert not (tmp_path / "logs").exists()


def test_import_to_a_path_under_a_file_is_refused_before_the_account_is_read(
    account: Account, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # It was refused once the whole account had been read (and its first plan made).
    (tmp_path / "notes.txt").write_text("kept\n")
    code, out, err = run(capsys, "import", "--output", "notes.txt/stores.yaml")
    assert (code, out) == (1, "")
    assert err == (
        "error: cannot write notes.txt/stores.yaml: notes.txt is a file, not a folder; "
        "choose another --output path\n"
    )
    assert account.sent_nothing()
    assert (tmp_path / "notes.txt").read_text() == "kept\n"
