"""osmocom pySim-shell on a logical channel of the virtual card: it opens channel 1 (MANAGE
CHANNEL, the terminal's number), browses DF.SYSTEM, ADF.USIM and ADF.ISIM there and reads the
SJA2's proprietary files with ADM1, while channel 0 keeps its own selection; then it closes the
channel and opens it again. Its ``export`` walks the whole tree and fails on no file that a
real sysmoISIM-SJA2's export (kept with pySim's tests) reads. Skipped unless a pySim checkout
and a Python with its requirements are named (see tests/test_pysim_interop.py):

    SIMTOOL_PYSIM=/path/to/pysim SIMTOOL_PYSIM_PYTHON=/path/to/venv/bin/python pytest -k pysim
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

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


#: A real sysmoISIM-SJA2's export (the ATR of the virtual card, variant 1), kept with pySim's
#: own tests: the files it could not read are the ones the virtual card may fail on too.
REAL_CARD_EXPORT = ("tests/card_sanitizer/card_backup_"
                    "3b9f96801f878031e073fe211b674a4c753034054ba9_8988211000000467343.script")


def export_failures(text: str) -> tuple[set[str], set[str]]:
    """The EFs an export could not read and the DFs it skipped, by path (``MF/DF.GSM/EF.X``)."""
    bad = {m.group(1) for m in re.finditer(r"^# bad file: (\S+?)/[^/,]+,", text, re.M)}
    skipped: set[str] = set()
    tail = text.partition("# skipped dedicated files(s):")[2]
    for line in tail.splitlines()[1:]:
        found = re.match(r"#  (MF\S*?),", line)
        if found is None:
            break
        skipped.add(found.group(1))
    return bad, skipped


def export_visited(text: str) -> set[str]:
    return set(re.findall(r"^# directory: (\S+) \(", text, re.M))


#: Files pySim's model gained after the real card's export was made: that export never asked
#: for them, so whether an SJA2 has them is not known (the virtual card has not).
NEWER_THAN_THE_REAL_EXPORT = {"MF/ADF.USIM/EF.EARFCNList"}


def test_export_failures_are_parsed():
    text = ("# bad file: MF/DF.GSM/EF.CPBCCH/EF.CPBCCH, SW match failed! Expected 9000\n"
            "# total files visited: 3\n# skipped dedicated files(s): 1\n"
            "#  MF/ADF.USIM/DF.SNPN, SW match failed! Expected 9000 and got 6a82\n")
    assert export_failures(text) == ({"MF/DF.GSM/EF.CPBCCH"}, {"MF/ADF.USIM/DF.SNPN"})


def test_pysim_shell_exports_the_whole_tree(pcsc_stack, pysim, tmp_path):  # noqa: F811
    """``export`` walks every DF, ADF and EF pySim knows for the card and reads each one: it
    fails on no file and skips no DF that a real SJA2's export reads."""
    real = Path(os.environ["SIMTOOL_PYSIM"], REAL_CARD_EXPORT)
    if not real.is_file():
        pytest.skip(f"the pySim checkout has no {REAL_CARD_EXPORT}")
    real_text = real.read_text(encoding="utf-8")
    real_bad, real_skipped = export_failures(real_text)
    real_visited = export_visited(real_text)
    script = tmp_path / "export.script"
    script.write_text(f"verify_adm {ADM1}\nexport\necho all done\n")
    proc = pysim("pySim-shell.py", "-p", reader_index(pcsc_stack.reader), "--noprompt",
                 "--script", str(script), timeout=300)
    out = proc.stdout + proc.stderr
    assert "all done" in out and "Traceback" not in out, out[-4000:]
    bad, skipped = export_failures(out)
    assert sorted(bad - real_bad - NEWER_THAN_THE_REAL_EXPORT) == []
    assert bad - real_visited <= NEWER_THAN_THE_REAL_EXPORT
    assert sorted(skipped - real_skipped) == []
    visited = int(re.search(r"# total files visited: (\d+)", out).group(1))
    assert visited > 250, visited
    # ADF.ISIM, the SJA2's own files and the 5GS files were read, not skipped
    for name in ("ADF.ISIM", "EF.IMPI", "EF.USIM_SQN", "EF.0348_KEY", "EF.START-HFN",
                 "DF.5GS/EF.SUCI_Calc_Info", "DF.PHONEBOOK/EF.PBR"):
        assert f"# file: {name.rpartition('/')[2]} (" in out, name
