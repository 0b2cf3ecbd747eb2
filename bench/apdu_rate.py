"""APDUs per second for SELECT + READ BINARY, in process and through pcscd + vpcd, and the
emulator's resident memory.  Prints a table; targets from issue 2:
≥ 50,000 APDU/s in process, ≥ 5,000 APDU/s through pcscd + vpcd.

    .venv/bin/python -m bench.apdu_rate [--count N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simtool.apdu.channel import Channel
from simtool.apdu.command import CommandApdu
from simtool.apdu.transport import InProcessTransport

SELECT_ICCID = CommandApdu(0x00, 0xA4, 0x00, 0x0C, bytes.fromhex("2FE2"))
READ_ICCID = CommandApdu(0x00, 0xB0, 0x00, 0x00, le=10)


def _loop(channel: Channel, count: int) -> float:
    """Run ``count`` APDUs (SELECT + READ BINARY pairs); return APDU/s."""
    channel.send(CommandApdu(0x00, 0xA4, 0x00, 0x0C, bytes.fromhex("3F00")))
    pairs = count // 2
    t0 = time.perf_counter()
    for _ in range(pairs):
        channel.send(SELECT_ICCID)
        channel.send(READ_ICCID)
    return pairs * 2 / (time.perf_counter() - t0)


def in_process(count: int) -> float:
    from tests.virtual_card import VirtualUicc

    return _loop(Channel(InProcessTransport(VirtualUicc.from_image(None))), count)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def through_pcscd(count: int, rounds: int = 3) -> tuple[float, int, float]:
    """(virtual card APDU/s, its VmRSS in KiB, do-nothing card APDU/s), both cards plugged into
    the two readers of the same pcscd + vpcd and measured in alternating rounds (the median of
    each), so that a load change during the run affects both alike."""
    from simtool.apdu.pcsc import PcscTransport
    from tests.harness import REPO, PcscStack, _stop_pid

    def measure(reader: str, n: int) -> float:
        transport = PcscTransport.connect(reader)
        try:
            return _loop(Channel(transport), n)
        finally:
            transport.close()

    workdir = Path(tempfile.mkdtemp(prefix="simtool-bench-"))
    with PcscStack(workdir) as stack:
        port, reader = next((p, r) for p, r in stack.readers.items() if p != stack.port)
        null = subprocess.Popen([sys.executable, "-m", "bench.null_card", "--vpcd",
                                 f"127.0.0.1:{port}"], cwd=REPO, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            PcscStack(workdir, reader=reader).wait_for_card()
            card, empty = [], []
            for _ in range(rounds):
                card.append(measure(stack.reader, count // rounds))
                empty.append(measure(reader, count // rounds))
            return statistics.median(card), rss_kib(stack.card.pid), statistics.median(empty)
        finally:
            _stop_pid(null)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="APDU rate benchmark")
    parser.add_argument("--count", type=int, default=200_000, help="APDUs in process")
    parser.add_argument("--pcsc-count", type=int, default=20_000, help="APDUs through pcscd")
    args = parser.parse_args(argv)

    rows = [("in process: SELECT+READ BINARY", f"{in_process(args.count):,.0f} APDU/s",
             "≥ 50,000 APDU/s")]
    rate, rss, null_rate = through_pcscd(args.pcsc_count)
    rows.append(("pcscd + vpcd: SELECT+READ BINARY", f"{rate:,.0f} APDU/s", "≥ 5,000 APDU/s"))
    rows.append(("pcscd + vpcd: a do-nothing card", f"{null_rate:,.0f} APDU/s", "–"))
    rows.append(("virtual card / do-nothing card", f"×{rate / null_rate:.2f}", "≥ ×0.9"))
    rows.append(("emulator resident memory (VmRSS)", f"{rss / 1024:,.1f} MiB", "–"))

    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"{time.strftime('%Y-%m-%d')}")
    w = max(len(r[0]) for r in rows)
    print(f"{'measurement':{w}}  {'result':>18}  target")
    for name, result, target in rows:
        print(f"{name:{w}}  {result:>18}  {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
