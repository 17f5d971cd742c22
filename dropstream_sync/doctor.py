"""`doctor`: checks a live DropStream API against the model the tool is built on.

Every check is one line with a mark (✓ holds, ✗ fails, ? could not be confirmed or holds
differently) and, for ✗ and ?, what it means for plan and apply and what to do. It reads
only, through the read-only client (the token request is its only POST), so it is safe to
run against any account. docs/doctor.md explains each check.

The account: the model has no endpoint that names an account [doc: none documented], so
the doctor identifies it by the login (or a digest of a ready token) and a fingerprint of
the customer ids the login sees: two logins of one account see the same customers.

Exit codes (`Report.exit_code`), the first failing kind in this order wins:
    0 every check holds (? alone is 0)   3 transport: the URL does not answer as an API
    4 auth: the login or token refused   6 pagination: a list is not read whole
    5 shape: objects differ from the model
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from dropstream_sync.client import ReadClient, api
from dropstream_sync.client.probe import Answer, Probe
from dropstream_sync.errors import ApiError, PartialReadError, printable

FORMAT_VERSION: Final = "1"

OK: Final = "ok"
FAIL: Final = "fail"
WARN: Final = "warn"
MARKS: Final = {OK: "✓", FAIL: "✗", WARN: "?"}

TRANSPORT: Final = "transport"
AUTH: Final = "auth"
SHAPE: Final = "shape"
PAGINATION: Final = "pagination"
INFO: Final = "info"
EXIT_CODES: Final = {TRANSPORT: 3, AUTH: 4, PAGINATION: 6, SHAPE: 5}

SMALL_PAGE: Final = 2  # the page size that tests whether per_page and page are honoured

STOPS_PLAN: Final = "plan and apply stop with an error rather than act on a partial read"
REPORT_IT: Final = (
    "open an issue with this output (it holds no credential) so the model in "
    "client/api.py can be corrected"
)


# A check in the JSON output, in the order docs/doctor.md gives.
CHECK_KEYS: Final = ("id", "status", "kind", "summary", "means", "do")


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report: `status` is OK, FAIL or WARN; a failure's `kind` picks the
    exit code (EXIT_CODES); the text shows `means` and `do` only when it does not hold."""

    id: str
    status: str
    summary: str
    kind: str = INFO
    means: str = ""  # for plan and apply
    do: str = ""

    def as_dict(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in CHECK_KEYS}


@dataclass(frozen=True, slots=True)
class Report:
    api_url: str
    checks: tuple[Check, ...]

    @property
    def exit_code(self) -> int:
        failed = {c.kind for c in self.checks if c.status == FAIL}
        for kind, code in EXIT_CODES.items():
            if kind in failed:
                return code
        return 1 if failed else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "api_url": self.api_url,
            "exit_code": self.exit_code,
            "checks": [c.as_dict() for c in self.checks],
        }

    def text(self) -> str:
        # A summary quotes what the server said (an error message, a Location, a body's
        # start): its escape sequences and bidi controls must not reach the terminal.
        lines = [f"dropstream-sync doctor: {printable(self.api_url)}"]
        for check in self.checks:
            lines.append(f"{MARKS[check.status]} {check.id}: {printable(check.summary)}")
            if check.status != OK:
                if check.means:
                    lines.append(f"    means: {printable(check.means)}")
                if check.do:
                    lines.append(f"    do: {printable(check.do)}")
        fails = sum(c.status == FAIL for c in self.checks)
        warns = sum(c.status == WARN for c in self.checks)
        lines.append(f"{fails} failed, {warns} to look at, exit {self.exit_code}")
        return "\n".join(lines) + "\n"


ReadList = Callable[[ReadClient], Awaitable[Sequence[Any]]]


@dataclass(frozen=True, slots=True)
class _List:
    name: str
    path: str
    query: Mapping[str, Any]
    read: ReadList


def _lists() -> tuple[_List, ...]:
    # The two lists read filtered: each probed with the query its reader (the lambda) sends.
    amazon = api.stores_query(platform=api.AMAZON)
    pending = api.authorization_requests_query(status=api.PENDING)
    return (
        _List("customers", api.CUSTOMERS, {}, lambda c: c.list_customers()),
        _List("warehouses", api.WAREHOUSES, {}, lambda c: c.list_warehouses()),
        _List("stores", api.STORES, amazon, lambda c: c.list_stores(api.AMAZON)),
        _List("connections", api.CONNECTIONS, {}, lambda c: c.list_connections()),
        _List(
            "authorization_requests",
            api.AUTHORIZATION_REQUESTS,
            pending,
            lambda c: c.list_authorization_requests(api.PENDING),
        ),
    )


@dataclass
class _Seen:
    answers: list[Answer] = field(default_factory=list)
    items: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)
    read_ids: dict[str, list[int]] = field(default_factory=dict)


async def diagnose(client: ReadClient) -> Report:
    """Run every check through `client` (read-only); never raises for an API's answer."""
    probe = Probe(client)
    seen = _Seen()
    checks: list[Check] = []
    if probe.uses_login:
        token = await probe.token()
        seen.answers.append(token)
        checks.append(_url_check(client.api_url, token, f"POST {api.TOKEN_PATH}"))
        if token.status is None or checks[-1].status == FAIL:
            # Not the API there: a login check would only blame the password.
            return Report(client.api_url, tuple(checks))
        checks.append(_login_check(token))
        if checks[-1].status == FAIL:
            return Report(client.api_url, tuple(checks))
    else:
        first = await probe.get(api.CUSTOMERS, {api.PER_PAGE_PARAM: 1, api.PAGE_PARAM: 1})
        checks.append(_url_check(client.api_url, first, f"GET {api.CUSTOMERS}"))
        if first.status is None or checks[-1].status == FAIL:
            return Report(client.api_url, tuple(checks))
        if first.status in (401, 403):
            checks.append(
                Check(
                    "login",
                    FAIL,
                    f"the token in DROPSTREAM_TOKEN was refused ({first.status})",
                    AUTH,
                    "nothing can be read or planned",
                    "get a new token, or set DROPSTREAM_USERNAME and "
                    "DROPSTREAM_PASSWORD so the tool gets its own",
                )
            )
            return Report(client.api_url, tuple(checks))
        checks.append(
            Check(
                "login",
                WARN,
                "a ready token (DROPSTREAM_TOKEN) is accepted; its lifetime is unknown",
                AUTH,
                "a run that outlives the token fails with an auth error and cannot renew it",
                "prefer DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD for long applies",
            )
        )
    list_checks = [await _check_list(client, probe, spec, seen) for spec in _lists()]
    checks.append(_account_check(client, seen))
    checks.extend(list_checks)
    checks.append(_shape_check(seen))
    checks.append(_adapter_check(seen))
    checks.append(_requests_endpoint_check(seen))
    checks.append(_rate_check(seen))
    return Report(client.api_url, tuple(checks))


# -- the URL and the login ---------------------------------------------------------------


def _url_check(url: str, answer: Answer, what: str) -> Check:
    if answer.status is None:
        # The error's own advice is to run doctor, which this is: its `do` line says the rest.
        reason = answer.error.message if answer.error else "no answer"
        return Check(
            "url",
            FAIL,
            reason,
            TRANSPORT,
            "nothing can be read, planned or applied",
            "check the URL (--api-url / DROPSTREAM_API_URL), the network, proxy and "
            "TLS; for a local sandbox start one with `dropstream-sync sandbox serve`",
        )
    if 300 <= answer.status < 400:
        target = answer.header("Location") or "no Location given"
        return Check(
            "url",
            FAIL,
            f"{url} redirects {what} to {target} (HTTP {answer.status})",
            TRANSPORT,
            "nothing can be read, planned or applied: the tool follows no redirect (one "
            "could carry the login or token to another host)",
            "check the URL: it is the API's base, e.g. https://api.getdropstream.com; if "
            "the redirect names the API's new address, use that",
        )
    if answer.status in (404, 405) or (answer.status >= 500):
        return Check(
            "url",
            FAIL,
            f"{url} answers HTTP {answer.status} to {what}, not as the DropStream API",
            TRANSPORT,
            "nothing can be read, planned or applied",
            "check the URL: it is the API's base, e.g. https://api.getdropstream.com",
        )
    return Check("url", OK, f"{url} answers (HTTP {answer.status} to {what})")


def _login_check(token: Answer) -> Check:
    if token.status in (401, 403) or not token.ok:
        return Check(
            "login",
            FAIL,
            f"the login was refused (HTTP {token.status})",
            AUTH,
            "nothing can be read, planned or applied",
            "check DROPSTREAM_USERNAME and DROPSTREAM_PASSWORD (or "
            "DROPSTREAM_PASSWORD_FILE): an ordinary DropStream login",
        )
    body = token.body if isinstance(token.body, dict) else {}
    if not isinstance(body.get("access_token"), str):
        return Check(
            "login",
            FAIL,
            "the token answer has no access_token",
            AUTH,
            "nothing can be read, planned or applied",
            REPORT_IT,
        )
    lifetime = body.get(api.EXPIRES_IN_KEY)
    if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0:
        return Check("login", OK, f"token issued, {api.EXPIRES_IN_KEY} {lifetime:g} s")
    fallback = api.TOKEN_LIFETIME_FALLBACK_SECONDS
    return Check(
        "login",
        WARN,
        f"token issued without {api.EXPIRES_IN_KEY}",
        AUTH,
        f"the client assumes {fallback:g} s and gets a new token on a 401, so plan "
        "and apply work; a shorter lifetime only costs a retried request",
        "nothing, unless applies fail with auth errors midway: then report it",
    )


# -- lists -------------------------------------------------------------------------------


def _items_of(answer: Answer) -> tuple[list[Mapping[str, Any]] | None, list[str]]:
    """The items of a list answer and its envelope keys (None: not a list at all)."""
    body = answer.body
    if isinstance(body, list):
        return [i for i in body if isinstance(i, Mapping)], []
    keys = api.envelope_keys(body)
    if keys and isinstance(body, dict):
        lists = (body[k] for k in ("data", "items", "results") if isinstance(body.get(k), list))
        data: list[Any] = next(lists, [])
        return [i for i in data if isinstance(i, Mapping)], keys
    return None, []


def _ids(items: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [i.get(api.ID_KEY) for i in items]


async def _check_list(client: ReadClient, probe: Probe, spec: _List, seen: _Seen) -> Check:
    cid = f"list {spec.name}"
    first = await probe.get(
        spec.path, {**spec.query, api.PER_PAGE_PARAM: api.PER_PAGE, api.PAGE_PARAM: 1}
    )
    seen.answers.append(first)
    if not first.ok:
        return _list_failure(cid, spec, first)
    items, envelope = _items_of(first)
    if items is None:
        return Check(
            cid,
            FAIL,
            f"GET {spec.path} answered neither a list nor a known envelope",
            SHAPE,
            "plan and apply stop with an error",
            REPORT_IT,
        )
    seen.items[spec.path] = items
    total = api.total_count(first.headers)
    paging = await _paging(probe, spec, len(items) if total is None else total, seen)
    # A list that fits one page has no next link to show; the small pages do show it.
    link = api.next_link(first.headers) is not None or paging.link
    signals = [
        name
        for name, present in (
            (api.LINK_HEADER, link),
            (api.TOTAL_COUNT_HEADER, total is not None),
            (f"body {', '.join(envelope)}", bool(envelope)),
        )
        if present
    ]
    try:
        read = await spec.read(client)
    except PartialReadError as exc:
        return Check(
            cid,
            FAIL,
            f"{len(items)} on the first page; pages by "
            f"{' + '.join(signals) or 'nothing'}; {paging.summary}",
            PAGINATION,
            f"{STOPS_PLAN}: {exc.reason}",
            REPORT_IT,
        )
    except ApiError as exc:
        return Check(
            cid,
            FAIL,
            # Its advice (when it has one) is to run doctor: the error without it.
            f"reading it failed: {exc.message}",
            SHAPE,
            "plan and apply stop with this error",
            REPORT_IT,
        )
    seen.read_ids[spec.path] = [getattr(o, "id", 0) for o in read]
    counted = f"{len(read)} read" + (f" of X-Total-Count {total}" if total is not None else "")
    summary = f"{counted}; pages by {' + '.join(signals) or 'nothing'}; {paging.summary}"
    if total is not None and len(read) < total:
        return Check(
            cid,
            FAIL,
            summary,
            PAGINATION,
            "a plan would create or disable objects it never read",
            REPORT_IT,
        )
    if total is not None and len(read) > total:
        # Rows added during the read do this too, rarely; a count of something else always.
        return Check(
            cid,
            WARN,
            summary,
            PAGINATION,
            f"{api.TOTAL_COUNT_HEADER} does not count this list: once the pages pass it, "
            f"the reader asks for the next {api.PAGE_PARAM} until one brings nothing new, "
            "as with no count (a request more per list)",
            "nothing for now; if it stays so on the next run, " + REPORT_IT,
        )
    if paging.problem:
        return Check(
            cid, WARN, summary, PAGINATION, paging.problem, "nothing for now; " + REPORT_IT
        )
    if not signals:
        return Check(
            cid,
            WARN,
            summary,
            PAGINATION,
            f"the reader asks for {api.PAGE_PARAM} 2, 3, ... until one brings nothing new "
            "(a request more per list); were page 2 to answer page 1's items again (the "
            "page asked ignored), the list would be refused by plan and apply, whatever "
            "its length",
            "nothing for now; if plan refuses a list, " + REPORT_IT,
        )
    return Check(cid, OK, summary)


@dataclass(frozen=True, slots=True)
class _Paging:
    summary: str
    problem: str = ""
    link: bool = False  # the first small page gave a next link


async def _paging(probe: Probe, spec: _List, known: int, seen: _Seen) -> _Paging:
    """Whether the server honours per_page and page: two small pages of the list."""
    if known <= SMALL_PAGE:
        return _Paging(f"too few objects to test {api.PER_PAGE_PARAM}/{api.PAGE_PARAM}")
    small = {**spec.query, api.PER_PAGE_PARAM: SMALL_PAGE}
    one = await probe.get(spec.path, {**small, api.PAGE_PARAM: 1})
    two = await probe.get(spec.path, {**small, api.PAGE_PARAM: 2})
    seen.answers += [one, two]
    items_one, _ = _items_of(one)
    items_two, _ = _items_of(two)
    if not (one.ok and two.ok) or items_one is None or items_two is None:
        return _Paging("small pages not answered", "the reader's page requests may fail")
    per_page = len(items_one) <= SMALL_PAGE
    link = api.next_link(one.headers) is not None
    came = f"{len(items_one)} items came for {api.PER_PAGE_PARAM}={SMALL_PAGE}"
    if not items_two:
        # An empty page 2 is no sign that `page` is ignored (a server ignoring it answers
        # page 1 again): the list fits one of the server's own pages, so `page` is untried.
        if per_page:
            return _Paging(f"{api.PER_PAGE_PARAM} honoured, {api.PAGE_PARAM} untried", link=link)
        return _Paging(
            f"{api.PER_PAGE_PARAM} ignored, {api.PAGE_PARAM} untried",
            f"pages are sized by the server ({came}); the reader follows them as they come",
            link,
        )
    # Honoured when page 2 brings an object page 1 did not (not merely another order); ids
    # compared by repr, as a hostile answer's id may be a list or an object.
    page = not {repr(i) for i in _ids(items_two)} <= {repr(i) for i in _ids(items_one)}
    if per_page and page:
        return _Paging(f"{api.PER_PAGE_PARAM} and {api.PAGE_PARAM} honoured", link=link)
    wrong = [p for p, ok in ((api.PER_PAGE_PARAM, per_page), (api.PAGE_PARAM, page)) if not ok]
    if page:
        means = f"pages are sized by the server ({came}); the reader follows them as they come"
    else:
        means = (
            f"the reader sees this list whole only while it fits one answer ({came}) and "
            f"the server counts it ({api.TOTAL_COUNT_HEADER}) or links its next page "
            f"({api.LINK_HEADER}); a longer one is refused by plan"
        )
    return _Paging(f"{' and '.join(wrong)} ignored", means, link)


def _list_failure(cid: str, spec: _List, answer: Answer) -> Check:
    if spec.path == api.AUTHORIZATION_REQUESTS and answer.status in api.MISSING_ENDPOINT_STATUSES:
        return Check(
            cid,
            WARN,
            f"GET {spec.path} answers {answer.status}: no such endpoint",
            INFO,
            "see authorization_requests below",
            "",
        )
    if answer.status is None:
        return Check(
            cid,
            FAIL,
            answer.error.message if answer.error else "no answer",
            TRANSPORT,
            "plan and apply stop",
            "run doctor again; if it persists check the network",
        )
    if answer.status in (401, 403):
        return Check(
            cid,
            FAIL,
            f"GET {spec.path} refused ({answer.status})",
            AUTH,
            "plan and apply stop",
            "use a login that may read " + spec.name,
        )
    failed = answer.error.message if answer.error else f"HTTP {answer.status}"
    return Check(cid, FAIL, failed, SHAPE, "plan and apply stop", REPORT_IT)


# -- the account ---------------------------------------------------------------------------


def _account_check(client: ReadClient, seen: _Seen) -> Check:
    customers = seen.read_ids.get(api.CUSTOMERS)
    warehouses = seen.read_ids.get(api.WAREHOUSES)
    who = client.account if ":" in client.account else f"login {client.account}"
    if customers is None:
        return Check(
            "account",
            WARN,
            f"{who}; its customers could not be read",
            INFO,
            "see the list checks",
            "",
        )
    digest = hashlib.sha256(",".join(map(str, sorted(customers))).encode()).hexdigest()[:12]
    seen_w = "?" if warehouses is None else str(len(warehouses))
    return Check(
        "account",
        OK,
        f"{who}; sees {len(customers)} customers, {seen_w} warehouses; "
        f"customer-id fingerprint {digest}",
    )


# -- shapes --------------------------------------------------------------------------------


def _shape_problems(path: str, items: Sequence[Mapping[str, Any]]) -> list[str]:
    problems: list[str] = []
    required = api.REQUIRED_FIELDS.get(path, ())
    for key in required:
        missing = sum(key not in item for item in items)
        if missing:
            problems.append(f"{missing} without {key}")
        if key == api.ID_KEY or key.endswith("_id"):
            bad = sum(
                key in item and (isinstance(item[key], bool) or not isinstance(item[key], int))
                for item in items
            )
            if bad:
                problems.append(f"{bad} with a {key} that is not an integer")
    if path == api.AUTHORIZATION_REQUESTS:
        # A request without the key is counted above ("without status"); a word that is
        # not a string (a list, an object) cannot be looked up, and is unknown all the same.
        words = sorted(
            {
                str(word)[:40]
                for item in items
                if api.REQUEST_STATUS_KEY in item
                and (
                    not isinstance(word := item[api.REQUEST_STATUS_KEY], str)
                    or word not in api.REQUEST_STATUSES
                )
            }
        )
        if words:
            # What the reads make of such a request (live.listed_as), so that doctor, the
            # plan and the report tell one story: it is neither dropped nor guessed at.
            problems.append(
                f"{len(words)} status word(s) the model does not know "
                f"({', '.join(words[:5])}; it knows "
                f"{', '.join(api.REQUEST_STATUSES)}): a store whose pending request reads one "
                f"is invited by nobody, and one read from the expired list counts as expired"
            )
    if path == api.CONNECTIONS:
        unread = sum(
            not isinstance(item.get(api.CHANNELS_KEY), list)
            or api.connection({**item, api.ID_KEY: 0}).channels is None
            for item in items
            if _readable_connection(item)
        )
        if unread:
            keys = _channel_keys(items)
            problems.append(
                f"{unread} whose {api.CHANNELS_KEY} are not a list of "
                f"{{{', '.join(api.CHANNEL_FIELDS)}}}" + (f" ({keys})" if keys else "")
            )
    if api.ENABLED_AT_KEY in required:
        bad = 0
        for item in items:
            try:
                api.parse_time(item.get(api.ENABLED_AT_KEY))
            except ValueError:
                bad += 1
        if bad:
            problems.append(
                f"{bad} with an {api.ENABLED_AT_KEY} that is neither null nor a timestamp"
            )
    return problems


def _readable_connection(item: Mapping[str, Any]) -> bool:
    """Whether the rest of the connection reads (its own problems are counted apart)."""
    try:
        api.connection({**item, api.CHANNELS_KEY: []})
    except (ValueError, TypeError, KeyError):
        return False
    return True


def _channel_keys(items: Sequence[Mapping[str, Any]]) -> str:
    """The keys of the first channel entry of another shape, or what it is instead."""
    for item in items:
        channels = item.get(api.CHANNELS_KEY)
        for entry in channels if isinstance(channels, list) else ():
            if not isinstance(entry, Mapping):
                return f"an entry is a JSON {_json_kind(entry)}, not an object"
            if set(api.CHANNEL_FIELDS) - set(entry):
                return "an entry's keys: " + ", ".join(sorted(map(str, entry))[:10])
    return ""


def _json_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "null"


def _shape_check(seen: _Seen) -> Check:
    found = {path: _shape_problems(path, items) for path, items in seen.items.items()}
    bad = {path: p for path, p in found.items() if p}
    count = sum(len(items) for items in seen.items.values())
    if not bad:
        return Check(
            "shapes",
            OK,
            f"{count} objects in {len(seen.items)} lists have the "
            f"model's fields, integer ids, {api.ENABLED_AT_KEY} null or a timestamp",
        )
    text = "; ".join(f"{path.strip('/')}: {', '.join(p)}" for path, p in sorted(bad.items()))
    return Check(
        "shapes",
        FAIL,
        text,
        SHAPE,
        "plan and apply stop with 'unexpected answer', or misread these objects",
        REPORT_IT,
    )


def _adapter_check(seen: _Seen) -> Check:
    stores = [s for s in seen.items.get(api.STORES, []) if s.get("platform") == api.AMAZON]
    if not stores:
        return Check(
            "amazon adapter",
            WARN,
            "no Amazon store to check",
            INFO,
            "the adapter keys the client sends are unconfirmed until one exists",
            "run doctor again after the first store is created (apply or the UI)",
        )
    store = stores[0]
    adapter = store.get(api.ADAPTER_KEY)
    if not isinstance(adapter, Mapping):
        return Check(
            "amazon adapter",
            FAIL,
            f"store {store.get(api.ID_KEY)} has no adapter object",
            SHAPE,
            "plan reads every setting as unknown",
            REPORT_IT,
        )
    expected = (api.MARKETPLACE_KEY, *api.ADAPTER_SETTING_KEYS, api.AUTHORIZATION_KEY)
    missing = [k for k in expected if k not in adapter]
    other = sorted(set(adapter) - set(expected))
    authorization = adapter.get(api.AUTHORIZATION_KEY)
    auth_problem = ""
    if isinstance(authorization, Mapping):
        absent = [k for k in api.AUTHORIZATION_FIELDS if k not in authorization]
        status = authorization.get(api.AUTHORIZATION_STATUS_KEY)
        if absent:
            auth_problem = f"authorization without {', '.join(absent)}"
        elif status not in api.AUTHORIZATION_STATUSES:
            auth_problem = f"authorization status {status!r} is not one the model knows"
    where = f"store {store.get(api.ID_KEY)}"
    extra = f"; other keys: {', '.join(other)}" if other else ""
    if missing or auth_problem:
        what = "; ".join(
            filter(None, [f"missing {', '.join(missing)}" if missing else "", auth_problem])
        )
        return Check(
            "amazon adapter",
            FAIL,
            f"{where}: {what}{extra}",
            SHAPE,
            "plan stops at a store whose marketplace it cannot read, neither compares "
            "nor sends a setting it cannot read (it warns), and while a store's "
            "authorization cannot be read or has a status it does not know, invites "
            "nobody and makes or enables no connection for it",
            REPORT_IT,
        )
    return Check("amazon adapter", OK, f"{where}: the model's keys and authorization object{extra}")


def _requests_endpoint_check(seen: _Seen) -> Check:
    answer = next(
        (
            a
            for a in seen.answers
            if a.error is not None and a.error.path == api.AUTHORIZATION_REQUESTS
        ),
        None,
    )
    if api.AUTHORIZATION_REQUESTS in seen.items:
        return Check("authorization_requests", OK, f"GET {api.AUTHORIZATION_REQUESTS} exists")
    if answer is not None and answer.status in api.MISSING_ENDPOINT_STATUSES:
        return Check(
            "authorization_requests",
            WARN,
            f"GET {api.AUTHORIZATION_REQUESTS} answers {answer.status}: this API has "
            "no invite endpoint",
            INFO,
            "plan turns each invite into a pending item 'send from the DropStream UI "
            "(Send to merchant)' with the merchant's email; apply makes every other "
            "change",
            "send those invites from the UI; plan --format markdown lists them as a checklist",
        )
    return Check("authorization_requests", WARN, "not confirmed (see its list check)", INFO, "", "")


def _rate_check(seen: _Seen) -> Check:
    found: dict[str, str] = {}
    for answer in seen.answers:
        for name in api.RATE_HEADERS:
            value = answer.header(name)
            if value is not None and name not in found:
                found[name] = value[:40]
    if not found:
        return Check(
            "rate limit",
            OK,
            "no rate headers seen (none are needed: the client "
            "paces itself and waits out a 429's Retry-After)",
        )
    return Check("rate limit", OK, "seen: " + ", ".join(f"{k}: {v}" for k, v in found.items()))
