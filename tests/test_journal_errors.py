"""Journal failures are journal errors, not "the card answered with an error" (exit 1).

A damaged SQLite file and values another batch holds are bad journal data (exit 4); a database
that cannot be reached is exit 6.  Each case is checked in the library (the error's kind) and
through the ``simtool`` command run as a process (its exit code and its one ``error:`` line).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from simtool.errors import JournalConflict, JournalCorrupt, JournalUnavailable
from simtool.provision import journal_sqlite
from simtool.provision.generate import generate_batch
from simtool.provision.journal_open import open_journal
from simtool.provision.profile import load_profile
from tests.pg import postgres_server  # noqa: F401  (registers the session fixture)

REPO = Path(__file__).resolve().parent.parent


def simtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "simtool", *args], cwd=REPO,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def generate(out: Path, journal_url: str) -> subprocess.CompletedProcess:
    return simtool("batch", "generate", "--profile", "milo", "--count", "3", "--out", str(out),
                   "--workers", "1", "--journal", journal_url)


# --- the damaged SQLite journal ----------------------------------------------------------------

def not_a_database(path: Path) -> Path:
    path.write_bytes(b"this is a spreadsheet, not a journal\n" * 200)
    return path


def damaged_journal(path: Path) -> Path:
    """A real journal whose table pages were overwritten (its header and schema page intact)."""
    with open_journal(f"sqlite:///{path}", path.parent) as journal:
        journal.reserve_batch("b0", lambda issued: [
            (f"894897000000000{i:03d}0", f"26097000000{i:04d}", None) for i in range(200)])
    with sqlite3.connect(path) as conn:  # fold the WAL into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = 4096
    data = bytearray(path.read_bytes())
    assert len(data) > 3 * page
    data[page:] = b"\xA5" * (len(data) - page)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("damage", [not_a_database, damaged_journal])
def test_a_damaged_sqlite_journal_is_bad_data_exit_4(damage, tmp_path):
    path = damage(tmp_path / "journal.sqlite")
    with pytest.raises(JournalCorrupt, match="not a usable journal"):
        with open_journal(f"sqlite:///{path}", tmp_path) as journal:
            journal.issued_values()
    batches = tmp_path / "batches"
    batches.mkdir()
    done = generate(batches / "b1", f"sqlite:///{path}")
    assert done.returncode == 4, done.stderr
    line = one_error_line(done)
    assert str(path) in line and "not a usable journal" in line
    assert list(batches.iterdir()) == []  # no folder, no staging folder


def test_a_sqlite_journal_locked_past_the_wait_is_unavailable(tmp_path, monkeypatch):
    open_journal(None, tmp_path).close()
    holder = sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another station's write, never finished
    try:
        monkeypatch.setattr(journal_sqlite, "LOCK_WAIT", 0.2)
        with pytest.raises(JournalUnavailable, match="locked by another station"):
            open_journal(None, tmp_path)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


# --- PostgreSQL that cannot be reached -----------------------------------------------------------

def test_an_unreachable_postgresql_is_exit_6(tmp_path):
    nowhere = tmp_path / "no-server-here"
    nowhere.mkdir()
    url = f"postgresql:///journal?host={nowhere}&port=5432&user=simtool"
    with pytest.raises(JournalUnavailable, match="cannot connect"):
        open_journal(url, tmp_path)
    batches = tmp_path / "batches"
    batches.mkdir()
    done = generate(batches / "b1", url)
    assert done.returncode == 6, done.stderr
    line = one_error_line(done)
    assert "cannot connect to the journal" in line and str(nowhere) in line
    assert list(batches.iterdir()) == []


def test_a_postgresql_that_goes_away_is_unavailable(postgres_server, tmp_path):  # noqa: F811
    url = postgres_server.create_database()
    with open_journal(url, tmp_path) as journal:
        journal.issued_values()
        postgres_server.restart()  # drops the journal's connection
        with pytest.raises(JournalUnavailable, match="server unavailable"):
            journal.issued_values()


# --- numbers another batch holds -------------------------------------------------------------------

def test_a_batch_whose_numbers_another_batch_holds_is_refused_exit_4(tmp_path):
    """Two folders generated without the journal hold the same numbers; the second one a
    station opens against the shared journal is refused before any reader is looked for."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    for name in ("a", "b"):
        generate_batch(load_profile("milo"), 2, tmp_path / name, panel_import=False)
    with open_journal(url, tmp_path) as journal:
        from simtool.provision.batchdir import read_records

        records = [(r.index, r.iccid, r.imsi, r.msisdn)
                   for r in read_records(tmp_path / "a" / "records.jsonl")]
        journal.load_batch("batch-a", records)
    with open_journal(url, tmp_path) as journal, pytest.raises(JournalConflict):
        journal.load_batch("batch-b", records)
    done = simtool("batch", "program", str(tmp_path / "b"), "--journal", url,
                   "--adm1", "12345678")
    assert done.returncode == 4, done.stderr
    line = one_error_line(done)
    assert "conflicts with record 0 of batch batch-a" in line
