"""The journal in one SQLite file (the default, in the batch folder); see simtool.provision.journal."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from simtool.provision.journal import Journal, JournalError, schema_ddl

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
        try:
            _create_private(path)
            self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
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
            raise JournalError(f"{path}: cannot open the journal: {exc}") from exc

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
            raise JournalError(f"{self.path}: journal database error: {exc}") from exc
        finally:
            cur.close()

    def close(self) -> None:
        self._conn.close()
