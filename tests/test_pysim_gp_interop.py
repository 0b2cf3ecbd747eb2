"""osmocom pySim-shell's GlobalPlatform commands against the virtual card's ISD: SCP03 (C-MAC +
C-DEC) and SCP02, GET DATA key information, GET STATUS, DELETE and ``install_cap`` (INSTALL
[for load], LOAD, INSTALL [for install] with TS 102 226 toolkit parameters), then ``simtool stk
menu`` sees the menu applet it installed.  Skipped unless a pySim checkout and a Python with its
requirements are named (see tests/test_pysim_interop.py):

    SIMTOOL_PYSIM=/path/to/pysim SIMTOOL_PYSIM_PYTHON=/path/to/venv/bin/python pytest -k pysim
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import run_simtool
from tests.test_e2e_gp import menu_cap_bytes
from tests.test_pysim_interop import pysim, reader_index  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

KEY = "404142434445464748494A4B4C4D4E4F"


def test_pysim_shell_manages_the_virtual_isd(pcsc_stack, pysim, tmp_path):  # noqa: F811
    cap = tmp_path / "milo-menu.cap"
    cap.write_bytes(menu_cap_bytes())
    keys = f"--key-enc {KEY} --key-mac {KEY} --key-dek {KEY}"
    script = tmp_path / "gp.script"
    script.write_text(f"""select ADF.ISD
get_data key_information
establish_scp02 --key-ver 32 {keys} --security-level 1
get_status applications
release_scp
establish_scp03 --key-ver 48 {keys} --security-level 3
delete_card_content f073696d746f6f6c01 --delete-related-objects
install_cap {cap} --install-parameters-stk 010010010100000000
get_status files_and_modules
""")
    proc = pysim("pySim-shell.py", "-p", reader_index(pcsc_stack.reader), "--noprompt",
                 "--script", str(script))
    out = proc.stdout + proc.stderr
    assert "Successfully established a SCP02" in out, out
    assert "Successfully established a SCP03" in out, out
    assert '"key_version_number": 48' in out and '"executable_module_aid": ' \
        '"f073696d746f6f6c0101"' in out, out
    assert "done." in out, out
    listing = json.loads(run_simtool("--json", "stk", "menu", reader=pcsc_stack.reader,
                                     check=True).stdout)
    assert listing["title"] == "Milo Telecom"
