"""The report as GitHub-flavoured Markdown: the drift issue's body, at most 60,000 chars.

The first line is a hidden marker with the number of findings and a digest of what the
report shows (all but its time), so CI can tell a clean account and an unchanged report
without parsing the rest. Per merchant only the stores that need someone are listed;
the HTML report lists every store.
"""

from __future__ import annotations

from datetime import datetime

from dropstream_sync.errors import printable
from dropstream_sync.render.markdown import ListBudget, inline
from dropstream_sync.report.model import STATUSES, MerchantSection, Report, StoreRow
from dropstream_sync.report.text import UNKNOWN_NOTE, canceled_text, store_cells

MARKER = "<!-- dropstream-sync:report"
LIMIT = 60_000
LISTED = 200  # rows of a table of invitations at the most
# The blocked reasons and the invitation tables share the plan comment's ListBudget: live
# names there are the server's (a "<" is written "&lt;"), and the merchants' blocks must
# still find room under LIMIT.


def md(text: object) -> str:
    """Plain text in Markdown: one line, the controls and bidi characters that are left
    written as escapes (`\\x1b`, `\\u202e`, as the plan writes them), HTML escaped,
    Markdown's own characters backslashed, no mention (render/markdown.py's `inline`)."""
    return inline(printable(" ".join(str(text).split())))


def _bar(n: int, most: int) -> str:
    return "█" * max(1, round(20 * n / most)) if n else ""


def _store_line(s: StoreRow, now: datetime) -> str:
    cells = [md(s.name), md(s.marketplace), *map(md, store_cells(s, now))]
    return "| " + " | ".join(cells) + " |"


def render_markdown(report: Report) -> str:
    budget = ListBudget()
    head = [*_summary(report, budget), *_timeline(report)]
    tail = [*_invitations(report, budget), *_repeated(report, budget)]
    blocks = [block for m in report.merchants if (block := _merchant(m, report.now))]
    used = len("\n".join(head + tail)) + 500
    kept: list[str] = []
    for block in blocks:
        if used + len(block) > LIMIT:
            break
        kept.append(block)
        used += len(block) + 1
    body = head + tail + kept
    if len(kept) < len(blocks):
        body += [
            f"_{len(blocks) - len(kept)} more merchant(s) left out to stay under "
            f"{LIMIT:,} characters: see the HTML or JSON report._",
            "",
        ]
    if not blocks:
        body += [
            "Every store the config wants is authorized, with no drift and no renewal due.",
            "",
        ]
    marker = f"{MARKER} findings={report.findings} digest={report.findings_digest()} -->"
    return marker + "\n" + "\n".join(body)


def _summary(report: Report, budget: ListBudget) -> list[str]:
    s = report.summary()
    head: list[str] = [
        "### dropstream-sync report",
        "",
        f"Made {md(report.created_at)} from {md(report.api_url or 'DropStream')}.",
        "",
    ]
    if report.blocked_reasons:
        head += ["> [!CAUTION]", "> **Blocked**: a plan of this config is blocked:"]
        reasons, more = budget.take([f"> - {md(r)}" for r in report.blocked_reasons[:100]])
        head += reasons
        more += len(report.blocked_reasons[100:])
        if more:
            head.append(f"> - _and {more} more: see the HTML or JSON report_")
        head.append("")
    head += [
        "| | |",
        "|---|---:|",
        f"| merchants | {s['merchants']} |",
        f"| stores | {s['stores']} |",
        f"| connections billed | {s['connections_billed']} (+{s['connections_to_bill']} planned) |",
    ]
    head += [f"| {status} | {s[status]} |" for status in STATUSES]
    head += [
        f"| drifted stores | {s['drift']} |",
        f"| renewals due | {s['renewals_due']} |",
        f"| findings | {s['findings']} |",
        "",
    ]
    if s["unknown"]:
        head += [f"{s['unknown']} {UNKNOWN_NOTE}.", ""]
    return head


def _timeline(report: Report) -> list[str]:
    head = [
        f"#### Authorizations lapsing, next 365 days (renewal window: "
        f"{report.reauthorize_days} days)",
        "",
    ]
    weeks = [w for w in report.timeline if w.lapsing]
    if weeks:
        most = max(w.lapsing for w in weeks)
        head += ["| week | from | lapsing | | |", "|---:|---|---:|---|---|"]
        head += [
            f"| {w.index + 1} | {w.start:%Y-%m-%d} | {w.lapsing} | {_bar(w.lapsing, most)} "
            f"| {'renewal window' if w.in_window else ''} |"
            for w in weeks
        ]
    else:
        head.append("No authorization lapses in the next 365 days.")
    if report.already_expired:
        head.append(f"\n{report.already_expired} authorization(s) already lapsed.")
    head.append("")
    return head


def _invitations(report: Report, budget: ListBudget) -> list[str]:
    shown = report.invitations[:LISTED]
    return _listed(
        budget,
        "Pending invitations, oldest first",
        "| merchant | store | email | age (days) | expires |",
        "|---|---|---|---:|---|",
        [
            f"| {md(i.merchant)} | {md(i.store)} | {md(i.email)} | {i.age_days} | "
            f"{i.expires_at:%Y-%m-%d} (in {i.expires_in_days} days){md(canceled_text(i))} |"
            for i in shown
        ],
        left_out=len(report.invitations) - len(shown),
    )


def _repeated(report: Report, budget: ListBudget) -> list[str]:
    return _listed(
        budget,
        "Invitations expired unanswered more than once",
        "| merchant | expired | stores | last expired |",
        "|---|---:|---|---|",
        [
            f"| {md(r.merchant)} | {r.expired} | "
            f"{md(', '.join(f'{st} ({n})' for st, n in r.stores))} | "
            f"{r.last_expired_at:%Y-%m-%d} |"
            for r in report.repeated_expiries[:LISTED]
        ],
        left_out=len(report.repeated_expiries[LISTED:]),
    )


def _listed(
    budget: ListBudget, title: str, head: str, align: str, rows: list[str], left_out: int = 0
) -> list[str]:
    """A titled table of `rows`, as many as the budget holds, and how many were left out
    (`left_out` and those; no rows: nothing at all)."""
    if not rows:
        return []
    kept, more = budget.take(rows)
    left_out += more
    tail = [f"#### {title}", "", head, align, *kept]
    if left_out:
        tail.append(f"\n_and {left_out} more: see the HTML or JSON report_")
    return [*tail, ""]


def _merchant(m: MerchantSection, now: datetime) -> str | None:
    """The merchant's block, listing only the stores that need someone (None: none do)."""
    needing = [st for st in m.stores if st.problem]
    if not needing:
        return None
    # Not needing anyone is one of two things: wanted and in order, or not wanted at all
    # (not in the config, or `enabled: false`), which may be unauthorized and say nothing.
    fine = sum(1 for st in m.stores if st.wanted and not st.problem)
    unwanted = sum(1 for st in m.stores if not st.wanted and not st.problem)
    lines = [f"#### {md(m.name)}", ""]
    if fine:
        lines += [f"{fine} other store(s) authorized, with no drift and no renewal due.", ""]
    if unwanted:
        lines += [
            f"{unwanted} other store(s) not in the config or switched off in it (`enabled: "
            "false`): they need no authorization; the HTML report lists them.",
            "",
        ]
    lines += [
        "| store | market | status | expiry | invitation | seller | connection "
        "| channels | drift |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_store_line(st, now) for st in needing]
    return "\n".join(lines) + "\n"
