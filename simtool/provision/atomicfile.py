"""Files written whole or not at all, created with their final mode from the first byte.

* :func:`atomic_open` / :func:`atomic_write`: temp file (``os.open(..., O_EXCL, mode)``) +
  fsync + rename.  With ``exclusive=True`` the final name is *created*, never replaced: the
  temp file is hard-linked to it (``link(2)`` fails with EEXIST when the name exists, whatever
  appeared there since any earlier check), so "refuses to overwrite" holds under races.
* :func:`write_new`: a new file inside a staging folder (no fsync; the folder's commit syncs).
* :class:`BulkWriter`: many :func:`write_new` calls from background threads.

Errors (:class:`OSError`) always name the file the caller asked for, never the hidden temp
name (``.op.key.a2b22733.tmp``) the writer used on the way.
"""

from __future__ import annotations

import errno
import os
import queue
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

SECRET_MODE = 0o600
#: Files that are not secret but name subscribers (batch.toml, the journal): owner and group.
PRIVATE_MODE = 0o640


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def naming(exc: OSError, path: str | os.PathLike[str]) -> OSError:
    """The same error about ``path`` (the caller's name for the file), not about a temp file."""
    return type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno or 0) or str(exc),
                     str(path))


def _temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_open(path: str | os.PathLike[str], *, mode: int = SECRET_MODE, text: bool = True,
                newline: str | None = None, exclusive: bool = False) -> Iterator[IO[Any]]:
    """Write ``path`` through a temp file created with ``mode``; fsync and rename on success,
    remove the temp file on error.  An existing ``path`` is replaced atomically, or, with
    ``exclusive``, refused with :class:`FileExistsError` (checked at the moment the name is
    created, so a file that appears meanwhile survives)."""
    path = Path(path)
    tmp = _temp_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise naming(exc, path) from None
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow what was asked
        with (os.fdopen(fd, "w", encoding="utf-8", newline=newline) if text
              else os.fdopen(fd, "wb")) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)  # EEXIST if the name exists now: nothing is replaced
            tmp.unlink()
        else:
            os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise naming(exc, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write(path: str | os.PathLike[str], data: str | bytes, *,
                 mode: int = SECRET_MODE, exclusive: bool = False) -> None:
    with atomic_open(path, mode=mode, text=isinstance(data, str), newline="",
                     exclusive=exclusive) as fh:
        fh.write(data)


def create_new(path: str | os.PathLike[str], data: str | bytes, *,
               mode: int = SECRET_MODE) -> None:
    """Write a file that must not exist yet (a key, a decrypted export): complete and synced
    under its final name, or :class:`FileExistsError` naming ``path`` and nothing changed."""
    try:
        atomic_write(path, data, mode=mode, exclusive=True)
    except FileExistsError as exc:
        raise FileExistsError(errno.EEXIST, "file exists", str(path)) from exc


def write_new(path: Path, data: bytes, *, mode: int = SECRET_MODE) -> None:
    """Create a new file inside a staging folder (O_EXCL, no fsync: the commit syncs)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise naming(exc, path) from None
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except OSError as exc:
        raise naming(exc, path) from None
    finally:
        os.close(fd)


class BulkWriter:
    """Creates many small new files (:func:`write_new`) from background threads, so the
    kernel's file-creation time overlaps the caller's work; the bounded queue keeps memory
    flat.  The first error is raised by the next :meth:`write` or by :meth:`close`."""

    def __init__(self, *, threads: int = 2, backlog: int = 512) -> None:
        self._queue: queue.Queue[tuple[Path, bytes] | None] = queue.Queue(maxsize=backlog)
        self._error: BaseException | None = None
        self._threads = [threading.Thread(target=self._run, name="bulk-writer", daemon=True)
                         for _ in range(threads)]
        for t in self._threads:
            t.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    write_new(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller
                    self._error = exc

    def write(self, path: Path, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((path, data))

    def close(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join()
        if self._error is not None:
            raise self._error

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
