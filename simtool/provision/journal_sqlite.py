"""The journal in one SQLite file (the default, in the batch folder); see simtool.provision.journal."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from simtool.errors import JournalConflict, JournalCorrupt, JournalError, JournalUnavailable
from simtool.provision.journal import Journal, schema_ddl

#: Seconds a transaction waits for another station's write lock before giving up.
LOCK_WAIT = 30.0

_SQLITE_TRIGGERS = [
    f"CREATE TRIGGER IF NOT EXISTS journal_events_no_{op.lower()} BEFORE {op} ON journal_events"
    " BEGIN SELECT RAISE(ABORT, 'journal_events is append-only'); END"
    for op in ("UPDATE", "DELETE")
]


#: The journal lists the batch's ICCIDs, IMSIs and MSISDNs: owner only, whatever the umask.
#: SQLite gives its -wal and -shm files the database file's permissions.
JOURNAL_MODE = 0o600


def _create_private(path: Path) -> None:
    """Create a missing journal file 0600 before SQLite opens it (SQLite would use 0644 less
    the umask); an existing file keeps the mode its owner gave it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, JOURNAL_MODE)
    except FileExistsError:
        return
    except OSError as exc:
        raise JournalError(f"{path}: cannot create the journal: {exc.strerror}") from None
    try:
        os.fchmod(fd, JOURNAL_MODE)
    finally:
        os.close(fd)


class SqliteJournal(Journal):
    """The journal in one SQLite file, in WAL mode.

    WAL lets readers (status queries) run while a station writes.  Every transaction starts
    with ``BEGIN IMMEDIATE``, which takes the database's write lock up front: two stations'
    read-then-update claims are serialised, and a deferred transaction's lock upgrade (which
    fails with SQLITE_BUSY at once instead of waiting) never happens.  ``synchronous=FULL``
    because a claim lost to a power cut could hand its record to a second card."""

    def __init__(self, path: Path, **kw: Any) -> None:
        super().__init__(**kw)
        self.path = path
        self._conn: sqlite3.Connection | None = None
        try:
            _create_private(path)
            self._conn = sqlite3.connect(path, timeout=LOCK_WAIT, isolation_level=None)
            mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise JournalError(f"{path}: SQLite refused WAL mode (got {mode})")
            self._conn.execute("PRAGMA synchronous=FULL")
            with self._transaction() as cur:
                for statement in schema_ddl(timestamp="TEXT",
                                            serial_key="INTEGER PRIMARY KEY AUTOINCREMENT"):
                    cur.execute(statement)
                for statement in _SQLITE_TRIGGERS:
                    cur.execute(statement)
        except sqlite3.Error as exc:
            self.close()
            raise _journal_error(path, "cannot open the journal", exc) from exc
        except BaseException:
            self.close()
            raise

    def _timestamp(self, when: datetime) -> object:
        return when.isoformat()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Cursor]:
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        except sqlite3.Error as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise _journal_error(self.path, "journal database error", exc) from exc
        finally:
            cur.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _journal_error(path: Path, doing: str, exc: sqlite3.Error) -> JournalError:
    """The JournalError kind for a SQLite error, by its result code (SQLite "Result and Error
    Codes"; extended codes such as SQLITE_CONSTRAINT_UNIQUE start with the primary one)."""
    code = getattr(exc, "sqlite_errorname", "") or ""
    text = " ".join(str(exc).split())
    if code.startswith(("SQLITE_NOTADB", "SQLITE_CORRUPT")):
        return JournalCorrupt(f"{path}: not a usable journal (a damaged database, or not a"
                              f" SQLite file): {text}")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return JournalUnavailable(f"{path}: the journal stayed locked by another station for"
                                  f" {LOCK_WAIT:.0f} s: {text}")
    if code in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        return JournalConflict(f"{path}: {text} (the value is another record's)")
    return JournalError(f"{path}: {doing}: {text}")
