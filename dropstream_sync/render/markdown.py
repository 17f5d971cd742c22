"""The plan as a pull-request comment (GitHub-flavoured Markdown), at most 60,000 chars.

The first line is a hidden marker so CI can find and update its own comment. Blocked
reasons come first, then a summary table, then one <details> block per merchant. When the
whole does not fit, merchant blocks are dropped from the end and the comment says so.
"""

from __future__ import annotations

import html
import re
import shlex
from collections.abc import Sequence

from dropstream_sync.errors import printable
from dropstream_sync.planner.model import CHANGE_KINDS, PendingKind, Plan
from dropstream_sync.render.rows import MerchantRows, merchant_rows, summary_line

MARKER = "<!-- dropstream-sync:plan -->"
LIMIT = 60_000
# Reasons, UI to-dos and warnings are listed up to this many, each clipped to MAX_LINE
# characters before it is escaped (a "<" becomes "&lt;": a line of live names can grow
# fourfold), and all three lists together up to LISTED_CHARS, so that they can never push
# the comment over the limit and leave room for the merchants' blocks.
MAX_LISTED = 100
MAX_LINE = 300
LISTED_CHARS = 30_000


# Markdown's inline characters ([ and ] escaped, so no link or image can start); the
# line-start ones (#, -, +, >) never start a line here.
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
# An @ that GitHub would read as a mention (@user, @org/team): not after a letter or digit,
# as in an email address, which GitHub leaves alone.
_MENTION = re.compile(r"(?<![0-9A-Za-z])@(?=[0-9A-Za-z])")


def no_mention(text: str) -> str:
    """`text` with a zero-width space after each @ that would notify someone: a live
    store named "@octocat" must not ping octocat from a bot's comment (as Renovate does)."""
    return _MENTION.sub("@&#8203;", text) if "@" in text else text


def inline(text: str) -> str:
    """Plain text as Markdown text: HTML escaped, Markdown's own characters backslashed,
    no mention. Names and messages come from the live account (a store renamed in the
    DropStream UI), and a comment must show them, not a link, an image or a ping made of them."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return no_mention(_SPECIAL.sub(r"\\\1", text))


def _clip(text: str) -> str:
    # One line, whatever a saved plan's message holds: a line break would end the list item
    # and let the rest pass for Markdown of its own.
    text = printable(text)
    text = text if len(text) <= MAX_LINE else text[: MAX_LINE - 1] + "…"
    return inline(text)


class ListBudget:
    """LISTED_CHARS, spent by a document's lists in the order they are made: the plan
    comment's reasons, to-dos and warnings, and the drift issue's (report/markdown.py)."""

    def __init__(self) -> None:
        self.left = LISTED_CHARS

    def take(self, lines: Sequence[str]) -> tuple[list[str], int]:
        """The first of `lines` that fit, and how many did not."""
        kept: list[str] = []
        for line in lines:
            if len(line) + 1 > self.left:
                break
            self.left -= len(line) + 1
            kept.append(line)
        return kept, len(lines) - len(kept)


def _listed(budget: ListBudget, prefix: str, items: Sequence[str]) -> tuple[list[str], int]:
    """`items` as lines of Markdown text after `prefix`, as many as fit; and how many did
    not."""
    kept, _ = budget.take([f"{prefix}{_clip(item)}" for item in items[:MAX_LISTED]])
    return kept, len(items) - len(kept)


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _code(text: str) -> str:
    """`text` as inline code that no backtick in it can close early."""
    fence = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _merchant_block(group: MerchantRows) -> str:
    n = len(group.changes)
    title = f"{no_mention(html.escape(printable(group.merchant), quote=False))}: {n} change(s)"
    if group.pending_count:
        title += f", {group.pending_count} pending"
    inner: list[str] = []
    for row in group.changes:
        symbol = {">": "+", "~": "!"}.get(row.symbol, row.symbol)
        inner.append(f"{symbol} {printable(row.text)}")
        inner.extend(f"    {printable(d)}" for d in row.details)
    for row in group.pending:
        inner.append(f"# pending: {printable(row.text)}")
    # A store name may hold backticks; a fence longer than any run of them cannot be closed
    # early, so no name can turn into Markdown of its own in the comment.
    fence = "`" * max(3, _longest_backtick_run("\n".join(inner)) + 1)
    lines = [
        f"<details><summary>{title}</summary>",
        "",
        f"{fence}diff",
        *inner,
        fence,
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def render_markdown(
    plan: Plan,
    *,
    color: bool = False,
    show_pending: bool = False,
    plan_file: str | None = "plan.json",
) -> str:
    """`color` is accepted, like every renderer's, and ignored: GitHub colours the diff.
    `plan_file` is the saved plan the comment cites for what it leaves out; None when the
    plan was not saved, and then the comment says how to save it instead of naming a file
    that does not exist."""
    if plan_file is None:
        show = f"{_code('dropstream-sync show plan.json')} (save it with `--out plan.json`)"
        listed = _code("--show-pending")
    else:
        show = _code(f"dropstream-sync show {shlex.quote(plan_file)}")
        listed = _code(f"dropstream-sync show {shlex.quote(plan_file)} --show-pending")
    s = plan.summary()
    budget = ListBudget()
    head = [MARKER, "### dropstream-sync plan", ""]
    if plan.blocked:
        head.append("> [!CAUTION]")
        head.append("> **Blocked**: `apply` refuses this plan without `--force`:")
        reasons, more = _listed(budget, "> - ", plan.blocked_reasons)
        head.extend(reasons)
        if more:
            head.append(f"> - _and {more} more: see {show}_")
        head.append("")
    head.append(f"**{summary_line(plan)}**")
    head.append("")
    head += ["| change | count |", "|---|---:|"]
    for kind in CHANGE_KINDS:
        if s[kind]:
            head.append(f"| `{kind}` | {s[kind]} |")
    head.append(f"| pending | {s['pending']} |")
    head.append(f"| connections billed | +{s['connections_billed']} |")
    # A disable saves nothing: the summary says so where the count of disables is read.
    head.append(
        "| connections disabled, still billed | "
        f"{s['billing']['connections_disabled_still_billed']} |"
    )
    head.append("")
    tail: list[str] = []
    by_hand = [p for p in plan.pending if p.kind == PendingKind.SEND_FROM_UI]
    if by_hand:
        tail.append("**To do in the DropStream UI** (this API has no invite endpoint)")
        tail.append("")
        todos, more = _listed(
            budget,
            "- [ ] ",
            [
                f"{item.merchant} / {item.store}: send from the DropStream UI (Send to "
                f"merchant) to {item.detail.get('email', '')}"
                for item in by_hand
            ],
        )
        tail += todos
        if more:
            tail.append(f"- _and {more} more: see {show}_")
        tail.append("")
    if plan.warnings:
        tail.append("**Warnings**")
        tail.append("")
        warnings, more = _listed(budget, "- ", plan.warnings)
        tail += warnings
        if more:
            tail.append(f"- _and {more} more warning(s): see {show}_")
        tail.append("")
    if plan.pending and not show_pending:
        tail.append(f"_Pending items are counted per merchant: {listed} lists each._")
        tail.append("")
    tail.append(f"<sub>config {plan.config_digest[:19]} · live {plan.live_fingerprint[:19]}</sub>")
    blocks = [_merchant_block(g) for g in merchant_rows(plan, show_pending=show_pending)]
    fixed = len("\n".join(head)) + len("\n".join(tail)) + 400
    kept: list[str] = []
    used = fixed
    for block in blocks:
        if used + len(block) + 1 > LIMIT:
            break
        kept.append(block)
        used += len(block) + 1
    body = head + kept
    left = len(blocks) - len(kept)
    if left:
        body += [
            f"_{left} more merchant(s) left out to stay under {LIMIT:,} characters: "
            f"see the full plan with {show}._",
            "",
        ]
    return "\n".join(body + tail) + "\n"
