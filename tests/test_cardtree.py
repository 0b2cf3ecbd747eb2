"""The declarative card tree (simtool.cardtree) and a card type's view of it."""

from __future__ import annotations

import pytest

from simtool.cardtree import COMMON, EfNode, Located, raw, PIN_PIN
from simtool.cardtypes import SYSMO_ISIM_SJA2
from simtool.ef import EfAd, EfImsi, EfMsisdn, EfSst, EfUst
from simtool.errors import DataError

SJA2 = SYSMO_ISIM_SJA2.tree


def test_paths_and_image_keys_of_a_codec_file():
    # TS 51.011 §10.3.2: EF.IMSI 6F7F20 under DF.GSM; TS 31.102 §4.2.2: 6F07 in ADF.USIM, SFI 07.
    gsm, usim = COMMON.of(EfImsi)
    assert (gsm.path, gsm.key, gsm.where, gsm.node.sfi) == (
        (0x7F20, 0x6F07), "3F00/7F20/6F07", "DF.GSM/EF.IMSI", None)
    assert (usim.path, usim.key, usim.node.sfi) == ((0x7FFF, 0x6F07), "3F00/7FFF/6F07", 0x07)


def test_same_fid_different_files_by_place():
    # EF.SST (DF.GSM) and EF.UST (ADF.USIM) are both 6F38.
    (sst,), (ust,) = COMMON.of(EfSst), COMMON.of(EfUst)
    assert sst.node.fid == ust.node.fid == 0x6F38 and sst.parent == "DF.GSM"
    assert ust.parent == "ADF.USIM" and ust.node.sfi == 0x04


def test_sja2_links_point_at_dfgsm_and_dftelecom():
    usim_imsi = SJA2.get("ADF.USIM/EF.IMSI")
    assert SJA2.target(usim_imsi).where == "DF.GSM/EF.IMSI"
    assert SJA2.target(SJA2.get("ADF.USIM/EF.MSISDN")).where == "DF.TELECOM/EF.MSISDN"
    assert SJA2.target(SJA2.get("ADF.USIM/EF.ARR")).where == "EF.ARR"
    # EF.AD exists twice on the SJA2, no link.
    assert [SJA2.target(loc).where for loc in SJA2.of(EfAd)] == ["DF.GSM/EF.AD", "ADF.USIM/EF.AD"]
    # The common tree has no links.
    assert not any(loc.node.link for loc in COMMON.files())


def test_card_type_adds_its_own_files():
    assert SJA2.get("DF.SYSTEM/EF.SIM_AUTH_KEY").key == "3F00/A515/6F20"
    assert SJA2.get("ADF.USIM/EF.USIM_AUTH_KEY").node.store == "auth.usim"
    assert not COMMON.has("DF.SYSTEM")


def test_unknown_file_is_an_error_never_an_empty_answer():
    with pytest.raises(DataError, match="no file DF.GSM/EF.NOPE"):
        COMMON.get("DF.GSM/EF.NOPE")
    with pytest.raises(DataError, match="no file EF.MSISDN"):
        COMMON.without("DF.TELECOM/EF.MSISDN").without("ADF.USIM/EF.MSISDN").of(EfMsisdn)


def test_without_removes_one_place_only():
    tree = SJA2.without("ADF.USIM/EF.AD")
    assert [loc.where for loc in tree.of(EfAd)] == ["DF.GSM/EF.AD"]
    assert len(SJA2.of(EfAd)) == 2          # the original is unchanged


@pytest.mark.parametrize("bad, message", [
    (lambda t: t.with_child("DF.GSM", raw("EF.X", 0x6F07, PIN_PIN, 1)), "FID 6F07 twice"),
    (lambda t: t.with_child("ADF.USIM", raw("EF.X", 0x6F99, PIN_PIN, 1, sfi=0x07)),
     "SFI 07 twice"),
    (lambda t: t.linked("ADF.USIM/EF.AD", "DF.GSM/EF.NOPE"), "not a plain EF"),
])
def test_inconsistent_trees_are_refused(bad, message):
    with pytest.raises(DataError, match=message):
        bad(COMMON)


def test_every_fid_is_unique_within_its_df_and_every_codec_has_a_place():
    seen: dict[str, set[int]] = {}
    for loc in SJA2.walk():
        assert isinstance(loc, Located)
        if getattr(loc.node, "aid", None):
            continue                # ADFs are told apart by AID, each is 7FFF while current
        fids = seen.setdefault(loc.parent, set())
        assert loc.path[-1] not in fids, loc.where
        fids.add(loc.path[-1])
    from simtool.ef import EF_CODECS
    for codec in EF_CODECS.values():
        assert all(isinstance(loc.node, EfNode) and loc.node.fid == codec.FID
                   for loc in SJA2.of(codec)), codec.NAME


def test_isim_files_and_their_unique_image_keys():
    # TS 31.103 §4.2.2-§4.2.8: IMPI 6F02 SFI 02, DOMAIN 6F03 SFI 05, IMPU 6F04 SFI 04 (linear
    # fixed), AD 6FAD SFI 03, ARR 6F06 SFI 06, IST 6F07 SFI 07, P-CSCF 6F09 (linear fixed).
    from simtool.cardtree import ISIM_AID
    from simtool.ef import EfImpi, EfImpu, EfIst, EfPcscf, Structure

    isim = SJA2.get("ADF.ISIM")
    assert isim.node.aid == ISIM_AID and isim.node.aid.startswith(bytes.fromhex("A0000000871004"))
    (impi,) = SJA2.of(EfImpi)
    assert (impi.where, impi.path, impi.key, impi.node.sfi) == (
        "ADF.ISIM/EF.IMPI", (0x7FFF, 0x6F02), "3F00/ADF.ISIM/6F02", 0x02)
    (impu,) = SJA2.of(EfImpu)
    assert impu.node.structure is Structure.LINEAR_FIXED and impu.node.records >= 1
    (pcscf,) = SJA2.of(EfPcscf)
    assert pcscf.node.structure is Structure.LINEAR_FIXED and pcscf.node.fid == 0x6F09
    sfis = {loc.node.name: loc.node.sfi for loc in SJA2.files() if loc.parent == "ADF.ISIM"}
    assert sfis == {"EF.IMPI": 0x02, "EF.DOMAIN": 0x05, "EF.IMPU": 0x04, "EF.AD": 0x03,
                    "EF.ARR": 0x06, "EF.IST": 0x07, "EF.P-CSCF": None,
                    # the SJA2's own (simtool.cardtypes.SJA2_ISIM_FILES)
                    "EF.ISIM_AUTH_KEY": None, "EF.ISIM_AUTH_KEY_2G": None, "EF.ISIM_SQN": None,
                    # the optional files a real SJA2 has (no SFI in TS 31.103)
                    "EF.GBABP": None, "EF.GBANL": None, "EF.NAFKCA": None, "EF.UICCIARI": None,
                    "EF.FromPreferred": None, "EF.IMSConfigData": None,
                    "EF.XCAPConfigData": None}
    # EF.IST and the USIM's EF.IMSI are both 6F07: one path, two keys
    (ist,) = SJA2.of(EfIst)
    usim_imsi = SJA2.get("ADF.USIM/EF.IMSI")
    assert ist.path == usim_imsi.path and ist.key != usim_imsi.key == "3F00/7FFF/6F07"
    keys = [loc.key for loc in SJA2.walk()]
    assert len(keys) == len(set(keys))


def test_every_file_ts_31_102_marks_mandatory_is_in_adf_usim():
    # TS 31.102 §4.2 (M in the file tables): LI, IMSI, Keys, KeysPS, HPPLMN, UST, ACC, FPLMN,
    # LOCI, AD, ECC, PSLOCI, START-HFN (6F5B, SFI 0F), THRESHOLD (6F5C, SFI 10), NETPAR (6FC4),
    # ARR.
    from simtool.cardtree import Acc

    mandatory = {0x6F05, 0x6F07, 0x6F08, 0x6F09, 0x6F31, 0x6F38, 0x6F78, 0x6F7B, 0x6F7E,
                 0x6FAD, 0x6FB7, 0x6F73, 0x6F5B, 0x6F5C, 0x6FC4, 0x6F06}
    usim = {loc.node.fid: loc.node for loc in SJA2.files() if loc.parent == "ADF.USIM"}
    assert mandatory <= set(usim)
    start, threshold, netpar = usim[0x6F5B], usim[0x6F5C], usim[0x6FC4]
    assert (start.sfi, start.size, start.access.read, start.access.update) == (
        0x0F, 6, Acc.PIN1, Acc.PIN1)
    assert (threshold.sfi, threshold.size, threshold.access.update) == (0x10, 3, Acc.ADM1)
    assert netpar.sfi is None and netpar.size >= 46     # §4.2.57: at least 46 bytes


def test_optional_usim_files_have_the_sfis_of_ts_31_102():
    # TS 31.102 §4.2 file tables: ACM 1C, CBMID 0E, ICI 14, OCI 15, CCP2 16, EPSNSC 18,
    # PNN 19, OPL 1A, SPDI 1B, EPSLOCI 1E; §4.4.11: DF.5GS's files 01..0A in FID order
    from simtool.ef import Structure

    usim = {loc.node.name: loc.node for loc in SJA2.files() if loc.parent == "ADF.USIM"}
    sfis = {name: usim[name].sfi for name in (
        "EF.ACM", "EF.CBMID", "EF.ICI", "EF.OCI", "EF.CCP2", "EF.EPSNSC", "EF.PNN", "EF.OPL",
        "EF.SPDI", "EF.EPSLOCI")}
    assert sfis == {"EF.ACM": 0x1C, "EF.CBMID": 0x0E, "EF.ICI": 0x14, "EF.OCI": 0x15,
                    "EF.CCP2": 0x16, "EF.EPSNSC": 0x18, "EF.PNN": 0x19, "EF.OPL": 0x1A,
                    "EF.SPDI": 0x1B, "EF.EPSLOCI": 0x1E}
    assert usim["EF.ACM"].structure is Structure.CYCLIC
    fivegs = [loc.node for loc in SJA2.files() if loc.parent == "ADF.USIM/DF.5GS"]
    assert [(n.fid, n.sfi) for n in fivegs] == [(0x4F00 + i, i) for i in range(1, 11)]
    # one file at two places: DF.TELECOM's EF.SMS is the USIM's (same node, two contents)
    assert SJA2.get("DF.TELECOM/EF.SMS").node == SJA2.get("ADF.USIM/EF.SMS").node
    assert SJA2.get("DF.TELECOM/EF.SMS").key != SJA2.get("ADF.USIM/EF.SMS").key
