"""The main job end to end on the virtual card, through the real PC/SC stack (no hardware).

Run by ``bash scripts/demo.sh`` (the README's first command): starts pcscd (if none runs) and the
virtual card behind vpcd, then drives the real ``simtool`` CLI against reader "Virtual PCD 00 0x",
and stops what it started by PID.  Each step prints the command it runs and its output.  The
working folder (OP and transport keys, vendor keys, card image, the batch's records) is removed
at the end, also after a failure or Ctrl-C, unless ``--keep`` is given.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from tests.conftest import run_simtool
from tests.harness import HarnessError, PcscStack, client_socket


def step(title: str, *args: str, reader: str, input: str | None = None,
         expect: int = 0) -> str:
    print(f"\n=== {title}\n$ simtool -r {shlex.quote(reader)} {' '.join(map(shlex.quote, args))}",
          flush=True)
    proc = run_simtool(*args, reader=reader, input=input)
    sys.stdout.write(proc.stderr)  # progress and notes first, then the result
    sys.stdout.write(proc.stdout)
    if proc.returncode != expect:
        raise SystemExit(f"demo step failed ({title}): exit {proc.returncode}, expected {expect}")
    return proc.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true",
                        help="keep the working folder (keys, card image, batch with its secrets) "
                             "instead of removing it at the end")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to work (default: a new temp folder); implies --keep")
    args = parser.parse_args(argv)
    keep = args.keep or args.workdir is not None
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="simtool-demo-"))
    print(f"simtool demo: working in {workdir}", flush=True)
    # the batch key that seals the demo's records stays in the demo's folder
    os.environ.setdefault("SIMTOOL_KEY_DIR", str(workdir / "batch-keys"))
    # SIGTERM ends the demo as Ctrl-C does: through the clean-up below
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        return _run(workdir)
    except HarnessError as exc:     # the PC/SC stack did not come up: say why, in one line
        print(f"simtool demo: error: {exc}", file=sys.stderr, flush=True)
        return 3
    finally:
        signal.signal(signal.SIGTERM, previous)
        if keep:
            print(f"simtool demo: kept {workdir} (it holds secret keys: remove it when done)",
                  flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            print(f"simtool demo: removed {workdir} (keys, card image, batch); "
                  "--keep keeps it", flush=True)


def _run(workdir: Path) -> int:
    batch_dir = workdir / "batch"
    with PcscStack(workdir) as stack:
        r = stack.reader
        owner = f"pid {stack.pcscd_pid}" if stack.pcscd_pid else "already running"
        print(f"pcscd: {owner}, socket {client_socket()}", flush=True)
        print(f"virtual card connected to vpcd port {stack.port}; reader {r!r}", flush=True)
        step("readers", "readers", reader=r)
        step("the blank card as delivered (PIN1 1234)", "info", "--pin1", reader=r,
             input="1234\n")
        step("PIN state (no try spent)", "pin", "status", reader=r)
        step("a wrong PIN: the card says how many tries are left (exit 1)", "pin", "verify",
             "pin1", reader=r, input="0000\n", expect=1)
        step("the right PIN resets the counter", "pin", "verify", "pin1", reader=r,
             input="1234\n")

        # provisioning: keys, a Milo batch, program and verify the card in the reader
        step("operator OP key", "batch", "keygen", "op", str(workdir / "op.key"), reader=r)
        step("transport key for the HSS imports", "batch", "keygen", "transport",
             str(workdir / "transport.key"), reader=r)
        # the vendor's card list: the card's factory ICCID and ADM1 (pySim's column names).
        # An SJA2 keeps its factory ICCID (its licence is bound to it), so the batch takes it.
        vendor = workdir / "vendor-keys.csv"
        with os.fdopen(os.open(vendor, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
            fh.write("iccid,adm1\n8948011234567890128,11223344\n")
        step("generate a Milo batch for the vendor's cards", "batch", "generate", "--profile",
             "milo", "--cards", "1", "--card-keys", str(vendor), "--out", str(batch_dir),
             "--op-key-file", str(workdir / "op.key"), "--transport-key-file",
             str(workdir / "transport.key"), reader=r)
        step("program and verify the card in the reader", "batch", "program", str(batch_dir),
             "--card-keys", str(vendor), "--stop-after", "1", reader=r)
        pin1 = _programmed_pin1(batch_dir)
        step("the programmed card", "--json", "info", "--pin1", reader=r, input=pin1 + "\n")
        step("decrypt the Open5GS import (operator side)", "batch", "decrypt",
             str(batch_dir / "exports" / "open5gs-subscribers.js.enc"), "--transport-key-file",
             str(workdir / "transport.key"), "--out", str(workdir / "open5gs-subscribers.js"),
             reader=r)

        # the card's STK menu, run as a handset would, against the Milo virtual network (its
        # records in the demo's folder, not the user's data folder)
        os.environ["SIMTOOL_NETWORK_STATE"] = str(workdir / "network.json")
        step("the network registers the card's number (HLR)", "network", "status", "--msisdn",
             _programmed_msisdn(batch_dir), reader=r)
        step("a top-up of 50 zł", "network", "top-up", "50", reader=r)
        step("STK menu", "stk", "menu", reader=r)
        step("balance (*108#)", "stk", "select", "Stan konta", reader=r)
        step("validity of funds (*109#)", "stk", "select", "Ważność", reader=r)
        step("forwarding: the code to dial on the previous phone, with this card's number",
             "stk", "select", "Przekierowania", "--choose", "1", reader=r)
        step("a call to +48531234567 becomes a call-back request (call control by USIM)",
             "stk", "call", "+48531234567", "--seconds", "95", reader=r)
        step("a terminal without USSD: the card explains the code instead", "stk", "select",
             "Stan konta", "--no-ussd", reader=r)
        step("explain a dialled code", "mmi", "explain", "*21*600123456#", reader=r)
        print(f"\nbatch folder: {batch_dir}")
        for path in sorted((batch_dir / "exports").iterdir()):
            print(f"  exports/{path.name}")
    print("\nsimtool demo: done; pcscd/card processes started by the demo were stopped.")
    return 0


def _programmed_pin1(batch_dir: Path) -> str:
    """PIN1 of the card the demo programmed (the journal says which record it got)."""
    return _programmed_record(batch_dir).pin1.reveal()


def _programmed_msisdn(batch_dir: Path) -> str:
    """The number the batch gave the programmed card: the operator registers it in its
    network (the virtual network's records) as it does in a real HLR."""
    return _programmed_record(batch_dir).msisdn


def _programmed_record(batch_dir: Path):
    from simtool.provision.batchdir import read_batch_info, read_records
    from simtool.provision.journal import RecordState
    from simtool.provision.journal_open import open_journal

    records = list(read_records(batch_dir / "records.jsonl"))
    batch_id = read_batch_info(batch_dir)["batch_id"]
    with open_journal(None, batch_dir, batch_id=batch_id) as journal:
        return next(r for r in records
                    if journal.record(r.index).state is RecordState.VERIFIED)

if __name__ == "__main__":
    sys.exit(main())
