"""The provisioning journal in PostgreSQL (psycopg 3), for stations on several machines.

Same tables and behaviour as the SQLite journal (see :mod:`simtool.provision.journal`); what
differs is how a claim is made safe.  Transactions run at READ COMMITTED and the claim reads the
next pending row with ``SELECT ... FOR UPDATE SKIP LOCKED``: a row that another station's open
transaction has locked is skipped rather than waited for, so N stations claiming at once each get
a different row without queueing, and a row that was claimed and committed after this
transaction's snapshot is re-checked against its newest version and no longer matches
``state = 'pending'`` (PostgreSQL manual, "The Locking Clause" and "Read Committed Isolation
Level").  Reads that modify one known record use plain ``FOR UPDATE`` (waiting is right there:
the other holder is the same record's card).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo, errors

from simtool.errors import DataError, JournalConflict, JournalError, JournalUnavailable
from simtool.provision.conninfo import redact_conninfo as _redacted
from simtool.provision.journal import Journal, schema_ddl

# pg_advisory_xact_lock key serialising CREATE TABLE IF NOT EXISTS between stations that open
# the same fresh database at once (two concurrent creations would clash in pg_type).
_SCHEMA_LOCK = 0x73696D746F6F6C  # "simtool"
# pg_advisory_xact_lock key serialising Journal.reserve_batch between generators.
_RESERVE_LOCK = 0x73696D746F6F6D
#: Seconds libpq waits for a server that does not answer (unless the URL sets connect_timeout).
CONNECT_TIMEOUT = 10

_PG_TRIGGER = """
CREATE OR REPLACE FUNCTION journal_events_append_only() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'journal_events is append-only'; END $$;
CREATE OR REPLACE TRIGGER journal_events_append_only BEFORE UPDATE OR DELETE ON journal_events
    FOR EACH ROW EXECUTE FUNCTION journal_events_append_only();
"""


class PostgresJournal(Journal):
    """The journal in a PostgreSQL database.  The connection is autocommit; every operation is
    one explicit transaction.  A connection broken by a server restart fails the operation in
    progress with :class:`~simtool.errors.JournalUnavailable` (its transaction was rolled back
    or its outcome is unknown to the caller) and is replaced on the next operation."""

    _PLACEHOLDER = "%s"
    _FOR_UPDATE = " FOR UPDATE"
    _SKIP_LOCKED = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str, **kw: Any) -> None:
        super().__init__(**kw)
        try:
            params = conninfo.conninfo_to_dict(url)
        except psycopg.Error:
            raise DataError(f"malformed PostgreSQL URL {_redacted(url)}",
                            where="journal URL") from None
        self._url = url
        # without a timeout libpq waits for an unreachable host as long as TCP does (minutes)
        self._connect_kw = {} if "connect_timeout" in params else {
            "connect_timeout": CONNECT_TIMEOUT}
        self._conn: psycopg.Connection | None = None
        with self._transaction() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            for statement in schema_ddl(
                    timestamp="timestamptz",
                    serial_key="bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY"):
                cur.execute(statement)
            cur.execute(_PG_TRIGGER)

    def _connect(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                self._conn.close()
            try:
                self._conn = psycopg.connect(self._url, autocommit=True,
                                             application_name="simtool-journal",
                                             **self._connect_kw)
            except psycopg.Error as exc:
                raise JournalUnavailable(f"cannot connect to the journal at"
                                         f" {_redacted(self._url)}: {_redacted(_one_line(exc))}"
                                         ) from exc
        return self._conn

    def _lock_numbers(self, cur: psycopg.Cursor) -> None:
        # READ COMMITTED: every statement after this one sees what the previous holder of the
        # lock committed, so the issued values read next include its reservation.
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_RESERVE_LOCK,))

    @contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor]:
        conn = self._connect()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except psycopg.Error as exc:
            raise _journal_error(exc) from exc

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()


def _one_line(exc: psycopg.Error) -> str:
    """libpq's message (with its DETAIL/HINT lines) as one line."""
    return " ".join(str(exc).split())


def _journal_error(exc: psycopg.Error) -> JournalError:
    """The JournalError kind for a database error, by psycopg's class (SQLSTATE class 08
    connection exceptions, 57 operator intervention and 53 insufficient resources are
    OperationalError; 23505 is UniqueViolation)."""
    if isinstance(exc, psycopg.OperationalError):
        return JournalUnavailable(f"journal database error (server unavailable):"
                                  f" {_redacted(_one_line(exc))}")
    if isinstance(exc, errors.UniqueViolation):
        return JournalConflict(f"journal database error (conflict): {_redacted(_one_line(exc))}")
    return JournalError(f"journal database error: {_redacted(_one_line(exc))}")
