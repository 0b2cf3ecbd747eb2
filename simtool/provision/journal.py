"""The provisioning journal: what happened to every card record of a batch.

A batch folder's ``records.jsonl`` holds one card per line (secrets included); the journal holds
only identifiers (record index, ICCID, IMSI, MSISDN, the ICCID the blank card carried, station
names) and states, never a Ki, OPc, PIN or ADM key.  Several programming stations may share one
journal: a SQLite file in WAL mode on one machine, or a PostgreSQL database across machines.

Record states and the only transitions allowed (any other raises :class:`JournalError`)::

    pending --claim--> claimed --mark_step--> writing --mark_written--> written
    written --mark_verified--> verified
    claimed --release--> pending                 (only while no step has been done)
    claimed | writing | written --mark_partial--> partial   (card pulled; steps done are kept)
    partial --claim_for_card (same card)--> writing          (resume: done steps are skipped)
    claimed | writing | written | partial --mark_failed--> failed

Invariants the journal enforces:

* a record is never given to two cards: a claim takes a ``pending`` row inside one transaction
  that holds a write lock on it (PostgreSQL ``FOR UPDATE SKIP LOCKED``, SQLite ``BEGIN IMMEDIATE``);
  a record with steps done is never released back to ``pending``;
* a card is never given a second ICCID: :meth:`Journal.claim_for_card` hands a card that
  already carries one of the batch's ICCIDs that record and no other, refuses a card whose record
  is already verified or failed, and refuses a card carrying an ICCID of another batch.  A blank
  card is remembered by the ICCID it came with (``card_iccid``) until its record is finished, so
  re-inserting it before its EF.ICCID was written resumes the same record.  The programming loop
  therefore writes EF.ICCID as its first step: from then on the card identifies its record.
* ICCID, IMSI and MSISDN are unique over every batch the database holds.  A new batch takes
  its numbers with :meth:`Journal.reserve_batch`, which picks them from what is not yet issued
  and inserts them in one serialised transaction, before a single card is generated; so
  generators sharing a journal never pick the same number.  A generation that fails gives its
  numbers back with :meth:`Journal.discard_reservation` (a killed one leaves them reserved:
  never reused, never programmable, as it left no batch folder).

Errors are :class:`~simtool.errors.JournalError` (exit 4) or its kinds ``JournalConflict``,
``JournalCorrupt`` (exit 4) and ``JournalUnavailable`` (exit 6).  The journal named by a URL is
opened by :func:`simtool.provision.journal_open.open_journal`.

Every change appends a row to ``journal_events`` (time, station, record, event, detail); the
table refuses UPDATE and DELETE by trigger.  A :class:`Journal` object holds one database
connection and is used by one thread; each station (or worker) opens its own.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from simtool.errors import DataError, JournalConflict, JournalError

DEFAULT_FILENAME = "journal.sqlite"


class RecordState(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    WRITING = "writing"
    WRITTEN = "written"
    VERIFIED = "verified"
    PARTIAL = "partial"
    FAILED = "failed"


#: States of a record that a card is working on (or was pulled from) and not finished.
UNFINISHED = (RecordState.CLAIMED, RecordState.WRITING, RecordState.WRITTEN, RecordState.PARTIAL)


@dataclass(frozen=True)
class JournalRecord:
    batch_id: str
    index: int
    iccid: str
    imsi: str
    msisdn: str | None
    state: RecordState
    station: str | None
    card_iccid: str | None  # the ICCID the card carried when it claimed this record
    steps: tuple[str, ...]  # programming steps completed, in order
    reason: str | None  # why it failed / was left partial
    updated_at: datetime

    @property
    def last_step(self) -> str | None:
        return self.steps[-1] if self.steps else None


@dataclass(frozen=True)
class Claim:
    """A record handed to a station for one card.  ``resumed`` is True when the card had
    started on this record before; ``steps_done`` are then to be skipped."""

    index: int
    iccid: str
    imsi: str
    msisdn: str | None
    station: str
    state: RecordState
    steps_done: tuple[str, ...]
    resumed: bool


@dataclass(frozen=True)
class IssuedValues:
    iccids: frozenset[str]
    imsis: frozenset[str]
    msisdns: frozenset[str]


@dataclass(frozen=True)
class JournalEvent:
    seq: int
    at: datetime
    batch_id: str
    index: int | None
    station: str | None
    event: str
    detail: str | None


_COLS = "idx, iccid, imsi, msisdn, state, station, card_iccid, steps, reason, updated_at"
_UNFINISHED_SQL = "(" + ", ".join(f"'{s.value}'" for s in UNFINISHED) + ")"


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _need_text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{what} must be a non-empty string, got {type(value).__name__}")
    return value.strip()


def _check_record(item: object) -> tuple[int, str, str, str | None]:
    """Validate one ``(index, iccid, imsi, msisdn)`` tuple of :meth:`Journal.load_batch`."""
    try:
        index, iccid, imsi, msisdn = item  # type: ignore[misc]
    except (TypeError, ValueError):
        raise DataError("a record must be (index, iccid, imsi, msisdn)") from None
    where = f"record {index!r}"
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise DataError("index must be an int >= 0", where=where)
    # ITU-T E.118: an ICCID is 19 or 20 digits (18 without its Luhn digit); TS 23.003 §2.2:
    # an IMSI is at most 15 digits; E.164: an MSISDN is at most 15 digits.
    for name, value, lo, hi in (("iccid", iccid, 18, 20), ("imsi", imsi, 6, 15)):
        if not (isinstance(value, str) and value.isdigit() and value.isascii()
                and lo <= len(value) <= hi):
            raise DataError(f"{name} must be {lo}..{hi} decimal digits", where=where)
    if msisdn is not None:
        digits = msisdn[1:] if isinstance(msisdn, str) and msisdn.startswith("+") else msisdn
        if not (isinstance(digits, str) and digits.isdigit() and digits.isascii()
                and 1 <= len(digits) <= 15):
            raise DataError("msisdn must be up to 15 digits (optionally +) or None", where=where)
    return index, iccid, imsi, msisdn


def _check_records(records: Iterable[object], batch_id: str,
                   ) -> list[tuple[int, str, str, str | None]]:
    """Validate a batch's records: each one, and no index or value twice."""
    rows = [_check_record(item) for item in records]
    for column, name in enumerate(("index", "iccid", "imsi", "msisdn")):
        values = [r[column] for r in rows if r[column] is not None]
        if len(set(values)) != len(values):
            raise DataError(f"duplicate {name} in the records of {batch_id}")
    return rows


def schema_ddl(*, timestamp: str, serial_key: str) -> list[str]:
    """The tables and indexes, in either backend's column types.  ICCID, IMSI and MSISDN are
    UNIQUE over all batches; the partial unique index lets a card (by the ICCID it came with)
    hold at most one unfinished record, even when two stations claim at the same instant."""
    states = ", ".join(f"'{s.value}'" for s in RecordState)
    return [
        f"""CREATE TABLE IF NOT EXISTS journal_records (
            batch_id TEXT NOT NULL, idx INTEGER NOT NULL,
            iccid TEXT NOT NULL UNIQUE, imsi TEXT NOT NULL UNIQUE, msisdn TEXT UNIQUE,
            state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ({states})),
            station TEXT, card_iccid TEXT, steps TEXT NOT NULL DEFAULT '[]', reason TEXT,
            updated_at {timestamp} NOT NULL,
            PRIMARY KEY (batch_id, idx))""",
        "CREATE INDEX IF NOT EXISTS journal_records_state"
        " ON journal_records (batch_id, state, idx)",
        "CREATE UNIQUE INDEX IF NOT EXISTS journal_records_card ON journal_records (card_iccid)"
        f" WHERE state IN {_UNFINISHED_SQL}",
        f"""CREATE TABLE IF NOT EXISTS journal_events (
            seq {serial_key}, at {timestamp} NOT NULL, batch_id TEXT NOT NULL, idx INTEGER,
            station TEXT, event TEXT NOT NULL, detail TEXT)""",
    ]


def _datetime(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class Journal(ABC):
    """The backend-independent journal.  Subclasses provide the connection, the transaction
    (which must hold a write lock from its first statement) and the DDL."""

    _PLACEHOLDER = "?"
    _FOR_UPDATE = ""  # row lock for read-modify-write in a transaction
    _SKIP_LOCKED = ""  # row lock that skips rows another claimer holds

    def __init__(self, *, batch_id: str | None = None,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.batch_id = batch_id
        self._clock = clock

    # --- backend hooks ------------------------------------------------------------------------

    @abstractmethod
    def _transaction(self) -> Any:
        """A context manager: one transaction, yielding a DB-API cursor; commits on success,
        rolls back on any exception, and turns database errors into :class:`JournalError`."""

    def _timestamp(self, when: datetime) -> object:
        return when

    def _lock_numbers(self, cur: Any) -> None:
        """Serialise :meth:`reserve_batch` transactions (held until the transaction ends).
        Nothing to do where every transaction already takes the database's write lock."""

    @abstractmethod
    def close(self) -> None:
        """Close the database connection."""

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- helpers --------------------------------------------------------------------------------

    def _exec(self, cur: Any, sql: str, params: Iterable[object] = ()) -> Any:
        cur.execute(sql.replace("?", self._PLACEHOLDER), tuple(params))
        return cur

    def _batch(self) -> str:
        if self.batch_id is None:
            raise JournalError("no batch selected: call load_batch() first")
        return self.batch_id

    def _event(self, cur: Any, event: str, index: int | None, station: str | None,
               detail: str | None = None) -> None:
        self._exec(cur, "INSERT INTO journal_events (at, batch_id, idx, station, event, detail)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                   (self._timestamp(self._clock()), self._batch(), index, station, event, detail))

    def _row(self, cur: Any, index: int, *, lock: bool) -> JournalRecord:
        row = self._exec(cur, f"SELECT {_COLS} FROM journal_records WHERE batch_id = ? AND idx = ?"
                              + (self._FOR_UPDATE if lock else ""),
                         (self._batch(), index)).fetchone()
        if row is None:
            raise JournalError(f"batch {self._batch()} has no record {index}")
        return self._to_record(row)

    def _to_record(self, row: tuple) -> JournalRecord:
        return JournalRecord(self._batch(), row[0], row[1], row[2], row[3], RecordState(row[4]),
                             row[5], row[6], tuple(json.loads(row[7])), row[8], _datetime(row[9]))

    def _set(self, cur: Any, index: int, **columns: object) -> None:
        columns["updated_at"] = self._timestamp(self._clock())
        sets = ", ".join(f"{name} = ?" for name in columns)
        self._exec(cur, f"UPDATE journal_records SET {sets} WHERE batch_id = ? AND idx = ?",
                   (*columns.values(), self._batch(), index))

    @contextmanager
    def _changing(self, index: int, allowed: Iterable[RecordState],
                  action: str) -> Iterator[tuple[Any, JournalRecord]]:
        """A transaction holding the record's row lock, refusing states not in ``allowed``."""
        with self._transaction() as cur:
            rec = self._row(cur, index, lock=True)
            if rec.state not in allowed:
                raise JournalError(f"record {index} is {rec.state}: cannot {action}")
            yield cur, rec

    def _claim(self, cur: Any, rec: JournalRecord, station: str, card_iccid: str | None,
               ) -> Claim:
        """Turn a locked pending record into a claim for ``station``."""
        self._set(cur, rec.index, state=RecordState.CLAIMED.value, station=station,
                  card_iccid=card_iccid)
        self._event(cur, "claim", rec.index, station, card_iccid and f"card {card_iccid}")
        return Claim(rec.index, rec.iccid, rec.imsi, rec.msisdn, station, RecordState.CLAIMED,
                     (), False)

    def _claim_pending(self, cur: Any, station: str, card_iccid: str | None) -> Claim | None:
        # PostgreSQL: FOR UPDATE SKIP LOCKED makes concurrent claimers pass over rows another
        # open transaction has locked instead of queueing on them, and under READ COMMITTED the
        # locked row is re-checked against the newest committed version, so a row claimed and
        # committed meanwhile no longer matches state = 'pending'.  SQLite: BEGIN IMMEDIATE has
        # already serialised all writers, so the plain SELECT is safe.
        row = self._exec(cur, f"SELECT {_COLS} FROM journal_records"
                              " WHERE batch_id = ? AND state = 'pending' ORDER BY idx LIMIT 1"
                              + self._SKIP_LOCKED, (self._batch(),)).fetchone()
        return None if row is None else self._claim(cur, self._to_record(row), station, card_iccid)

    # --- loading and queries --------------------------------------------------------------------

    def load_batch(self, batch_id: str, records: Iterable[tuple[int, str, str, str | None]],
                   ) -> None:
        """Add a batch's records as ``pending`` and select the batch for this journal object.

        Idempotent: loading the same records again (e.g. from a second station) changes nothing.
        An index already loaded with other values, or an ICCID/IMSI/MSISDN that another record
        already holds, raises :class:`JournalError` and loads nothing."""
        batch_id = _need_text(batch_id, "batch_id")
        if self.batch_id is not None and self.batch_id != batch_id:
            raise JournalError(f"this journal object is bound to batch {self.batch_id}")
        rows = _check_records(records, batch_id)
        bound, self.batch_id = self.batch_id, batch_id
        try:
            self._load(batch_id, rows)
        except BaseException:
            self.batch_id = bound
            raise

    def _load(self, batch_id: str, rows: list[tuple[int, str, str, str | None]]) -> None:
        now = self._timestamp(self._clock())
        with self._transaction() as cur:
            cur.executemany(
                "INSERT INTO journal_records (batch_id, idx, iccid, imsi, msisdn, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING".replace("?", self._PLACEHOLDER),
                [(batch_id, *r, now) for r in rows])
            stored = {row[0]: row[1:] for row in self._exec(
                cur, "SELECT idx, iccid, imsi, msisdn FROM journal_records WHERE batch_id = ?",
                (batch_id,)).fetchall()}
            for index, *values in rows:
                if stored.get(index) == tuple(values):
                    continue
                clash = self._exec(cur, "SELECT batch_id, idx FROM journal_records"
                                        " WHERE iccid = ? OR imsi = ? OR msisdn = ?",
                                   tuple(values)).fetchone()
                raise JournalConflict(f"record {index} of batch {batch_id} conflicts with"
                                      f" record {clash[1]} of batch {clash[0]}" if clash else
                                      f"record {index} of batch {batch_id} was loaded before"
                                      " with other values")
            self._event(cur, "load", None, None, f"{len(rows)} records")

    def record(self, index: int) -> JournalRecord:
        with self._transaction() as cur:
            return self._row(cur, index, lock=False)

    def status_counts(self) -> dict[RecordState, int]:
        """Number of records of the batch in each state (every state present)."""
        with self._transaction() as cur:
            rows = self._exec(cur, "SELECT state, COUNT(*) FROM journal_records"
                                   " WHERE batch_id = ? GROUP BY state", (self._batch(),))
            counts = dict.fromkeys(RecordState, 0)
            counts.update({RecordState(state): n for state, n in rows.fetchall()})
            return counts

    def issued_values(self) -> IssuedValues:
        """Every ICCID, IMSI and MSISDN any batch in this database holds, whatever its state."""
        with self._transaction() as cur:
            return self._issued(cur)

    def _issued(self, cur: Any) -> IssuedValues:
        rows = self._exec(cur, "SELECT iccid, imsi, msisdn FROM journal_records").fetchall()
        return IssuedValues(frozenset(r[0] for r in rows), frozenset(r[1] for r in rows),
                            frozenset(r[2] for r in rows if r[2] is not None))

    # --- reserving a new batch's numbers ----------------------------------------------------------

    def reserve_batch(self, batch_id: str,
                      allocate: Callable[[IssuedValues], Iterable[tuple[str, str, str | None]]],
                      *, attempts: int = 3) -> list[tuple[int, str, str, str | None]]:
        """Register a new batch's numbers before any of its cards is generated, and select the
        batch for this journal object.

        In one transaction: wait for the reservation lock (:meth:`_lock_numbers`), read every
        value issued so far, call ``allocate(issued)`` for the new batch's ``(iccid, imsi,
        msisdn)`` in record order, insert them as ``pending`` records 0..n-1, commit.  Two
        reservations therefore never see the same free numbers.  A writer that does not take
        the lock (:meth:`load_batch` of a folder generated without this journal) can still take
        a value in between; the UNIQUE columns then refuse the insert and the reservation is
        made again, from the values issued by then, up to ``attempts`` times
        (:class:`JournalConflict` after that).  Returns the records as inserted.

        A batch_id the journal already holds is refused (:class:`JournalConflict`); an error of
        ``allocate`` (e.g. :class:`DataError`: the pool is exhausted) reserves nothing."""
        batch_id = _need_text(batch_id, "batch_id")
        if self.batch_id is not None and self.batch_id != batch_id:
            raise JournalError(f"this journal object is bound to batch {self.batch_id}")
        bound, self.batch_id = self.batch_id, batch_id
        try:
            attempt = 1
            while True:
                inserting = False
                try:
                    with self._transaction() as cur:
                        self._lock_numbers(cur)
                        if self._exec(cur, "SELECT 1 FROM journal_records WHERE batch_id = ?"
                                           " LIMIT 1", (batch_id,)).fetchone():
                            raise JournalConflict(f"batch {batch_id} is already in the journal")
                        numbers = allocate(self._issued(cur))
                        rows = _check_records([(index, *values) for index, values
                                               in enumerate(numbers)], batch_id)
                        now = self._timestamp(self._clock())
                        inserting = True
                        cur.executemany(
                            "INSERT INTO journal_records (batch_id, idx, iccid, imsi, msisdn,"
                            " updated_at) VALUES (?, ?, ?, ?, ?, ?)".replace(
                                "?", self._PLACEHOLDER),
                            [(batch_id, *row, now) for row in rows])
                        inserting = False
                        self._event(cur, "reserve", None, None, f"{len(rows)} records")
                    return rows
                except JournalConflict:
                    if not inserting or attempt >= attempts:
                        raise
                attempt += 1
        except BaseException:
            self.batch_id = bound
            raise

    def discard_reservation(self, reason: str) -> int:
        """Take back the numbers :meth:`reserve_batch` registered for this batch, whose folder
        was never made (its generation failed).  Refused once any record has left ``pending``:
        then a station has programmed from the batch and its numbers stay issued.  Returns the
        number of records removed; the event log keeps the reservation and its discarding."""
        reason = _need_text(reason, "reason")
        with self._transaction() as cur:
            busy = self._exec(cur, "SELECT COUNT(*) FROM journal_records WHERE batch_id = ?"
                                   " AND state <> 'pending'", (self._batch(),)).fetchone()[0]
            if busy:
                raise JournalError(f"batch {self._batch()} has {busy} records in use: its"
                                   " numbers stay issued")
            removed = self._exec(cur, "DELETE FROM journal_records WHERE batch_id = ?",
                                 (self._batch(),)).rowcount
            self._event(cur, "discard", None, None, f"{removed} records: {reason}")
        return removed

    def events(self, index: int | None = None) -> list[JournalEvent]:
        """The batch's event log, oldest first; only one record's events when ``index`` given."""
        sql = ("SELECT seq, at, batch_id, idx, station, event, detail FROM journal_events"
               " WHERE batch_id = ?" + (" AND idx = ?" if index is not None else "")
               + " ORDER BY seq")
        params = (self._batch(),) + ((index,) if index is not None else ())
        with self._transaction() as cur:
            rows = self._exec(cur, sql, params).fetchall()
        return [JournalEvent(r[0], _datetime(r[1]), *r[2:]) for r in rows]

    # --- claiming ---------------------------------------------------------------------------------

    def claim_next(self, station: str) -> Claim | None:
        """Claim the lowest-index ``pending`` record for ``station``; None when none is left."""
        station = _need_text(station, "station")
        with self._transaction() as cur:
            return self._claim_pending(cur, station, None)

    def claim_for_card(self, station: str, card_iccid: str) -> Claim | None:
        """The record for the card just inserted, whose EF.ICCID reads ``card_iccid``.

        * the ICCID is a record of this batch: that record and no other — claimed if pending,
          resumed (``resumed=True``) if claimed/writing/written/partial, refused if verified
          or failed, or if it is claimed (nothing written yet) for another card;
        * the ICCID is the one a blank card carried when it claimed an unfinished record: resume
          that record (the card was pulled before its EF.ICCID was written);
        * the ICCID belongs to another batch in this database: refused;
        * otherwise (a blank card): the next pending record, remembering ``card_iccid``.
        """
        station = _need_text(station, "station")
        card_iccid = _need_text(card_iccid, "card_iccid").upper()
        batch = self._batch()
        with self._transaction() as cur:
            row = self._exec(cur, f"SELECT {_COLS} FROM journal_records WHERE batch_id = ?"
                                  " AND iccid = ?" + self._FOR_UPDATE,
                             (batch, card_iccid)).fetchone()
            if row is None:
                row = self._exec(cur, f"SELECT {_COLS} FROM journal_records WHERE batch_id = ?"
                                      f" AND card_iccid = ? AND state IN {_UNFINISHED_SQL}"
                                      + self._FOR_UPDATE, (batch, card_iccid)).fetchone()
            if row is not None:
                rec = self._to_record(row)
                if rec.state is RecordState.PENDING:
                    return self._claim(cur, rec, station, card_iccid)
                if rec.state in (RecordState.VERIFIED, RecordState.FAILED):
                    raise JournalError(f"card {card_iccid} is record {rec.index}, already"
                                       f" {rec.state}: refusing to program it again")
                if rec.state is RecordState.CLAIMED and rec.card_iccid not in (None, card_iccid):
                    # nothing written yet, so the claiming card (a blank) is another card
                    raise JournalError(f"card {card_iccid} is record {rec.index}, claimed for"
                                       f" card {rec.card_iccid} at {rec.station}: refusing it")
                state = RecordState.WRITING if rec.state is RecordState.PARTIAL else rec.state
                self._set(cur, rec.index, state=state.value, station=station)
                self._event(cur, "resume", rec.index, station,
                            f"from {rec.state}, last step {rec.last_step}")
                return Claim(rec.index, rec.iccid, rec.imsi, rec.msisdn, station, state,
                             rec.steps, True)
            other = self._exec(cur, "SELECT batch_id, idx FROM journal_records WHERE iccid = ?"
                                    f" OR (card_iccid = ? AND state IN {_UNFINISHED_SQL})",
                               (card_iccid, card_iccid)).fetchone()
            if other is not None:
                raise JournalError(f"card {card_iccid} belongs to record {other[1]} of batch"
                                   f" {other[0]}, not to batch {batch}: refusing it")
            return self._claim_pending(cur, station, card_iccid)

    # --- state changes ----------------------------------------------------------------------------

    def mark_step(self, index: int, step: str) -> None:
        """Record that programming ``step`` is done on the card (idempotent)."""
        step = _need_text(step, "step")
        with self._changing(index, (RecordState.CLAIMED, RecordState.WRITING),
                            f"mark step {step!r}") as (cur, rec):
            if step in rec.steps and rec.state is RecordState.WRITING:
                return
            steps = rec.steps if step in rec.steps else (*rec.steps, step)
            self._set(cur, index, state=RecordState.WRITING.value, steps=json.dumps(steps))
            self._event(cur, "step", index, rec.station, step)

    def mark_written(self, index: int) -> None:
        with self._changing(index, (RecordState.WRITING, RecordState.WRITTEN),
                            "mark written") as (cur, rec):
            self._set(cur, index, state=RecordState.WRITTEN.value)
            self._event(cur, "written", index, rec.station)

    def mark_verified(self, index: int) -> None:
        with self._changing(index, (RecordState.WRITTEN,), "mark verified") as (cur, rec):
            self._set(cur, index, state=RecordState.VERIFIED.value)
            self._event(cur, "verified", index, rec.station)

    def mark_partial(self, index: int, reason: str = "card removed") -> None:
        """The card was pulled mid-write: keep the steps done so the card can resume."""
        reason = _need_text(reason, "reason")
        with self._changing(index, UNFINISHED[:3], "mark partial") as (cur, rec):
            self._set(cur, index, state=RecordState.PARTIAL.value, reason=reason)
            self._event(cur, "partial", index, rec.station,
                        f"last step {rec.last_step}: {reason}")

    def mark_failed(self, index: int, reason: str) -> None:
        """The card cannot be finished; its record is never handed out again."""
        reason = _need_text(reason, "reason")
        with self._changing(index, UNFINISHED, "mark failed") as (cur, rec):
            self._set(cur, index, state=RecordState.FAILED.value, reason=reason)
            self._event(cur, "failed", index, rec.station, reason)

    def release(self, index: int) -> None:
        """Give a claimed record back.  Only ``claimed`` records qualify: the first step moves a
        record to ``writing``, so no card carries any of a claimed record's values."""
        with self._changing(index, (RecordState.CLAIMED,), "release") as (cur, rec):
            self._set(cur, index, state=RecordState.PENDING.value, station=None, card_iccid=None)
            self._event(cur, "release", index, rec.station)

