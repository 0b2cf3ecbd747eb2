"""Several readers at once (simtool.provision.station): one batch, one journal, every record
claimed once, a card pulled at one reader leaves the other reader's work alone."""

from __future__ import annotations

import threading
from collections import Counter, deque

from simtool.provision.cardkeys import FixedAdm
from simtool.provision.journal_open import open_journal
from simtool.provision.program import Outcome, Programmer
from simtool.provision.station import DeskState, ReaderEvent, run_desk
from simtool.secret import Secret
from tests.test_program import VENDOR_ADM, Wire, blank_card, make_batch


class Desk:
    """Readers with queues of cards; a card is taken out as soon as it is done."""

    def __init__(self, queues: dict[str, list]) -> None:
        self.queues = {r: deque(q) for r, q in queues.items()}

    def wait_for_card(self, reader: str, stop: threading.Event):
        if stop.is_set() or not self.queues[reader]:
            return None
        card, pull_at = self.queues[reader].popleft()
        card.reset()
        return Wire(card, pull_at)

    def wait_for_removal(self, reader: str, stop: threading.Event) -> None:
        pass


def _run(tmp_path, queues, records):
    batch = make_batch(tmp_path / "b", records)
    batch.journal.close()
    events: list[ReaderEvent] = []

    def programmer_for(reader, progress):
        journal = open_journal(None, tmp_path / "b", batch_id=batch.batch_id)
        return Programmer(journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                          station=f"desk/{reader}", progress=progress, allow_iccid_change=True)

    results = run_desk(list(queues), programmer_for, Desk(queues), events.append)
    journal = open_journal(None, tmp_path / "b", batch_id=batch.batch_id)
    return results, events, journal


def test_two_readers_share_a_batch_and_no_record_is_claimed_twice(tmp_path):
    queues = {"A": [(blank_card(i), None) for i in range(1, 4)],
              "B": [(blank_card(i), None) for i in range(11, 14)]}
    results, events, journal = _run(tmp_path, queues, 6)
    assert [r.outcome for r in results] == [Outcome.VERIFIED] * 6
    assert sorted(r.index for r in results) == list(range(6))
    claims = Counter(e.index for e in journal.events() if e.event == "claim")
    assert claims == {i: 1 for i in range(6)}
    by_reader = Counter(e.reader for e in events if e.state is DeskState.RESULT)
    assert by_reader == {"A": 3, "B": 3}
    steps = [e for e in events if e.state is DeskState.PROGRAMMING]
    assert steps and all(1 <= e.step_number <= e.steps for e in steps)
    assert {e.reader for e in events if e.state is DeskState.STOPPED} == {"A", "B"}


def test_a_card_pulled_at_one_reader_does_not_disturb_the_other(tmp_path):
    pulled = blank_card(1)
    queues = {"A": [(pulled, 20), (pulled, None)],           # pulled mid-write, then back
              "B": [(blank_card(i), None) for i in range(11, 14)]}
    results, events, journal = _run(tmp_path, queues, 5)
    a = [e.result for e in events if e.reader == "A" and e.state is DeskState.RESULT]
    b = [e.result for e in events if e.reader == "B" and e.state is DeskState.RESULT]
    assert [r.outcome for r in a] == [Outcome.PARTIAL, Outcome.VERIFIED]
    assert a[0].index == a[1].index and a[1].resumed
    assert [r.outcome for r in b] == [Outcome.VERIFIED] * 3
    assert len({r.index for r in a + b}) == 4


def test_count_is_the_number_of_cards_finished_at_the_desk(tmp_path):
    queues = {"A": [(blank_card(i), None) for i in range(1, 4)],
              "B": [(blank_card(i), None) for i in range(11, 14)]}
    batch = make_batch(tmp_path / "b", 6)
    batch.journal.close()

    def programmer_for(reader, progress):
        journal = open_journal(None, tmp_path / "b", batch_id=batch.batch_id)
        return Programmer(journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                          station=reader, progress=progress, allow_iccid_change=True)

    results = run_desk(["A", "B"], programmer_for, Desk(queues), lambda e: None, count=3)
    assert len(results) == 3 and all(r.outcome is Outcome.VERIFIED for r in results)


def test_the_last_card_of_count_is_not_waited_for_removal(tmp_path):
    """A card left in the reader after the last of ``count`` cards: the desk ends at once
    (as `batch program --stop-after 1` does) instead of waiting for it to be taken out."""

    class CardStays(Desk):
        def wait_for_removal(self, reader: str, stop: threading.Event) -> None:
            stop.wait(30)  # the card stays in the reader until the desk stops
            raise AssertionError("waited for the removal of the last card")

    batch = make_batch(tmp_path / "b", 2)
    batch.journal.close()

    def programmer_for(reader, progress):
        journal = open_journal(None, tmp_path / "b", batch_id=batch.batch_id)
        return Programmer(journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                          station=reader, progress=progress, allow_iccid_change=True)

    results = run_desk(["A"], programmer_for, CardStays({"A": [(blank_card(1), None)]}),
                       lambda e: None, count=1)
    assert [r.outcome for r in results] == [Outcome.VERIFIED]
