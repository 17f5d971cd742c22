"""The sandbox's state: one SQLite file (WAL) plus a secrets file, in a state folder.

Several apps (a served sandbox and in-process ones, in several processes) may open the same
folder: SQLite's WAL mode and `busy_timeout` serialize their writes, every write runs in
`BEGIN IMMEDIATE` (so two writers never deadlock upgrading a read lock), and the sandbox clock's
offset lives in the database so that all of them agree on the time. Each thread gets its own
connection because sqlite3 connections must not be shared between threads.

Timestamps are stored as `YYYY-MM-DDTHH:MM:SSZ` strings: they sort like the instants they name,
so expiry is a plain string comparison in SQL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The tables, then the indexes: every one serves a list read (one account's rows in id order,
# at most one filter) or a lookup by a parent's id.
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
    salt TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, company_name TEXT NOT NULL,
    street1 TEXT, street2 TEXT, street3 TEXT, city TEXT, state TEXT, zipcode TEXT, country TEXT,
    provider TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS warehouses (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, customer_id INTEGER NOT NULL,
    description TEXT, platform TEXT NOT NULL, adapter TEXT NOT NULL, created_at TEXT NOT NULL,
    enabled_at TEXT, order_status_imported_at TEXT, inventory_updated_at TEXT);
CREATE TABLE IF NOT EXISTS stores (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, customer_id INTEGER NOT NULL,
    name TEXT NOT NULL, description TEXT, url TEXT, platform TEXT NOT NULL, adapter TEXT NOT NULL,
    auth_status TEXT NOT NULL DEFAULT 'missing', auth_partner TEXT, auth_at TEXT,
    auth_expires TEXT, created_at TEXT NOT NULL, enabled_at TEXT, order_imported_at TEXT,
    inventory_updated_at TEXT);
CREATE TABLE IF NOT EXISTS connections (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, customer_id INTEGER NOT NULL,
    warehouse_id INTEGER NOT NULL, store_id INTEGER NOT NULL, name TEXT NOT NULL,
    connection_type TEXT NOT NULL, created_at TEXT NOT NULL, enabled_at TEXT,
    locations TEXT NOT NULL DEFAULT '[]',
    UNIQUE (customer_id, store_id, warehouse_id));
CREATE TABLE IF NOT EXISTS channels (
    id INTEGER PRIMARY KEY, connection_id INTEGER NOT NULL, type TEXT NOT NULL, enabled_at TEXT);
CREATE TABLE IF NOT EXISTS authorization_requests (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, store_id INTEGER NOT NULL,
    customer_id INTEGER NOT NULL, email TEXT NOT NULL, status TEXT NOT NULL,
    created_at TEXT NOT NULL, expires_at TEXT NOT NULL, completed_at TEXT,
    token TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, account_id INTEGER NOT NULL, recipient TEXT NOT NULL,
    subject TEXT NOT NULL, link TEXT NOT NULL, authorization_request_id INTEGER NOT NULL,
    sent_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS customers_account ON customers(account_id, id);
CREATE INDEX IF NOT EXISTS warehouses_account ON warehouses(account_id, id);
CREATE INDEX IF NOT EXISTS warehouses_customer ON warehouses(customer_id, id);
CREATE INDEX IF NOT EXISTS stores_account ON stores(account_id, id);
CREATE INDEX IF NOT EXISTS stores_customer ON stores(account_id, customer_id, id);
CREATE INDEX IF NOT EXISTS stores_platform ON stores(account_id, platform, id);
CREATE INDEX IF NOT EXISTS connections_account ON connections(account_id, id);
CREATE INDEX IF NOT EXISTS connections_customer ON connections(account_id, customer_id, id);
CREATE INDEX IF NOT EXISTS connections_store ON connections(account_id, store_id, id);
CREATE INDEX IF NOT EXISTS channels_connection ON channels(connection_id, id);
CREATE INDEX IF NOT EXISTS authreq_account ON authorization_requests(account_id, id);
CREATE INDEX IF NOT EXISTS authreq_store ON authorization_requests(account_id, store_id, id);
CREATE INDEX IF NOT EXISTS authreq_status ON authorization_requests(account_id, status, id);
"""

OBJECT_TABLES = (
    "customers",
    "warehouses",
    "stores",
    "connections",
    "channels",
    "authorization_requests",
    "outbox",
)


def fmt_ts(moment: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, the year always four digits (glibc's `%Y` writes 482 for 0482,
    which is not ISO 8601 and would not sort)."""
    u = moment.astimezone(dt.UTC)
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}Z"


def parse_ts(text: str) -> dt.datetime:
    """An ISO 8601 instant; naive means UTC. Raises ValueError."""
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def hash_password(password: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{password}".encode()).hexdigest()


@dataclass(frozen=True)
class Secrets:
    """What the state folder remembers so that a restart keeps tokens and logins valid."""

    signing_key: str
    admin_key: str
    username: str
    password: str


def load_secrets(state_dir: Path) -> Secrets:
    """Read `<state>/secrets.json`, creating it once (atomically, safe against a racing process)."""
    path = state_dir / "secrets.json"
    if not path.exists():
        fresh = {
            "signing_key": secrets.token_hex(32),
            "admin_key": secrets.token_urlsafe(24),
            "username": "demo",
            "password": secrets.token_urlsafe(12),
        }
        tmp = state_dir / f".secrets.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(fresh, handle)
        # link() refuses to overwrite: whichever process links first wins, the other reads it.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        tmp.unlink()
    data = json.loads(path.read_text())
    return Secrets(
        signing_key=str(data["signing_key"]),
        admin_key=str(data["admin_key"]),
        username=str(data["username"]),
        password=str(data["password"]),
    )


def private_folder(path: Path) -> None:
    """The state folder, created or tightened to 0700: it holds the login's password, the
    signing key and the merchants' link tokens, which no other local user may read."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def private_file(path: Path) -> None:
    """Create `path` as 0600 (or tighten it) before SQLite opens it: SQLite gives its -wal and
    -shm files the database file's permissions."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)
    for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if extra.exists() and extra.stat().st_mode & 0o077:
            extra.chmod(0o600)


class Database:
    """Per-thread sqlite3 connections to the state file, plus a write generation counter.

    `generation()` changes whenever any connection (of this process or another) commits, which
    lets callers cache derived values such as list counts.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._writes = 0
        self._writes_lock = threading.Lock()
        private_file(path)
        self._init_schema()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.row_factory = sqlite3.Row
        return conn

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _init_schema(self) -> None:
        with self._transaction("BEGIN IMMEDIATE") as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('clock_offset', '0')")

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[sqlite3.Connection]:
        conn = self.conn()
        conn.execute(begin)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        with self._transaction("BEGIN IMMEDIATE") as conn:
            yield conn
        with self._writes_lock:
            self._writes += 1

    def read(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return self._transaction("BEGIN")

    def generation(self, conn: sqlite3.Connection) -> tuple[int, int]:
        data_version = conn.execute("PRAGMA data_version").fetchone()[0]
        return (int(data_version), self._writes)

    # -- the clock ---------------------------------------------------------------------------

    @staticmethod
    def clock_offset(conn: sqlite3.Connection) -> float:
        row = conn.execute("SELECT value FROM meta WHERE key = 'clock_offset'").fetchone()
        return float(row[0]) if row else 0.0

    @staticmethod
    def now(conn: sqlite3.Connection) -> dt.datetime:
        offset = Database.clock_offset(conn)
        return dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=offset)

    # -- accounts ----------------------------------------------------------------------------

    def ensure_account(self, username: str, password: str | None, default_password: str) -> int:
        """The account id of a login, created if missing; an explicit password is (re)set."""
        with self.write() as conn:
            row = conn.execute("SELECT id FROM accounts WHERE username = ?", (username,)).fetchone()
            if row is not None:
                if password is not None:
                    salt = secrets.token_hex(8)
                    conn.execute(
                        "UPDATE accounts SET password_hash = ?, salt = ? WHERE id = ?",
                        (hash_password(password, salt), salt, row[0]),
                    )
                return int(row[0])
            return create_account(conn, username, password or default_password)

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def create_account(conn: sqlite3.Connection, username: str, password: str) -> int:
    salt = secrets.token_hex(8)
    cur = conn.execute(
        "INSERT INTO accounts(username, password_hash, salt, created_at) VALUES (?, ?, ?, ?)",
        (username, hash_password(password, salt), salt, fmt_ts(Database.now(conn))),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def check_password(conn: sqlite3.Connection, username: str, password: str) -> int | None:
    row = conn.execute(
        "SELECT id, password_hash, salt FROM accounts WHERE username = ?", (username,)
    ).fetchone()
    if row is None:
        return None
    if not hmac.compare_digest(hash_password(password, row["salt"]), row["password_hash"]):
        return None
    return int(row["id"])
