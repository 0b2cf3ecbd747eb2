"""osmocom pySim-shell on a logical channel of the virtual card: it opens channel 1 (MANAGE
CHANNEL, the terminal's number), browses DF.SYSTEM, ADF.USIM and ADF.ISIM there and reads the
SJA2's proprietary files with ADM1, while channel 0 keeps its own selection; then it closes the
channel and opens it again.  Skipped unless a pySim checkout and a Python with its requirements are
named (see tests/test_pysim_interop.py):

    SIMTOOL_PYSIM=/path/to/pysim SIMTOOL_PYSIM_PYTHON=/path/to/venv/bin/python pytest -k pysim
"""

from __future__ import annotations

import json
import re

import pytest

from tests.test_pysim_interop import pysim, reader_index  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

ADM1 = "11223344"  # the emulator's default image


def _json_objects(text: str) -> list:
    """The JSON documents pySim-shell printed, in order."""
    out, decoder, pos = [], json.JSONDecoder(), 0
    while True:
        match = re.compile(r"^[\[{]", re.M).search(text, pos)
        if match is None:
            return out
        try:
            obj, end = decoder.raw_decode(text, match.start())
        except ValueError:
            pos = match.start() + 1
            continue
        out.append(obj)
        pos = end


def test_pysim_shell_browses_df_system_and_adf_usim_on_channel_1(  # noqa: F811
        pcsc_stack, pysim, tmp_path):
    script = tmp_path / "channels.script"
    script.write_text(f"""select MF/DF.GSM/EF.IMSI
open_channel 1
switch_channel 1
verify_adm {ADM1}
select MF/DF.SYSTEM
select EF.GP_COUNT
read_records_decoded
select EF.0348_COUNT
read_record_decoded 1
select EF.ADM2
read_binary_decoded
select MF/ADF.USIM
select EF.USIM_SQN
read_binary_decoded
select EF.GBA_INT_KEY
select ADF.ISIM
select EF.ISIM_SQN
select EF.IMPI
read_binary_decoded
switch_channel 0
read_binary
close_channel 1
open_channel 1
close_channel 1
echo all done
""")
    proc = pysim("pySim-shell.py", "-p", reader_index(pcsc_stack.reader), "--noprompt",
                 "--script", str(script))
    out = proc.stdout + proc.stderr
    # pySim-shell reports a failed command on stderr and goes on with the script
    assert "Error" not in proc.stderr and "Traceback" not in out, out
    docs = _json_objects(proc.stdout)
    fcps = [d["file_identifier"] for d in docs if isinstance(d, dict) and "file_identifier" in d]
    assert fcps == ["6f07", "a515", "6f26", "6f23", "6f0b", "af30", "af33", "af30", "6f02"], fcps
    # ADF.ISIM on channel 1 (its EF.IMPI decoded), ADF.USIM's EF.IMSI kept on channel 0
    assert any(isinstance(d, dict) and "nai" in d for d in docs), proc.stdout
    # EF.GP_COUNT: the SCP02 key set 20 and its sequence counter; unused records FF
    gp_count = next(d for d in docs if isinstance(d, list))
    assert gp_count[0] == {"sec_domain": 0, "key_set_version": 0x20, "counter": 0, "rfu": 0}
    assert gp_count[1]["sec_domain"] == 0xFF
    assert {"sec_domain": 254, "key_set_version": 1, "counter": "0000000000"} in docs
    adm2 = next(d for d in docs if isinstance(d, dict) and "attempts_remaining" in d)
    assert (adm2["attempts_remaining"], adm2["maximum_attempts"], adm2["puk"]) == (3, 3, None)
    sqn = next(d for d in docs if isinstance(d, dict) and "flag1" in d)
    assert sqn["flag1"]["sqn_check"] is True and sqn["flag1"]["ind_len"] == 0
    assert sqn["freshness"][0] == 0 and len(sqn["freshness"]) == 32
    # channel 0 kept EF.IMSI while channel 1 went to DF.SYSTEM and ADF.USIM
    assert "\n082906102143658709\n" in proc.stdout, proc.stdout
    assert "all done" in proc.stdout
