"""Pending items at scale (issue 17.5): one line of counts per merchant unless --show-pending,
their times as ages from the plan's `created_at`, and every item kept in the JSON plan."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from dropstream_sync.cli import cli
from dropstream_sync.live import AuthorizationRequest, Customer
from dropstream_sync.planner import Plan, plan
from dropstream_sync.render import render, render_json, render_markdown, render_text
from dropstream_sync.timestamps import utc_stamp
from tests.planner.scenario import NOW, account, live_store, merchant, state, store

STORES = 8  # per waiting merchant
WAITING = ("Merchant A", "Merchant B", "Merchant C")


def many_pending_plan() -> Plan:
    """Three merchants whose every store waits for the merchant (invitations sent 1 to 4
    days before NOW, each valid 7 days), one without email whose new stores are authorized
    in the DropStream UI, and one whose invites go over max_invites_per_run."""
    desired, stores, requests = [], [], []
    customers = [Customer(i + 1, name) for i, name in enumerate(WAITING)]
    for i, name in enumerate(WAITING):
        wanted = []
        for s in range(STORES):
            sid = i * 100 + s + 1
            wanted.append(store(name, f"{name} {s}"))
            stores.append(live_store(sid, f"{name} {s}", customer=i + 1))
            sent = NOW - timedelta(days=1 + s % 4)
            requests.append(
                AuthorizationRequest(
                    sid, sid, i + 1, "ops@acme.example", "pending", sent, sent + timedelta(days=7)
                )
            )
        desired.append(merchant(name, *wanted))
    desired.append(
        merchant(
            "No Email", store("No Email", "No Email 1"), store("No Email", "No Email 2"), email=None
        )
    )
    desired.append(
        merchant(
            "Over Budget",
            *(store("Over Budget", f"Over Budget {s}") for s in range(4)),
            email="ob@example.com",
        )
    )
    return plan(
        state(*desired, max_invites_per_run=2),
        account(*stores, requests=tuple(requests), customers=tuple(customers)),
        now=NOW,
        created_at=utc_stamp(NOW),
    )


@pytest.mark.parametrize("renderer", [render_text, render_markdown], ids=["text", "markdown"])
def test_by_default_each_merchant_s_pending_items_are_one_line_of_counts(renderer: object) -> None:
    made = many_pending_plan()
    assert len(made.pending) == 3 * STORES + 2 + 2
    text = renderer(made)  # type: ignore[operator]
    counted = [line for line in text.splitlines() if "awaiting the merchant" in line]
    # One line per waiting merchant; the oldest invitation was sent 4 days before the
    # plan, so 3 days are left of its 7.
    assert len(counted) == len(WAITING), counted
    assert all(
        "8 awaiting the merchant (oldest sent 4 d ago, expires in 3 d)" in line for line in counted
    )
    assert not any(f'"{name} {s}"' in text for name in WAITING for s in range(STORES)), (
        "no single item is listed by default"
    )
    assert "2 to authorize in the DropStream UI" in text
    assert "2 queued for the next run" in text


@pytest.mark.parametrize("renderer", [render_text, render_markdown], ids=["text", "markdown"])
def test_show_pending_lists_every_item_with_its_ages(renderer: object) -> None:
    made = many_pending_plan()
    text = renderer(made, show_pending=True)  # type: ignore[operator]
    for name in WAITING:
        for s in range(STORES):
            days = 1 + s % 4
            assert (
                f'"{name} {s}": waiting for ops@acme.example, sent {days} d ago, '
                f"expires in {7 - days} d"
            ) in text
    assert '"No Email 1": the merchant authorizes Amazon in the DropStream UI' in text
    assert "awaiting the merchant" not in text, "no counts when every item is shown"


def test_ages_are_counted_from_the_plan_s_created_at_not_the_clock() -> None:
    made = many_pending_plan()
    two_days_on = replace(made, created_at=utc_stamp(NOW + timedelta(days=2)))
    assert "oldest sent 4 d ago, expires in 3 d" in render_text(made)
    assert "oldest sent 6 d ago, expires in 1 d" in render_text(two_days_on)
    hours_on = replace(made, created_at=utc_stamp(NOW + timedelta(days=2, hours=23)))
    assert "oldest sent 7 d ago, expires in 1 h" in render_text(hours_on)


def test_the_json_plan_keeps_every_pending_item_in_full() -> None:
    made = many_pending_plan()
    pending = json.loads(render_json(made, show_pending=False))["pending"]
    assert len(pending) == len(made.pending) == 3 * STORES + 4
    first = next(p for p in pending if p["store"] == f"{WAITING[0]} 0")
    assert first["detail"]["created_at"] == utc_stamp(NOW - timedelta(days=1))
    assert first["message"].startswith("waiting for ops@acme.example since ")
    assert render(made, "json", show_pending=True) == render(made, "json")


def test_show_and_plan_take_show_pending(tmp_path: Path) -> None:
    saved = tmp_path / "nightly plan.json"
    saved.write_text(render_json(many_pending_plan()))
    runner = CliRunner()
    summarized = runner.invoke(cli, ["show", str(saved)])
    listed = runner.invoke(cli, ["show", str(saved), "--show-pending"])
    assert summarized.exit_code == listed.exit_code == 0, summarized.output + listed.output
    assert f'"{WAITING[1]} 3"' not in summarized.output
    assert f'"{WAITING[1]} 3"' in listed.output
    assert len(listed.output.splitlines()) > len(summarized.output.splitlines()) + 3 * STORES
    md = runner.invoke(cli, ["show", str(saved), "--format", "markdown"]).output
    assert f"dropstream-sync show '{saved}' --show-pending" in md, "cites the file shown"
    assert "--show-pending" in runner.invoke(cli, ["plan", "--help"]).output


def test_the_markdown_plan_cites_the_file_out_names(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "stores.yaml"
    out = tmp_path / "pr-42.json"
    result = CliRunner().invoke(
        cli,
        [
            "plan",
            str(example),
            "--sandbox",
            str(tmp_path / "sb"),
            "--out",
            str(out),
            "--format",
            "markdown",
        ],
    )
    assert result.exit_code == 0, result.output
    assert out.is_file()
    assert f"dropstream-sync show {out} --show-pending" in result.output
    assert "plan.json" not in result.output
    help_text = CliRunner().invoke(cli, ["plan", "--help"]).output
    assert "PLAN.json" not in help_text and "--out FILE" in help_text
