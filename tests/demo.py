"""The main job end to end on the virtual card, through the real PC/SC stack (no hardware).

Run by ``bash scripts/demo.sh`` (the README's first command): starts pcscd (if none runs) and the
virtual card behind vpcd, then drives the real ``simtool`` CLI against reader "Virtual PCD 00 0x",
and stops what it started by PID.  Each step prints the command it runs and its output.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from tests.conftest import run_simtool
from tests.harness import PcscStack


def step(title: str, *args: str, reader: str, input: str | None = None) -> str:
    print(f"\n=== {title}\n$ simtool -r {shlex.quote(reader)} {' '.join(map(shlex.quote, args))}",
          flush=True)
    proc = run_simtool(*args, reader=reader, input=input)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"demo step failed ({title}): exit {proc.returncode}")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to keep the card image and logs (default: a temp dir)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="simtool-demo-"))
    print(f"simtool demo: working in {workdir}", flush=True)
    with PcscStack(workdir) as stack:
        r = stack.reader
        print(f"virtual card connected to vpcd port {stack.port}; reader {r!r}", flush=True)
        step("readers", "readers", reader=r)
        step("card information", "info", reader=r)
        step("the same as JSON", "--json", "info", reader=r)
        step("PIN state (no try spent)", "pin", "status", reader=r)
    print("\nsimtool demo: done; pcscd/card processes started by the demo were stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
