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
        fids = seen.setdefault(loc.parent, set())
        assert loc.path[-1] not in fids, loc.where
        fids.add(loc.path[-1])
    from simtool.ef import EF_CODECS
    for codec in EF_CODECS.values():
        assert all(isinstance(loc.node, EfNode) and loc.node.fid == codec.FID
                   for loc in SJA2.of(codec)), codec.NAME
