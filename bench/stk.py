"""STK menu selection → reply on screen: time and APDUs per selection, in process and through
pcscd + vpcd (target from issue 4: < 20 ms through pcscd).

    .venv/bin/python -m bench.stk [--count N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from simtool.apdu.channel import Channel
from simtool.apdu.transport import CountingTransport, InProcessTransport
from simtool.stk.handset import Handset, ScriptedUI
from simtool.stk.network import SubscriberState, VirtualNetwork

ITEM = 3  # "Stan konta": SEND USSD *108#, then DISPLAY TEXT with the balance


def measure(transport, count: int) -> tuple[float, float, int]:
    """(median ms, p95 ms, APDUs) per selection of ITEM."""
    counting = CountingTransport(transport)
    network = VirtualNetwork.for_operator("milo", SubscriberState(msisdn="48531234567",
                                                                  balance=5000), datetime.now)
    handset = Handset(Channel(counting), network, ScriptedUI())
    handset.start()
    samples = []
    before = counting.count
    for _ in range(count):
        t0 = time.perf_counter()
        transcript = handset.select(ITEM)
        samples.append((time.perf_counter() - t0) * 1000)
        if not transcript.displayed:
            raise SystemExit("no reply was displayed: the session did not complete")
    apdus = (counting.count - before) // count
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], apdus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="STK selection latency")
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args(argv)

    from simtool.apdu.pcsc import PcscTransport
    from tests.harness import PcscStack
    from tests.virtual_card import VirtualUicc

    rows = [("in process", *measure(InProcessTransport(VirtualUicc.from_image(None)),
                                    args.count))]
    with PcscStack(Path(tempfile.mkdtemp(prefix="simtool-bench-stk-"))) as stack:
        with PcscTransport.connect(stack.reader) as transport:
            rows.append(("pcscd + vpcd", *measure(transport, args.count)))

    print(f"STK selection of Milo item {ITEM} (*108#) → reply displayed, {args.count} runs, "
          f"{time.strftime('%Y-%m-%d')}")
    print(f"{'path':14} {'median ms':>10} {'p95 ms':>8} {'APDUs':>6}  target")
    for name, med, p95, apdus in rows:
        target = "< 20 ms" if name.startswith("pcscd") else "–"
        print(f"{name:14} {med:10.2f} {p95:8.2f} {apdus:6d}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
