"""The report as one self-contained HTML page: inline CSS, an inline SVG chart, no request
to anywhere (a Content-Security-Policy says so to the browser, too), printable.

Every name from the config or the account goes through `e()`. The one inline script only
records script errors and policy violations on <html data-errors> and marks the page
ready, so a browser test can tell that the page ran clean; the policy allows that script
by its hash and nothing else, so even a name that slipped through escaping could not run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
from datetime import datetime
from typing import Final

from dropstream_sync.errors import printable
from dropstream_sync.report.model import STATUSES, Report, StoreRow, Week
from dropstream_sync.report.text import STATUS_WORDS, UNKNOWN_NOTE, canceled_text, store_cells

SCRIPT: Final = (
    "(function(){var h=document.documentElement,seen=[];"
    "function note(m){seen.push(m);h.setAttribute('data-errors',seen.join(' | '));}"
    "window.addEventListener('error',function(ev){note('error: '+ev.message);});"
    "document.addEventListener('securitypolicyviolation',function(ev){"
    "note('blocked by policy: '+ev.violatedDirective);});"
    "document.addEventListener('DOMContentLoaded',function(){h.setAttribute('data-ready','1');});"
    "})();"
)
SCRIPT_HASH: Final = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
POLICY: Final = (
    f"default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src 'sha256-{SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)

# A symbol beside each status word: the meaning is in the words, colour only helps.
SYMBOLS: Final = {
    "authorized": "✓",
    "pending": "…",
    "missing": "○",
    "expired": "✕",
    "revoked": "✕",
    "unknown": "?",
}

CSS: Final = """
:root { --fg: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg-alt: #f6f8fa;
  --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --bar: #0969da; --due: #bc4c00; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); margin: 0 auto; padding: 1.5rem; max-width: 90rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin: 1.5rem 0 .4rem; }
p.meta { color: var(--muted); margin: 0 0 1rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .25rem 1rem; padding: 0; list-style: none; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
thead th { background: var(--bg-alt); white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr));
  gap: .5rem; margin: 0; }
.summary div { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .75rem; }
.summary dt { color: var(--muted); font-size: .85rem; }
.summary dd { margin: 0; font-size: 1.4rem; font-weight: 600; }
.st-authorized { color: var(--ok); } .st-pending, .due { color: var(--warn); }
.st-missing { color: var(--muted); } .st-expired, .st-revoked { color: var(--bad); }
.st-unknown { color: var(--warn); }
.blocked { border: 2px solid var(--bad); border-radius: 6px; padding: .5rem 1rem; }
svg.chart { width: 100%; max-width: 60rem; height: auto; display: block; }
svg .bar { fill: var(--bar); } svg .bar.in-window { fill: var(--due); }
svg .axis { stroke: var(--muted); } svg text { font-size: 11px; fill: var(--fg); }
svg .window { fill: url(#hatch); stroke: var(--due); stroke-dasharray: 4 3; }
.clean { color: var(--ok); font-weight: 600; }
@media print {
  body { font-size: 10pt; padding: 0; max-width: none; }
  nav { display: none; }
  h2 { break-after: avoid; } tr, .summary div, svg.chart { break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  tbody tr:nth-child(even) { background: none; }
}
"""


def e(text: object) -> str:
    # Controls and bidi characters as the plan writes them (`\\u202e`): one in a live name
    # would reverse the text shown after it, so the page would not say what the account holds.
    return html.escape(printable(str(text)), quote=True)


# A store row's cells but its name and id take few distinct values (a status, a marketplace,
# "-", an expiry's words): each is escaped once, not once per store of a large account.
_cell: Final = functools.lru_cache(maxsize=4096)(e)


def _th(*names: str, num: tuple[int, ...] = ()) -> str:
    cells = "".join(
        f'<th scope="col"{" class=num" if i in num else ""}>{e(n)}</th>'
        for i, n in enumerate(names)
    )
    return f"<thead><tr>{cells}</tr></thead>"


def _chart(report: Report) -> str:
    weeks = report.timeline
    bar_w, gap, left, top, height = 12, 3, 36, 40, 160
    width = left + len(weeks) * (bar_w + gap) + 10
    most = max((w.lapsing for w in weeks), default=0)
    scale = height / most if most else 0
    window_weeks = sum(1 for w in weeks if w.in_window)
    total = sum(w.lapsing for w in weeks)
    busiest = max(weeks, key=lambda w: w.lapsing) if most else None
    desc = (
        f"{total} authorization(s) lapse in the next 365 days"
        + (
            f"; the busiest week is week {busiest.index + 1} (from "
            f"{busiest.start:%Y-%m-%d}) with {busiest.lapsing}"
            if busiest
            else ""
        )
        + f". The first {window_weeks} week(s) are inside the {report.reauthorize_days}-day "
        "renewal window. The table below lists the same numbers."
    )
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {top + height + 40}" role="img" '
        'aria-labelledby="chart-title chart-desc" xmlns="http://www.w3.org/2000/svg">',
        '<title id="chart-title">Authorizations lapsing per week, next 365 days</title>',
        f'<desc id="chart-desc">{e(desc)}</desc>',
        '<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff4e5"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#f0c890" stroke-width="2"/></pattern></defs>',
    ]
    if window_weeks:
        w_px = window_weeks * (bar_w + gap)
        parts.append(
            f'<rect class="window" x="{left - gap / 2}" y="{top - 14}" width="{w_px}" '
            f'height="{height + 14}"><title>renewal window: the first '
            f"{report.reauthorize_days} days</title></rect>"
        )
        parts.append(
            f'<text class="window-label" x="{left}" y="{top - 18}">renewal window '
            f"({report.reauthorize_days} days)</text>"
        )
    for w in weeks:
        h = round(w.lapsing * scale, 1)
        x = left + w.index * (bar_w + gap)
        cls = "bar in-window" if w.in_window else "bar"
        label = f"Week {w.index + 1} (from {w.start:%Y-%m-%d}): {w.lapsing} lapsing" + (
            ", inside the renewal window" if w.in_window else ""
        )
        parts.append(
            f'<rect class="{cls}" data-week="{w.index + 1}" data-lapsing="{w.lapsing}" '
            f'x="{x}" y="{top + height - h}" width="{bar_w}" height="{h}">'
            f"<title>{e(label)}</title></rect>"
        )
        if w.lapsing:
            parts.append(
                f'<text x="{x + bar_w / 2}" y="{top + height - h - 3}" '
                f'text-anchor="middle">{w.lapsing}</text>'
            )
        if w.index % 4 == 0:
            parts.append(f'<text x="{x}" y="{top + height + 14}">{w.start:%b %d}</text>')
    base = top + height
    parts.append(f'<line class="axis" x1="{left - 2}" y1="{base}" x2="{width - 6}" y2="{base}"/>')
    parts.append(f'<text x="2" y="{top + 4}">{most}</text><text x="2" y="{base}">0</text>')
    parts.append(f'<text x="{left}" y="{base + 32}">weeks from {report.created_at[:10]}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _timeline_table(weeks: tuple[Week, ...]) -> str:
    rows = [w for w in weeks if w.lapsing]
    if not rows:
        return "<p>No authorization lapses in the next 365 days.</p>"
    body = "".join(
        f'<tr><th scope="row">Week {w.index + 1}</th><td>{w.start:%Y-%m-%d}</td>'
        f'<td class="num">{w.lapsing}</td><td>{"yes" if w.in_window else "no"}</td></tr>'
        for w in rows
    )
    return (
        '<table class="timeline"><caption>Authorizations lapsing per week (weeks with '
        "none left out)</caption>"
        + _th("week", "from", "lapsing", "in renewal window", num=(2,))
        + f"<tbody>{body}</tbody></table>"
    )


def _status_cell(s: StoreRow, text: str) -> str:
    return (
        f'<td class="st st-{_cell(s.status)}"><span aria-hidden="true">{SYMBOLS[s.status]}'
        f"</span> {_cell(text)}</td>"
    )


def _store_row(s: StoreRow, now: datetime) -> str:
    c = store_cells(s, now)
    due = ' class="due"' if s.in_renewal_window else ""
    return (
        f'<tr><th scope="row">{e(s.name)}</th><td>{_cell(s.marketplace)}</td>'
        # An id is an int (or "-"), whose text has nothing to escape.
        f"<td>{s.store_id if s.store_id is not None else '-'}</td>{_status_cell(s, c.status)}"
        f"<td{due}>{_cell(c.expiry)}</td><td>{_cell(c.invitation)}</td>"
        f"<td>{_cell(c.seller)}</td><td>{_cell(c.connection)}</td>"
        f"<td>{_cell(c.channels)}</td><td>{_cell(c.drift)}</td></tr>"
    )


def render_html(report: Report) -> str:
    s = report.summary()
    title = f"dropstream-sync report, {report.created_at[:10]}"
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{e(POLICY)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{CSS}</style>",
        f"<script>{SCRIPT}</script></head><body>",
        "<header><h1>dropstream-sync report</h1>",
        f'<p class="meta">Made {e(report.created_at)} from {e(report.api_url or "DropStream")} '
        f"· dropstream-sync {e(report.tool_version)} · config {e(report.config_digest[:19])}</p>"
        "</header>",
        '<nav aria-label="Sections"><ul><li><a href="#summary">Summary</a></li>'
        '<li><a href="#timeline">Expiry timeline</a></li>'
        '<li><a href="#invitations">Pending invitations</a></li>'
        '<li><a href="#merchants">Merchants</a></li></ul></nav>',
        "<main>",
        '<section id="summary" aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2>',
    ]
    if report.blocked_reasons:
        out.append(
            '<div class="blocked" role="note"><p><strong>Blocked:</strong> a plan of '
            "this config is blocked by its safety checks:</p><ul>"
            + "".join(f"<li>{e(r)}</li>" for r in report.blocked_reasons)
            + "</ul></div>"
        )
    cards = [
        ("merchants", s["merchants"]),
        ("stores", s["stores"]),
        ("connections billed", s["connections_billed"]),
        ("planned connections", f"+{s['connections_to_bill']}"),
        *((STATUS_WORDS[st], s[st]) for st in STATUSES),
        ("drifted stores", s["drift"]),
        ("renewals due", s["renewals_due"]),
    ]
    out.append(
        '<dl class="summary">'
        + "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in cards)
        + "</dl>"
    )
    out.append(
        '<p class="clean">Clean: every store the config wants is authorized, with no drift and '
        "no renewal due.</p>"
        if not report.findings
        else f"<p>{report.findings} finding(s): stores that need someone (not authorized, "
        + ("authorization unreadable, " if s["unknown"] else "")
        + "drifted or due for renewal)"
        + (", and a blocked plan" if report.blocked_reasons else "")
        + ".</p>"
    )
    if s["unknown"]:
        out.append(f"<p>{s['unknown']} {e(UNKNOWN_NOTE)}.</p>")
    out.append("</section>")

    out.append(
        '<section id="timeline" aria-labelledby="h-timeline"><h2 id="h-timeline">Expiry '
        "timeline</h2><p>Amazon authorizations last 365 days and Amazon sends no notice "
        f"when one lapses. Bars inside the hatched band (the first {report.reauthorize_days}"
        " days) are due for renewal now: the next apply invites their merchants again, but "
        "where an invitation is already waiting, the merchant has no email in the config "
        "(renewed in the DropStream UI), max_invites_per_run holds it back, or the API has "
        "no invite endpoint (sent from the DropStream UI): the plan lists those as pending.</p>"
    )
    if report.already_expired:
        out.append(
            f"<p>{report.already_expired} authorization(s) already lapsed (not on the chart).</p>"
        )
    out.append(_chart(report))
    out.append(_timeline_table(report.timeline))
    out.append("</section>")

    out.append(
        '<section id="invitations" aria-labelledby="h-inv"><h2 id="h-inv">Pending invitations</h2>'
    )
    if report.invitations:
        out.append(
            '<table class="invitations"><caption>Oldest first</caption>'
            + _th("store", "merchant", "email", "age (days)", "sent", "expires", num=(3,))
            + "<tbody>"
        )
        out.extend(
            f'<tr><th scope="row">{e(i.store)}</th><td>{e(i.merchant)}</td><td>{e(i.email)}</td>'
            f'<td class="num">{i.age_days}</td><td>{i.created_at:%Y-%m-%d}</td>'
            f"<td>{i.expires_at:%Y-%m-%d} (in {i.expires_in_days} days){e(canceled_text(i))}"
            "</td></tr>"
            for i in report.invitations
        )
        out.append("</tbody></table>")
    else:
        out.append("<p>No invitation is waiting for a merchant.</p>")
    if report.repeated_expiries:
        out.append(
            "<h3>Invitations expired unanswered more than once</h3><table "
            'class="repeated">'
            + _th("merchant", "expired", "stores", "last expired", num=(1,))
            + "<tbody>"
        )
        out.extend(
            f'<tr><th scope="row">{e(r.merchant)}</th><td class="num">{r.expired}</td>'
            f"<td>{e(', '.join(f'{st} ({n})' for st, n in r.stores))}</td>"
            f"<td>{r.last_expired_at:%Y-%m-%d}</td></tr>"
            for r in report.repeated_expiries
        )
        out.append("</tbody></table>")
    out.append("</section>")

    out.append(
        '<section id="merchants" aria-labelledby="h-merchants"><h2 id="h-merchants">Merchants</h2>'
    )
    for n, m in enumerate(report.merchants):
        who = f" · invitations to {m.email}" if m.email else " · authorizes in the DropStream UI"
        exists = "" if m.exists else " · not in DropStream yet"
        out.append(
            f'<h3 id="m{n}">{e(m.name)}</h3><p class="meta">{len(m.stores)} store(s)'
            f"{e(who)}{e(exists)} · renewal window {m.reauthorize_days} days</p>"
        )
        out.append(
            f'<table class="stores" aria-labelledby="m{n}">'
            + _th(
                "store",
                "market",
                "id",
                "authorization",
                "expires",
                "invitation",
                "seller id",
                "connection",
                "channels",
                "drift",
            )
            + "<tbody>"
            + "".join(_store_row(st, report.now) for st in m.stores)
            + "</tbody></table>"
        )
    out.append("</section>")
    if report.warnings:
        out.append(
            '<section aria-labelledby="h-warn"><h2 id="h-warn">Warnings</h2><ul>'
            + "".join(f"<li>{e(w)}</li>" for w in report.warnings)
            + "</ul></section>"
        )
    out.append("</main></body></html>\n")
    return "\n".join(out)
