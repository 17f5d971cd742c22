"""The examples of docs/cli.md and the rehearsal of docs/onboarding.md are run, not only read.

tests/gitops/test_docs.py checks that every documented command line names real commands,
options and choices; this module runs them against the built-in sandbox (`--sandbox` added
where a command connects, as the README's "every command ... also takes `--sandbox [DIR]`"),
so that an example a user copies also does what its page says: it exits as documented, and
the files it names are written. A reader copies them whole, so they are run as written, each
in a fresh folder holding the example config as `stores.yaml` and in `stores/`.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

import click
import pytest

from dropstream_sync.cli import cli
from tests.cli_in_process import EXAMPLE, run

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "cli.md"
ONBOARDING = ROOT / "docs" / "onboarding.md"

# Examples that cannot run here, each with why; the test below fails when one of them is no
# longer on the page, so this list cannot hide a new example.
NOT_RUN = {
    # The real service: no network, no account in a test.
    "dropstream-sync doctor --api-url https://api.getdropstream.com --format json": "network",
    # About a second each, and they leave folders in the temporary directory: the demo's own
    # tests run it (tests/e2e/test_demo_and_terminal.py).
    "dropstream-sync demo": "demo",
    "dropstream-sync demo --config my-stores.yaml --approve 5 --keep": "demo",
}
# The `## sandbox` section drives a served sandbox with ids that stand for any request and
# store (12, 4): tests/sandbox/test_cli.py runs those commands.
NOT_RUN_SECTIONS = {"sandbox"}


@dataclass(frozen=True)
class Example:
    section: str
    line: str  # as written on the page, without its comment

    @property
    def words(self) -> list[str]:
        return shlex.split(self.line.split("|")[0].split(">")[0])[1:]

    @property
    def stdout_file(self) -> str | None:
        """The file of a `> FILE` redirection."""
        found = re.search(r">\s*(\S+)\s*$", self.line.split("|")[0])
        return found.group(1) if found else None


def sections(text: str) -> dict[str, str]:
    """`## name` -> its text; the text before the first heading is the section ''."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    found = {"": parts[0]}
    found.update(zip(parts[1::2], parts[2::2], strict=True))
    return found


def examples(text: str) -> list[Example]:
    found = []
    for section, body in sections(text).items():
        for block in re.findall(r"```sh\n(.*?)```", body, flags=re.S):
            for raw in block.splitlines():
                line = raw.split(" #")[0].strip()
                if line.startswith("dropstream-sync "):
                    found.append(Example(section, line))
    return found


CLI_EXAMPLES = examples(CLI_MD.read_text(encoding="utf-8"))
RUN = [e for e in CLI_EXAMPLES if e.section not in NOT_RUN_SECTIONS and e.line not in NOT_RUN]


def test_the_examples_left_out_are_still_on_the_page() -> None:
    lines = {e.line for e in CLI_EXAMPLES}
    assert set(NOT_RUN) <= lines, set(NOT_RUN) - lines
    assert {e.section for e in CLI_EXAMPLES} >= NOT_RUN_SECTIONS
    assert len(RUN) >= 20, [e.line for e in RUN]


def takes_sandbox(words: list[str]) -> bool:
    command = cli.get_command(click.Context(cli), words[0])
    return command is not None and any(p.name == "sandbox_dir" for p in command.params)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("DROPSTREAM_API_URL", "DROPSTREAM_USERNAME", "DROPSTREAM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "stores").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "stores" / "stores.yaml")
    shutil.copy(EXAMPLE, tmp_path / "stores.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sandboxed(words: list[str]) -> list[str]:
    if takes_sandbox(words) and "--sandbox" not in words:
        return [*words, "--sandbox"]
    return words


def expected_exit(example: Example) -> int:
    """What the page says the example exits with."""
    if "--detailed-exitcode" in example.words:
        return 2  # "exit 2 when there are changes": a fresh account has them
    if example.words[0] == "apply" and not {"--auto-approve", "plan.json"} & {*example.words}:
        return 1  # "ask Apply? [y/N]": with no terminal it needs --auto-approve (exit 1)
    return 0


@pytest.mark.parametrize("example", RUN, ids=lambda e: e.line.removeprefix("dropstream-sync "))
def test_a_cli_reference_example_runs_as_documented(
    example: Example, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    words = example.words
    if "plan.json" in words and "--out" not in words:
        # apply and show of a saved plan: the plan of the page's first example.
        assert run(capsys, "plan", "stores/", "--out", "plan.json", "--sandbox")[0] == 0
    if words[0] == "import":
        # import writes what is live: an account made from the example config.
        assert run(capsys, "apply", "stores/", "--auto-approve", "--sandbox")[0] == 0
    code, out, err = run(capsys, *sandboxed(words))
    assert "Traceback" not in out + err
    assert code == expected_exit(example), f"{example.line}: exit {code}\n{out}\n{err}"
    if code == 1:
        assert "not on a terminal: add --auto-approve" in err, err
    if example.stdout_file:
        # `> FILE`: the shell writes stdout there; what the page names it for.
        Path(example.stdout_file).write_text(out, encoding="utf-8")
        assert out.strip(), f"{example.line} printed nothing"
    if "| jq '.summary'" in example.line:
        assert "changes" in json.loads(out)["summary"]
    for option in ("--out", "--output", "--audit-log"):
        if option in words:
            written = workspace / words[words.index(option) + 1]
            assert written.is_file() and written.stat().st_size, f"{example.line}: no {written}"


def test_the_schema_example_writes_a_schema_that_validate_reads_beside_the_config(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`schema > stores/stores.schema.json` puts a JSON file in the config folder: validate
    reads only *.yaml/*.yml there, so the folder stays valid."""
    assert "dropstream-sync schema > stores/stores.schema.json" in {e.line for e in CLI_EXAMPLES}
    code, out, _ = run(capsys, "schema")
    assert code == 0
    (workspace / "stores" / "stores.schema.json").write_text(out, encoding="utf-8")
    assert json.loads(out)["$schema"].endswith("2020-12/schema")  # "draft 2020-12"
    assert run(capsys, "validate", "stores/")[0] == 0


def test_the_onboarding_rehearsal_imports_a_file_that_plans_with_no_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """onboarding.md §0: apply the example, import it, and the plan of the import exits 0."""
    section = ONBOARDING.read_text(encoding="utf-8").split("## 0.")[1].split("\n## ")[0]
    block = re.findall(r"```sh\n(.*?)```", section, flags=re.S)[0]
    lines = [line.split(";")[0].split(" #")[0].strip() for line in block.splitlines()]
    assert len(lines) == 3 and all(line.startswith("dropstream-sync ") for line in lines), lines
    assert block.rstrip().endswith('echo "exit $?"   # exit 0'), block
    monkeypatch.delenv("DROPSTREAM_API_URL", raising=False)
    (tmp_path / "examples").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "examples" / "stores.yaml")
    monkeypatch.chdir(tmp_path)
    codes = []
    for line in lines:
        # The page writes the import to /tmp/all.yaml; here a folder of this test's own.
        words = shlex.split(line.replace("/tmp/", f"{tmp_path}/"))[1:]
        code, out, err = run(capsys, *words)
        assert "Traceback" not in out + err
        codes.append(code)
    assert codes == [0, 0, 0], codes
    assert "No changes." in out, out
