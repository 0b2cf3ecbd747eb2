"""A provisioning desk: one worker per reader, cards programmed side by side from one batch.

Each reader gets a thread of its own that waits for a card, programs and verifies it with its
own :class:`~simtool.provision.program.Programmer` (and its own journal connection: the journal
hands every record to one card only, across readers and stations alike), reports the result
and waits for the card to be taken out.  What the readers do is reported as
:class:`ReaderEvent` values through one callback, for one progress display.

No pyscard here: waiting for a card and for its removal is the :class:`ReaderIo` the caller
gives (the CLI's one talks to pcscd; the tests' one hands out in-process virtual cards).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from simtool.apdu.channel import Channel
from simtool.apdu.transport import Transport
from simtool.card import Card
from simtool.provision.program import STEPS, CardResult, Outcome, Programmer


class DeskState(StrEnum):
    WAITING = "waiting for a card"
    PROGRAMMING = "programming"
    RESULT = "result"             # the card is done; next: take it out
    REMOVE = "take the card out"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ReaderEvent:
    """One change at one reader: its state, the step being written (``step_number`` of
    ``steps``) or the card's result."""

    reader: str
    state: DeskState
    step: str | None = None
    step_number: int = 0
    steps: int = 0
    result: CardResult | None = None

    def render(self) -> str:
        if self.state is DeskState.PROGRAMMING:
            return f"{self.reader}: step {self.step_number} of {self.steps}: {self.step}"
        if self.state is DeskState.RESULT and self.result is not None:
            return f"{self.reader}: {self.result.render()}"
        return f"{self.reader}: {self.state.value}"


class ReaderIo(Protocol):
    """Waiting at one reader; both return early (None) once ``stop`` is set."""

    def wait_for_card(self, reader: str, stop: threading.Event) -> Transport | None: ...
    def wait_for_removal(self, reader: str, stop: threading.Event) -> None: ...


class _Slots:
    """``count`` cards in all, across the readers: a worker takes a slot before it programs
    and gives it back when the card went away unfinished (it will be picked up again)."""

    def __init__(self, count: int | None) -> None:
        self._left = count
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left is None:
                return True
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def give_back(self) -> None:
        with self._lock:
            if self._left is not None:
                self._left += 1

    def used_up(self) -> bool:
        with self._lock:
            return self._left is not None and self._left <= 0


#: what Programmer.program reports, in order: the numbers of "step k of n"
_PROGRESS = ("identify", "claim", *STEPS, "read back", "authenticate")


def run_desk(readers: Sequence[str], programmer_for: Callable[[str, Callable[[str], None]],
                                                                Programmer],
             io: ReaderIo, on_event: Callable[[ReaderEvent], None], *,
             count: int | None = None, stop: threading.Event | None = None,
             wrap: Callable[[Transport], Transport] = lambda t: t) -> list[CardResult]:
    """Program cards at every reader until the batch has no pending record, ``count`` cards
    are done, or ``stop`` is set (a card being programmed is finished first).

    ``programmer_for(reader, progress)`` builds that reader's Programmer (its own journal
    connection) reporting steps to ``progress``; ``on_event`` may be called from any worker
    thread (calls are serialised).  Returns every card's result; a worker's exception stops
    the desk and is raised here once the others have finished their cards."""
    stop = stop or threading.Event()
    slots = _Slots(count)
    lock = threading.Lock()
    results: list[CardResult] = []
    errors: list[BaseException] = []

    def emit(event: ReaderEvent) -> None:
        with lock:
            on_event(event)

    def work(reader: str) -> None:
        def progress(step: str) -> None:
            number = _PROGRESS.index(step) + 1 if step in _PROGRESS else 0
            emit(ReaderEvent(reader, DeskState.PROGRAMMING, step, number, len(_PROGRESS)))

        programmer = programmer_for(reader, progress)
        try:
            while not stop.is_set():
                if not slots.take():
                    break
                emit(ReaderEvent(reader, DeskState.WAITING))
                transport = io.wait_for_card(reader, stop)
                if transport is None:
                    slots.give_back()
                    break
                try:
                    result = programmer.program(Card(Channel(wrap(transport))))
                finally:
                    transport.close()
                with lock:
                    results.append(result)
                emit(ReaderEvent(reader, DeskState.RESULT, result=result))
                if result.outcome in (Outcome.REMOVED, Outcome.PARTIAL):
                    slots.give_back()  # unfinished: picked up again when it is back
                    continue
                if result.outcome is Outcome.NO_RECORD:
                    stop.set()  # the batch is done: every reader stops
                    break
                if slots.used_up():
                    break  # the last of ``count`` cards: nothing to wait for
                emit(ReaderEvent(reader, DeskState.REMOVE))
                io.wait_for_removal(reader, stop)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            with lock:
                errors.append(exc)
            stop.set()
        finally:
            programmer.journal.close()
            emit(ReaderEvent(reader, DeskState.STOPPED))

    threads = [threading.Thread(target=work, args=(r,), name=f"reader {r}", daemon=True)
               for r in readers]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        for t in threads:
            t.join()
        raise
    if errors:
        raise errors[0]
    return results
