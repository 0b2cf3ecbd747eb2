"""The long fuzz run of the virtual card: seeded, bounded by a count and a time limit, stops
by itself and prints a result table (the CI version is tests/test_fuzz_emulator.py; what is
fuzzed and how: docs/reliability.md).

    .venv/bin/python -m bench.fuzz_emulator [--count 1000000] [--seconds 600] [--seed 1]
                                            [--snapshot-every 1] [--episode 2000]
                                            [--pcscd 20000] [--deadline 5]

``--pcscd N`` then sends N more APDUs (a quarter of them 1-4 bytes) through the real stack —
pyscard, pcscd, vpcd, the card process — with a deadline per APDU: a command the card does not
answer in time is reported as a hang (the card is replaced and the run goes on).

Exit status 0 when every finding is a known deviation (``KNOWN_DEVIATIONS`` in
tests/fuzzing/findings.py), 1 otherwise; the reproducers of the others are printed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import tomllib
from pathlib import Path

from tests.fuzzing import EmulatorFuzz, PcscFuzz, PcscStats, Stats, is_known

REPO = Path(__file__).resolve().parent.parent


def machine() -> str:
    return (f"{os.cpu_count()} cores (nproc), {platform.machine()}, "
            f"Python {platform.python_version()}")


def report(stats: Stats, args: argparse.Namespace) -> str:
    crashes = sum(f.count for f in stats.findings.values()
                  if f.kind in ("crash", "error-log", "vpcd"))
    rows = [
        ("date", datetime.date.today().isoformat()),
        ("machine", machine()),
        ("seed / count / time limit", f"{args.seed} / {args.count:,} / {args.seconds:g} s"),
        ("APDUs sent", f"{stats.apdus:,}"),
        ("elapsed", f"{stats.elapsed:.1f} s "
                    f"({stats.apdus / max(stats.elapsed, 1e-9):,.0f} APDU/s)"),
        ("cards (episodes)", f"{stats.episodes:,}"),
        ("rejected commands", f"{stats.rejected:,}"),
        ("image snapshots checked", f"{stats.image_checks:,} (every {args.snapshot_every})"),
        ("T=0 follow-ups checked", f"{stats.followups:,}"),
        ("vpcd streams / frames", f"{stats.vpcd_streams:,} / {stats.vpcd_frames:,}"),
        ("proactive commands fetched", f"{stats.fetched:,}"),
        ("distinct commands", f"{len(stats.by_command):,}"),
        ("crashes", f"{crashes:,}"),
        ("findings (distinct / known)", f"{len(stats.findings)} / "
         f"{sum(is_known(f) for f in stats.findings.values())}"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    if stats.findings:
        lines += ["", f"{'kind':<10} {'command':<24} {'SW':<5} {'count':>7}  known"]
        for f in sorted(stats.findings.values(), key=lambda f: (-f.count, f.kind)):
            sw = "" if f.sw is None else f"{f.sw:04X}"
            lines.append(f"{f.kind:<10} {f.command:<24} {sw:<5} {f.count:>7}  "
                         f"{'yes' if is_known(f) else 'NO'}")
    for f in stats.unexpected():
        lines += ["", f.reproducer()]
    return "\n".join(lines)


def pcsc_report(stats: PcscStats, args: argparse.Namespace) -> str:
    rows = [
        ("through pcscd + vpcd", f"seed {args.seed}, deadline {args.deadline:g} s per APDU"),
        ("APDUs sent", f"{stats.apdus:,} ({stats.short:,} of 1-4 bytes)"),
        ("elapsed", f"{stats.elapsed:.1f} s "
                    f"({stats.apdus / max(stats.elapsed, 1e-9):,.0f} APDU/s)"),
        ("hangs (no answer in time)", f"{stats.hangs:,}"),
        ("card processes replaced", f"{stats.restarts:,}"),
        ("findings (distinct / known)", f"{len(stats.findings)} / "
         f"{sum(is_known(f) for f in stats.findings.values())}"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k:<{width}}  {v}" for k, v in rows]
    for f in stats.unexpected():
        lines += ["", f.reproducer()]
    return "\n".join(lines)


def run_pcsc(args: argparse.Namespace) -> PcscStats:
    from tests.harness import PcscStack
    with tempfile.TemporaryDirectory(prefix="simtool-fuzz-pcsc-") as workdir:
        with PcscStack(Path(workdir)) as stack:
            return PcscFuzz(stack, args.seed, deadline=args.deadline).run(args.pcscd,
                                                                          args.seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz_emulator",
                                     description="fuzz the virtual card (bounded, seeded)")
    parser.add_argument("--count", type=int, default=1_000_000, help="APDUs to send")
    parser.add_argument("--seconds", type=float, default=600.0, help="time limit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--snapshot-every", type=int, default=1, metavar="N",
                        help="snapshot the image before one command in N")
    parser.add_argument("--episode", type=int, default=2000, metavar="N",
                        help="commands per card before a fresh one")
    parser.add_argument("--pcscd", type=int, default=0, metavar="N",
                        help="also send N APDUs through pcscd + vpcd (needs pcscd and vpcd)")
    parser.add_argument("--deadline", type=float, default=5.0, metavar="S",
                        help="seconds an APDU through pcscd may take before it is a hang")
    args = parser.parse_args(argv)
    menu = tomllib.loads((REPO / "provisioning/menus/milo.toml").read_text(encoding="utf-8"))
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as workdir:
        fuzz = EmulatorFuzz(args.seed, Path(workdir), menu=menu, episode=args.episode,
                            snapshot_every=args.snapshot_every)
        stats = fuzz.run(args.count, args.seconds)
    print(report(stats, args))
    failed = bool(stats.unexpected())
    if args.pcscd:
        pcsc = run_pcsc(args)
        print()
        print(pcsc_report(pcsc, args))
        failed = failed or bool(pcsc.unexpected())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
