"""The card tree against a real sysmoISIM-SJA2: every EF the real card's pySim-shell export
read (kept with osmocom pySim's tests, see tests/test_pysim_channels.py) is in the tree at the
same path, with the real card's structure, record length, record count or size and SFI.

The export's FCPs are the oracle; a handful of files differ on purpose (simtool's own sizes,
listed in ``SIMTOOL_SIZES``).  Skipped unless ``SIMTOOL_PYSIM`` names a pySim checkout that
holds the export.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from simtool.cardtree import ISIM_AID, USIM_AID, Located
from simtool.cardtypes import SYSMO_ISIM_SJA2
from simtool.ef.base import Structure

from tests.test_pysim_channels import REAL_CARD_EXPORT

#: Files whose size is simtool's choice, not the real card's (record length x count, or size):
#: EF.DIR and the EF.ARRs hold simtool's records, the identities and number files leave room
#: as simtool's profiles need, EF.EST/NETPAR/ECC as TS 31.102 sizes them.
SIMTOOL_SIZES = {
    "MF/EF.DIR", "MF/EF.ARR", "MF/ADF.USIM/EF.ARR", "MF/ADF.ISIM/EF.ARR",
    "MF/DF.TELECOM/EF.ADN", "MF/DF.TELECOM/EF.MSISDN", "MF/ADF.USIM/EF.MSISDN",
    "MF/ADF.USIM/EF.ECC", "MF/ADF.USIM/EF.EST", "MF/ADF.USIM/EF.NETPAR",
    "MF/ADF.ISIM/EF.DOMAIN", "MF/ADF.ISIM/EF.IMPU", "MF/ADF.ISIM/EF.P-CSCF",
}
#: TS 51.011 gives DF.TELECOM's files no SFI; the SJA2 gives EF.ECCP one (its USIM EF.CCP2's)
SFI_NOT_TAKEN = {"MF/DF.TELECOM/EF.ECCP"}
ADF_BY_AID = {USIM_AID[:7].hex(): "ADF.USIM", ISIM_AID[:7].hex(): "ADF.ISIM"}
STRUCTURES = {"transparent": Structure.TRANSPARENT, "linear_fixed": Structure.LINEAR_FIXED,
              "cyclic": Structure.CYCLIC}


def real_card_files(text: str) -> dict[str, tuple[tuple[str, ...], dict]]:
    """The EFs the export read: path -> (FIDs below the MF, an ADF as its name; decoded FCP)."""
    found: dict[str, tuple[tuple[str, ...], dict]] = {}
    for block in re.split(r"^#\n", text, flags=re.M):
        head = re.search(r"^# directory: (\S+) \((\S+)\)$", block, re.M)
        fcp = re.search(r"^# Decoded FCP Template: (\{.*\})$", block, re.M)
        if head is None or fcp is None or "# bad file:" in block:
            continue
        decoded = ast.literal_eval(fcp.group(1))
        if decoded.get("file_descriptor", {}).get("file_descriptor_byte", {}).get(
                "file_type") != "working_ef":
            continue
        fids = tuple(ADF_BY_AID.get(part, part.upper()) for part in head.group(2).split("/")[1:])
        found[head.group(1)] = (fids, decoded)
    return found


def tree_files() -> dict[tuple[str, ...], Located]:
    out = {}
    for loc in SYSMO_ISIM_SJA2.tree.files():
        parts = [f"{fid:04X}" for fid in loc.path]
        if loc.adf is not None:
            parts[0] = loc.adf
        out[tuple(parts)] = loc
    return out


@pytest.fixture(scope="module")
def real_files():
    checkout = os.environ.get("SIMTOOL_PYSIM")
    if not checkout or not Path(checkout, REAL_CARD_EXPORT).is_file():
        pytest.skip("set SIMTOOL_PYSIM to a pySim checkout holding the real SJA2's export")
    return real_card_files(Path(checkout, REAL_CARD_EXPORT).read_text(encoding="utf-8"))


def test_every_file_the_real_card_has_is_in_the_tree_with_its_shape(real_files):
    ours = tree_files()
    assert len(real_files) > 200
    missing, different = [], []
    for where, (fids, fcp) in real_files.items():
        loc = ours.get(fids)
        if loc is None:
            missing.append(where)
            continue
        node, descriptor = loc.node, fcp["file_descriptor"]
        structure = STRUCTURES[descriptor["file_descriptor_byte"]["structure"]]
        real = (structure, descriptor["record_len"] or fcp["file_size"],
                descriptor["num_of_rec"] or 0, fcp.get("short_file_identifier"))
        mine = (node.structure, node.size, node.records, node.sfi)
        if where in SIMTOOL_SIZES:
            real, mine = real[:1] + real[3:], mine[:1] + mine[3:]
        if where in SFI_NOT_TAKEN:
            real, mine = real[:-1], mine[:-1]
        if real != mine:
            different.append(f"{where}: real card {real}, tree {mine}")
    assert missing == []
    assert different == []


def test_the_export_is_parsed():
    text = ("# directory: MF/ADF.USIM/DF.5GS/EF.UAC_AIC (3f00/a0000000871002/5fc0/4f06)\n"
            "# Decoded FCP Template: {'file_descriptor': {'file_descriptor_byte': {'shareable':"
            " True, 'file_type': 'working_ef', 'structure': 'transparent'}, 'record_len': None,"
            " 'num_of_rec': None}, 'file_size': 4, 'short_file_identifier': 6}\n#\n"
            "# directory: MF/DF.GSM (3f00/7f20)\n"
            "# Decoded FCP Template: {'file_descriptor': {'file_descriptor_byte': {'file_type':"
            " 'df'}}}\n#\n")
    files = real_card_files(text)
    assert list(files) == ["MF/ADF.USIM/DF.5GS/EF.UAC_AIC"]
    assert files["MF/ADF.USIM/DF.5GS/EF.UAC_AIC"][0] == ("ADF.USIM", "5FC0", "4F06")
