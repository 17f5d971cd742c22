"""Where and how to connect: the API URL, credentials and the client's limits.

Credentials come from the environment only (product.md section 4), and are held in
`Secret` so that no repr, str, f-string or log line can show them by accident.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import stat
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import httpx

from dropstream_sync.client.api import DEFAULT_API_URL
from dropstream_sync.errors import SettingsError

log = logging.getLogger("dropstream_sync.client")

ENV_API_URL: Final = "DROPSTREAM_API_URL"
ENV_USERNAME: Final = "DROPSTREAM_USERNAME"
ENV_PASSWORD: Final = "DROPSTREAM_PASSWORD"
ENV_PASSWORD_FILE: Final = "DROPSTREAM_PASSWORD_FILE"
ENV_TOKEN: Final = "DROPSTREAM_TOKEN"
ENV_MAX_RATE: Final = "DROPSTREAM_MAX_RATE"

# Requests per second: the client's ceiling unless --max-rate says otherwise. Below it the
# pace is found from the server's answers, so this only bounds how hard a new client tries.
DEFAULT_MAX_RATE: Final = 100.0

CREDENTIALS_HINT: Final = (
    f"set {ENV_USERNAME} and {ENV_PASSWORD} (or {ENV_PASSWORD_FILE}), or {ENV_TOKEN}"
)

# The variables the client reads, for naming the one a misspelt name was meant as.
_CLIENT_VARIABLES: Final = (
    ENV_API_URL,
    ENV_USERNAME,
    ENV_PASSWORD,
    ENV_PASSWORD_FILE,
    ENV_TOKEN,
    ENV_MAX_RATE,
)
# Read by other commands (sandbox controls) or by the CI examples, not misspellings.
_OTHER_VARIABLES: Final = frozenset(
    {"DROPSTREAM_SANDBOX_URL", "DROPSTREAM_SANDBOX_ADMIN_KEY", "DROPSTREAM_NOTE_TOKEN"}
)


class Secret:
    """A credential: `reveal()` is the only way to read it; everything else shows ***."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the secret to disk or a pipe; nothing here needs it.
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True, slots=True)
class BasicCredentials:
    """A DropStream login, exchanged for a bearer token (refreshable)."""

    username: str
    password: Secret
    # The variable the password came from, for the message when the login is refused.
    source: str = ENV_PASSWORD


@dataclass(frozen=True, slots=True)
class TokenCredentials:
    """A ready bearer token (cannot be refreshed: a 401 is final)."""

    token: Secret


Credentials = BasicCredentials | TokenCredentials


@dataclass(frozen=True, slots=True)
class Limits:
    """How hard the client may push the API.

    `rate_limit_rps` is the ceiling (`--max-rate`, DROPSTREAM_MAX_RATE): the client starts
    there and never goes faster, and below it the pace is found from the server's 429s
    (limiter.py); a rate the server announces (`x-amzn-RateLimit-Limit`, with `learn_rate`)
    lowers the ceiling. `burst` is the most sent at once after a pause (halved by each cut).
    None turns client-side pacing off (the in-process sandbox has no limit to find).
    `max_concurrency` bounds the requests in flight across every call; a list's pages
    overlap up to `page_concurrency`, inside that bound.
    """

    rate_limit_rps: float | None = DEFAULT_MAX_RATE
    burst: int = 5
    learn_rate: bool = True
    max_concurrency: int = 8
    page_concurrency: int = 8
    max_attempts: int = 8
    max_retry_seconds: float = 120.0
    backoff_base_seconds: float = 0.25
    backoff_max_seconds: float = 20.0
    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 10.0
    # A page of 100 objects is about 100 kB; nothing the API answers comes near this.
    max_answer_bytes: int = 64 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.rate_limit_rps is not None and self.rate_limit_rps <= 0:
            raise SettingsError("the client rate limit must be positive (or None for no limit)")
        if self.burst < 1 or self.max_concurrency < 1 or self.page_concurrency < 1:
            raise SettingsError("burst and concurrency limits must be at least 1")
        if self.max_attempts < 1:
            raise SettingsError("max_attempts must be at least 1")


@dataclass(frozen=True, slots=True)
class ClientSettings:
    api_url: str
    credentials: Credentials
    limits: Limits = field(default_factory=Limits)
    # What else tells the account apart on this machine, for apply's lock: the in-process
    # sandbox's state folder. Every sandbox numbers its customers from 1 behind one URL, so
    # without it the sandboxes of two folders (a demo, a test run) waited for each other.
    lock_scope: str = ""


# A login written in a URL (`user:password@`), before its path: refused as such.
_LOGIN_IN_URL: Final = re.compile(r"^([^/@]*?//)?[^/?#]*@")
# What a URL refused for another reason is shown without: everything up to its last `@`.
# A password may hold `/` or `?` (pasted raw, not percent-encoded), so no character but
# the `@` itself can say where the login ends.
_UP_TO_LAST_AT: Final = re.compile(r"^([^/@]*?//)?.*@", re.DOTALL)


def _shown(url: str) -> str:
    """The URL as an error message may quote it: without a login (`***@`)."""
    return repr(_UP_TO_LAST_AT.sub(lambda m: f"{m.group(1) or ''}***@", url))


def check_api_url(url: str) -> str:
    """The URL without a trailing slash; refuses plain http:// except to loopback."""
    text = url.strip()
    try:
        text.encode("utf-8")
        parsed = httpx.URL(text)
    except UnicodeEncodeError as exc:
        # A byte of the environment or command line that is not UTF-8 (a lone surrogate to
        # Python): httpx failed to percent-encode it, with a traceback.
        raise SettingsError(
            f"invalid API URL: a byte that is not UTF-8 at character {exc.start + 1}"
        ) from None
    except (httpx.InvalidURL, TypeError) as exc:
        if "@" in text:
            # Most likely a login, pasted raw: httpx then quotes a piece of the password as
            # the port it could not read (`Invalid port: 'S3cr'`), so its reason is not shown.
            raise SettingsError(
                "the API URL must not contain a login; " + CREDENTIALS_HINT + " instead"
            ) from None
        raise SettingsError(f"invalid API URL {_shown(text)}: {exc}") from None
    if parsed.userinfo or _LOGIN_IN_URL.match(text):
        raise SettingsError(
            "the API URL must not contain a login; " + CREDENTIALS_HINT + " instead"
        )
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise SettingsError(
            f"invalid API URL {_shown(text)}: it must start with https:// and name a host"
        )
    if parsed.query or parsed.fragment or "?" in text or "#" in text:
        # Every request's path is joined to the URL: with a `?` or `#` in it, the paths
        # would land in the query or the fragment. And a key passed in a query would be
        # echoed in every message that names the URL; so neither is shown.
        raise SettingsError(
            "the API URL must not have a query (?...) or a fragment (#...): give the "
            "service's base URL, such as https://api.getdropstream.com"
        )
    if parsed.scheme == "http" and not is_loopback(parsed.host):
        raise SettingsError(
            f"refusing plain http:// to {parsed.host}: credentials would cross the network "
            "unencrypted; use https:// (plain http is allowed only to loopback addresses)"
        )
    return text.rstrip("/")


def is_loopback(host: str) -> bool:
    """A literal loopback address (127.0.0.0/8, ::1) or `localhost` itself. Not names under
    .localhost: those are resolved through DNS like any other and may point anywhere."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def credentials_from_env(env: Mapping[str, str]) -> Credentials:
    """Username + password (or password file) if given, else a ready token.

    A login is preferred over a token when both are set, because only a login can get
    a new token when the old one expires in the middle of a long apply.
    """
    username = env.get(ENV_USERNAME, "").strip()
    password = env.get(ENV_PASSWORD, "")
    password_file = env.get(ENV_PASSWORD_FILE, "").strip()
    token = env.get(ENV_TOKEN, "").strip()
    if username:
        if password and password_file:
            raise SettingsError(f"set only one of {ENV_PASSWORD} and {ENV_PASSWORD_FILE}")
        if password_file:
            password = _read_password_file(password_file)
        if not password:
            raise SettingsError(
                f"{ENV_USERNAME} is set but no password: set {ENV_PASSWORD} or {ENV_PASSWORD_FILE}"
                + _misnamed_note(env)
            )
        _check_text(ENV_USERNAME, username)
        if ":" in username:
            # HTTP Basic joins the two with ':' and the server splits at the first one, so
            # such a login was always refused as a wrong password.
            raise SettingsError(
                f"{ENV_USERNAME} cannot hold ':' (the token request sends the login as "
                "username:password); check the variable"
            )
        _check_text(ENV_PASSWORD_FILE if password_file else ENV_PASSWORD, password)
        return BasicCredentials(
            username, Secret(password), ENV_PASSWORD_FILE if password_file else ENV_PASSWORD
        )
    if token:
        _check_token(token)
        return TokenCredentials(Secret(token))
    if password or password_file:
        raise SettingsError(
            f"a password is set but {ENV_USERNAME} is not: set it too" + _misnamed_note(env)
        )
    raise SettingsError(f"no DropStream credentials: {CREDENTIALS_HINT}" + _misnamed_note(env))


def _misnamed(env: Mapping[str, str]) -> list[tuple[str, str]]:
    """(set, meant) for each variable whose name is a near miss of one the client reads
    (DROPSTREAM_USER, DROPSTREAM_PASS, DROPSTREAM_URL): set, it was silently not read."""
    found = []
    for name in sorted(env):
        if name in _CLIENT_VARIABLES or name in _OTHER_VARIABLES or not env[name].strip():
            continue
        meant = _meant(name.upper())
        if meant:
            found.append((name, meant))
    return found


_PREFIX: Final = "DROPSTREAM_"


def _meant(name: str) -> str | None:
    """The client variable `name` was likely meant as. Compared whole, every name shares the
    long DROPSTREAM_ prefix, so DROPSTREAM_EMAIL or DROPSTREAM_ENV read as misspelt
    DROPSTREAM_API_URL and DROPSTREAM_TOKEN (and the URL one was warned of on every run);
    so the rest is compared: one part of the other (USER, PASS, URL, API_TOKEN), or a typo."""
    import difflib

    if not name.startswith(_PREFIX):
        # The prefix itself misspelt (DROPSTEAM_USERNAME): nearly the whole name agrees.
        close = difflib.get_close_matches(name, _CLIENT_VARIABLES, n=1, cutoff=0.9)
        return close[0] if close else None
    given = name.removeprefix(_PREFIX)
    rests = {variable.removeprefix(_PREFIX): variable for variable in _CLIENT_VARIABLES}
    # The longest variable inside the name (PASSWORD_FILE in PASSWORD_FILE_PATH), else the
    # shortest the name is part of (PASS: PASSWORD, not PASSWORD_FILE).
    inside = [rest for rest in rests if rest in given]
    around = [rest for rest in rests if given in rest] if len(given) >= 3 else []
    if inside or around:
        return rests[max(inside, key=len) if inside else min(around, key=len)]
    close = difflib.get_close_matches(given, rests, n=1, cutoff=0.85)
    return rests[close[0]] if close else None


def _misnamed_note(env: Mapping[str, str]) -> str:
    """`; DROPSTREAM_USER is set but not read: did you mean DROPSTREAM_USERNAME?`: the
    newcomer's likeliest cause of missing credentials, said where they are missed."""
    names = _misnamed(env)
    if not names:
        return ""
    if len(names) == 1:
        return f"; {names[0][0]} is set but not read: did you mean {names[0][1]}?"
    given = " and ".join(name for name, _ in names)
    meant = " and ".join(meant for _, meant in names)
    return f"; {given} are set but not read: did you mean {meant}?"


def _check_text(name: str, value: str) -> None:
    """A login is sent as UTF-8: a byte of the environment that is not UTF-8 (Python keeps
    it as a lone surrogate) cannot be, and failed deep in the client with a traceback. The
    message gives the position, never the value."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SettingsError(
            f"{name} is not UTF-8 text (a byte that is not UTF-8 at character "
            f"{exc.start + 1}): set it as UTF-8"
        ) from None


# RFC 6750's b64token, the characters of every bearer token (a JWT among them).
_TOKEN_CHARS: Final = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_TOKEN_SET: Final = frozenset(string.ascii_letters + string.digits + "-._~+/=")


def _check_token(token: str) -> None:
    """A token goes into an HTTP header as is: a character no token has (a space, a
    non-ASCII letter, a line break) was either refused by the server as an invalid token or
    could not be sent at all (a traceback). The message never quotes the token."""
    if _TOKEN_CHARS.fullmatch(token):
        return
    if token.lower().startswith("bearer "):
        raise SettingsError(f"{ENV_TOKEN} holds 'Bearer ' and the token: set it to the token alone")
    # The first character outside the set, else an `=` before the end (padding only ends it).
    at = next((i for i, char in enumerate(token) if char not in _TOKEN_SET), token.find("="))
    raise SettingsError(
        f"{ENV_TOKEN} is not a bearer token: character {at + 1} is not one a token can hold "
        "(letters, digits and - . _ ~ + / =, no spaces)"
    )


def _read_password_file(path: str) -> str:
    try:
        file = Path(path)
        text = file.read_text(encoding="utf-8")
        mode = file.stat().st_mode
    except OSError as exc:
        raise SettingsError(
            f"cannot read {ENV_PASSWORD_FILE} {path!r}: {exc.strerror or type(exc).__name__}"
        ) from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{ENV_PASSWORD_FILE} {path!r} is not UTF-8 text (byte {exc.start + 1}): save it "
            "as UTF-8"
        ) from None
    # Files written by editors or `echo` end with a newline that is not part of the password.
    password = text.rstrip("\r\n")
    if not password:
        raise SettingsError(f"{ENV_PASSWORD_FILE} {path!r} is empty")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "%s %r can be read by other users of this machine (mode %o); make it private "
            "with `chmod 600 %s`",
            ENV_PASSWORD_FILE,
            path,
            stat.S_IMODE(mode),
            path,
        )
    return password


def settings_from_env(
    api_url: str | None, env: Mapping[str, str], *, limits: Limits | None = None
) -> ClientSettings:
    """Settings from `--api-url` (else DROPSTREAM_API_URL, else the real service) and the
    credential variables. Raises SettingsError saying what to set."""
    url = api_url or env.get(ENV_API_URL) or DEFAULT_API_URL
    if not api_url and not env.get(ENV_API_URL):
        for name, meant in _misnamed(env):
            if meant == ENV_API_URL:
                # Else the real service is asked, with a login meant for another server, and
                # its 401 reads as a wrong password.
                log.warning(
                    "%s is set but not read: did you mean %s? Connecting to %s",
                    name,
                    meant,
                    DEFAULT_API_URL,
                )
    return ClientSettings(
        api_url=check_api_url(url),
        credentials=credentials_from_env(env),
        limits=limits or Limits(),
    )
