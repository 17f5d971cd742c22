"""`plan` and `show` from the command line, against the in-process sandbox (`--sandbox DIR`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_in_process import EXAMPLE, run


def test_plan_against_an_empty_account_lists_creations_and_exits_2_with_detailed_exitcode(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(
        capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "sb"), "--detailed-exitcode"
    )
    assert code == 2, err
    assert '+ create store "' in out and out.rstrip().splitlines()[-1].startswith("Plan:")
    assert "Traceback" not in err


def test_plan_without_detailed_exitcode_exits_0_even_with_changes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "sb"))
    assert code == 0 and "Plan:" in out


def test_saved_plan_is_the_json_output_and_show_renders_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    saved = tmp_path / "plan.json"
    code, out, err = run(
        capsys,
        "plan",
        EXAMPLE,
        "--sandbox",
        str(tmp_path / "sb"),
        "--format",
        "json",
        "--out",
        str(saved),
    )
    assert code == 0, err
    assert out == saved.read_text()
    doc = json.loads(out)
    assert doc["format_version"] == "1" and doc["changes"]
    assert "password" not in out.lower()
    code, md, _ = run(capsys, "show", str(saved), "--format", "markdown")
    assert code == 0 and md.splitlines()[0] == "<!-- dropstream-sync:plan -->"
    code, text, _ = run(capsys, "show", str(saved))
    assert code == 0 and "Plan:" in text


def test_merchant_option_limits_the_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(
        capsys,
        "plan",
        EXAMPLE,
        "--sandbox",
        str(tmp_path / "sb"),
        "--format",
        "json",
        "--merchant",
        "Acme Outdoors",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["merchants"] == ["Acme Outdoors"]
    assert {c["merchant"] for c in doc["changes"]} == {"Acme Outdoors"}


def test_unknown_merchant_is_an_error_without_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "sb"), "--merchant", "Nobody Inc"
    )
    assert code == 1 and "Nobody Inc" in err and "Traceback" not in err


def test_after_apply_the_plan_has_no_changes_only_pending_invites(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sandbox = str(tmp_path / "sb")
    code, _, err = run(capsys, "apply", EXAMPLE, "--sandbox", sandbox, "--auto-approve")
    assert code == 0, err
    code, out, err = run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--detailed-exitcode")
    assert code == 0, out + err
    assert out.rstrip().splitlines()[-1].startswith("No changes.")
    assert "awaiting the merchant (oldest sent" in out, "pending: counts per merchant"
    code, out, err = run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--show-pending")
    assert code == 0, out + err
    assert '… pending: "Acme Outdoors CA": waiting for amazon-ops@' in out


def test_show_refuses_a_file_that_is_not_a_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"format_version": "9"}')
    code, out, err = run(capsys, "show", str(bad))
    assert code == 1 and out == "" and "Traceback" not in err and "error:" in err
    code, _, err = run(capsys, "show", str(tmp_path / "missing.json"))
    assert code == 1 and "Traceback" not in err


@pytest.mark.parametrize("command", ["plan", "report"])
def test_out_naming_a_config_file_is_refused_and_the_config_kept(
    command: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # `plan stores.yaml --out stores.yaml` (a slip of tab completion) replaced the config
    # with the plan's JSON; the folder form and a second spelling of the path alike.
    config = tmp_path / "stores" / "stores.yaml"
    config.parent.mkdir()
    text = Path(EXAMPLE).read_text()
    config.write_text(text)
    for paths, out in (
        ([str(config)], str(config)),
        ([str(config.parent)], f"{config.parent}/./stores.yaml"),
    ):
        code, _, err = run(capsys, command, *paths, "--sandbox", str(tmp_path / "sb"), "--out", out)
        assert code == 1
        assert f"error: --out {out} is the config file" in err
        assert config.read_text() == text


def test_a_saved_plan_resaved_with_a_byte_order_mark_still_shows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Reformatting is not an edit (plan-format.md); an editor on Windows writes a BOM first,
    # which show and apply refused: "Unexpected UTF-8 BOM (decode using utf-8-sig)".
    saved = tmp_path / "plan.json"
    code, _, err = run(
        capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "sb"), "--out", str(saved)
    )
    assert code == 0, err
    saved.write_bytes(b"\xef\xbb\xbf" + saved.read_bytes())
    code, out, err = run(capsys, "show", str(saved))
    assert code == 0, err
    assert out.rstrip().splitlines()[-1].startswith("Plan:")


def test_a_config_file_whose_name_is_not_utf8_is_refused_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The name is quoted in the plan's positions and warnings, written as UTF-8: a Latin-1
    # byte in it (a lone surrogate to Python) made `plan --out` fail with UnicodeEncodeError.
    folder = tmp_path / "stores"
    folder.mkdir()
    (folder / "caf\udce9.yaml").write_text(Path(EXAMPLE).read_text())
    saved = tmp_path / "plan.json"
    code, _, err = run(
        capsys, "plan", str(folder), "--sandbox", str(tmp_path / "sb"), "--out", str(saved)
    )
    assert code == 1
    assert f"{folder}/caf\\xe9.yaml:1:1: the file name is not UTF-8 text: rename the file" in err
    assert not saved.exists()


def test_a_refusal_quoting_a_crafted_plan_file_sends_no_escape_sequence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # "the plan was made for ... at <api_url>" quoted the file's URL as it was: a crafted
    # plan (the digest is no signature) set the terminal's title or cleared its screen.
    from dropstream_sync.planner.model import plan_digest

    saved = tmp_path / "plan.json"
    sandbox = str(tmp_path / "sb")
    code, _, err = run(capsys, "plan", EXAMPLE, "--sandbox", sandbox, "--out", str(saved))
    assert code == 0, err
    document = json.loads(saved.read_text())
    document["api_url"] = "https://evil.example\x1b]0;owned\x07\x1b[2J"
    del document["plan_digest"]
    document["plan_digest"] = plan_digest(document)
    saved.write_text(json.dumps(document))
    code, _, err = run(capsys, "apply", str(saved), "--sandbox", sandbox)
    assert code == 1
    assert "the plan was made for account" in err
    assert "\x1b" not in err and "\x07" not in err


@pytest.mark.parametrize("scoped", [False, True], ids=["whole", "merchant"])
def test_a_new_merchant_spelt_like_a_live_customer_but_for_case_is_warned_about(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scoped: bool
) -> None:
    # The live read keeps only the config's customers; the one that differs in case must
    # still reach the plan, or its warning is never given.
    sandbox = ["--sandbox", str(tmp_path / "sb")]
    first = tmp_path / "first.yaml"
    first.write_text("version: 1\nmerchants:\n  - name: Bella Cosmetics\n    stores: []\n")
    code, _, err = run(capsys, "apply", str(first), *sandbox, "--auto-approve")
    assert code == 0, err
    second = tmp_path / "second.yaml"
    second.write_text(
        "version: 1\nmerchants:\n  - name: BELLA Cosmetics\n    email: ops@bella.example\n"
        "    stores:\n      - {name: Bella US, marketplace: US}\n"
    )
    scope = ["--merchant", "BELLA Cosmetics"] if scoped else []
    code, out, err = run(capsys, "plan", str(second), *sandbox, *scope)
    assert code == 0, err
    assert '+ create merchant "BELLA Cosmetics"' in out
    assert (
        "warning: merchant 'BELLA Cosmetics' would be created as a new DropStream customer, "
        "but live customer 1 ('Bella Cosmetics') differs from it only in letter case or spacing"
    ) in err


def test_a_saved_plan_with_a_nul_byte_is_refused_at_that_byte(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # JSON text holds no NUL byte: binary data is refused at its first chunk, so
    # `show /dev/zero` stops at once where it read until memory ran out (MemoryError).
    saved = tmp_path / "plan.json"
    code, _, err = run(
        capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "sb"), "--out", str(saved)
    )
    assert code == 0, err
    first, rest = saved.read_bytes().split(b"\n", 1)
    saved.write_bytes(first + b"\n  \x00" + rest)
    for args in (["show"], ["apply", "--sandbox", str(tmp_path / "sb")]):
        code, _, err = run(capsys, *args, str(saved))
        assert code == 1
        assert f"{saved}:2:3: not a JSON plan: a NUL byte" in err, err
        assert "Traceback" not in err


def test_a_saved_plan_beyond_the_size_limit_is_refused_before_it_is_read_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dropstream_sync import workflows

    saved = tmp_path / "plan.json"
    code, _, err = run(
        capsys, "plan", EXAMPLE, "--sandbox", str(tmp_path / "sb"), "--out", str(saved)
    )
    assert code == 0, err
    # The real limit is 512 MB; a file just over a lowered one shows the rule.
    monkeypatch.setattr(workflows, "MAX_PLAN_BYTES", saved.stat().st_size - 1)
    monkeypatch.setattr(workflows, "_CHUNK", 64)
    code, _, err = run(capsys, "show", str(saved))
    assert code == 1
    assert f"{saved}: not a saved plan: larger than" in err, err
    monkeypatch.setattr(workflows, "MAX_PLAN_BYTES", saved.stat().st_size)
    code, out, err = run(capsys, "show", str(saved))
    assert code == 0, err
    assert out.rstrip().splitlines()[-1].startswith("Plan:")
