"""Is the record of an apply true? Its audit log (and `--format json` results, and printed
lines) compared, object by object, with what the sandbox really holds and really sent.

The truth is read from the sandbox's own SQLite file, not through the API: quirks rewrite
answers, faults drop them, and neither may colour the judge. `Truth.read` before and after
one or more applies gives what they made; `problems(before, after, records)` lists every
way the records misstate it (empty: the record is true):
- every `created_id` of a create that ended ok is an object this apply made (or, with a note
  saying so, one a concurrent apply made), of the recorded merchant/store;
- every object made, every invitation email sent and every billed connection made is claimed
  by exactly one record: as done (ok), as "may have taken effect" (unknown), or as a failure
  that names it (a connection made before a later step failed); or, found by a read after a
  lost answer, by records that each say "this apply made it, or a concurrent apply did";
- a record that says no email was sent (no connection made) is of an object made before, or
  by another record; nothing "failed" was made without saying so.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MADE_OUTCOMES = ("ok", "unknown")
NO_EMAIL = "this apply sent no email"
NO_CONNECTION = "this apply made no connection"
# Found by a read after a lost answer: this run's POST made it, or a concurrent run's did.
EITHER = "or a concurrent apply did"
# A write answered as done whose read-back failed.
UNCONFIRMED = "not confirmed"
INVITES = ("invite", "reinvite")


@dataclass(frozen=True)
class Truth:
    customers: dict[int, dict[str, Any]]
    stores: dict[int, dict[str, Any]]
    connections: dict[int, dict[str, Any]]
    requests: dict[int, dict[str, Any]]
    mails: dict[int, dict[str, Any]]  # outbox row id -> row
    channels: dict[tuple[int, str], dict[str, Any]]  # (connection id, type) -> row

    @classmethod
    def read(cls, state: Path, username: str | None = None) -> Truth:
        """The account of `username` (the only one, when None) in the state folder `state`."""
        db = sqlite3.connect(f"file:{state / 'sandbox.sqlite3'}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            if username is None:
                (account,) = [r["id"] for r in db.execute("SELECT id FROM accounts")]
            else:
                (account,) = [
                    r["id"]
                    for r in db.execute("SELECT id FROM accounts WHERE username = ?", (username,))
                ]

            def rows(table: str) -> dict[int, dict[str, Any]]:
                query = (
                    f"SELECT * FROM {table} WHERE account_id = ?"  # table: one of the five below
                )
                return {r["id"]: dict(r) for r in db.execute(query, (account,))}

            channels = {
                (r["connection_id"], r["type"]): dict(r)
                for r in db.execute(
                    "SELECT ch.* FROM channels ch JOIN connections c ON c.id = ch.connection_id"
                    " WHERE c.account_id = ?",
                    (account,),
                )
            }
            return cls(
                rows("customers"),
                rows("stores"),
                rows("connections"),
                rows("authorization_requests"),
                rows("outbox"),
                channels,
            )
        finally:
            db.close()


def read_audit(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def problems(before: Truth, after: Truth, records: list[dict[str, Any]]) -> list[str]:
    """Every way `records` (audit lines, or JSON results: the same keys) misstate what
    happened between `before` and `after`."""
    found: list[str] = []
    say = found.append
    new_customers = after.customers.keys() - before.customers.keys()
    new_stores = after.stores.keys() - before.stores.keys()
    new_connections = after.connections.keys() - before.connections.keys()
    new_mails = {
        m["authorization_request_id"] for k, m in after.mails.items() if k not in before.mails
    }
    mails_per_request = Counter(m["authorization_request_id"] for m in after.mails.values())

    def of(kind: str | tuple[str, ...]) -> list[dict[str, Any]]:
        kinds = (kind,) if isinstance(kind, str) else kind
        return [r for r in records if r["kind"] in kinds]

    def who(r: dict[str, Any]) -> str:
        return f"{r['kind']} {r['merchant']}/{r['store']} ({r['outcome']}, {r['change_id']})"

    def claims(kind: str | tuple[str, ...], *, unless: str | None = None) -> Counter[int]:
        """How many records say they surely made each id (not "sent no email", not "this
        apply or a concurrent one": those are `either`)."""
        return Counter(
            r["created_id"]
            for r in of(kind)
            if r["created_id"] is not None
            and not (unless and unless in (r["note"] or ""))
            and EITHER not in (r["note"] or "")
        )

    def either(kind: str | tuple[str, ...]) -> Counter[int]:
        return Counter(
            r["created_id"]
            for r in of(kind)
            if r["created_id"] is not None and EITHER in (r["note"] or "")
        )

    def by(kind: str | tuple[str, ...], ident: int) -> str:
        return "; ".join(
            who(r) + f" note={r['note']!r}" for r in of(kind) if r["created_id"] == ident
        )

    # -- customers ------------------------------------------------------------------------
    made, maybe = claims("create_merchant"), either("create_merchant")
    for r in of("create_merchant"):
        cid = r["created_id"]
        if r["outcome"] == "ok":
            if cid not in new_customers:
                say(f"{who(r)}: created_id {cid} is not a customer made by this apply")
            kept = r["target"]["id"]
            if after.customers.get(kept, {}).get("company_name") != r["merchant"]:
                say(f"{who(r)}: target customer {kept} is not named {r['merchant']!r}")
            if cid != kept and "concurrent apply" not in (r["note"] or ""):
                say(f"{who(r)}: created {cid} but uses {kept} without a note saying why")
    for cid in new_customers:
        name = after.customers[cid]["company_name"]
        if made[cid] > 1:
            say(f"customer {cid} ({name!r}) is claimed as made by {by('create_merchant', cid)}")
        if made[cid] + maybe[cid] == 0 and not _maybe(records, "create_merchant", merchant=name):
            say(f"customer {cid} ({name!r}) was made, but no record says so")

    # -- stores ----------------------------------------------------------------------------
    made, maybe = claims("create_store"), either("create_store")
    for r in of("create_store"):
        sid = r["created_id"]
        if r["outcome"] == "ok":
            if sid not in new_stores:
                say(f"{who(r)}: created_id {sid} is not a store made by this apply")
            kept = after.stores.get(r["target"]["id"], {})
            if kept.get("name") != r["store"]:
                say(f"{who(r)}: target store {r['target']['id']} is not named {r['store']!r}")
    for sid in new_stores:
        store = after.stores[sid]
        if made[sid] > 1:
            say(f"store {sid} ({store['name']!r}) is claimed as made by {by('create_store', sid)}")
        if made[sid] + maybe[sid] == 0 and not _maybe(records, "create_store", store=store["name"]):
            say(f"store {sid} ({store['name']!r}) was made, but no record says so")

    # -- invitations: requests and the emails sent -------------------------------------------
    sent, maybe = claims(INVITES, unless=NO_EMAIL), either(INVITES)
    for r in of(INVITES):
        rid = r["created_id"]
        if rid is None:
            continue
        request = after.requests.get(rid)
        if request is None:
            say(f"{who(r)}: created_id {rid} is no authorization request")
            continue
        if r["outcome"] == "ok" and request["store_id"] != r["target"]["id"]:
            say(f"{who(r)}: request {rid} is of store {request['store_id']}, not the target")
        says_none = NO_EMAIL in (r["note"] or "")
        if says_none and rid in new_mails and sent[rid] + maybe[rid] == 0:
            say(f"{who(r)}: says it sent no email, but request {rid}'s email was sent now")
        if not says_none and r["outcome"] == "ok" and rid not in new_mails:
            say(f"{who(r)}: recorded as sending request {rid}'s email, but none was sent now")
    for rid in new_mails:
        store = after.stores[after.requests[rid]["store_id"]]["name"]
        if mails_per_request[rid] != 1:
            say(f"request {rid} ({store!r}) sent {mails_per_request[rid]} emails")
        if sent[rid] > 1:
            say(f"request {rid}'s email ({store!r}) is recorded as sent by {by(INVITES, rid)}")
        if sent[rid] + maybe[rid] == 0 and not _maybe(records, INVITES, store=store):
            say(f"request {rid}'s email ({store!r}) was sent, but no record says so")
    for r in of(INVITES):
        if r["outcome"] == "failed" and r["created_id"] is None:
            store_id = r["target"]["id"]
            unclaimed = [
                rid
                for rid in new_mails
                if after.requests[rid]["store_id"] == store_id and sent[rid] + maybe[rid] == 0
            ]
            if unclaimed:
                say(f"{who(r)}: failed, but request(s) {unclaimed} of its store were sent")

    # -- connections (billed) ----------------------------------------------------------------
    made, maybe = claims("create_connection", unless=NO_CONNECTION), either("create_connection")
    for r in of("create_connection"):
        cid = r["created_id"]
        if cid is None:
            continue
        connection = after.connections.get(cid)
        if connection is None:
            say(f"{who(r)}: created_id {cid} is no connection")
            continue
        if after.stores[connection["store_id"]]["name"] != r["store"]:
            say(f"{who(r)}: connection {cid} is not of store {r['store']!r}")
        says_none = NO_CONNECTION in (r["note"] or "")
        if says_none and cid in new_connections and made[cid] + maybe[cid] == 0:
            say(f"{who(r)}: says it made no connection, but connection {cid} was made now")
        if not says_none and cid not in new_connections:
            say(f"{who(r)}: recorded as making connection {cid}, but it was not made now")
        if r["outcome"] == "failed" and not says_none and "billed" not in (r["note"] or ""):
            say(f"{who(r)}: failed after making connection {cid} without saying it is billed")
    for cid in new_connections:
        store = after.stores[after.connections[cid]["store_id"]]["name"]
        if made[cid] > 1:
            claimers = by("create_connection", cid)
            say(f"connection {cid} ({store!r}) is recorded as made by {claimers}")
        if made[cid] + maybe[cid] == 0 and not _maybe(records, "create_connection", store=store):
            say(f"connection {cid} ({store!r}) was made (billed), but no record says so")

    # -- writes answered "done": each took, or the record says it was not confirmed ---------
    def done(r: dict[str, Any]) -> bool:
        return r["outcome"] == "ok" and UNCONFIRMED not in (r["note"] or "")

    for r in of("update_store"):
        updated = after.stores.get(r["target"]["id"])
        if not done(r) or updated is None:
            continue
        adapter = json.loads(updated["adapter"])
        for f in r["fields"]:
            now = updated["name"] if f["path"] == "name" else adapter.get(f["path"])
            if _setting(now) != _setting(f["after"]):
                say(f"{who(r)}: done, but {f['path']} reads {now!r}, not {f['after']!r}")
    for r in of(("enable", "disable")):
        switched = after.stores.get(r["target"]["id"])
        if not done(r) or switched is None:
            continue
        on = r["kind"] == "enable"
        live = [("store", switched)] + [
            ("connection", c) for c in after.connections.values() if c["store_id"] == switched["id"]
        ]
        for what, obj in live:
            if (obj["enabled_at"] is not None) != on:
                say(f"{who(r)}: done, but {what} {obj['id']} reads {'dis' if on else 'en'}abled")
    for r in of(("create_connection", "update_channel")):
        connection = r["created_id"] if r["kind"] == "create_connection" else r["target"]["id"]
        if not done(r) or connection is None:
            continue
        for f in r["fields"]:
            kind = f["path"].removeprefix("channels.")
            channel = after.channels.get((connection, kind))
            on = channel is not None and channel["enabled_at"] is not None
            if f["path"].startswith("channels.") and channel is not None and on != f["after"]:
                say(f"{who(r)}: done, but channel {kind} of {connection} reads {on}")
    for r in of("cancel_invite"):
        request = after.requests.get(r["target"]["id"])
        if done(r) and request is not None and request["status"] == "pending":
            say(f"{who(r)}: done, but request {request['id']} is still pending")
    return found


def _setting(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value


def _maybe(
    records: list[dict[str, Any]],
    kinds: str | tuple[str, ...],
    *,
    merchant: str | None = None,
    store: str | None = None,
) -> bool:
    """Whether a record of that object says it may have made it without naming it (an
    unknown outcome), or that it cannot tell which of the look-alikes it made."""
    kinds = (kinds,) if isinstance(kinds, str) else kinds
    return any(
        r["kind"] in kinds
        and (
            (r["outcome"] == "unknown" and r["created_id"] is None)
            # Found by a read after a lost answer, among look-alikes: which it made, the
            # record says it cannot tell.
            or EITHER in (r["note"] or "")
        )
        and (merchant is None or r["merchant"] == merchant)
        and (store is None or r["store"] == store)
        for r in records
    )


def same_story(
    audit: list[dict[str, Any]], results: list[dict[str, Any]], lines: list[str] | None = None
) -> list[str]:
    """The audit log, the JSON results and the printed lines tell one story: the same
    changes, each with one outcome, created_id and note."""
    found: list[str] = []
    key = ("change_id", "outcome", "created_id", "note", "error")
    told = sorted(tuple(str(r[k]) for k in key) for r in audit)
    shown = sorted(tuple(str(r["id" if k == "change_id" else k]) for k in key) for r in results)
    if told != shown:
        found.append(f"audit log and JSON results differ:\n{told}\n{shown}")
    if lines is not None:
        symbols = {"ok": "✓", "failed": "✗", "unknown": "?", "skipped": "·"}
        expected = Counter(f"{symbols[r['outcome']]} {r['kind']} {r['merchant']}" for r in audit)
        printed = Counter(
            " ".join(line.split(" ")[:2]) + " " + _merchant_of(line, audit)
            for line in lines
            if line[:1] in symbols.values()
        )
        if expected != printed:
            found.append(f"printed lines and audit log differ: {printed} vs {expected}")
    return found


def _merchant_of(line: str, audit: list[dict[str, Any]]) -> str:
    rest = line.split(" ", 2)[2] if line.count(" ") >= 2 else ""
    names = sorted({r["merchant"] for r in audit}, key=len, reverse=True)
    return next((n for n in names if rest.startswith(n)), "?")
