"""plan(desired, live, now) -> Plan: pure. No I/O, no clock, no printing.

1. Match each desired store to a live one: by pinned `id`, else by (merchant, store name).
2. Normalize live values the way desired ones already are (status sets, marketplace codes)
   and compare only the fields a user can declare, so server-managed fields never drift.
3. Decide the changes of product.md §2 per store, and the pending items.
4. Apply the invite budget, evaluate safety (§3), order deterministically.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from dropstream_sync import catalog
from dropstream_sync.desired import DesiredMerchant, DesiredState, DesiredStore, StoreSettings
from dropstream_sync.errors import PlanError
from dropstream_sync.live import (
    AUTH_UNREADABLE,
    AUTH_WORDS,
    PLATFORM_AMAZON,
    REQUEST_WORDS,
    UNREAD_SETTINGS_CHECK,
    UNREAD_SETTINGS_WHY,
    AuthorizationRequest,
    AuthStatus,
    Connection,
    Customer,
    LiveState,
    RequestStatus,
    Store,
    Warehouse,
    loose_name_key,
    name_key,
)
from dropstream_sync.planner import connections as _connections
from dropstream_sync.planner import health
from dropstream_sync.planner.details import (
    CancelInvite,
    CreateMerchant,
    CreateStore,
    Detail,
    Disable,
    Invite,
    NeutralizeDuplicate,
    Reinvite,
    UpdateStore,
    neutralized_name,
)
from dropstream_sync.planner.fingerprint import LiveFingerprint
from dropstream_sync.planner.model import (
    PHASE_OF,
    Change,
    FieldChange,
    Pending,
    PendingKind,
    Plan,
    Target,
)
from dropstream_sync.planner.model import ChangeKind as K
from dropstream_sync.planner.model import TargetType as T
from dropstream_sync.timestamps import utc_stamp


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else utc_stamp(moment)


def change_id(
    kind: str, merchant: str, store: str | None, target: Target, fields: Sequence[FieldChange]
) -> str:
    """Stable across runs: the same change gets the same id (never position or time)."""
    material = json.dumps(
        [
            kind,
            merchant,
            store,
            target.type,
            target.id,
            [[f.path, f.before, f.after] for f in fields],
        ],
        sort_keys=True,
        default=str,
    )
    return f"{kind}-{hashlib.sha256(material.encode()).hexdigest()[:12]}"


@dataclass
class _Index:
    customers: dict[str, list[Customer]] = field(default_factory=lambda: defaultdict(list))
    warehouses: dict[int, list[Warehouse]] = field(default_factory=lambda: defaultdict(list))
    stores_by_customer: dict[int, list[Store]] = field(default_factory=lambda: defaultdict(list))
    stores_by_id: dict[int, Store] = field(default_factory=dict)
    connections: dict[int, list[Connection]] = field(default_factory=lambda: defaultdict(list))
    connections_by_customer: dict[int, list[Connection]] = field(
        default_factory=lambda: defaultdict(list)
    )
    requests: dict[int, list[AuthorizationRequest]] = field(
        default_factory=lambda: defaultdict(list)
    )
    expired: dict[int, AuthorizationRequest] = field(default_factory=dict)  # the latest
    # Listed as pending, but with a status word the model does not know: the latest per store.
    unknown: dict[int, AuthorizationRequest] = field(default_factory=dict)

    @classmethod
    def of(cls, live: LiveState) -> _Index:
        ix = cls()
        for c in sorted(live.customers, key=_BY_ID):
            ix.customers[name_key(c.company_name)].append(c)
        for w in sorted(live.warehouses, key=_BY_ID):
            ix.warehouses[w.customer_id].append(w)
        for s in sorted(live.stores, key=_BY_ID):
            if s.platform == PLATFORM_AMAZON:
                ix.stores_by_customer[s.customer_id].append(s)
                ix.stores_by_id[s.id] = s
        for n in sorted(live.connections, key=_BY_ID):
            ix.connections[n.store_id].append(n)
            ix.connections_by_customer[n.customer_id].append(n)
        for r in sorted(live.authorization_requests, key=_BY_ID):
            if r.status == RequestStatus.PENDING:
                ix.requests[r.store_id].append(r)
            elif r.status not in REQUEST_WORDS:
                ix.unknown[r.store_id] = r
        for r in sorted(live.expired_authorization_requests, key=lambda r: (r.created_at, r.id)):
            ix.expired[r.store_id] = r
        return ix


class _Planner:
    def __init__(
        self,
        desired: DesiredState,
        live: LiveState,
        now: datetime,
        scope: Collection[str],
    ) -> None:
        self.desired = desired
        # store id -> the desired merchant and store that pin it, of the merchants outside
        # the plan's `scope` (the names planned): empty unless --merchant leaves some out
        self.pinned_outside = {
            s.id: (dm, s)
            for dm in desired.merchants
            if dm.name not in scope
            for s in dm.stores
            if s.id is not None
        }
        self.now = now
        self.ix = _Index.of(live)
        self.changes: list[Change] = []
        self.pending: list[Pending] = []
        self.errors: list[str] = []
        self.blocked: list[str] = []
        self.warnings: list[str] = []
        self.existing = 0
        self.suspicious_creates = 0  # create_store beside an unmatched live store
        self.neutralized: set[int] = set()  # live stores a neutralize_duplicate takes care of
        self.held: dict[int, bool] = {}  # store id -> held back: another seller authorized it
        # id(desired store) -> the ids of the warehouses it names (None: one does not exist),
        # looked up once per merchant; absent when it names none
        self.warehouses_named: dict[int, list[int] | None] = {}
        # loose name -> live customers (near_customers), built the first time it is asked
        self.near: dict[str, list[Customer]] | None = None

    def add(
        self,
        detail: Detail,
        merchant: str,
        store: str | None,
        target: Target,
        fields: Sequence[FieldChange] = (),
        depends_on: Sequence[str] = (),
    ) -> Change:
        kind = detail.KIND
        cid = change_id(kind, merchant, store, target, fields)
        change = Change(
            cid, kind, merchant, store, target, tuple(fields), tuple(depends_on), detail
        )
        self.changes.append(change)
        return change

    # -- merchants ---------------------------------------------------------------------------

    def merchant(self, m: DesiredMerchant) -> None:
        customers = self.ix.customers.get(name_key(m.name), [])
        if not customers:
            self.new_merchant(m)
            return
        kept, extras = customers[0], customers[1:]
        if extras:
            stuck = [why for x in extras if (why := self.stuck_customer(x))]
            if stuck:
                ids = ", ".join(str(c.id) for c in customers)
                self.errors.append(
                    f"merchant '{m.name}': {len(customers)} DropStream customers have this "
                    f"company name (ids {ids}), and {'; '.join(stuck)}, so it is not "
                    "neutralized automatically; rename all but one in DropStream"
                )
                return
            for x in extras:
                self.neutralize_customer(m, x, kept)
        self.existing_merchant(m, kept)

    # -- duplicates (product.md §2 neutralize_duplicate): the lowest id is kept ------------------

    def stuck_customer(self, x: Customer) -> str | None:
        """Why customer `x` cannot be neutralized (it has an enabled connection), or None."""
        live = [n for n in self.ix.connections_by_customer.get(x.id, []) if n.enabled]
        if live:
            return f"customer {x.id} has an enabled connection ({live[0].id})"
        return None

    def neutralize_customer(self, m: DesiredMerchant, x: Customer, kept: Customer) -> None:
        stores = self.ix.stores_by_customer.get(x.id, [])
        requests = tuple(r.id for ls in stores for r in self.ix.requests.get(ls.id, []))
        enabled = tuple(ls.id for ls in stores if ls.enabled)
        new_name = neutralized_name(x.company_name, kept.id)
        fields = _neutralizing(
            FieldChange("company_name", x.company_name, new_name),
            "stores.enabled" if enabled else None,
            "authorization_requests.status" if requests else None,
        )
        detail = NeutralizeDuplicate(
            "customer", x.id, kept.id, x.company_name, new_name, enabled, requests
        )
        self.add(detail, m.name, None, Target(T.CUSTOMER, x.id), fields)

    def neutralize_store(self, m: DesiredMerchant, s: DesiredStore, x: Store, kept: Store) -> None:
        requests = tuple(r.id for r in self.ix.requests.get(x.id, []))
        new_name = neutralized_name(x.name, kept.id)
        fields = _neutralizing(
            FieldChange("name", x.name, new_name),
            "enabled" if x.enabled else None,
            "authorization_request.status" if requests else None,
        )
        detail = NeutralizeDuplicate(
            "store", x.id, kept.id, x.name, new_name, (x.id,) if x.enabled else (), requests
        )
        self.add(detail, m.name, s.name, Target(T.STORE, x.id), fields)
        self.neutralized.add(x.id)

    def near_customers(self, m: DesiredMerchant) -> list[Customer]:
        """Live customers whose name differs from `m`'s only in letter case, spacing or
        compatibility forms (full-width letters, ligatures): not this merchant by the
        spec's comparison, but most likely meant to be. Indexed on first use: only a plan
        that creates a merchant asks."""
        if self.near is None:
            self.near = defaultdict(list)
            for key, customers in self.ix.customers.items():
                self.near[loose_name_key(key)].extend(customers)
        return sorted(self.near.get(loose_name_key(m.name), []), key=_BY_ID)

    def new_merchant(self, m: DesiredMerchant) -> None:
        near = self.near_customers(m)
        if near:
            named = ", ".join(f"{c.id} ({c.company_name!a})" for c in near)
            self.warnings.append(
                f"merchant '{m.name}' would be created as a new DropStream customer, but "
                f"live customer {named} differs from it only in letter case or spacing: a "
                "second merchant, whose stores are billed and whose invites are emailed "
                "again. If it is the same merchant, write its name exactly as DropStream has it"
            )
        created = self.add(
            CreateMerchant(m.name),
            m.name,
            None,
            Target(T.CUSTOMER),
            [FieldChange("company_name", None, m.name)],
        )
        for s in m.stores:
            if s.id is not None:
                # The pinned store exists elsewhere or not at all: either way not this one's.
                self.errors.append(
                    f"{s.source}: store id {s.id} ('{s.name}') is not an "
                    f"Amazon store of merchant '{m.name}', which does not "
                    "exist yet; remove the id to create a new store"
                )
                continue
            self.new_store(m, s, None, created.id)

    def existing_merchant(self, m: DesiredMerchant, customer: Customer) -> None:
        if customer.company_name != m.name:
            self.warnings.append(
                f"merchant '{m.name}': live customer {customer.id} is spelt "
                f"{customer.company_name!a}, the config {m.name!a}: the same name "
                "once Unicode-normalized, so it is this merchant (rename it in DropStream to "
                "stop this warning)"
            )
        for s in m.stores:
            # A misspelt warehouse is an error now, not months later when the merchant
            # has authorized and the connection is finally planned. (A store that names
            # none, nearly every one, has no entry.)
            if s.warehouses or s.warehouse is not None:
                self.warehouses_named[id(s)] = _connections.warehouse_ids(self, m, s, customer)
        live_stores = self.ix.stores_by_customer.get(customer.id, [])
        self.pinned_elsewhere(m, live_stores)
        self.existing += len(live_stores)
        before = len(self.changes)
        matched = self.match_stores(m, customer, live_stores)
        unlisted = [
            ls for ls in live_stores if ls.id not in matched and ls.id not in self.neutralized
        ]
        self.second_stores(m, self.changes[before:], unlisted)
        self.warnings.extend(health.mixed_sellers(m, live_stores))
        if m.prune and unlisted:
            disabled = sum(self.prune(m, ls) for ls in unlisted)
            if not matched and disabled:
                self.blocked.append(
                    f"prune would disable every store of merchant '{m.name}' "
                    f"({len(live_stores)}): is the merchant's name right?"
                )

    def pinned_elsewhere(self, m: DesiredMerchant, live_stores: Sequence[Store]) -> None:
        """A live store of `m` that a merchant outside the plan's scope (--merchant) pins
        by `id`: the whole plan stops there (that merchant's pin names another merchant's
        store), so the scoped plan must not prune, rename or update it instead. (A pin
        of a merchant in scope is reported by that merchant's own match.)"""
        if not self.pinned_outside:
            return  # the plan of the whole config, or no merchant left out pins a store
        for ls in live_stores:
            pinned = self.pinned_outside.get(ls.id)
            if pinned is None:
                continue
            other, s = pinned
            self.errors.append(
                f"{s.source}: store id {s.id} ('{s.name}') of merchant '{other.name}' is "
                f"live store '{ls.name}' of merchant '{m.name}', which this plan "
                "(--merchant) includes: remove the id, or list the store under "
                f"'{m.name}'; the plan of the whole config stops here too"
            )

    def seller_held(self, m: DesiredMerchant, ls: Store) -> bool:
        """Authorized by another seller than the merchant's pinned one: no connection is
        made or switched on for it until someone has looked (planner/health.py). Asked
        once per store; the warning is given once."""
        if ls.id not in self.held:
            why = health.seller_mismatch(m, ls)
            if why is not None:
                self.warnings.append(why)
            self.held[ls.id] = why is not None
        return self.held[ls.id]

    def connectable(self, m: DesiredMerchant, ls: Store) -> bool:
        """The wizard's Finalize may run for `ls`: authorized, by the expected seller."""
        return self.authorized(ls) and not self.seller_held(m, ls)

    def second_stores(
        self, m: DesiredMerchant, changes: Sequence[Change], unlisted: Sequence[Store]
    ) -> None:
        """Warn about each store created beside an unmatched live store of its marketplace
        (planner/health.py); each counts as suspicious for the safety thresholds."""
        if not unlisted:
            return  # the usual merchant: every live store is matched
        created = {c.store for c in changes if c.kind == K.CREATE_STORE}
        found = health.second_stores((s for s in m.stores if s.name in created), unlisted)
        # Prune disables only what is on: of a store already off, saying so would be false.
        self.warnings.extend(
            f.warning(m, m.prune and any(_connections.prunable(self, ls) for ls in f.live))
            for f in found
        )
        self.suspicious_creates += len(found)

    def match_stores(
        self, m: DesiredMerchant, customer: Customer, live_stores: list[Store]
    ) -> dict[int, DesiredStore]:
        """Plan each desired store against its live match (or as new); returns the matches."""
        matched: dict[int, DesiredStore] = {}
        pinned = {s.id for s in m.stores if s.id is not None}
        # Indexed once per merchant: matching stays linear in the number of stores.
        by_name: dict[str, list[Store]] = defaultdict(list)
        for ls in live_stores:
            if ls.id not in pinned:
                by_name[name_key(ls.name)].append(ls)
        for s in m.stores:
            same = by_name.get(name_key(s.name)) if s.id is None else None
            if same is not None and len(same) == 1 and same[0].name == s.name:
                live = same[0]  # nearly every store: the one live store of exactly its name
            else:
                errors_before = len(self.errors)
                found = self.match(m, s, customer, by_name)
                if found is None:
                    # No match at all means a new store; a match that failed (an error was
                    # just recorded) means nothing for this store.
                    if len(self.errors) == errors_before:
                        self.new_store(m, s, customer.id, None)
                    continue
                live = found
            if live.id in matched:
                self.errors.append(
                    f"{s.source}: store '{s.name}' and store "
                    f"'{matched[live.id].name}' both match live store {live.id}"
                )
                continue
            matched[live.id] = s
            self.existing_store(m, s, customer, live)
        return matched

    def match(
        self,
        m: DesiredMerchant,
        s: DesiredStore,
        customer: Customer,
        by_name: dict[str, list[Store]],
    ) -> Store | None:
        if s.id is not None:
            live = self.ix.stores_by_id.get(s.id)
            if live is None or live.customer_id != customer.id:
                self.errors.append(
                    f"{s.source}: store id {s.id} ('{s.name}') is not an Amazon "
                    f"store of merchant '{m.name}'; remove the id to create a "
                    "new store"
                )
                return None
            return live
        same = by_name.get(name_key(s.name), [])
        if len(same) > 1:
            # Another marketplace is another store (product.md): a namesake there is an
            # unlisted store of its own, never a duplicate to rename and switch off.
            here = [ls for ls in same if health.marketplace_code(ls) == s.marketplace]
            same = here or same
        if len(same) > 1:
            kept, extras = same[0], same[1:]
            stuck = [(x, n) for x in extras for n in self.ix.connections.get(x.id, []) if n.enabled]
            if stuck:
                ids = ", ".join(str(ls.id) for ls in same)
                x, n = stuck[0]
                self.errors.append(
                    f"{s.source}: store '{s.name}' of merchant '{m.name}' matches "
                    f"{len(same)} live stores (ids {ids}), and store {x.id} has an enabled "
                    f"connection ({n.id}), so it is not neutralized automatically; pin one "
                    "with `id:`"
                )
                return None
            for x in extras:
                self.neutralize_store(m, s, x, kept)
            return kept
        if same and same[0].name != s.name:
            self.warnings.append(
                f"{s.source}: live store {same[0].id} of merchant '{m.name}' is spelt "
                f"{same[0].name!a}, the config {s.name!a}: the same name once "
                "Unicode-normalized, so it is this store (the plan renames it to the config's "
                "spelling)"
            )
        return same[0] if same else None

    # -- stores ------------------------------------------------------------------------------

    def new_store(
        self,
        m: DesiredMerchant,
        s: DesiredStore,
        customer_id: int | None,
        merchant_change: str | None,
    ) -> None:
        fields = [
            FieldChange("name", None, s.name),
            FieldChange("marketplace", None, s.marketplace),
            *(FieldChange(k, None, v) for k, v in s.settings.to_dict().items()),
        ]
        detail = CreateStore(
            customer_id,
            s.name,
            catalog.BY_CODE[s.marketplace].marketplace_id,
            s.settings,
            customer_ref=merchant_change,
        )
        created = self.add(
            detail,
            m.name,
            s.name,
            Target(T.STORE),
            fields,
            [merchant_change] if merchant_change else [],
        )
        if not s.enabled:
            # A store switched off is kept, but nobody is asked to authorize it (documented).
            return
        if m.email:
            self.add(
                Invite(None, m.email, store_ref=created.id),
                m.name,
                s.name,
                Target(T.STORE),
                [FieldChange("authorization_request.email", None, m.email)],
                [created.id],
            )
        else:
            self.pending.append(self.needs_ui(m, s.name))

    def needs_ui(self, m: DesiredMerchant, store: str, renewal: str | None = None) -> Pending:
        message = (
            _NEEDS_UI
            if renewal is None
            else f"the merchant re-authorizes Amazon in the DropStream UI: {renewal} "
            "(no email in config)"
        )
        return Pending(_NEEDS_UI_KIND, m.name, store, message)

    def existing_store(
        self, m: DesiredMerchant, s: DesiredStore, customer: Customer, ls: Store
    ) -> None:
        known = catalog.BY_ID.get(ls.marketplace_id or "")
        live_code = known.code if known is not None else ls.marketplace_id
        if ls.marketplace_id is None:
            # Not another marketplace: one the answer did not give (another adapter shape).
            self.errors.append(
                f"{s.source}: store '{s.name}' (id {ls.id}): its marketplace could not be "
                "read from the live store (no marketplace in its adapter); run "
                "`dropstream-sync doctor` to see the adapter's keys"
            )
            return
        if live_code != s.marketplace:
            self.errors.append(
                f"{s.source}: store '{s.name}' is in marketplace {live_code} live, {s.marketplace} "
                "in the config; another marketplace is another store: add a new entry instead"
            )
            return
        self.update_store(m, s, ls)
        self.authorization(m, s, ls)
        _connections.plan_connections(self, m, s, customer, ls)

    def update_store(self, m: DesiredMerchant, s: DesiredStore, ls: Store) -> None:
        if ls.name == s.name and _as_configured(ls, s.settings):
            return  # nearly every store
        want = _desired_settings(s.settings)
        have = _live_settings(ls)
        fields: list[FieldChange] = []
        patch: dict[str, Any] = {}
        if ls.name != s.name:
            fields.append(FieldChange("name", ls.name, s.name))
        unread = ls.unread_settings
        if unread:
            self.warnings.append(
                f"{s.source}: store '{s.name}' (id {ls.id}) of merchant '{m.name}': "
                f"{', '.join(unread)} {UNREAD_SETTINGS_WHY}, so the plan neither compares nor "
                f"sends them; {UNREAD_SETTINGS_CHECK}"
            )
        if have != want:
            for key, before, after in zip(StoreSettings.names(), have, want, strict=True):
                if before != after and key not in unread:
                    fields.append(FieldChange(key, _wire(before), _wire(after)))
                    patch[key] = _wire(after)
        if fields:
            detail = UpdateStore(patch, s.name if ls.name != s.name else None)
            self.add(detail, m.name, s.name, Target(T.STORE, ls.id), fields)

    def authorized(self, ls: Store) -> bool:
        a = ls.authorization
        return a.status == _AUTHORIZED and (a.expires_at is None or a.expires_at > self.now)

    def authorization(self, m: DesiredMerchant, s: DesiredStore, ls: Store) -> None:
        requests = self.ix.requests.get(ls.id, ())
        request = requests[-1] if requests else None
        renewal: str | None = None
        expires: datetime | None = None
        if self.authorized(ls):
            expires = ls.authorization.expires_at
            if expires is None or not renewal_due(expires, self.now, m.reauthorize_days):
                # A renewal request still pending from a wider window is left to the merchant.
                return
            renewal = (
                f"the authorization expires {_iso(expires)} (in {(expires - self.now).days} days)"
            )
        if not s.enabled:
            if request is not None:
                self.cancel(m, s.name, request, "enabled: false: no authorization wanted")
            return
        status = ls.authorization.status
        if status not in AUTH_WORDS:
            # product.md invites for `missing`, `expired` or `revoked` only. A word the model
            # does not know may mean the store is authorized after all; an email cannot be
            # unsent, so nobody is invited (nor shown as needing to authorize) until a
            # person has looked.
            self.warnings.append(
                f"{s.source}: store '{s.name}' (id {ls.id}) of merchant '{m.name}': its "
                f"Amazon authorization {unknown_authorization(status)}: no invite is planned "
                f"and no connection is made or enabled for it; {CHECK_THE_STORE}"
            )
            return
        unknown = self.ix.unknown.get(ls.id) if request is None else None
        if unknown is not None:
            # The list asked for pending requests answered this one with another word: it may
            # well be a pending link, and a second invite is a second email.
            self.warnings.append(
                f"{s.source}: store '{s.name}' (id {ls.id}) of merchant '{m.name}': its "
                f"{unknown_invitation(unknown.id, unknown.status)}: no invite is planned "
                f"for it; {CHECK_THE_STORE}"
            )
            return
        if not m.email:
            if request is not None:
                self.cancel(m, s.name, request, "the merchant has no email in the config")
            self.pending.append(self.needs_ui(m, s.name, renewal))
            return
        field_change = [
            FieldChange("authorization_request.email", request.email if request else None, m.email)
        ]
        if request is None:
            if renewal is not None:
                # The product's reinvite: a new link before the old authorization lapses, so
                # orders keep flowing; nothing to cancel first.
                self.add(
                    Reinvite(ls.id, m.email, None, renewal, _iso(expires)),
                    m.name,
                    s.name,
                    Target(T.STORE, ls.id),
                    field_change,
                )
                return
            lapsed = self.lapsed_invitation(ls)
            if lapsed is not None:
                # Invited before and never answered: the spec's reinvite (nothing pending
                # to cancel), so the plan says the merchant already had a link.
                self.add(
                    Reinvite(
                        ls.id, m.email, None, f"the invitation expired on {_iso(lapsed.expires_at)}"
                    ),
                    m.name,
                    s.name,
                    Target(T.STORE, ls.id),
                    [FieldChange("authorization_request.email", lapsed.email, m.email)],
                )
                return
            reason = (
                f"authorization {AuthStatus.EXPIRED}"
                if status == AuthStatus.AUTHORIZED
                else f"authorization {status}"
            )
            self.add(
                Invite(ls.id, m.email, reason), m.name, s.name, Target(T.STORE, ls.id), field_change
            )
        elif request.expires_at <= self.now:
            self.add(
                Reinvite(
                    ls.id,
                    m.email,
                    request.id,
                    f"the invitation sent {_iso(request.created_at)} expired",
                ),
                m.name,
                s.name,
                Target(T.STORE, ls.id),
                field_change,
            )
        elif not same_address(request.email, m.email):
            self.add(
                Reinvite(ls.id, m.email, request.id, f"the invitation went to {request.email}"),
                m.name,
                s.name,
                Target(T.STORE, ls.id),
                field_change,
            )
        else:
            age = self.now - request.created_at
            self.pending.append(
                Pending(
                    PendingKind.AWAITING_MERCHANT,
                    m.name,
                    s.name,
                    f"waiting for {request.email} since {_iso(request.created_at)} "
                    f"(expires {_iso(request.expires_at)})",
                    {
                        "request_id": request.id,
                        "email": request.email,
                        "created_at": _iso(request.created_at),
                        "expires_at": _iso(request.expires_at),
                        "age_days": age.days,
                    },
                )
            )

    def lapsed_invitation(self, ls: Store) -> AuthorizationRequest | None:
        """The store's latest expired request, unless an authorization came after it (then
        the store's story is that authorization's, expired or revoked, not the old link)."""
        lapsed = self.ix.expired.get(ls.id)
        authorized_at = ls.authorization.authorized_at
        if lapsed is None or (authorized_at is not None and authorized_at >= lapsed.created_at):
            return None
        return lapsed

    def cancel(
        self, m: DesiredMerchant, store: str, request: AuthorizationRequest, reason: str
    ) -> None:
        self.add(
            CancelInvite(request.id, request.store_id, request.email, reason),
            m.name,
            store,
            Target(T.AUTHORIZATION_REQUEST, request.id),
            [
                FieldChange(
                    "authorization_request.status", RequestStatus.PENDING, RequestStatus.CANCELED
                )
            ],
        )

    def prune(self, m: DesiredMerchant, ls: Store) -> bool:
        for request in self.ix.requests.get(ls.id, []):
            self.cancel(m, ls.name, request, "pruned: the store is not in the config")
        return _connections.prune_store(self, m, ls)

    # -- budget, safety, order ---------------------------------------------------------------

    def invites(self) -> list[Change]:
        return [c for c in self.changes if isinstance(c.detail, Invite | Reinvite)]

    def to_pending(self, invites: Sequence[Change], kind: PendingKind, why: str) -> None:
        """Take `invites` out of the changes, each as a pending item of `kind`: `why` says
        what becomes of it, with `{kind}` and `{email}` filled in."""
        if not invites:
            return  # the usual plan: the changes are not copied for nothing
        # One filter pass: removing each from the list would be quadratic in a first run
        # over thousands of unauthorized stores.
        moved = {id(change) for change in invites}
        self.changes = [c for c in self.changes if id(c) not in moved]
        for change in invites:
            detail = change.detail
            assert isinstance(detail, Invite | Reinvite)
            email = detail.email
            self.pending.append(
                Pending(
                    kind,
                    change.merchant,
                    change.store or "",
                    why.format(kind=change.kind, email=email),
                    {"kind": str(change.kind), "email": email},
                )
            )

    def invites_from_ui(self) -> None:
        """Without an invite endpoint, each invite is a pending item a person does in the
        DropStream UI (the store wizard's Send to merchant); every other change stays."""
        self.to_pending(
            self.invites(),
            PendingKind.SEND_FROM_UI,
            "send from the DropStream UI (Send to merchant) to {email}: this API has no "
            "invite endpoint",
        )

    def invite_budget(self) -> None:
        budget = self.desired.safety.max_invites_per_run
        # Renewals first, soonest expiry first: those stores take orders today and stop when
        # their authorization lapses; a store not yet authorized loses nothing by waiting.
        held = sorted(self.invites(), key=_invite_order)[budget:]
        self.to_pending(
            held,
            PendingKind.QUEUED,
            f"{{kind}} to {{email}} queued: over max_invites_per_run ({budget}); the next run "
            "sends it",
        )

    def safety(self) -> None:
        s = self.desired.safety
        if self.existing == 0 or self.existing < s.min_existing:
            return
        # A neutralized duplicate is switched off for good: it counts as a disable. A store
        # created beside an unmatched live one in its marketplace is most likely that store
        # renamed: it counts as an update of it.
        for kinds, limit, label, extra in (
            # A store with a channel switched is updated too: `channels: {sales_order:
            # false}` stops its orders as surely as a setting can. A connection renamed after
            # its store is not (on a first run every connection may be, and nothing changes
            # for the orders).
            (
                (K.UPDATE_STORE, K.UPDATE_CHANNEL),
                s.max_update_percent,
                "update",
                self.suspicious_creates,
            ),
            ((K.DISABLE, K.NEUTRALIZE_DUPLICATE), s.max_disable_percent, "disable", 0),
        ):
            # Stores, not changes: a store's further connections are disables of their own.
            # Keyed by the live store's id, not its name: two pruned stores may share one.
            # Updates come from matched desired stores, whose names are unique per merchant.
            count = len({_store_key(c) for c in self.changes if c.kind in kinds}) + extra
            share = 100 * count / self.existing
            if share > limit:
                including = (
                    f", including {extra} store(s) created beside an unmatched live "
                    "store of their marketplace"
                    if extra
                    else ""
                )
                self.blocked.append(
                    f"the plan would {label} {count} of {self.existing} existing stores "
                    f"({_percent(share, limit)}% > max_{label}_percent {limit:g}%{including})"
                )


_BY_ID: Final = operator.attrgetter("id")
_PENDING_ORDER: Final = operator.attrgetter("merchant", "store", "kind")
_NEEDS_UI: Final = "the merchant authorizes Amazon in the DropStream UI (no email in config)"
# What a person does about a store the plan leaves alone because it could not tell its state:
# the plan's warnings and the report's `unknown` stores say it in these words.
CHECK_THE_STORE: Final = "run `dropstream-sync doctor` and check the store in DropStream"
# Enum members asked of every store, looked up once: a member's lookup through its class
# costs about ten times a global's on Python 3.11.
_AUTHORIZED: Final = AuthStatus.AUTHORIZED
_NEEDS_UI_KIND: Final = PendingKind.NEEDS_UI_AUTHORIZATION
_SETTINGS_OF: Final = operator.attrgetter(*StoreSettings.names())
_STATUSES_AT: Final = StoreSettings.names().index("import_order_statuses")


def unknown_authorization(status: str) -> str:
    """Why the plan invites nobody for a store whose authorization `status` is none of
    AuthStatus (the plan's warning and the report's `unknown` store both say it)."""
    if status == AUTH_UNREADABLE:
        return "could not be read from the live store (no authorization status in its adapter)"
    return (
        f"reads {str(status)!a}, which this tool does not know (it knows {', '.join(AuthStatus)})"
    )


def same_address(a: str, b: str) -> bool:
    """Whether an invitation sent to `a` went to the config's `b`: mail is delivered
    case-insensitively, and a server that lowercases must not loop us into reinviting
    (the plan's reinvite and the report's pending status both ask it)."""
    return a.casefold() == b.casefold()


def _meant(name: str, names: Sequence[str]) -> str:
    """`--merchant 'kumo stationery'` for the config's 'Kumo Stationery': the name exactly as
    the config spells it, the one a typo is closest to, or nothing."""
    key = loose_name_key(name)
    same = [n for n in names if loose_name_key(n) == key]
    if not same:
        import difflib

        folded = {loose_name_key(n): n for n in names}
        same = [folded[n] for n in difflib.get_close_matches(key, folded, n=1)]
    return f" (did you mean {same[0]!r}?)" if same else ""


def unknown_invitation(request_id: int, status: str) -> str:
    """An invitation listed among the pending ones under a word that is none of
    RequestStatus (the plan's warning and the report's `unknown` store both say it)."""
    return (
        f"invitation {request_id} reads {str(status)!a}, which this tool does not know "
        f"(it knows {', '.join(RequestStatus)})"
    )


def _as_configured(ls: Store, want: StoreSettings) -> bool:
    """Every setting read, and each exactly the configured value: the question asked of every
    store, answered without building the compared forms below (two-thirds of a store's
    update check). False says only "compare them": spellings and order may still agree."""
    return (
        not ls.unread_settings
        and ls.fulfillment_channel == want.fulfillment_channel
        and ls.fulfillment_latency == want.fulfillment_latency
        and ls.fulfillment_channel_code == want.fulfillment_channel_code
        and frozenset(ls.import_order_statuses) == want.import_order_statuses
    )


# _as_configured names the settings: a fifth one fails here, at import, not silently.
if StoreSettings.names() != (
    "fulfillment_channel",
    "import_order_statuses",
    "fulfillment_latency",
    "fulfillment_channel_code",
):
    raise AssertionError("planner.plan._as_configured must compare every StoreSettings field")


def _live_settings(ls: Store) -> tuple[Any, ...]:
    """A live store's settings in the order of `StoreSettings.names()`, collections as sorted
    tuples, statuses in their canonical spelling, so that only a real difference is a change
    (compared as one tuple: nearly every store has none)."""
    return _settings_form(_SETTINGS_OF(ls))


@functools.lru_cache(maxsize=4096)
def _settings_form(raw: tuple[Any, ...]) -> tuple[Any, ...]:
    # An account has a handful of distinct combinations of settings, shared by thousands of
    # stores: each is put in this form once.
    values = [tuple(sorted(v)) if isinstance(v, _COLLECTIONS) else v for v in raw]
    values[_STATUSES_AT] = catalog.canonical_statuses(tuple(raw[_STATUSES_AT]))
    return tuple(values)


@functools.lru_cache(maxsize=4096)
def _desired_settings(settings: StoreSettings) -> tuple[Any, ...]:
    """The same form of desired settings; a config repeats a few combinations many times."""
    return tuple(
        tuple(sorted(v)) if isinstance(v, _COLLECTIONS) else v for v in _SETTINGS_OF(settings)
    )


_COLLECTIONS: Final = (frozenset, set, tuple, list)


def renewal_due(expires_at: datetime, now: datetime, reauthorize_days: int) -> bool:
    """Whether an authorization expiring at `expires_at` is due for its renewal `reinvite`
    (within `reauthorize_days` of `now`); the report asks the same."""
    return expires_at - now <= timedelta(days=reauthorize_days)


def _wire(value: Any) -> Any:
    """A setting's value as a change shows it: a collection as a list (the wire form of
    `StoreSettings.to_dict()`)."""
    return list(value) if isinstance(value, tuple) else value


def _neutralizing(
    renamed: FieldChange, disabled: str | None, canceled: str | None
) -> list[FieldChange]:
    """The fields a neutralize_duplicate shows: the rename, then the field it switches off
    and the requests' status it cancels, each where there is one."""
    fields = [renamed]
    if disabled is not None:
        fields.append(FieldChange(disabled, True, False))
    if canceled is not None:
        fields.append(
            FieldChange(canceled, str(RequestStatus.PENDING), str(RequestStatus.CANCELED))
        )
    return fields


def _percent(share: float, limit: float) -> str:
    """`share` rounded to as few decimals as still show it above `limit`: 21 of 200 is
    "10.5", not "10" (which would read "10% > max_disable_percent 10%")."""
    for places in range(4):
        shown = f"{share:.{places}f}"
        if float(shown) > limit:
            return shown
    return str(share)


def _store_key(c: Change) -> object:
    """The store a change counts against for the safety thresholds."""
    if isinstance(c.detail, Disable):
        return c.detail.store_id
    if c.kind is K.NEUTRALIZE_DUPLICATE:
        return c.id
    return (c.merchant, c.store)


def _invite_order(c: Change) -> tuple[bool, str, str, str, str]:
    expires = c.detail.authorization_expires_at if isinstance(c.detail, Reinvite) else None
    return (expires is None, expires or "", c.merchant, c.store or "", c.id)


def refuse_unknown_merchants(desired: DesiredState, merchants: Collection[str] | None) -> None:
    """PlanError naming each of `merchants` (`--merchant`) that is no merchant of the config,
    with the name meant. The commands ask it as soon as the config is loaded, before they
    connect: a typo must not cost the token request and the whole account's read (nor be
    hidden behind a refused login). `plan` asks it too, as it cannot plan such a name."""
    if not merchants:
        return
    unknown = sorted(set(merchants) - desired.merchant_names())
    if unknown:
        known = sorted(desired.merchant_names())
        raise PlanError(
            [f"--merchant {name!r} is not in the config{_meant(name, known)}" for name in unknown]
        )


def plan(
    desired: DesiredState,
    live: LiveState,
    *,
    now: datetime,
    merchants: Collection[str] | None = None,
    warnings: Sequence[str] = (),
    api_url: str = "",
    account: str = "",
    tool_version: str = "",
    created_at: str = "",
) -> Plan:
    """What apply would change to make `live` match `desired`, at time `now`."""
    refuse_unknown_merchants(desired, merchants)
    wanted = set(merchants) if merchants else None
    scope = [
        m
        for m in sorted(desired.merchants, key=lambda m: m.name)
        if wanted is None or m.name in wanted
    ]
    planner = _Planner(desired, live, now, {m.name for m in scope})
    for m in scope:
        planner.merchant(m)
    if planner.errors:
        # One message per problem.
        raise PlanError(list(dict.fromkeys(planner.errors)))
    if live.authorization_requests_missing:
        planner.invites_from_ui()
    planner.invite_budget()
    planner.safety()
    names = tuple(m.name for m in scope)
    changes = sorted(
        planner.changes, key=lambda c: (PHASE_OF[c.kind], c.merchant, c.store or "", c.kind, c.id)
    )
    pending = sorted(planner.pending, key=_PENDING_ORDER)
    return Plan(
        changes=tuple(changes),
        pending=tuple(pending),
        warnings=(*warnings, *planner.warnings),
        blocked_reasons=tuple(dict.fromkeys(planner.blocked)),
        desired=desired,
        merchants=names,
        config_digest=desired.digest(),
        fingerprint=LiveFingerprint.of(live, names),
        created_at=created_at,
        api_url=api_url,
        account=account,
        tool_version=tool_version,
    )
