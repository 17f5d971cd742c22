"""An invitation that lapsed unanswered is invited again as a `reinvite` (issue 15.6)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from dropstream_sync.live import Authorization, AuthorizationRequest
from dropstream_sync.planner import Plan, plan
from dropstream_sync.render import render_text
from tests.planner.scenario import NOW, account, live_store, merchant, state, store


def lapsed(
    rid: int, sid: int, *, days_ago: int, email: str = "ops@acme.example"
) -> AuthorizationRequest:
    created = NOW - timedelta(days=days_ago)
    return AuthorizationRequest(rid, sid, 1, email, "expired", created, created + timedelta(days=7))


def run(authorization: Authorization | None, *expired: AuthorizationRequest) -> Plan:
    s = live_store(1, "Acme US", authorization=authorization or Authorization())
    live = replace(account(s), expired_authorization_requests=expired)
    return plan(state(merchant("Acme", store("Acme", "Acme US"))), live, now=NOW)


def test_a_store_whose_invitation_expired_is_reinvited_and_nothing_is_canceled() -> None:
    p = run(None, lapsed(7, 1, days_ago=20), lapsed(9, 1, days_ago=10))
    assert [c.kind for c in p.changes] == ["reinvite"]
    d = p.changes[0].detail.to_dict()
    # The latest of the lapsed requests is named, and nothing is pending to cancel.
    assert d["reason"] == "the invitation expired on 2026-11-23T12:00:00Z"
    assert d["cancel_request_id"] is None
    assert "re-invite ops@acme.example" in render_text(p)


def test_an_expired_request_older_than_the_last_authorization_is_history() -> None:
    revoked = Authorization("revoked", "A1SELLER", NOW - timedelta(days=5))
    p = run(revoked, lapsed(7, 1, days_ago=30))
    assert [c.kind for c in p.changes] == ["invite"]
    assert p.changes[0].detail.to_dict()["reason"] == "authorization revoked"


def test_a_store_never_invited_gets_a_first_invite() -> None:
    other_store = lapsed(7, 2, days_ago=10)  # another store's lapsed request changes nothing
    p = run(None, other_store)
    assert [c.kind for c in p.changes] == ["invite"]
