"""The SQLite journal's own rules: how its file is created and opened, the connection settings
that make claims safe, and how SQLite's result codes become journal errors naming the file.

The behaviour shared with PostgreSQL is in test_journal.py; the CLI's exit codes for these
errors are in test_journal_errors.py.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from simtool.errors import JournalConflict, JournalCorrupt, JournalError, JournalUnavailable
from simtool.provision import journal_sqlite
from simtool.provision.journal_sqlite import SqliteJournal, _journal_error

RECORDS = [(0, "8948010010000000010", "260010000000001", None)]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask():
    """Set the process umask for one test (restored afterwards)."""
    saved = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(saved)


# --- the file --------------------------------------------------------------------------------

def test_a_new_journal_is_owner_only_from_its_creation(tmp_path, umask, monkeypatch):
    """The journal lists a batch's ICCIDs and IMSIs: it is created 0600, not created 0644 and
    narrowed afterwards (another user could open it in between)."""
    umask(0)
    modes_before_fchmod = []
    real_fchmod = os.fchmod

    def fchmod(fd, mode_):
        modes_before_fchmod.append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_fchmod(fd, mode_)
    monkeypatch.setattr(os, "fchmod", fchmod)
    SqliteJournal(tmp_path / "j.sqlite").close()
    assert modes_before_fchmod == [0o600]
    assert mode(tmp_path / "j.sqlite") == 0o600


def test_a_new_journal_is_0600_whatever_the_umask(tmp_path, umask):
    umask(0o277)  # would leave the owner without write permission
    SqliteJournal(tmp_path / "j.sqlite").close()
    assert mode(tmp_path / "j.sqlite") == 0o600


def test_an_existing_journal_keeps_its_mode(tmp_path):
    SqliteJournal(tmp_path / "j.sqlite").close()
    (tmp_path / "j.sqlite").chmod(0o640)  # its owner shares it with a group
    with SqliteJournal(tmp_path / "j.sqlite") as j:
        j.load_batch("b1", RECORDS)
    assert mode(tmp_path / "j.sqlite") == 0o640


def test_a_journal_that_cannot_be_created_names_the_file_and_why(tmp_path):
    path = tmp_path / "missing" / "journal.sqlite"
    with pytest.raises(JournalError) as failed:
        SqliteJournal(path)
    assert str(failed.value) == f"{path}: cannot create the journal: No such file or directory"


def test_a_journal_sqlite_cannot_open_names_the_file(tmp_path):
    path = tmp_path / "a-folder.sqlite"
    path.mkdir()  # exists, so it is not created; SQLite cannot open a directory
    with pytest.raises(JournalError) as failed:
        SqliteJournal(path)
    assert type(failed.value) is JournalError
    assert str(failed.value) == f"{path}: cannot open the journal: unable to open database file"


def test_a_database_without_wal_is_refused(tmp_path, monkeypatch):
    """WAL lets status queries read while a station writes; SQLite answers another mode where
    it cannot keep a WAL (an in-memory database, as ``:memory:`` names one)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(JournalError) as refused:
        SqliteJournal(Path(":memory:"))
    assert str(refused.value) == ":memory:: SQLite refused WAL mode (got memory)"


# --- the connection ------------------------------------------------------------------------------

def test_the_connection_waits_for_a_write_lock_and_syncs_fully(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite") as j:
        conn = j._conn  # noqa: SLF001  (the settings are per connection)
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == journal_sqlite.LOCK_WAIT * 1000
        assert journal_sqlite.LOCK_WAIT == 30.0
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_default_clock_is_utc(tmp_path):
    with SqliteJournal(tmp_path / "j.sqlite") as j:
        j.load_batch("b1", RECORDS)
        assert j.record(0).updated_at.utcoffset() == timedelta(0)
        assert j.events()[0].at.utcoffset() == timedelta(0)


def test_a_station_holding_the_lock_past_the_wait_is_named_with_the_file(tmp_path, monkeypatch):
    path = tmp_path / "j.sqlite"
    SqliteJournal(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        monkeypatch.setattr(journal_sqlite, "LOCK_WAIT", 1.0)
        with pytest.raises(JournalUnavailable) as locked:
            SqliteJournal(path)
        assert str(locked.value) == (f"{path}: the journal stayed locked by another station"
                                     " for 1 s: database is locked")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_database_error_in_an_operation_names_the_file(tmp_path):
    path = tmp_path / "j.sqlite"
    with SqliteJournal(path) as j:
        j.load_batch("b1", RECORDS)
        with sqlite3.connect(path) as other:  # a foreign tool removed the table
            other.execute("DROP TABLE journal_records")
        with pytest.raises(JournalError) as failed:
            j.status_counts()
        assert type(failed.value) is JournalError
        assert str(failed.value) == (f"{path}: journal database error:"
                                     " no such table: journal_records")
        # the failed transaction was rolled back: another station gets the write lock at once
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        finally:
            other.close()


def test_a_value_another_record_holds_is_a_conflict_naming_the_file(tmp_path):
    path = tmp_path / "j.sqlite"
    with SqliteJournal(path) as j:
        j.load_batch("b1", RECORDS)
        with pytest.raises(JournalConflict) as conflict:
            SqliteJournal(path).reserve_batch("b2", lambda issued: [RECORDS[0][1:]], attempts=1)
        assert str(conflict.value) == (f"{path}: UNIQUE constraint failed: journal_records.imsi"
                                       " (the value is another record's)")


# --- SQLite's result codes --------------------------------------------------------------------------

def _raised(action) -> sqlite3.Error:
    try:
        action()
    except sqlite3.Error as exc:
        return exc
    raise AssertionError("no sqlite3.Error")


def _not_a_database(tmp_path: Path) -> sqlite3.Error:
    path = tmp_path / "text.sqlite"
    path.write_bytes(b"a spreadsheet, not a journal\n" * 200)
    return _raised(lambda: sqlite3.connect(path).execute("SELECT * FROM sqlite_master"))


def _corrupt(tmp_path: Path) -> sqlite3.Error:
    path = tmp_path / "corrupt.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (a TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 100,)] * 300)
    conn.close()
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xA5" * (len(data) - 4096)  # the header and schema page are left intact
    path.write_bytes(bytes(data))
    return _raised(lambda: sqlite3.connect(path).execute("SELECT * FROM t").fetchall())


def _busy(tmp_path: Path) -> sqlite3.Error:
    path = tmp_path / "busy.sqlite"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        return _raised(lambda: sqlite3.connect(path, timeout=0, isolation_level=None)
                       .execute("BEGIN IMMEDIATE"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _memory(*statements: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a TEXT PRIMARY KEY, b TEXT UNIQUE)")
    conn.execute("INSERT INTO t VALUES ('x', 'y'), ('p', 'q')")
    for sql in statements:
        conn.execute(sql)
    return conn


def _locked(tmp_path: Path) -> sqlite3.Error:
    conn = _memory()
    reading = conn.execute("SELECT * FROM t")
    reading.fetchone()  # a statement still reading the table
    return _raised(lambda: conn.execute("DROP TABLE t"))


def _closed(tmp_path: Path) -> sqlite3.Error:
    conn = _memory()
    conn.close()
    return _raised(lambda: conn.execute("SELECT 1"))  # raised by Python's module, no code


# (how to cause it, the kind of journal error, its text after "<path>: ")
RESULT_CODES = [
    (_not_a_database, JournalCorrupt, "not a usable journal (a damaged database, or not a"
     " SQLite file): file is not a database"),
    (_corrupt, JournalCorrupt, "not a usable journal (a damaged database, or not a SQLite"
     " file): database disk image is malformed"),
    (_busy, JournalUnavailable, "the journal stayed locked by another station for 30 s:"
     " database is locked"),
    (_locked, JournalUnavailable, "the journal stayed locked by another station for 30 s:"
     " database table is locked"),
    (lambda _: _raised(lambda: _memory("INSERT INTO t VALUES ('z', 'y')")), JournalConflict,
     "UNIQUE constraint failed: t.b (the value is another record's)"),
    # the primary key's own code: SQLITE_CONSTRAINT_PRIMARYKEY
    (lambda _: _raised(lambda: _memory("INSERT INTO t VALUES ('x', 'z')")), JournalConflict,
     "UNIQUE constraint failed: t.a (the value is another record's)"),
    (lambda _: _raised(lambda: _memory("SELEKT\n  1")), JournalError,
     'reading: near "SELEKT": syntax error'),
    (_closed, JournalError, "reading: Cannot operate on a closed database."),
]


@pytest.mark.parametrize("cause, kind, text", RESULT_CODES)
def test_each_sqlite_result_code_is_its_kind_of_journal_error(cause, kind, text, tmp_path):
    error = _journal_error(tmp_path / "j.sqlite", "reading", cause(tmp_path))
    assert type(error) is kind
    assert str(error) == f"{tmp_path / 'j.sqlite'}: {text}"
