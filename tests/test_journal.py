"""The provisioning journal on both backends: SQLite (WAL) and a private PostgreSQL 15 server.

Every behaviour test runs on both through the ``journals`` fixture; the state machine is walked
from a data table (every state x every action); the concurrency tests race several processes
claiming from one batch and check from the tables that each record went to exactly one of them.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from simtool.errors import DataError, JournalConflict, JournalUnavailable
from simtool.provision.journal import Claim, JournalError, RecordState
from simtool.provision.journal_open import open_journal
from simtool.secret import Secret
from tests.pg import postgres_server  # noqa: F401  (registers the session fixture)

S = RecordState
ICCID, IMSI = "8948010010000000010", "260010000000001"


def make_records(n: int, batch: int = 1, msisdn: bool = True) -> list[tuple]:
    """n records of distinct identifiers; ``batch`` keeps different batches apart."""
    return [(i, f"894801{batch:03d}{i:09d}0", f"2600{batch:02d}{i:09d}",
             f"+4860{batch:02d}{i:05d}" if msisdn else None) for i in range(n)]


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request, tmp_path):
    """(url, raw) for a fresh empty journal database; ``raw(sql)`` runs SQL outside the journal."""
    if request.param == "sqlite":
        def raw(sql: str) -> list[tuple]:
            with sqlite3.connect(tmp_path / "journal.sqlite", isolation_level=None) as conn:
                return conn.execute(sql).fetchall()
        return None, raw
    url = request.getfixturevalue("postgres_server").create_database()

    def raw(sql: str) -> list[tuple]:
        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []
    return url, raw


@pytest.fixture
def journals(backend, tmp_path):
    """Open journal objects (one per station) on the same database; all closed afterwards."""
    opened = []

    def open_(batch_id: str | None = None, **kw):
        journal = open_journal(backend[0], tmp_path, batch_id=batch_id, **kw)
        opened.append(journal)
        return journal
    yield open_
    for journal in opened:
        journal.close()


# --- opening -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "mysql://host/db", "journal.sqlite", "sqlite://host/journal.sqlite",
    "sqlite:///journal.sqlite?mode=ro", "postgresql://u@[::1/db",
    "postgresql:///db?host=/x&bogus=1", "postgresql://a b/db", 42,
])
def test_bad_url_is_a_data_error(url, tmp_path):
    with pytest.raises(DataError):
        open_journal(url, tmp_path)


@pytest.mark.parametrize("url, name", [
    (None, "journal.sqlite"), ("sqlite://", "journal.sqlite"),
    ("sqlite:///other.sqlite", "other.sqlite"), ("sqlite:///sub/dir.sqlite", "sub/dir.sqlite"),
])
def test_sqlite_path_and_wal_mode(url, name, tmp_path):
    (tmp_path / "sub").mkdir()
    open_journal(url, tmp_path).close()
    with sqlite3.connect(tmp_path / name) as conn:  # WAL mode is stored in the file itself
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_absolute_path(tmp_path):
    target = tmp_path / "elsewhere.sqlite"
    open_journal(f"sqlite:///{target}", tmp_path / "batch").close()
    assert target.exists()


def test_sqlite_unopenable_file_is_a_journal_error(tmp_path):
    with pytest.raises(JournalError):
        open_journal("sqlite:///missing/dir/journal.sqlite", tmp_path)


# --- loading -----------------------------------------------------------------------------------

def test_load_batch_is_idempotent(journals):
    a, b = journals(), journals()
    a.load_batch("b1", make_records(4))
    b.load_batch("b1", make_records(4))  # a second station loading the same file
    a.load_batch("b1", make_records(6))  # later lines appended to the batch
    assert a.status_counts() == {**dict.fromkeys(S, 0), S.PENDING: 6}
    rec = b.record(3)
    assert (rec.batch_id, rec.index, rec.iccid, rec.imsi, rec.msisdn, rec.state, rec.steps) == (
        "b1", 3, "8948010010000000030", "260001000000003", "+48600100003", S.PENDING, ())


def test_load_conflicts_load_nothing(journals):
    j = journals()
    j.load_batch("b1", make_records(3))
    changed = make_records(5)
    changed[1] = (1, changed[1][1], "260019999999999", changed[1][3])
    with pytest.raises(JournalError, match="record 1"):
        j.load_batch("b1", changed)
    assert j.status_counts()[S.PENDING] == 3  # records 3 and 4 of that call were rolled back
    other = journals()
    reused = make_records(3, batch=2)
    reused[2] = (2, reused[2][1], make_records(3)[0][2], None)  # the IMSI of b1 record 0
    with pytest.raises(JournalError, match="record 0 of batch b1"):
        other.load_batch("b2", reused)
    assert journals("b2").status_counts() == dict.fromkeys(S, 0)
    with pytest.raises(JournalError, match="bound to batch b1"):
        j.load_batch("b2", make_records(1, batch=2))


BAD_RECORDS = [
    [(0, "894801", "260010000000001", None)],  # ICCID too short
    [(0, "89480100100000000A0", "260010000000001", None)],  # ICCID not digits
    [(0, "8948010010000000010", "26001", None)],  # IMSI too short
    [(0, "8948010010000000010", "2600100000000012", None)],  # IMSI of 16 digits
    [(0, "8948010010000000010", "260010000000001", "48-601")],  # MSISDN not digits
    [(-1, "8948010010000000010", "260010000000001", None)],  # negative index
    [(True, "8948010010000000010", "260010000000001", None)],  # bool is not an index
    [(0, "8948010010000000010", "260010000000001")],  # 3-tuple
    [(0, "8948010010000000010", "260010000000001", None),
     (1, "8948010010000000010", "260010000000002", None)],  # the same ICCID twice
    [(0, "8948010010000000010", "260010000000001", None),
     (0, "8948010010000000020", "260010000000002", None)],  # the same index twice
]


@pytest.mark.parametrize("records", BAD_RECORDS)
def test_bad_records_are_data_errors(records, tmp_path):
    with open_journal(None, tmp_path) as j:
        with pytest.raises(DataError):
            j.load_batch("b1", records)


# (record, the error's text): each rule names the record and the field at fault
RECORD_ERRORS = [
    ((0, "894801001", "260010000000001"), "a record must be (index, iccid, imsi, msisdn)"),
    ((-1, ICCID, IMSI, None), "record -1: index must be an int >= 0"),
    ((True, ICCID, IMSI, None), "record True: index must be an int >= 0"),
    ((0, "8" * 17, IMSI, None), "record 0: iccid must be 18..20 decimal digits"),
    ((0, "8" * 21, IMSI, None), "record 0: iccid must be 18..20 decimal digits"),
    ((0, "8" * 19 + "\u0663", IMSI, None), "record 0: iccid must be 18..20 decimal digits"),
    ((1, ICCID, "2" * 5, None), "record 1: imsi must be 6..15 decimal digits"),
    ((1, ICCID, "2" * 16, None), "record 1: imsi must be 6..15 decimal digits"),
    ((2, ICCID, IMSI, ""), "record 2: msisdn must be up to 15 digits (optionally +) or None"),
    ((2, ICCID, IMSI, "+"), "record 2: msisdn must be up to 15 digits (optionally +) or None"),
    ((2, ICCID, IMSI, "4" * 16), "record 2: msisdn must be up to 15 digits (optionally +) or None"),
    ((2, ICCID, IMSI, "+" + "4" * 16),
     "record 2: msisdn must be up to 15 digits (optionally +) or None"),
    ((2, ICCID, IMSI, 48601), "record 2: msisdn must be up to 15 digits (optionally +) or None"),
]


@pytest.mark.parametrize("record, message", RECORD_ERRORS)
def test_a_bad_record_is_named_with_its_field(record, message, tmp_path):
    with open_journal(None, tmp_path) as j:
        with pytest.raises(DataError) as bad:
            j.load_batch("b1", [record])
        assert str(bad.value) == message
        assert j.batch_id is None


@pytest.mark.parametrize("iccid, imsi, msisdn", [
    ("8" * 18, "2" * 6, "4"), ("8" * 20, "2" * 15, "+4"), (ICCID, IMSI, "4" * 15),
    (ICCID, IMSI, "+" + "4" * 15), (ICCID, IMSI, None),
])
def test_the_shortest_and_longest_values_are_taken(iccid, imsi, msisdn, tmp_path):
    with open_journal(None, tmp_path) as j:
        j.load_batch("b1", [(0, iccid, imsi, msisdn)])
        rec = j.record(0)
        assert (rec.iccid, rec.imsi, rec.msisdn) == (iccid, imsi, msisdn)


@pytest.mark.parametrize("column", ["index", "iccid", "imsi", "msisdn"])
def test_a_value_twice_in_one_batch_is_named(column, tmp_path):
    first, second = make_records(2)
    second = list(second)
    second[["index", "iccid", "imsi", "msisdn"].index(column)] = first[
        ["index", "iccid", "imsi", "msisdn"].index(column)]
    with open_journal(None, tmp_path) as j:
        with pytest.raises(DataError) as bad:
            j.load_batch("b7", [first, tuple(second)])
        assert str(bad.value) == f"duplicate {column} in the records of b7"
        j.load_batch("b7", make_records(2, msisdn=False))  # no MSISDN twice is not a duplicate


def test_a_record_loaded_again_with_other_values_is_refused(journals):
    j = journals()
    j.load_batch("b1", make_records(2))
    moved = [make_records(2)[0], (1, *make_records(1, batch=9)[0][1:])]  # all-new values
    with pytest.raises(JournalConflict) as refused:
        j.load_batch("b1", moved)
    assert str(refused.value) == "record 1 of batch b1 was loaded before with other values"
    assert j.record(1).iccid == make_records(2)[1][1]


def _text_errors(j):
    """(call, the DataError's text) for every argument that must be a non-empty string."""
    return [
        (lambda: j.load_batch("", []), "batch_id must be a non-empty string, got str"),
        (lambda: j.load_batch(None, []), "batch_id must be a non-empty string, got NoneType"),
        (lambda: j.reserve_batch(" ", list), "batch_id must be a non-empty string, got str"),
        (lambda: j.claim_next(Secret("A")), "station must be a non-empty string, got Secret"),
        (lambda: j.claim_for_card("", ICCID), "station must be a non-empty string, got str"),
        (lambda: j.claim_for_card("A", None),
         "card_iccid must be a non-empty string, got NoneType"),
        (lambda: j.mark_step(0, "\t"), "step must be a non-empty string, got str"),
        (lambda: j.mark_partial(0, ""), "reason must be a non-empty string, got str"),
        (lambda: j.mark_failed(0, 6581), "reason must be a non-empty string, got int"),
        (lambda: j.discard_reservation(b"x"), "reason must be a non-empty string, got bytes"),
    ]


def test_every_text_argument_is_checked_by_name(journals):
    j = journals()
    j.load_batch("b1", make_records(1))
    for call, message in _text_errors(j):
        with pytest.raises(DataError) as bad:
            call()
        assert str(bad.value) == message
    assert j.record(0).state is S.PENDING and j.batch_id == "b1"


def test_queries_need_a_batch(journals):
    j = journals()
    with pytest.raises(JournalError) as unbound:
        j.claim_next("A")
    assert str(unbound.value) == "no batch selected: call load_batch() first"
    with pytest.raises(JournalError, match="no record 7"):
        journals("b1").record(7)


# --- the state machine -----------------------------------------------------------------------

# How to bring a freshly claimed record into each state (after claim_for_card with a blank card).
REACH = {
    S.CLAIMED: [],
    S.WRITING: [("mark_step", "iccid")],
    S.WRITTEN: [("mark_step", "iccid"), ("mark_written",)],
    S.VERIFIED: [("mark_step", "iccid"), ("mark_written",), ("mark_verified",)],
    S.PARTIAL: [("mark_step", "iccid"), ("mark_partial", "card removed")],
    S.FAILED: [("mark_failed", "6F00 on UPDATE")],
}
ACTIONS = [("mark_step", "imsi"), ("mark_written",), ("mark_verified",),
           ("mark_partial", "card removed"), ("mark_failed", "broken"), ("release",)]
# what a refusal says the action was
REFUSED = {"mark_step": "mark step 'imsi'", "mark_written": "mark written",
           "mark_verified": "mark verified", "mark_partial": "mark partial",
           "mark_failed": "mark failed", "release": "release"}
# (state, action name) -> the state after it; every pair not listed must be refused.
ALLOWED = {
    (S.CLAIMED, "mark_step"): S.WRITING, (S.CLAIMED, "mark_partial"): S.PARTIAL,
    (S.CLAIMED, "mark_failed"): S.FAILED, (S.CLAIMED, "release"): S.PENDING,
    (S.WRITING, "mark_step"): S.WRITING, (S.WRITING, "mark_written"): S.WRITTEN,
    (S.WRITING, "mark_partial"): S.PARTIAL, (S.WRITING, "mark_failed"): S.FAILED,
    (S.WRITTEN, "mark_written"): S.WRITTEN, (S.WRITTEN, "mark_verified"): S.VERIFIED,
    (S.WRITTEN, "mark_partial"): S.PARTIAL, (S.WRITTEN, "mark_failed"): S.FAILED,
    (S.PARTIAL, "mark_failed"): S.FAILED,
}


def test_every_state_and_action(journals):
    j = journals()
    cases = [(state, action) for state in [S.PENDING, *REACH] for action in ACTIONS]
    j.load_batch("b1", make_records(len(cases)))
    # pending cases use the highest indexes, which claim_for_card (lowest first) never reaches
    pending_index = iter(range(len(cases) - 1, -1, -1))
    for n, (state, (name, *args)) in enumerate(cases):
        if state is S.PENDING:
            index = next(pending_index)
        else:
            index = j.claim_for_card("A", f"8999{n:015d}").index
            for step, *step_args in REACH[state]:
                getattr(j, step)(index, *step_args)
        assert j.record(index).state is state
        expected = ALLOWED.get((state, name))
        if expected is None:
            with pytest.raises(JournalError) as refused:
                getattr(j, name)(index, *args)
            assert str(refused.value) == f"record {index} is {state}: cannot {REFUSED[name]}"
            assert j.record(index).state is state, (state, name)
        else:
            getattr(j, name)(index, *args)
            assert j.record(index).state is expected, (state, name)


def test_programming_one_card(journals):
    j = journals()
    j.load_batch("b1", make_records(3))
    claim = j.claim_for_card("station-1", "8999000000000000042")
    assert (claim.index, claim.state, claim.resumed, claim.station) == (
        0, S.CLAIMED, False, "station-1")
    for step in ("iccid", "imsi", "ki-opc"):
        j.mark_step(0, step)
    j.mark_written(0)
    j.mark_verified(0)
    rec = j.record(0)
    assert (rec.state, rec.steps, rec.station, rec.card_iccid) == (
        S.VERIFIED, ("iccid", "imsi", "ki-opc"), "station-1", "8999000000000000042")
    events = j.events(0)
    assert [(e.event, e.station, e.detail) for e in events] == [
        ("claim", "station-1", "card 8999000000000000042"), ("step", "station-1", "iccid"),
        ("step", "station-1", "imsi"), ("step", "station-1", "ki-opc"),
        ("written", "station-1", None), ("verified", "station-1", None)]
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert [e.event for e in j.events()] == ["load"] + [e.event for e in events]
    assert j.status_counts() == {**dict.fromkeys(S, 0), S.PENDING: 2, S.VERIFIED: 1}


def test_a_claim_carries_its_record(journals):
    j = journals()
    recs = make_records(3)
    j.load_batch("b1", recs)
    assert j.claim_next("A") == Claim(0, *recs[0][1:], "A", S.CLAIMED, (), False)
    blank = "8999000000000000042"
    assert j.claim_for_card("B", blank) == Claim(1, *recs[1][1:], "B", S.CLAIMED, (), False)
    # a card pre-personalised with record 2's ICCID claims record 2, known by that ICCID
    assert j.claim_for_card("C", recs[2][1]) == Claim(2, *recs[2][1:], "C", S.CLAIMED, (),
                                                      False)
    assert [(r.station, r.card_iccid) for r in map(j.record, range(3))] == [
        ("A", None), ("B", blank), ("C", recs[2][1])]
    j.mark_step(1, "iccid")
    j.mark_partial(1)
    # resumed at another station: the claim and the record name that station
    assert j.claim_for_card("D", recs[1][1]) == Claim(1, *recs[1][1:], "D", S.WRITING,
                                                      ("iccid",), True)
    rec = j.record(1)
    assert (rec.station, rec.card_iccid, rec.state) == ("D", blank, S.WRITING)


def test_a_card_iccid_with_hex_digits_is_kept_in_upper_case(journals):
    j = journals()
    j.load_batch("b1", make_records(2))
    blank = "899900000000000004f"  # a factory ICCID may carry the filler digit F
    claim = j.claim_for_card("A", blank)
    assert j.record(claim.index).card_iccid == "899900000000000004F"
    j.mark_partial(claim.index)
    assert j.claim_for_card("B", "899900000000000004F").index == claim.index


def test_the_event_log_says_who_did_what(journals):
    j = journals()
    recs = make_records(3)
    j.load_batch("b1", recs)
    blank = "8999000000000000077"
    j.claim_for_card("A", blank)
    j.release(0)
    assert (j.record(0).station, j.record(0).card_iccid, j.record(0).state) == (
        None, None, S.PENDING)
    j.claim_next("B")
    j.mark_step(0, "iccid")
    j.mark_partial(0)  # the default reason
    assert (j.record(0).state, j.record(0).reason) == (S.PARTIAL, "card removed")
    j.claim_for_card("C", recs[0][1])
    j.mark_failed(0, "6F00 on UPDATE EF.IMSI")
    rec = j.record(0)
    assert (rec.state, rec.reason, rec.station) == (S.FAILED, "6F00 on UPDATE EF.IMSI", "C")
    events = j.events()
    assert [(e.batch_id, e.index, e.station, e.event, e.detail) for e in events] == [
        ("b1", None, None, "load", "3 records"),
        ("b1", 0, "A", "claim", f"card {blank}"),
        ("b1", 0, "A", "release", None),
        ("b1", 0, "B", "claim", None),
        ("b1", 0, "B", "step", "iccid"),
        ("b1", 0, "B", "partial", "last step iccid: card removed"),
        ("b1", 0, "C", "resume", "from partial, last step iccid"),
        ("b1", 0, "C", "failed", "6F00 on UPDATE EF.IMSI"),
    ]
    seqs = [e.seq for e in events]
    assert all(isinstance(n, int) for n in seqs) and seqs == sorted(set(seqs))
    assert j.events(0) == events[1:]


def test_times_come_from_the_journal_clock(journals):
    ticks = iter(datetime(2026, 12, 4, 9, 0, n, tzinfo=timezone.utc) for n in range(60))
    j = journals(clock=lambda: next(ticks))
    j.load_batch("b1", make_records(2))  # the records at second 0, the event at second 1
    j.claim_next("A")  # record 0 updated at second 2, its event at second 3
    rec = j.record(0)
    assert isinstance(rec.updated_at, datetime)
    assert rec.updated_at == datetime(2026, 12, 4, 9, 0, 2, tzinfo=timezone.utc)
    assert j.record(1).updated_at == datetime(2026, 12, 4, 9, 0, 0, tzinfo=timezone.utc)
    assert [e.at for e in j.events()] == [
        datetime(2026, 12, 4, 9, 0, n, tzinfo=timezone.utc) for n in (1, 3)]
    assert rec.updated_at.utcoffset() == timedelta(0)


def test_release_hands_the_record_out_again(journals):
    j = journals()
    j.load_batch("b1", make_records(2))
    first = j.claim_next("A")
    j.release(first.index)
    assert j.record(first.index).station is None
    assert j.claim_next("B").index == first.index


def test_claims_run_out(journals):
    j = journals()
    j.load_batch("b1", make_records(2))
    assert [j.claim_next("A").index, j.claim_for_card("A", "8999000000000000001").index] == [0, 1]
    assert j.claim_next("A") is None
    assert j.claim_for_card("A", "8999000000000000002") is None


# --- resume and refusals -------------------------------------------------------------------

def test_partial_card_resumes_its_own_record(journals):
    a, b = journals(), journals()
    a.load_batch("b1", make_records(4))
    b.load_batch("b1", make_records(4))
    blank = "8999000000000000077"
    claim = a.claim_for_card("A", blank)
    a.mark_partial(claim.index)  # pulled before any write: still known by its factory ICCID
    again = b.claim_for_card("B", blank)
    assert (again.index, again.resumed, again.steps_done) == (claim.index, True, ())
    b.mark_step(claim.index, "iccid")
    b.mark_step(claim.index, "imsi")
    b.mark_partial(claim.index, "card removed during UPDATE EF.ACC")
    rec = a.record(claim.index)
    assert (rec.state, rec.last_step, rec.reason) == (
        S.PARTIAL, "imsi", "card removed during UPDATE EF.ACC")
    assert a.claim_for_card("A", "8999000000000000078").index != claim.index  # another card
    # re-inserted: the card now carries the record's ICCID
    resumed = a.claim_for_card("A", rec.iccid)
    assert (resumed.index, resumed.resumed, resumed.state, resumed.steps_done) == (
        claim.index, True, S.WRITING, ("iccid", "imsi"))
    a.mark_step(claim.index, "imsi")  # repeating a done step changes nothing
    a.mark_step(claim.index, "acc")
    a.mark_written(claim.index)
    a.mark_verified(claim.index)
    rec = b.record(claim.index)
    assert (rec.state, rec.steps, rec.station) == (S.VERIFIED, ("iccid", "imsi", "acc"), "A")
    assert [e.event for e in a.events(claim.index)] == [
        "claim", "partial", "resume", "step", "step", "partial", "resume", "step",
        "written", "verified"]


def test_card_is_never_given_a_second_iccid(journals):
    j = journals()
    j.load_batch("b1", make_records(5))
    done = j.claim_next("A").index
    for step in (("mark_step", "iccid"), ("mark_written",), ("mark_verified",)):
        getattr(j, step[0])(done, *step[1:])
    failed = j.claim_next("A").index
    j.mark_failed(failed, "6581 memory problem")
    iccids = {i: j.record(i).iccid for i in range(5)}
    for index in (done, failed):
        with pytest.raises(JournalError, match=f"record {index}, already"):
            j.claim_for_card("B", iccids[index])
    # a blank card takes record 2; a card that already carries record 2's ICCID is another card
    assert j.claim_for_card("B", "8999000000000000009").index == 2
    with pytest.raises(JournalError, match="claimed for card 8999000000000000009"):
        j.claim_for_card("C", iccids[2])
    # a card pre-personalised with record 4's ICCID gets record 4, not the next pending one
    assert j.claim_for_card("B", iccids[4]).index == 4
    assert j.claim_for_card("C", iccids[4]).resumed  # the same card, re-inserted
    # a card of another batch in the same database is refused, and so is its unfinished blank
    other = journals()
    other.load_batch("b2", make_records(2, batch=2))
    other.claim_for_card("C", "8999000000000000555")
    for card in (make_records(2, batch=2)[0][1], "8999000000000000555"):
        with pytest.raises(JournalError, match="batch b2"):
            j.claim_for_card("B", card)
    assert j.status_counts() == {**dict.fromkeys(S, 0), S.PENDING: 1, S.CLAIMED: 2,
                                 S.VERIFIED: 1, S.FAILED: 1}


def test_no_secret_reaches_the_journal(journals):
    j = journals()
    j.load_batch("b1", make_records(1))
    index = j.claim_next("A").index
    with pytest.raises(DataError):
        j.mark_failed(index, Secret("12345678"))  # a reason is text, never a secret value
    with pytest.raises(DataError):
        j.claim_next(Secret("station"))


def test_issued_values_span_every_batch(journals):
    a, b = journals(), journals()
    a.load_batch("b1", make_records(3))
    b.load_batch("b2", make_records(2, batch=2, msisdn=False))
    records = make_records(3) + make_records(2, batch=2, msisdn=False)
    issued = a.issued_values()
    assert issued == b.issued_values()
    assert issued.iccids == {r[1] for r in records}
    assert issued.imsis == {r[2] for r in records}
    assert issued.msisdns == {r[3] for r in records if r[3]} and len(issued.msisdns) == 3


def test_event_log_is_append_only(journals, backend):
    j = journals()
    j.load_batch("b1", make_records(1))
    j.claim_next("A")
    raw = backend[1]
    for sql in ("UPDATE journal_events SET station = 'X'", "DELETE FROM journal_events"):
        with pytest.raises((sqlite3.Error, psycopg.Error), match="append-only"):
            raw(sql)
    assert [e.event for e in j.events()] == ["load", "claim"]


# --- reserving a new batch's numbers ------------------------------------------------------------

def numbers_from(start: int, batch: int = 1):
    """An ``allocate`` for reserve_batch: the records of make_records(100, batch) from ``start``
    on that are not issued yet, 3 of them; it remembers what it was shown."""
    shown = []

    def allocate(issued):
        shown.append(issued)
        free = [r[1:] for r in make_records(100, batch)[start:]
                if r[1] not in issued.iccids and r[2] not in issued.imsis
                and r[3] not in issued.msisdns]
        return free[:3]
    allocate.shown = shown
    return allocate


def test_reserve_picks_around_what_is_issued_and_registers_the_batch(journals):
    j = journals()
    j.load_batch("b1", make_records(2))  # holds records 0 and 1 of make_records(.., batch=1)
    allocate = numbers_from(0)
    rows = journals().reserve_batch("b2", allocate)
    assert rows == [(i, *make_records(5)[i + 2][1:]) for i in range(3)]
    assert allocate.shown[0].iccids == {r[1] for r in make_records(2)}
    b2 = journals("b2")
    assert b2.status_counts() == {**dict.fromkeys(S, 0), S.PENDING: 3}
    assert [(e.event, e.detail) for e in b2.events()] == [("reserve", "3 records")]
    # the folder's stations load the same records later: nothing changes
    b2.load_batch("b2", rows)
    assert b2.status_counts()[S.PENDING] == 3
    with pytest.raises(JournalConflict, match="batch b2 is already in the journal"):
        journals().reserve_batch("b2", numbers_from(50))


def test_a_failed_allocation_reserves_nothing(journals):
    def exhausted(issued):
        raise DataError("MSISDN pool exhausted")
    j = journals()
    with pytest.raises(DataError, match="exhausted"):
        j.reserve_batch("b1", exhausted)
    assert j.batch_id is None
    assert j.issued_values().iccids == frozenset()
    with pytest.raises(DataError):  # what allocate returns is checked like load_batch's records
        journals().reserve_batch("b1", lambda issued: [("89", "26001", None)])
    twice = make_records(1)[0][1:]
    with pytest.raises(DataError) as duplicate:
        journals().reserve_batch("b1", lambda issued: [twice, twice])
    assert str(duplicate.value) == "duplicate iccid in the records of b1"
    assert j.issued_values().iccids == frozenset()


def test_discard_gives_the_numbers_back_until_a_record_is_used(journals):
    j = journals()
    first = j.reserve_batch("b1", numbers_from(0))
    assert j.discard_reservation("generation failed") == 3
    assert j.issued_values().iccids == frozenset()
    assert [(e.event, e.detail) for e in j.events()] == [
        ("reserve", "3 records"), ("discard", "3 records: generation failed")]
    again = journals().reserve_batch("b2", numbers_from(0))
    assert [r[1:] for r in again] == [r[1:] for r in first]  # the same numbers, free again
    used = journals("b2")
    used.claim_next("A")
    with pytest.raises(JournalError) as in_use:
        used.discard_reservation("generation failed")
    assert str(in_use.value) == "batch b2 has 1 records in use: its numbers stay issued"
    assert used.status_counts()[S.PENDING] == 2


def test_a_reservation_refused_by_a_unique_column_is_made_again(journals):
    """A value taken between the reservation's read and its insert makes the insert fail on
    its UNIQUE column; the reservation is made again from what is issued by then, ``attempts``
    times in all (3 by default).  Here the allocator itself hands out a held number first."""
    journals().load_batch("old", make_records(1))
    held = make_records(1)[0][1:]
    calls = []

    def races_once(issued):
        calls.append(issued)
        return [held] if len(calls) == 1 else numbers_from(0)(issued)
    rows = journals().reserve_batch("b1", races_once)
    assert len(calls) == 2 and [r[1:] for r in rows] == [r[1:] for r in make_records(4)[1:]]
    for attempts, kw in ((3, {}), (1, {"attempts": 1}), (5, {"attempts": 5})):
        calls.clear()
        j = journals()
        with pytest.raises(JournalConflict, match="another record's|conflict"):
            j.reserve_batch(f"n{attempts}", lambda issued: calls.append(issued) or [held], **kw)
        assert len(calls) == attempts
        assert j.batch_id is None
    assert journals(f"n{attempts}").status_counts() == dict.fromkeys(S, 0)


def test_a_conflict_of_the_allocator_itself_is_not_retried(journals):
    calls = []

    def refuses(issued):
        calls.append(issued)
        raise JournalConflict("the pool is another operator's")
    with pytest.raises(JournalConflict, match="another operator's"):
        journals().reserve_batch("b1", refuses)
    assert len(calls) == 1


def test_a_reservation_keeps_the_batch_the_object_was_bound_to(journals):
    j = journals("b1")
    with pytest.raises(JournalError) as bound:
        j.reserve_batch("b2", numbers_from(0))
    assert str(bound.value) == "this journal object is bound to batch b1"
    with pytest.raises(DataError, match="exhausted"):
        j.reserve_batch("b1", lambda issued: (_ for _ in ()).throw(DataError("exhausted")))
    assert j.batch_id == "b1"
    assert j.reserve_batch("b1", numbers_from(0))[0][0] == 0 and j.batch_id == "b1"


def test_reserve_retries_around_a_writer_that_takes_no_lock(postgres_server, tmp_path):  # noqa: F811
    """PostgreSQL only: SQLite's writers are all serialised.  load_batch (a folder generated
    without this journal) can take a number between the reservation's read and its insert; the
    UNIQUE columns refuse the insert and the reservation is made again around it."""
    url = postgres_server.create_database()
    with open_journal(url, tmp_path) as j, open_journal(url, tmp_path) as intruder:
        calls = []

        def allocate(issued):
            calls.append(issued)
            if len(calls) == 1:  # another station loads record 0's numbers meanwhile
                intruder.load_batch("old", [make_records(1)[0]])
            return numbers_from(0)(issued)
        rows = j.reserve_batch("b1", allocate)
        assert len(calls) == 2 and make_records(1)[0][1] in calls[1].iccids
        assert [r[1:] for r in rows] == [r[1:] for r in make_records(4)[1:]]
        # allocating a held number again and again: refused once the attempts are used up
    with open_journal(url, tmp_path) as j, pytest.raises(JournalConflict, match="iccid"):
        j.reserve_batch("b2", lambda issued: [make_records(1)[0][1:]], attempts=2)


# --- PostgreSQL faults -----------------------------------------------------------------------

def test_postgres_restart_keeps_state_and_reconnects(postgres_server, tmp_path):  # noqa: F811
    url = postgres_server.create_database()
    with open_journal(url, tmp_path) as j:
        j.load_batch("b1", make_records(3))
        first = j.claim_next("A")
        j.mark_step(first.index, "iccid")
        postgres_server.restart()
        with pytest.raises(JournalError):  # the connection the server dropped
            j.record(first.index)
        rec = j.record(first.index)  # a new connection; the committed state survived
        assert (rec.state, rec.steps, rec.station) == (S.WRITING, ("iccid",), "A")
        assert j.claim_next("A").index == 1


def test_postgres_connection_settings(postgres_server, tmp_path):  # noqa: F811
    """libpq waits CONNECT_TIMEOUT seconds for a server that does not answer, unless the URL
    says otherwise; the server lists the journal's sessions as simtool-journal."""
    url = postgres_server.create_database()
    for extra, timeout in (("", "10"), ("&connect_timeout=3", "3")):
        with open_journal(url + extra, tmp_path) as j:
            j.issued_values()
            assert j._conn.info.get_parameters()["connect_timeout"] == timeout  # noqa: SLF001
            assert j._conn.execute("SHOW application_name").fetchone()[0] == "simtool-journal"  # noqa: SLF001,E501


def _journal_sessions(url: str) -> int:
    dbname = url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                            " AND application_name = 'simtool-journal'", (dbname,)).fetchone()[0]


def test_postgres_close_ends_the_session_and_a_later_call_opens_another(postgres_server,  # noqa: F811,E501
                                                                         tmp_path):
    url = postgres_server.create_database()
    j = open_journal(url, tmp_path)
    j.load_batch("b1", make_records(1))
    assert _journal_sessions(url) == 1
    j.close()
    end = time.monotonic() + 60
    while _journal_sessions(url):  # the server ends the backend just after the client left
        assert time.monotonic() < end, "the journal's session outlived close()"
        time.sleep(0.02)
    # the object stays usable: like a dropped connection, a closed one is replaced
    assert j.record(0).state is S.PENDING and _journal_sessions(url) == 1
    j.close()


def test_postgres_errors_are_one_line_of_their_kind(postgres_server, tmp_path):  # noqa: F811
    url = postgres_server.create_database()
    with open_journal(url, tmp_path) as j:
        j.load_batch("b1", make_records(1))
    with open_journal(url, tmp_path) as j, pytest.raises(JournalConflict) as conflict:
        j.reserve_batch("b2", lambda issued: [make_records(1)[0][1:]], attempts=1)
    text = str(conflict.value)
    assert text.startswith("journal database error (conflict): duplicate key value violates"
                           " unique constraint")
    assert "\n" not in text and "  " not in text and "DETAIL: Key (" in text
    with open_journal(url, tmp_path, batch_id="b1") as j:
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("ALTER TABLE journal_records RENAME TO gone")
        with pytest.raises(JournalError) as failed:
            j.status_counts()
    assert type(failed.value) is JournalError
    assert str(failed.value).startswith('journal database error: relation "journal_records"'
                                        " does not exist LINE 1: SELECT state, COUNT(*)")


def test_postgres_unreachable_is_named_without_its_password(tmp_path):
    nowhere = tmp_path / "no-server-here"
    nowhere.mkdir()
    url = f"postgresql://simtool:hunter2@/journal?host={nowhere}&port=5432"
    with pytest.raises(JournalUnavailable) as unreachable:
        open_journal(url, tmp_path)
    text = str(unreachable.value)
    assert text.startswith(f"cannot connect to the journal at postgresql://simtool:***@/journal"
                           f"?host={nowhere}&port=5432: connection ")
    assert f'on socket "{nowhere}/.s.PGSQL.5432" failed: No such file or directory Is' in text
    assert "hunter2" not in text and "\n" not in text


def test_postgres_malformed_url_is_named_without_its_password(tmp_path):
    with pytest.raises(DataError) as malformed:
        open_journal("postgresql://simtool:hunter2@[::1/db", tmp_path)
    assert str(malformed.value) == ("journal URL: malformed PostgreSQL URL"
                                    " postgresql://simtool:***@[::1/db")


# --- PostgreSQL row locks ----------------------------------------------------------------------
# (named without "postgres": bench.mutation runs them against journal.py too, whose row-lock
# choice only PostgreSQL can show)

def _waiting_on_a_lock(url: str, deadline: float = 60.0) -> None:
    """Return once the journal's connection to ``url``'s database waits for a lock."""
    dbname = url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        end = time.monotonic() + deadline
        while not conn.execute(
                "SELECT 1 FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'"
                " AND application_name = 'simtool-journal'", (dbname,)).fetchone():
            assert time.monotonic() < end, "the journal never waited for the row lock"
            time.sleep(0.02)


def test_row_lock_a_change_waits_for_and_keeps_another_stations_change(postgres_server, tmp_path):  # noqa: F811,E501
    """A state change reads its record under the row lock (FOR UPDATE): while another
    station's transaction holds the row, it waits, then starts from what that station
    committed; reading without the lock would overwrite that station's step."""
    url = postgres_server.create_database()
    with open_journal(url, tmp_path) as j, psycopg.connect(url) as other:
        j.load_batch("b1", make_records(1))
        j.claim_next("A")
        other.execute("""UPDATE journal_records SET state = 'writing', steps = '["iccid"]'"""
                      " WHERE idx = 0")  # not committed yet: the row stays locked
        marking = threading.Thread(target=j.mark_step, args=(0, "imsi"))
        marking.start()
        try:
            _waiting_on_a_lock(url)
        finally:
            other.commit()
            marking.join()
        assert j.record(0).steps == ("iccid", "imsi")


def test_row_lock_a_read_does_not_wait_for_a_writer(postgres_server, tmp_path):  # noqa: F811
    """record() reads without the row lock: a station's open transaction never holds up a
    status query (lock_timeout turns a read that would wait into an error)."""
    url = postgres_server.create_database() + "&options=-c%20lock_timeout%3D5000"
    with open_journal(url, tmp_path) as j, psycopg.connect(url) as other:
        j.load_batch("b1", make_records(1))
        other.execute("UPDATE journal_records SET station = 'X' WHERE idx = 0")
        try:
            assert (j.record(0).state, j.record(0).station) == (S.PENDING, None)
            with pytest.raises(JournalError, match="lock timeout"):
                j.mark_failed(0, "no card")  # a change does wait for the lock
        finally:
            other.rollback()


# --- races ---------------------------------------------------------------------------------

def _race_worker(url, batch_dir, station, barrier, results) -> None:
    """One station claiming until the batch is exhausted (runs in a forked process)."""
    try:
        with open_journal(url, batch_dir, batch_id="race") as journal:
            claimed = []
            barrier.wait()
            while (claim := journal.claim_next(station)) is not None:
                journal.mark_step(claim.index, "iccid")
                claimed.append(claim.index)
        results.put((station, claimed))
    except BaseException as exc:
        results.put((station, repr(exc)))
        raise


def _race(url, raw, batch_dir: Path, records: int, workers: int) -> None:
    with open_journal(url, batch_dir) as journal:
        journal.load_batch("race", make_records(records))
    # fork: the parent holds no open connection now, and the worker needs no re-import
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(workers), ctx.Queue()
    stations = [f"station-{n}" for n in range(workers)]
    procs = [ctx.Process(target=_race_worker, args=(url, batch_dir, s, barrier, results))
             for s in stations]
    for proc in procs:
        proc.start()
    reports = dict(results.get(timeout=300) for _ in procs)
    for proc in procs:
        proc.join()
    assert all(isinstance(v, list) for v in reports.values()), reports
    assert [p.exitcode for p in procs] == [0] * workers
    # every record claimed by exactly one worker, as the workers saw it ...
    assert sorted(i for claimed in reports.values() for i in claimed) == list(range(records))
    owner = {i: s for s, claimed in reports.items() for i in claimed}
    # ... and as the tables recorded it
    rows = raw("SELECT idx, state, station FROM journal_records WHERE batch_id = 'race'")
    assert sorted(rows) == [(i, "writing", owner[i]) for i in range(records)]
    claims = raw("SELECT idx, station FROM journal_events"
                 " WHERE batch_id = 'race' AND event = 'claim'")
    assert sorted(claims) == [(i, owner[i]) for i in range(records)]


def test_race_postgres_four_stations(postgres_server, tmp_path):  # noqa: F811
    url = postgres_server.create_database()

    def raw(sql):
        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()
    _race(url, raw, tmp_path, records=500, workers=4)


def test_race_sqlite_two_processes(tmp_path):
    def raw(sql):
        with sqlite3.connect(tmp_path / "journal.sqlite") as conn:
            return conn.execute(sql).fetchall()
    _race(None, raw, tmp_path, records=200, workers=2)
