"""The SQLite side of the store: connection settings and numbered schema migrations.

SQLite holds the truth (facts, vectors as float32 blobs, history); the FAISS files are a
cache rebuilt from it. Every connection runs in WAL mode (readers never block the writer;
a killed process leaves a database that opens) with `secure_delete=ON` so that deleted
and redacted text is overwritten with zeros instead of lingering on free pages.

Migrations are numbered; `PRAGMA user_version` records the last one applied. Each runs in
its own IMMEDIATE transaction, and the version is re-read inside it, so two processes
opening a new store at once apply each migration exactly once. A store from a newer
editmind (higher version than we know) is refused rather than guessed at.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from editmind.memory.errors import StoreError

BUSY_TIMEOUT_S = 30.0

MIGRATIONS: list[str] = [
    # 1: facts, vectors, history, per-user change counters
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE facts (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        agent_id TEXT,
        run_id TEXT,
        text TEXT NOT NULL,
        text_norm TEXT NOT NULL,
        subject TEXT, relation TEXT, object TEXT,
        subject_norm TEXT, relation_norm TEXT, object_norm TEXT,
        source TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'deleted', 'redacted')),
        metadata TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX facts_user ON facts(user_id, status);
    CREATE INDEX facts_conflict ON facts(user_id, subject_norm, relation_norm) WHERE status = 'active';
    CREATE INDEX facts_duplicate ON facts(user_id, text_norm) WHERE status = 'active';
    CREATE TABLE vectors (
        vec_id INTEGER PRIMARY KEY AUTOINCREMENT,
        fact_id TEXT NOT NULL UNIQUE REFERENCES facts(id),
        user_id TEXT NOT NULL,
        vector BLOB NOT NULL
    );
    CREATE INDEX vectors_user ON vectors(user_id, vec_id);
    CREATE TABLE removed_vectors (
        vec_id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        generation INTEGER NOT NULL
    );
    CREATE INDEX removed_user ON removed_vectors(user_id, generation);
    CREATE TABLE user_state (user_id TEXT PRIMARY KEY, generation INTEGER NOT NULL);
    CREATE TABLE history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        fact_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        event TEXT NOT NULL,
        old_text TEXT,
        new_text TEXT,
        details TEXT NOT NULL DEFAULT '{}',
        created_at TEXT NOT NULL
    );
    CREATE INDEX history_fact ON history(fact_id, id);
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, secure delete.

    Opening is retried as a whole while another process holds the file: switching a new
    database to WAL and the first read of a WAL index can answer "database is locked"
    at once, without consulting the busy handler, when two processes open a new store
    together."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    attempt = 0
    while True:
        conn = None
        try:
            conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot put {path} in WAL mode (got {mode}); is the file system read-only?")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA foreign_keys = ON")
            migrate(conn, path)
            return conn
        except sqlite3.OperationalError as exc:
            if conn is not None:
                conn.close()
            transient = "locked" in str(exc) or "busy" in str(exc)
            if not transient or time.monotonic() > deadline:
                raise StoreError(f"cannot open the memory store {path}: {exc}") from None
            attempt += 1
            time.sleep(min(0.01 * attempt, 0.2))
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise StoreError(f"cannot open the memory store {path}: {exc}") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply the missing migrations; return the schema version."""
    for target in range(1, SCHEMA_VERSION + 1):
        if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current < target:
                for statement in _statements(MIGRATIONS[target - 1]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} has schema version {version}, newer than this editmind understands ({SCHEMA_VERSION}); upgrade editmind")
    return version


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";") if part.strip()]


def checkpoint_truncate(conn: sqlite3.Connection, attempts: int = 50) -> None:
    """Copy the WAL into the database and truncate it to zero bytes, so no old page image
    (e.g. one holding a redacted text) survives in the -wal file. Retries while another
    connection's read transaction pins the log."""
    for attempt in range(attempts):
        busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if not busy:
            return
        time.sleep(0.05 * (attempt + 1))
    raise StoreError("the memory store is busy in another process; its write-ahead log could not be truncated, "
                     "close the other process and run the command again")
