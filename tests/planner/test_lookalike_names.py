"""Look-alike names are not new merchants (issue 13.7, planner side): a live customer or
store whose name equals a desired one only once Unicode-normalized (NFC, invisible format
characters and surrounding spaces ignored) is matched, never planned again, and the plan
warns with both spellings."""

from __future__ import annotations

import unicodedata

import pytest

from dropstream_sync.live import Customer, name_key
from dropstream_sync.planner import ChangeKind, plan
from dropstream_sync.planner.fingerprint import live_fingerprint
from tests.planner.scenario import NOW, account, connected, live_store, merchant, state, store

NFC = unicodedata.normalize("NFC", "Café Ltd")
NFD = unicodedata.normalize("NFD", "Café Ltd")
LOOKALIKES = {
    "nfd": NFD,
    "trailing-space": NFC + " ",
    "zero-width-space": "Caf\u200bé Ltd",
    "bidi-mark": "\u200eCafé Ltd",
}


def test_the_spellings_differ_but_their_key_is_one() -> None:
    assert NFC != NFD
    assert {name_key(n) for n in (NFC, *LOOKALIKES.values())} == {NFC}
    assert name_key("Cafe Ltd") != NFC  # a different letter is a different name


@pytest.mark.parametrize("live_name", LOOKALIKES.values(), ids=LOOKALIKES.keys())
def test_a_look_alike_live_customer_is_this_merchant_not_a_new_one(live_name: str) -> None:
    desired = state(merchant(NFC, store(NFC, "Café US")))
    s, c = connected(1, "Café US")
    live = account(s, connections=(c,), customers=(Customer(1, live_name),))

    p = plan(desired, live, now=NOW)

    assert [c.kind for c in p.changes] == []
    (warning,) = p.warnings
    assert "live customer 1 is spelt " + ascii(live_name) in warning
    assert "the config " + ascii(NFC) in warning
    # The stale check covers what was matched: the customer and its store are in the index.
    assert {"customer/1", "store/1"} <= set(p.live_index)


def test_the_desired_name_may_be_the_decomposed_one() -> None:
    desired = state(merchant(NFD, store(NFD, "Shop US")))
    p = plan(desired, account(live_store(1, "Shop US"), customers=(Customer(1, NFC),)), now=NOW)
    assert ChangeKind.CREATE_MERCHANT not in {c.kind for c in p.changes}
    assert ascii(NFC) in p.warnings[0] and ascii(NFD) in p.warnings[0]


@pytest.mark.parametrize(
    "live_name",
    [unicodedata.normalize("NFD", "Café US"), "Café US ", "Café\u200b US"],
    ids=["nfd", "trailing-space", "zero-width-space"],
)
def test_a_look_alike_live_store_is_matched_and_renamed_to_the_configs_spelling(
    live_name: str,
) -> None:
    desired = state(merchant("Acme", store("Acme", unicodedata.normalize("NFC", "Café US"))))
    s, c = connected(1, live_name)
    p = plan(desired, account(s, connections=(c,)), now=NOW)

    kinds = sorted(c.kind for c in p.changes)
    assert ChangeKind.CREATE_STORE not in kinds and ChangeKind.INVITE not in kinds
    (rename,) = [c for c in p.changes if c.kind == ChangeKind.UPDATE_STORE]
    assert rename.target.id == 1
    assert [(f.path, f.before, f.after) for f in rename.fields] == [
        ("name", live_name, unicodedata.normalize("NFC", "Café US"))
    ]
    (warning,) = p.warnings
    assert "live store 1 of merchant 'Acme' is spelt " + ascii(live_name) in warning


def test_two_look_alike_live_customers_are_two_customers_of_one_name() -> None:
    # Duplicates by spelling are duplicates: the higher id is proposed for neutralizing.
    desired = state(merchant(NFC, store(NFC, "Shop US")))
    live = account(customers=(Customer(1, NFC), Customer(2, NFD)))
    made = plan(desired, live, now=NOW)
    neutralized = [c for c in made.changes if c.kind == "neutralize_duplicate"]
    assert [(c.target.type, c.target.id) for c in neutralized] == [("customer", 2)]


def test_exact_names_give_no_warning_and_the_fingerprint_matches_by_key() -> None:
    desired = state(merchant(NFC, store(NFC, "Shop US")))
    live = account(live_store(1, "Shop US"), customers=(Customer(1, NFC),))
    assert plan(desired, live, now=NOW).warnings == ()
    assert live_fingerprint(live, [NFD]) == live_fingerprint(live, [NFC])


@pytest.mark.parametrize(
    "desired_name",
    ["ACME Outdoors", "Acme  Outdoors", "\uff21\uff43\uff4d\uff45 Outdoors"],
    ids=["case", "spacing", "full-width"],
)
def test_a_new_merchant_named_like_a_live_customer_but_for_case_or_spacing_is_warned_about(
    desired_name: str,
) -> None:
    # Not the same name (the spec compares after NFC only), so it is created as asked; but it
    # is most likely the live one, and the plan would bill its stores and email its invites
    # a second time.
    desired = state(merchant(desired_name, store(desired_name, "Acme US")))
    live = account(customers=(Customer(7, "Acme Outdoors"), Customer(8, "Bella")))
    p = plan(desired, live, now=NOW)
    assert [c.kind for c in p.changes] == ["create_merchant", "create_store", "invite"]
    (warning,) = p.warnings
    assert warning.startswith(
        f"merchant '{desired_name}' would be created as a new DropStream customer, but live "
        "customer 7 ('Acme Outdoors') differs from it only in letter case or spacing"
    )
    assert plan(state(merchant("Acme Outdoorsy")), live, now=NOW).warnings == ()
