"""Batch generation speed and Argon2id hashing rate.  Prints a table; target from the issue:
100,000 cards generated in < 60 s on 2 cores, hashing excluded.

    .venv/bin/python -m bench.provision_generate [--count 100000] [--hashes 400] [--profile milo]

Generation runs the whole ``generate_batch`` (records, pySim CSV and printer CSV sealed with a
batch key, encrypted HSS imports, one SVG barcode per card, label sheet, fsync + rename)
without the panel import;
hashing is measured separately, with one process and with every core.
"""

from __future__ import annotations

import argparse
import secrets
import shutil
import tempfile
import time
from pathlib import Path

from simtool.provision.generate import generate_batch
from simtool.provision.hashing import DEFAULT_PARAMS, default_workers, hash_secrets
from simtool.provision.profile import load_profile
from simtool.secret import Secret


def bench_generation(profile_name: str, count: int) -> tuple[float, float]:
    """(cards/s of generation, wall seconds including the final sync and rename)."""
    workdir = Path(tempfile.mkdtemp(prefix="simtool-bench-"))
    try:
        start = time.perf_counter()
        result = generate_batch(load_profile(profile_name), count, workdir / "batch",
                                op=Secret(secrets.token_bytes(16)),
                                transport_key=Secret(secrets.token_bytes(32)),
                                seal_key=Secret(secrets.token_bytes(32)), panel_import=False)
        wall = time.perf_counter() - start
        return result.cards_per_second, wall
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def bench_hashing(count: int, workers: int) -> float:
    values = [Secret(f"{secrets.randbelow(10**10):010d}") for _ in range(count)]
    _, report = hash_secrets(values, DEFAULT_PARAMS, workers=workers)
    return report.rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000, help="cards to generate")
    parser.add_argument("--hashes", type=int, default=400, help="Argon2id hashes per run")
    parser.add_argument("--profile", default="milo")
    args = parser.parse_args()

    cores = default_workers()
    rate, wall = bench_generation(args.profile, args.count)
    one = bench_hashing(args.hashes, 1)
    many = bench_hashing(args.hashes, cores)
    p = DEFAULT_PARAMS
    rows = [
        ("generation", f"{args.count:,} cards ({args.profile}, OP + transport key)",
         f"{rate:,.0f} cards/s", f"{wall:.1f} s wall"),
        ("Argon2id, 1 process", f"{args.hashes} hashes (m={p.memory_kib} KiB, t={p.time_cost}, "
                                f"p={p.parallelism})", f"{one:,.1f} hashes/s", ""),
        (f"Argon2id, {cores} processes", f"{args.hashes} hashes", f"{many:,.1f} hashes/s",
         f"speed-up {many / one:.2f}x"),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    projected = wall * 100_000 / args.count
    verdict = "met" if projected < 60 else "MISSED"
    print(f"target 100,000 cards < 60 s: {verdict} ({projected:.1f} s for 100,000 cards"
          f"{'' if args.count == 100_000 else ', projected from this run'})")

if __name__ == "__main__":
    main()
