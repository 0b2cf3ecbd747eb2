"""Cards per hour at a provisioning desk, and APDUs per card per programming step.

Programs fresh blank virtual SJA2 cards with :func:`simtool.provision.station.run_desk`, the
same loop ``simtool batch program`` runs, at 1 and at 2 readers, each card answering with the
real-card latency model (tests/virtual_card/latency.py: its figures and their sources).  Cards
are in process (no pcscd): the model's delays are what a desk waits for; card insertion and
removal by the operator are not counted.  The journal is SQLite with synchronous=FULL in a
batch folder on disk, as at a real desk.

    .venv/bin/python -m bench.desk [--cards N] [--no-latency]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from pathlib import Path

from simtool.apdu.transport import CountingTransport, InProcessTransport
from simtool.provision.cardkeys import FixedAdm
from simtool.provision.generate import generate_batch
from simtool.provision.journal_open import open_journal
from simtool.provision.profile import load_profile
from simtool.provision.program import Outcome, Programmer, open_batch
from simtool.provision.station import run_desk
from simtool.secret import Secret

VENDOR_ADM = "11223344"  # the virtual card's default image
# per card; a profile with an IMS domain adds 11 for the ISIM step (SELECT ADF.ISIM,
# EF.IMPI/IMPU/DOMAIN written and read back, ADF.USIM selected again): milo gives none
APDU_TARGET = 64


def _blank(serial: int, latency: bool):
    from tests.virtual_card import VirtualUicc
    from tests.virtual_card.defaults import swapped_bcd
    from tests.virtual_card.image import default_state
    from tests.virtual_card.latency import LatencyModel, SlowCard

    state = default_state()
    state.files["3F00/2FE2"] = swapped_bcd(f"8948011234{serial:08d}0", 10)
    card = VirtualUicc(state)
    return SlowCard(card, LatencyModel()) if latency else card


class _InProcessDesk:
    def __init__(self, queues: dict[str, deque]) -> None:
        self.queues = queues

    def wait_for_card(self, reader: str, stop: threading.Event):
        if stop.is_set() or not self.queues[reader]:
            return None
        card = self.queues[reader].popleft()
        card.reset()
        return InProcessTransport(card)

    def wait_for_removal(self, reader: str, stop: threading.Event) -> None:
        pass


def desk(folder: Path, readers: int, cards: int, *, latency: bool = True) -> tuple[float, float]:
    """(cards per hour, mean APDUs per card) for ``cards`` cards spread over ``readers``."""
    generate_batch(load_profile("milo"), cards, folder, panel_import=False)
    batch = open_batch(folder)
    batch.journal.close()
    names = [f"reader {i}" for i in range(readers)]
    queues = {n: deque(_blank(1000 * i + k, latency) for k in range(cards // readers))
              for i, n in enumerate(names)}
    counters: list[CountingTransport] = []

    def wrap(transport):
        counting = CountingTransport(transport)
        counters.append(counting)
        return counting

    def programmer_for(reader, progress):
        journal = open_journal(None, folder, batch_id=batch.batch_id)
        return Programmer(journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                          station=reader, progress=progress, allow_iccid_change=True)

    t0 = time.perf_counter()
    results = run_desk(names, programmer_for, _InProcessDesk(queues), lambda e: None, wrap=wrap)
    wall = time.perf_counter() - t0
    done = [r for r in results if r.outcome is Outcome.VERIFIED]
    if len(done) != len(results):
        raise SystemExit(f"not every card verified: {[r.render() for r in results]}")
    return len(done) * 3600 / wall, sum(c.count for c in counters) / len(counters)


def apdus_per_step(folder: Path) -> dict[str, int]:
    """APDUs of one blank card, by the step reported when each was sent."""
    from simtool.apdu.channel import Channel
    from simtool.card import Card

    generate_batch(load_profile("milo"), 1, folder, panel_import=False)
    batch = open_batch(folder)
    card = _blank(1, False)
    card.reset()
    counting = CountingTransport(InProcessTransport(card))
    per_step: Counter[str] = Counter()
    marks: list[tuple[str, int]] = []
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="bench", allow_iccid_change=True,
                   progress=lambda step: marks.append((step, counting.count)))
    result = p.program(Card(Channel(counting)))
    batch.journal.close()
    if result.outcome is not Outcome.VERIFIED:
        raise SystemExit(f"card not verified: {result.render()}")
    bounds = marks + [("end", counting.count)]
    for (step, start), (_, end) in zip(bounds, bounds[1:]):
        per_step[step] += end - start
    per_step["total"] = counting.count
    return dict(per_step)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="provisioning desk benchmark")
    parser.add_argument("--cards", type=int, default=20, help="cards per run (even)")
    parser.add_argument("--no-latency", action="store_true",
                        help="the virtual card at full speed (measures simtool alone)")
    args = parser.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="simtool-bench-desk-"))
    steps = apdus_per_step(base / "steps")
    one, apdus = desk(base / "one", 1, args.cards, latency=not args.no_latency)
    two, _ = desk(base / "two", 2, args.cards, latency=not args.no_latency)
    print("APDUs per card by step: " + ", ".join(f"{k} {v}" for k, v in steps.items()))
    print(f"APDUs per card: {apdus:.0f} (target ≤ {APDU_TARGET})")
    print(f"1 reader:  {one:,.0f} cards/hour")
    print(f"2 readers: {two:,.0f} cards/hour (×{two / one:.2f}; target ≥ ×1.8)")
    return 0 if apdus <= APDU_TARGET and two / one >= 1.8 else 1


if __name__ == "__main__":
    sys.exit(main())
