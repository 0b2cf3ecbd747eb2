"""Eight ``simtool batch generate --journal URL`` processes started at once on one journal.

Each generator is a real process running the CLI's ``main()``; all of them import first and
then wait at a start gate (a file the test creates), so their journal work overlaps as much as
it can.  Afterwards the batch folders on disk and the journal's tables must show: no ICCID, IMSI
or MSISDN in two folders (or two journal rows), and every folder either complete and registered
in the journal or absent (a failed run leaves nothing that ``batch program`` could program).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest
from stdnum import luhn

from simtool.provision.batchdir import read_batch_info, read_records
from tests.pg import postgres_server  # noqa: F401  (registers the session fixture)

REPO = Path(__file__).resolve().parent.parent
GENERATORS = 8
COUNT = 12
GATE_WAIT = 300.0  # seconds a generator waits for the gate before giving up (never reached)

# Imports the CLI, says it is ready, waits for the gate, then runs the CLI as `simtool` would.
_GATED_CLI = """\
import os, sys, time
from simtool.cli.main import main
import simtool.provision.generate, simtool.provision.journal_sqlite
ready, gate = sys.argv[1], sys.argv[2]
open(ready, "w").close()
deadline = time.monotonic() + float(sys.argv[3])
while not os.path.exists(gate):
    if time.monotonic() > deadline:
        sys.exit("the start gate never opened")
    time.sleep(0.002)
sys.exit(main(sys.argv[4:]))
"""


def run_generators(tmp_path: Path, journal_url: str, extra: list[str] | None = None,
                   ) -> list[tuple[Path, subprocess.CompletedProcess]]:
    """Start GENERATORS gated CLI processes, open the gate, and collect (out folder, result)."""
    batches = tmp_path / "batches"
    batches.mkdir()
    gate_dir = tmp_path / "gate"
    gate_dir.mkdir()
    procs = []
    for n in range(GENERATORS):
        out = batches / f"b{n}"
        argv = ["batch", "generate", "--profile", "milo", "--count", str(COUNT),
                "--out", str(out), "--journal", journal_url, "--workers", "1", "--json",
                *(extra or [])]
        procs.append((out, subprocess.Popen(
            [sys.executable, "-c", _GATED_CLI, str(gate_dir / f"ready-{n}"),
             str(gate_dir / "go"), str(GATE_WAIT), *argv],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True)))
    try:
        for n, (_, proc) in enumerate(procs):  # every process imported and waiting
            while not (gate_dir / f"ready-{n}").exists():
                assert proc.poll() is None, proc.communicate()
                time.sleep(0.01)
        (gate_dir / "go").touch()
        results = []
        for out, proc in procs:
            stdout, stderr = proc.communicate(timeout=GATE_WAIT)
            results.append((out, subprocess.CompletedProcess(proc.args, proc.returncode,
                                                             stdout, stderr)))
        return results
    finally:
        for _, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def check_outcome(results, journal_rows: list[tuple]) -> list[Path]:
    """The invariants; returns the folders of the runs that succeeded."""
    present = [out for out, _ in results if out.exists()]
    # no number in two folders on disk (whatever the runs' exit codes said)
    seen: dict[str, Counter] = {"iccid": Counter(), "imsi": Counter(), "msisdn": Counter()}
    folder_records = {}
    for out in present:
        records = list(read_records(out / "records.jsonl"))
        folder_records[out] = records
        for rec in records:
            seen["iccid"][rec.iccid] += 1
            seen["imsi"][rec.imsi] += 1
            seen["msisdn"][rec.msisdn] += 1
    for name, counter in seen.items():
        twice = sorted(v for v, n in counter.items() if n > 1)
        assert not twice, f"{len(twice)} {name}s in two batch folders, e.g. {twice[:3]}"
    # no number in two journal rows
    for column, name in ((2, "iccid"), (3, "imsi"), (4, "msisdn")):
        values = [row[column] for row in journal_rows if row[column] is not None]
        assert len(values) == len(set(values)), f"an {name} in two journal rows"
    # every folder complete and registered; every registered batch has its folder
    journal_batches: dict[str, set] = {}
    for batch_id, *values in journal_rows:
        journal_batches.setdefault(batch_id, set()).add(tuple(values))
    folder_batches = {}
    for out, records in folder_records.items():
        info = read_batch_info(out)
        assert info["count"] == COUNT == len(records), out
        assert [r.index for r in records] == list(range(COUNT)), out
        assert len(list((out / "exports" / "printer" / "barcodes").iterdir())) == COUNT
        folder_batches[info["batch_id"]] = {
            (r.index, r.iccid, r.imsi, r.msisdn) for r in records}
    assert journal_batches == folder_batches
    # a run succeeded exactly when its folder is there; a failure is one error line
    for out, done in results:
        assert "Traceback" not in done.stderr, done.stderr
        if done.returncode == 0:
            assert out in present and json.loads(done.stdout)["count"] == COUNT
        else:
            assert out not in present, (out, done.stderr)
            errors = [ln for ln in done.stderr.splitlines() if ln.startswith("error:")]
            assert len(errors) == 1, done.stderr
    # nothing else beside the folders: no staging folder, no temporary file
    assert sorted(p.name for p in (results[0][0].parent).iterdir()) == sorted(
        p.name for p in present)
    return present


def sqlite_rows(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT batch_id, idx, iccid, imsi, msisdn"
                            " FROM journal_records").fetchall()


def pg_rows(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT batch_id, idx, iccid, imsi, msisdn"
                            " FROM journal_records").fetchall()


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_journal(request, tmp_path):
    """(URL, rows()) of an empty journal that every generator shares."""
    if request.param == "sqlite":
        path = tmp_path / "shared" / "journal.sqlite"
        path.parent.mkdir()
        return f"sqlite:///{path}", lambda: sqlite_rows(path)
    url = request.getfixturevalue("postgres_server").create_database()
    return url, lambda: pg_rows(url)


def test_concurrent_generators_never_share_a_number(shared_journal, tmp_path):
    url, rows = shared_journal
    results = run_generators(tmp_path, url)
    present = check_outcome(results, rows())
    # nothing made them fail: each took numbers the others had not
    assert [done.returncode for _, done in results] == [0] * GENERATORS, [
        done.stderr for _, done in results]
    assert len(present) == GENERATORS


def vendor_list(path: Path, cards: int) -> Path:
    """A vendor's card key file: factory ICCIDs (valid Luhn) and ADM1 keys."""
    lines = ["iccid,adm1"]
    for n in range(cards):
        body = f"898821{n:012d}"
        lines.append(f"{body}{luhn.calc_check_digit(body)},{12345670 + n:08d}")
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def test_concurrent_generators_never_share_a_cards_iccid(shared_journal, tmp_path):
    """sysmoISIM: the ICCIDs are the cards' own, from the vendor list; all eight runs ask for
    the same first COUNT cards, so exactly one batch may take them."""
    url, rows = shared_journal
    keys = vendor_list(tmp_path / "vendor.csv", COUNT)
    results = run_generators(tmp_path, url, ["--card-keys", str(keys)])
    present = check_outcome(results, rows())
    assert len(present) == 1
    for _, done in results:
        if done.returncode != 0:
            assert done.returncode == 4, done.stderr
            assert "already issued" in done.stderr, done.stderr
