"""Opening the provisioning journal named by a URL: the one place that knows both backends.

:mod:`simtool.provision.journal` holds the backend-independent :class:`Journal`; the SQLite and
PostgreSQL backends import it, and this module imports them (PostgreSQL only when asked for, so
psycopg is needed only by those who use it), so no module of the three imports another in a
circle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from simtool.errors import DataError
from simtool.provision.journal import DEFAULT_FILENAME, Journal
from simtool.provision.journal_sqlite import SqliteJournal


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def open_journal(url: str | None, batch_dir: Path, *, batch_id: str | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> Journal:
    """Open (creating its tables if needed) the journal of the batch in ``batch_dir``.

    ``url``: None or ``sqlite://`` → ``batch_dir/journal.sqlite``; ``sqlite:///name`` → a file
    relative to ``batch_dir``; ``sqlite:////abs/path`` → an absolute path;
    ``postgresql://user@host/db`` or ``postgresql:///db?host=/socket/dir`` → PostgreSQL
    (psycopg 3).  A malformed or unknown URL raises :class:`DataError`; a database that cannot
    be opened raises a :class:`~simtool.errors.JournalError` (``JournalUnavailable`` when it
    cannot be reached, ``JournalCorrupt`` when it is not a journal)."""
    batch_dir = Path(batch_dir)
    if url is None:
        return SqliteJournal(batch_dir / DEFAULT_FILENAME, batch_id=batch_id, clock=clock)
    if not isinstance(url, str):
        raise DataError(f"journal URL must be a string, got {type(url).__name__}")
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        parts = urlsplit(url)
        if not url.lower().startswith("sqlite://") or parts.netloc or parts.query:
            raise DataError("a SQLite journal URL is sqlite:///relative/path or"
                            " sqlite:////absolute/path", where="journal URL")
        name = parts.path[1:]
        return SqliteJournal(batch_dir / (name or DEFAULT_FILENAME), batch_id=batch_id,
                             clock=clock)
    if scheme in ("postgresql", "postgres"):
        from simtool.provision.journal_pg import PostgresJournal  # psycopg only when used

        return PostgresJournal(url, batch_id=batch_id, clock=clock)
    raise DataError("unknown journal URL scheme (use sqlite:// or postgresql://)",
                    where="journal URL")


__all__ = ["open_journal"]
