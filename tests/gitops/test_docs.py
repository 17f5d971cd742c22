"""The user guides stay true: every command and option is in the CLI reference, every
command line in the docs, the README and the CI examples uses real commands, options and
choices, the errors they quote are the tool's own, their links resolve, and shell completion
works as documented."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from dropstream_sync.cli import cli
from dropstream_sync.client.settings import Limits
from tests.gitops.gitops_files import (
    GITHUB_ACTIONS,
    GITLAB_CI,
    ROOT,
    all_steps,
    is_this_action,
    load_yaml,
)

DOCS = ROOT / "docs"
CLI = [sys.executable, "-c", "from dropstream_sync.cli import main; main()"]
GUIDES = ["onboarding.md", "ci.md", "troubleshooting.md", "cli.md"]


def commands() -> Iterator[tuple[str, click.Command]]:
    ctx = click.Context(cli, info_name="dropstream-sync")

    def walk(group: click.Group, prefix: str) -> Iterator[tuple[str, click.Command]]:
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            assert command is not None
            yield f"{prefix}{name}", command
            if isinstance(command, click.Group):
                yield from walk(command, f"{prefix}{name} ")

    yield from walk(cli, "")


COMMANDS = dict(commands())


def long_options(command: click.Command) -> set[str]:
    return {
        o
        for p in command.params
        if isinstance(p, click.Option)
        for o in p.opts
        if o.startswith("--") and o != "--help"
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_cli_reference_shows_every_command_and_option(name: str) -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert f"dropstream-sync {name}" in text
    for option in long_options(COMMANDS[name]):
        assert option in text, f"{name} {option} is not in docs/cli.md"


def options(command: click.Command) -> dict[str, click.Parameter]:
    # get_params: the options click adds itself (--help) too.
    return {
        o: p
        for p in command.get_params(click.Context(command))
        if isinstance(p, click.Option)
        for o in (*p.opts, *p.secondary_opts)
    }


GLOBAL_OPTIONS = {**options(cli), "--version": cli, "-vv": cli}
TOOL = re.compile(r"(^|[\s;&|(`])dropstream-sync\s+[a-z-]")


def tool_lines(text: str) -> Iterator[str]:
    for line in text.splitlines():
        if TOOL.search(line) and "_COMPLETE=" not in line and "install" not in line:
            yield line


def action_line(step: Mapping[str, Any]) -> str | None:
    """The command line a step using this repository's action runs (action.yml)."""
    given = step.get("with") or {}
    if not given.get("command"):
        return None
    return " ".join(
        [
            "dropstream-sync",
            str(given["command"]),
            str(given.get("paths", "stores/")),
            str(given.get("args", "")),
        ]
    )


def command_lines() -> Iterator[tuple[str, str]]:
    """Every dropstream-sync command line a reader copies: the guides' shell blocks and the
    action steps they show, the README's, and the CI examples' scripts."""
    for page in [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]:
        text = page.read_text(encoding="utf-8")
        for block in re.findall(r"```(?:sh|console)\n(.*?)```", text, flags=re.S):
            for line in tool_lines(block):
                yield page.name, line
        for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S):
            if "dropstream-sync@" in block:
                loaded = yaml.safe_load(block)
                for step in loaded if isinstance(loaded, list) else []:
                    if (shown := action_line(step)) is not None:
                        yield page.name, shown
    for path in sorted(GITHUB_ACTIONS.glob("*.yml")):
        for step in all_steps(load_yaml(path)):
            ran = action_line(step) if is_this_action(step) else None
            for found in [ran] if ran else tool_lines(str(step.get("run", ""))):
                yield path.name, found
    for job in load_yaml(GITLAB_CI).values():
        if isinstance(job, dict):
            for entry in [*job.get("before_script", []), *job.get("script", [])]:
                for line in tool_lines(str(entry)):
                    yield GITLAB_CI.name, line


LINES = list(command_lines())


def test_the_examples_and_guides_have_command_lines_to_check() -> None:
    sources = {source for source, _ in LINES}
    assert {
        "apply.yml",
        "plan.yml",
        "drift.yml",
        ".gitlab-ci.yml",
        "ci.md",
        "onboarding.md",
        "README.md",
    } <= sources, sources


@pytest.mark.parametrize(("source", "line"), LINES)
def test_command_lines_use_real_commands_options_and_choices(source: str, line: str) -> None:
    lexer = shlex.shlex(line.split("dropstream-sync ", 1)[1], posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    stop = next((i for i, w in enumerate(words) if w[0] in "|>&;`"), None)
    words = words[:stop]
    while words and words[0] in GLOBAL_OPTIONS:
        option = GLOBAL_OPTIONS[words.pop(0)]
        if isinstance(option, click.Option) and not option.is_flag and words:
            words.pop(0)
    name = words[0]
    if f"{name} {words[1] if len(words) > 1 else ''}" in COMMANDS:
        name = f"{name} {words[1]}"
    assert name in COMMANDS, f"{source}: unknown command in {line!r}"
    known = {**options(COMMANDS[name]), **GLOBAL_OPTIONS}
    for i, word in enumerate(words):
        if not word.startswith("-") or word == "-" or word[1:2].isdigit():
            continue
        flag, _, inline = word.partition("=")
        assert flag in known, f"{source}: {flag} is not an option of {name!r} in {line!r}"
        option = known[flag]
        if isinstance(option, click.Option) and isinstance(option.type, click.Choice):
            value = inline or (words[i + 1] if i + 1 < len(words) else "")
            if not value.startswith("$"):
                assert value in option.type.choices, (
                    f"{source}: {flag} {value!r} is not one of {option.type.choices}"
                )


# What the troubleshooting page quotes, as it must appear in the tool's source.
QUOTED = [
    "plan is stale: live objects changed since it was made",
    "the plan is blocked by safety checks: ",
    "(its warehouses: ",
    "has no warehouse",
    "another marketplace is another store: add a new entry instead",
    "the account allows fewer requests per second than this client sends",
    "was refused; it may have expired",
    "this login may not do that",
    "credentials would cross the network ",
    "no DropStream credentials: ",
    "not on a terminal: add --auto-approve to apply without asking",
    "Another apply on this account is running; waiting for it to finish...",
    "the merchant authorizes Amazon in the DropStream UI (no email in config)",
]


def test_the_errors_troubleshooting_quotes_are_the_tools_own() -> None:
    source = "\n".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "dropstream_sync").rglob("*.py")
    )
    # Messages are built from adjacent string literals; join them as Python would.
    source = re.sub(r'"\s*\n\s*f?"', "", source)
    page = " ".join((DOCS / "troubleshooting.md").read_text(encoding="utf-8").split())
    for quote in QUOTED:
        assert quote in source, f"the tool no longer says {quote!r}"
        assert " ".join(quote.split()) in page, f"troubleshooting.md does not quote {quote!r}"


@pytest.mark.parametrize("guide", GUIDES)
def test_links_in_the_guides_resolve(guide: str) -> None:
    text = (DOCS / guide).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text):
        if target.startswith("http"):
            continue
        assert (DOCS / target).resolve().exists(), f"{guide} links to missing {target}"


def complete(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "from dropstream_sync.cli import main; main()"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_documented_completion_scripts_are_generated(shell: str) -> None:
    assert f"_DROPSTREAM_SYNC_COMPLETE={shell}_source" in (DOCS / "cli.md").read_text()
    script = complete({"_DROPSTREAM_SYNC_COMPLETE": f"{shell}_source"})
    assert "_dropstream_sync_completion" in script


def test_completion_offers_commands_and_their_options() -> None:
    words = complete(
        {
            "_DROPSTREAM_SYNC_COMPLETE": "bash_complete",
            "COMP_WORDS": "dropstream-sync pl",
            "COMP_CWORD": "1",
        }
    )
    assert "plain,plan" in words.splitlines()
    options = complete(
        {
            "_DROPSTREAM_SYNC_COMPLETE": "bash_complete",
            "COMP_WORDS": "dropstream-sync plan --det",
            "COMP_CWORD": "2",
        }
    )
    assert "plain,--detailed-exitcode" in options.splitlines()


def synopses() -> dict[str, str]:
    """cli.md's one-line synopsis of each command (`plan PATH... [--out FILE] ...`)."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for segment in re.findall(r"`([a-z][^`\n]*\[--[^`\n]*)`", text):
        words = segment.split()
        name = " ".join(words[:2]) if f"{words[0]} {words[1]}" in COMMANDS else words[0]
        if name in COMMANDS and not segment.startswith(f"{name} --sandbox"):
            found.setdefault(name, segment)
    return found


SYNOPSES = synopses()


@pytest.mark.parametrize(
    "name", sorted(n for n in COMMANDS if not n.startswith("sandbox ") or n == "sandbox serve")
)
def test_each_synopsis_in_the_cli_reference_lists_every_option(name: str) -> None:
    """The synopsis is what a reader scans for a flag: `doctor`'s lacked `--max-rate`."""
    if not long_options(COMMANDS[name]) - {"--no-color", "--verbose"}:
        return
    assert name in SYNOPSES, f"docs/cli.md has no synopsis of {name!r}"
    words = set(re.findall(r"--[a-z-]+", SYNOPSES[name]))
    missing = long_options(COMMANDS[name]) - {"--no-color", "--verbose"} - words
    assert not missing, f"the synopsis of {name!r} in docs/cli.md lacks {sorted(missing)}"


def _plan_error(config: Path, text: str, state: Path) -> str:
    """The one-line error `plan` gives for the config `text`, without its `error: FILE:L:C: `."""
    config.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [*CLI, "plan", str(config), "--sandbox", str(state)],
        env={**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    [line] = [ln for ln in done.stderr.splitlines() if ln.startswith("error: ")]
    return re.sub(r"^error: .*?:\d+:\d+: ", "", line)


def test_the_plan_errors_troubleshooting_heads_are_what_plan_prints(tmp_path: Path) -> None:
    """Its headings quote whole messages: two had drifted from what plan says (quoted
    fragments above still matched), so a reader searching the page for the error missed it."""
    heads = {
        re.sub(r"^error: stores/acme\.yaml:\d+:\d+: ", "", head)
        for head in re.findall(
            r"^### `(.*)`$", (DOCS / "troubleshooting.md").read_text(encoding="utf-8"), re.M
        )
    }
    store = "version: 1\nmerchants:\n  - name: Acme Outdoors\n    stores:\n"
    store += "      - name: Acme Outdoors CA\n        marketplace: {market}\n{more}"
    config, state = tmp_path / "stores.yaml", tmp_path / "sandbox"
    config.write_text(store.format(market="CA", more=""), encoding="utf-8")
    subprocess.run(
        [*CLI, "apply", str(config), "--sandbox", str(state), "--auto-approve"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        check=True,
        timeout=120,
    )
    for text in (
        store.format(market="CA", more="        warehouse: Main WH\n"),
        store.format(market="US", more=""),
    ):
        message = _plan_error(config, text, state)
        assert message in heads, f"troubleshooting.md has no heading for {message!r}"


def _section(page: str, heading: str) -> str:
    text = (DOCS / page).read_text(encoding="utf-8")
    return text.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_cli_reference_lists_every_doctor_exit_code() -> None:
    """cli.md's doctor paragraph left out exit 1 (no credentials, a bad URL), which a script
    reading doctor's exit code meets first."""
    table = set(re.findall(r"^\| (\d) \|", _section("doctor.md", "## Exit codes"), re.M))
    [codes] = re.findall(r"Exit (0 \(all hold\).*?)\.\n", _section("cli.md", "## doctor"), re.S)
    assert set(re.findall(r"(?<![\d.])(\d) ", codes)) == table, codes


def test_the_client_defaults_api_assumptions_gives_are_the_clients() -> None:
    """The page said 20 requests/s, bursts of 20 and 4 pages at once long after the
    defaults became 100, 5 and 8."""
    text = " ".join((DOCS / "api-assumptions.md").read_text(encoding="utf-8").split())
    limits = Limits()
    for pattern, value in (
        (r"token bucket, default (\d+) requests/s", limits.rate_limit_rps),
        (r"with bursts of (\d+)", limits.burst),
        (r"`Limits\.max_concurrency`, default (\d+)", limits.max_concurrency),
        (r"`Limits\.page_concurrency` (\d+)", limits.page_concurrency),
        (r"at most (\d+) attempts \(`Limits\.max_attempts`\)", limits.max_attempts),
        (r"within (\d+) s \(`Limits\.max_retry_seconds`\)", limits.max_retry_seconds),
    ):
        [found] = re.findall(pattern, text)
        assert float(found) == value, f"api-assumptions.md: {pattern} is {found}, not {value}"


def test_the_connecting_section_names_every_command_that_connects() -> None:
    """Its heading named plan, apply and import; report and doctor take the same options."""
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    [named] = re.findall(r"^## Connecting \((.*)\)$", text, re.M)
    connecting = {
        name for name, command in COMMANDS.items() if "--sandbox" in long_options(command)
    }
    assert set(named.split(", ")) == connecting
