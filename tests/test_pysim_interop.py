"""Interoperability with osmocom pySim, the field's reference tools: its pySim-read identifies
the virtual card as a sysmoISIM-SJA2 and reads what simtool reads, and pySim-prog programs it
with a batch's pysim.csv row.

pySim is not on PyPI and is not part of simtool: these tests run only when a checkout and a
Python that can run it are named, and skip otherwise (CI has neither):

    SIMTOOL_PYSIM=/path/to/pysim SIMTOOL_PYSIM_PYTHON=/path/to/venv/bin/python pytest -k pysim
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_simtool

pytestmark = pytest.mark.e2e

PYSIM = os.environ.get("SIMTOOL_PYSIM")
PYSIM_PYTHON = os.environ.get("SIMTOOL_PYSIM_PYTHON")


@pytest.fixture
def pysim():
    if not PYSIM or not PYSIM_PYTHON or not Path(PYSIM, "pySim-read.py").is_file():
        pytest.skip("set SIMTOOL_PYSIM (a pySim checkout) and SIMTOOL_PYSIM_PYTHON to run")

    def run(tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([PYSIM_PYTHON, str(Path(PYSIM, tool)), *args], cwd=PYSIM,
                              capture_output=True, text=True, timeout=timeout)
    return run


def reader_index(reader: str) -> str:
    from simtool.apdu.pcsc import list_readers

    return str(list_readers().index(reader))


def test_pysim_read_identifies_and_reads_the_virtual_card(pcsc_stack, pysim):
    # pySim-read reads the IMSI without asking for PIN1: disable it first, as on a real card
    run_simtool("pin", "disable", "pin1", "--pin", "1234", reader=pcsc_stack.reader, check=True)
    proc = pysim("pySim-read.py", "-p", reader_index(pcsc_stack.reader))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "sysmoISIM-SJA2" in out
    assert "ICCID: 8948011234567890128" in out
    assert "IMSI: 260011234567890" in out
    # every field read, the ISIM's too, and to the end
    assert out.rstrip().endswith("Done !") and "Can't read" not in out, out
    assert "IMS private user identity: 260011234567890@" in out, out


def test_pysim_prog_programs_a_row_of_our_pysim_csv(pcsc_stack, pysim, tmp_path):
    # a batch for pySim-prog made from the vendor's card list: the row carries the card's own
    # ICCID (an SJA2 keeps it) and its current ADM1, as pySim-prog needs them, unedited
    vendor = tmp_path / "vendor.csv"
    vendor.write_text("iccid,adm1\n8948011234567890128,11223344\n")
    os.chmod(vendor, 0o600)
    folder = tmp_path / "batch"
    # pySim-prog reads the CSV in clear: the plain export a consumer asks for (0600, warned)
    run_simtool("batch", "generate", "--profile", "milo", "--cards", "1", "--out", str(folder),
                "--card-keys", str(vendor), "--programmer", "pysim", "--plain-export", "pysim",
                check=True)
    with open(folder / "exports" / "pysim.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    tries_before = _adm1_tries(pcsc_stack)
    assert tries_before == 3
    proc = pysim("pySim-prog.py", "-p", reader_index(pcsc_stack.reader), "-t", "sysmoISIM-SJA2",
                 "--source", "csv", "--read-csv", str(folder / "exports" / "pysim.csv"),
                 "--read-iccid")
    image = json.loads(pcsc_stack.image.read_text())
    assert "Programming successful" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert image["auth"]["usim"]["ki"].upper() == row["ki"].upper()
    assert _adm1_tries(pcsc_stack) == tries_before  # no ADM1 try lost


def _adm1_tries(stack) -> int:
    """ADM1's try counter in the virtual card's saved image (tests/virtual_card/image.py)."""
    return json.loads(stack.image.read_text())["pins"]["ADM1"]["tries"]
