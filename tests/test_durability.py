"""What simtool writes survives a power cut: the atomic writer syncs the file before the
rename and the directory after it, and the SQLite journal commits with ``synchronous=FULL``.

Without the file fsync a crash can leave the renamed name pointing at an empty or partial file
(the rename reached the disk, the data did not); without the directory fsync the rename itself
can be lost (POSIX rename(2) is atomic, not durable).  Nothing short of pulling the power
shows either fault, so the calls themselves are watched: ``os.fsync`` and ``os.replace`` are
wrapped (they still run) and every call is recorded with what the descriptor refers to.
"""

from __future__ import annotations

import os
import stat

import pytest

from simtool.provision import batchdir
from simtool.provision.batchdir import atomic_open, atomic_write
from simtool.provision.journal_open import open_journal


@pytest.fixture
def calls(monkeypatch):
    """[("fsync", inode, is_dir) | ("replace", src, dst)] in call order."""
    log: list[tuple] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        st = os.fstat(fd)
        log.append(("fsync", st.st_ino, stat.S_ISDIR(st.st_mode)))
        return real_fsync(fd)

    def replace(src, dst, **kw):
        log.append(("replace", os.fspath(src), os.fspath(dst)))
        return real_replace(src, dst, **kw)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return log


def _writes_durably(calls, path) -> None:
    kinds = [c[0] for c in calls]
    assert kinds == ["fsync", "replace", "fsync"], calls
    file_sync, rename, dir_sync = calls
    # the file synced is the one that now has the name, synced before the rename...
    assert file_sync[1:] == (os.stat(path).st_ino, False)
    assert rename[2] == os.fspath(path) and rename[1] != rename[2]
    # ...and the directory holding the name is synced after it
    assert dir_sync[1:] == (os.stat(path.parent).st_ino, True)


@pytest.mark.parametrize("data", ["text\n", b"\x00bytes"])
def test_atomic_write_syncs_the_file_then_the_directory(tmp_path, calls, data):
    path = tmp_path / "out.key"
    atomic_write(path, data)
    _writes_durably(calls, path)
    assert (path.read_bytes() if isinstance(data, bytes) else path.read_text()) == data


def test_atomic_open_replacing_a_file_syncs_too(tmp_path, calls):
    path = tmp_path / "records.jsonl"
    path.write_text("old\n")
    with atomic_open(path) as fh:
        fh.write("new\n")
    _writes_durably(calls, path)
    assert path.read_text() == "new\n"


def test_a_failed_write_syncs_and_renames_nothing(tmp_path, calls):
    path = tmp_path / "out.key"
    with pytest.raises(RuntimeError):
        with atomic_open(path) as fh:
            fh.write("half")
            raise RuntimeError("interrupted")
    assert calls == [] and not path.exists() and list(tmp_path.iterdir()) == []


def test_commit_staging_syncs_the_parent_after_the_rename(tmp_path, calls, monkeypatch):
    synced = []
    monkeypatch.setattr(os, "sync", lambda: synced.append(len(calls)))
    out = tmp_path / "batch"
    staging = batchdir.create_staging(out)
    (staging / "records.jsonl").write_text("{}\n")
    batchdir.commit_staging(staging, out)
    assert synced == [0]  # everything flushed before the rename
    assert calls == [("fsync", os.stat(tmp_path).st_ino, True)]
    assert (out / "records.jsonl").read_text() == "{}\n"


def test_sqlite_journal_commits_with_synchronous_full(tmp_path):
    journal = open_journal(None, tmp_path)
    try:
        # PRAGMA synchronous is per connection: ask the journal's own (2 = FULL)
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # noqa: SLF001
        assert journal._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # noqa: SLF001
    finally:
        journal.close()
