"""``python -m bench``: every benchmark, one table, each figure against its target.

Runs, with default sizes that take a few minutes on 2 cores:

* bench.desk — cards per hour at a desk of 1 and of 2 readers with the real-card latency model,
  APDUs per card and per programming step;
* bench.apdu_rate — SELECT + READ BINARY APDUs per second in process and through pcscd + vpcd,
  beside a do-nothing card on the same stack, and the emulator's resident memory;
* bench.provision_generate — a 100,000-card batch (everything but the panel import) and the
  Argon2id panel hashing rate on one process and on every core;
* bench.provision_program — APDUs and milliseconds per programmed + verified card;
* bench.stk — SIM Toolkit menu selection → reply displayed.

    python -m bench                 # the full table (a few minutes)
    python -m bench --quick         # small sizes, projected where a target is about size
    python -m bench --no-pcsc       # only what runs in process (no pcscd needed)
    python -m bench --json          # the rows as JSON too (for docs/benchmarks.md)

The parts needing pcscd start it (and a virtual card on a free vpcd port) through
tests/harness.py when none is running; they need ``pcscd`` and ``vsmartcard-vpcd``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Callable


@dataclass(frozen=True)
class Row:
    measurement: str
    result: str
    target: str = "–"
    met: bool | None = None  # None: no target

    @property
    def verdict(self) -> str:
        return "–" if self.met is None else ("met" if self.met else "MISSED")


@dataclass(frozen=True)
class Sizes:
    apdus: int = 200_000
    pcsc_apdus: int = 20_000
    cards: int = 100_000
    hashes: int = 400
    program_cards: int = 50
    pcsc_program_cards: int = 10
    stk_selections: int = 200
    desk_cards: int = 20


QUICK = Sizes(apdus=20_000, pcsc_apdus=2_000, cards=10_000, hashes=40, program_cards=10,
              pcsc_program_cards=3, stk_selections=30, desk_cards=6)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {"date": date.today().isoformat(), "cores": str(os.cpu_count()),
            "arch": platform.machine(), "cpu": cpu, "python": platform.python_version(),
            "load average before the run": load}


# --- one section per benchmark module ------------------------------------------------------------

def apdu_rows(sizes: Sizes, pcsc: bool) -> list[Row]:
    from bench import apdu_rate

    rate = apdu_rate.in_process(sizes.apdus)
    rows = [Row("APDU rate, in process (SELECT + READ BINARY)", f"{rate:,.0f} APDU/s",
                "≥ 50,000 APDU/s", rate >= 50_000)]
    if pcsc:
        rate, rss, null_rate = apdu_rate.through_pcscd(sizes.pcsc_apdus)
        rows += [Row("APDU rate, through pcscd + vpcd", f"{rate:,.0f} APDU/s",
                     "≥ 5,000 APDU/s", rate >= 5_000),
                 Row("APDU rate, a do-nothing card on the same pcscd + vpcd",
                     f"{null_rate:,.0f} APDU/s"),
                 Row("virtual card / do-nothing card", f"×{rate / null_rate:.2f}", "≥ ×0.9",
                     rate / null_rate >= 0.9),
                 Row("emulator resident memory (VmRSS)", f"{rss / 1024:,.1f} MiB")]
    return rows


def desk_rows(sizes: Sizes, workdir: Path) -> list[Row]:
    from bench import desk

    steps = desk.apdus_per_step(workdir / "steps")
    one, apdus = desk.desk(workdir / "one", 1, sizes.desk_cards)
    two, _ = desk.desk(workdir / "two", 2, sizes.desk_cards)
    detail = ", ".join(f"{k} {v}" for k, v in steps.items() if k != "total" and v)
    # the station's budget is the base steps'; the menu step of a batch with a menu (2 APDUs:
    # the bench's cards hold the menu already) comes on top
    menu = steps.get("menu", 0)
    base = apdus - menu
    return [Row("cards per hour per desk, 1 reader (real-card latency model)",
                f"{one:,.0f} cards/h"),
            Row("cards per hour per desk, 2 readers", f"{two:,.0f} cards/h (×{two / one:.2f})",
                "≥ ×1.8", two / one >= 1.8),
            Row("APDUs per card: program + read back + AUTHENTICATE",
                f"{base:.0f} (+ {menu} for the menu step: {apdus:.0f})",
                f"≤ {desk.APDU_TARGET} + the menu step", base <= desk.APDU_TARGET),
            Row("APDUs per card by step", detail)]


def generation_rows(sizes: Sizes) -> list[Row]:
    from bench import provision_generate
    from simtool.provision.hashing import DEFAULT_PARAMS, default_workers

    _rate, wall = provision_generate.bench_generation("milo", sizes.cards)
    projected = wall * 100_000 / sizes.cards
    what = (f"{wall:.1f} s" if sizes.cards == 100_000
            else f"{projected:.1f} s (projected from {sizes.cards:,} cards in {wall:.1f} s)")
    rows = [Row("batch generation, 100,000 cards (milo, no panel import)", what, "< 60 s",
                projected < 60)]
    cores = default_workers()
    one = provision_generate.bench_hashing(sizes.hashes, 1)
    many = provision_generate.bench_hashing(sizes.hashes, cores)
    p = DEFAULT_PARAMS
    rows += [Row(f"Argon2id hashes (m={p.memory_kib} KiB, t={p.time_cost}), 1 process",
                 f"{one:,.1f} hashes/s"),
             Row(f"Argon2id hashes, {cores} processes", f"{many:,.1f} hashes/s "
                 f"(×{many / one:.2f})")]
    return rows


def program_rows(sizes: Sizes, pcsc: bool, workdir: Path) -> list[Row]:
    from bench import provision_program

    def row(name: str, runs: list[tuple[int, float]]) -> Row:
        apdus = statistics.mean(a for a, _ in runs)
        ms = statistics.median(m for _, m in runs)
        return Row(f"programming + verification per card, {name}",
                   f"{apdus:.0f} APDUs, {ms:.1f} ms (median of {len(runs)})")

    rows = [row("in process", provision_program.in_process(workdir / "inproc",
                                                           sizes.program_cards))]
    if pcsc:
        (workdir / "pcsc").mkdir()
        rows.append(row("through pcscd + vpcd", provision_program.through_pcscd(
            workdir / "pcsc", sizes.pcsc_program_cards)))
    return rows


def stk_rows(sizes: Sizes, pcsc: bool, workdir: Path) -> list[Row]:
    try:
        from bench import stk
    except ImportError:
        return [Row("STK selection → reply", "not measured (no bench/stk.py)")]
    from simtool.apdu.transport import InProcessTransport
    from tests.virtual_card import VirtualUicc

    med, p95, apdus = stk.measure(InProcessTransport(VirtualUicc.from_image(None)),
                                  sizes.stk_selections)
    rows = [Row("STK selection → reply displayed, in process",
                f"{med:.2f} ms median, {p95:.2f} ms p95, {apdus} APDUs")]
    if pcsc:
        from simtool.apdu.pcsc import PcscTransport
        from tests.harness import PcscStack

        with PcscStack(workdir / "stk") as stack:
            transport = PcscTransport.connect(stack.reader)
            try:
                med, p95, apdus = stk.measure(transport, sizes.stk_selections)
            finally:
                transport.close()
        rows.append(Row("STK selection → reply displayed, through pcscd + vpcd",
                        f"{med:.2f} ms median, {p95:.2f} ms p95, {apdus} APDUs",
                        "< 20 ms", med < 20))
    return rows


# --- the table -----------------------------------------------------------------------------------

def render(rows: list[Row]) -> str:
    header = Row("measurement", "result", "target")
    cells = [(r.measurement, r.result, r.target, r.verdict if r is not header else "verdict")
             for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cell, widths)).rstrip() for cell in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(sizes: Sizes, *, pcsc: bool, say: Callable[[str], None]) -> list[Row]:
    workdir = Path(tempfile.mkdtemp(prefix="simtool-bench-all-"))
    rows: list[Row] = []
    try:
        for name, section in (("provisioning desk", lambda: desk_rows(sizes, workdir)),
                              ("APDU rate", lambda: apdu_rows(sizes, pcsc)),
                              ("batch generation and hashing", lambda: generation_rows(sizes)),
                              ("card programming", lambda: program_rows(sizes, pcsc, workdir)),
                              ("STK latency", lambda: stk_rows(sizes, pcsc, workdir))):
            say(f"running: {name} ...")
            t0 = time.perf_counter()
            rows += section()
            say(f"         {name}: {time.perf_counter() - t0:.0f} s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--no-pcsc", action="store_true", help="skip everything needing pcscd")
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args(argv)
    info = machine()

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    rows = run(QUICK if args.quick else Sizes(), pcsc=not args.no_pcsc, say=say)
    print(f"simtool benchmarks, {info['date']}: {info['cores']} × {info['cpu']} "
          f"({info['arch']}), Python {info['python']}, load average before the run "
          f"{info['load average before the run']}" + (" [--quick]" if args.quick else ""))
    print(render(rows))
    if args.json:
        print(json.dumps({"machine": info, "rows": [{**asdict(r), "verdict": r.verdict}
                                                     for r in rows]}, indent=2,
                         ensure_ascii=False))
    missed = [r for r in rows if r.met is False]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
