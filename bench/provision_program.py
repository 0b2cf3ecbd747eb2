"""Programming + verifying one card from a batch: APDUs and milliseconds per card, on the
virtual SJA2 in process and through pcscd + vpcd (a fresh blank card image per card).

The time covers :meth:`Programmer.program` only: identify, claim, VERIFY ADM1, every write
step with its journal update (SQLite, synchronous=FULL, in the batch folder), the read-back of
every file and AUTHENTICATE.  Card insertion (emulator start) is not timed.

    .venv/bin/python -m bench.provision_program [--cards N] [--pcsc-cards N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from simtool.apdu.channel import Channel
from simtool.apdu.transport import CountingTransport, InProcessTransport
from simtool.card import Card
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile
from simtool.provision.cardkeys import FixedAdm
from simtool.provision.program import Outcome, Programmer, open_batch
from simtool.secret import Secret

VENDOR_ADM = "11223344"  # the virtual card's default image


def _programmer(folder: Path, count: int) -> Programmer:
    key = Secret(secrets.token_bytes(32))  # the batch key, in memory (no key-store file)
    generate_batch(load_profile("milo"), count, folder, panel_import=False, seal_key=key)
    batch = open_batch(folder, records_key=key)
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="bench", allow_iccid_change=True)
    p.check_records()
    return p


def _one(p: Programmer, transport) -> tuple[int, float]:
    counting = CountingTransport(transport)
    t0 = time.perf_counter()
    result = p.program(Card(Channel(counting)))
    ms = (time.perf_counter() - t0) * 1000
    if result.outcome is not Outcome.VERIFIED:
        raise SystemExit(f"card not verified: {result.render()}")
    return counting.count, ms


def in_process(folder: Path, cards: int) -> list[tuple[int, float]]:
    from tests.virtual_card import VirtualUicc

    p = _programmer(folder, cards)
    return [_one(p, InProcessTransport(VirtualUicc.from_image(None))) for _ in range(cards)]


def through_pcscd(folder: Path, cards: int) -> list[tuple[int, float]]:
    from simtool.apdu.pcsc import PcscTransport
    from tests.harness import PcscStack

    folder.mkdir(parents=True, exist_ok=True)
    p = _programmer(folder / "batch", cards)
    out = []
    with PcscStack(folder / "stack") as stack:
        for i in range(cards):
            if i:
                stack.image = folder / "stack" / f"card-{i}.json"
                stack.restart_card()
            transport = PcscTransport.connect(stack.reader)
            try:
                out.append(_one(p, transport))
            finally:
                transport.close()
    return out


def _row(name: str, runs: list[tuple[int, float]]) -> tuple[str, str, str, str]:
    apdus = statistics.mean(a for a, _ in runs)
    ms = [m for _, m in runs]
    return (name, f"{len(runs)}", f"{apdus:.0f}",
            f"{statistics.median(ms):.1f} (min {min(ms):.1f}, max {max(ms):.1f})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="card programming benchmark")
    parser.add_argument("--cards", type=int, default=50, help="cards in process")
    parser.add_argument("--pcsc-cards", type=int, default=10, help="cards through pcscd")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where the batch folders go (default: a temp dir on disk)")
    args = parser.parse_args(argv)
    base = args.dir or Path(tempfile.mkdtemp(prefix="simtool-bench-program-"))
    rows = [_row("in process", in_process(base / "inproc", args.cards))]
    if args.pcsc_cards:
        rows.append(_row("pcscd + vpcd", through_pcscd(base / "pcsc", args.pcsc_cards)))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"{time.strftime('%Y-%m-%d')}; batch folders in {base}")
    header = ("programming + verification", "cards", "APDUs/card", "ms/card: median")
    w = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for r in [header, *rows]:
        print("  ".join(f"{c:{w[i]}}" for i, c in enumerate(r)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
