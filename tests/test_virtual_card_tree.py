"""The virtual card is built from the card tree (simtool.cardtree): it holds no file paths or
FIDs of its own, a file removed from the tree is gone from the card, a file added to it is
there (erased), links share their content, and stores it does not know stop it at start-up."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from simtool.cardtree import ADM_ADM, ALW_ADM, PIN_PIN, Acc, Access, raw
from simtool.ef.base import Structure
from simtool.errors import DataError
from tests.virtual_card import VirtualUicc
from tests.virtual_card.defaults import default_contents, default_image
from tests.virtual_card.image import default_state, parse_image
from tests.virtual_card.layout import TREE, image_files

EMULATOR = Path(__file__).parent / "virtual_card"
PIN1 = "31323334FFFFFFFF"
ADM1 = "3131323233333434"
SELECT_USIM = "00A4040C10A0000000871002FFFFFFFF8907090000"


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def send(card: VirtualUicc, apdu: str) -> str:
    return card.process(h(apdu)).hex().upper()


def test_the_emulator_holds_no_fid_of_the_tree():
    fids = {loc.node.fid for loc in TREE.walk() if loc.node.fid is not None}
    fids.add(TREE.root.fid)
    literal = re.compile(r"(?<![0-9A-Za-z_])(?:0x)?([0-9A-Fa-f]{4})(?![0-9A-Za-z_])")
    found = []
    for source in sorted(EMULATOR.glob("*.py")):
        for n, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            for m in literal.finditer(line):
                if int(m.group(1), 16) in fids:
                    found.append(f"{source.name}:{n}: {m.group(0)}")
    assert not found, "FIDs of tree files written in the emulator:\n" + "\n".join(found)


def test_the_fid_check_would_see_a_literal(tmp_path):
    # the pattern above finds the forms the emulator used to hold
    literal = re.compile(r"(?<![0-9A-Za-z_])(?:0x)?([0-9A-Fa-f]{4})(?![0-9A-Za-z_])")
    line = 'x = self._contents["3F00/7FFF/6F38"]; DF_GSM_FID = 0x7F20'
    assert [m.group(1) for m in literal.finditer(line)] == ["3F00", "7FFF", "6F38", "7F20"]


def test_every_default_content_names_a_file_of_the_tree():
    for where in default_contents():
        loc = TREE.get(where)
        assert loc.node.link is None and loc.node.store is None, where


def test_image_keys_are_the_trees_and_older_images_still_load():
    keys = set(image_files())
    assert "3F00/7F20/6F07" in keys and "3F00/7FFF/AF50" in keys
    # links and stores are not in the image: their content is another file's or the card's
    assert "3F00/7FFF/6F07" not in keys and "3F00/A515/6F20" not in keys
    doc = default_image()
    doc["files"]["3F00/7F20/6F07"] = "080910101032540636"            # IMSI 001010123456063
    state = parse_image(json.loads(json.dumps(doc)))
    card = VirtualUicc(state)
    assert send(card, f"0020000108{PIN1}") == "9000"
    assert send(card, SELECT_USIM) == "9000"
    assert send(card, "00B0870009") == "0809101010325406369000"     # the link shows it


def test_an_image_with_a_file_of_the_wrong_size_is_refused():
    doc = default_image()
    doc["files"]["3F00/7F20/6F07"] = "0809"
    with pytest.raises(DataError, match="3F00/7F20/6F07.*9 bytes"):
        parse_image(doc)
    doc["files"]["3F00/7FFF/6F07"] = "00" * 9                        # a link: no file of its own
    del doc["files"]["3F00/7F20/6F07"]
    with pytest.raises(DataError, match="no such file"):
        parse_image(doc)


def test_a_file_removed_from_the_tree_is_gone_from_the_card():
    card = VirtualUicc(default_state())
    assert send(card, "00A4080C047F206F46") == "9000"
    without = VirtualUicc(default_state(), tree=TREE.without("ADF.USIM/EF.SPN")
                          .without("DF.GSM/EF.SPN"))
    assert send(without, "00A4080C047F206F46") == "6A82"
    assert send(without, "A0A40000027F20") == "9F16"
    assert send(without, "A0A40000026F46") == "9404"


def test_a_file_added_to_the_tree_is_there_erased_with_its_access():
    tree = (TREE.with_child("DF.GSM", raw("EF.NEW", 0x6F9A, PIN_PIN, 4, records=3, sfi=None))
            .with_child("DF.TELECOM", raw("EF.NEW", 0x6F9A, ALW_ADM, 5)))
    card = VirtualUicc(default_state(), tree=tree)
    assert send(card, "00A4080C047F106F9A") == "9000"
    assert send(card, "00B0000005") == "FFFFFFFFFF9000"
    assert send(card, "00D6000001AA") == "6982"
    assert send(card, "00A4080C047F206F9A") == "9000"
    assert send(card, "00B2010404") == "6982"
    assert send(card, f"0020000108{PIN1}") == "9000"
    assert send(card, "00B2030404") == "FFFFFFFF9000"
    assert send(card, "00DC020404AABBCCDD") == "9000"
    assert send(card, "00B2020404") == "AABBCCDD9000"
    assert card.image_state().files["3F00/7F20/6F9A"][1] == h("AABBCCDD")


def test_a_cyclic_file_has_its_descriptor():
    tree = TREE.with_child("DF.GSM", raw("EF.CYC", 0x6F9B, PIN_PIN, 3, records=2,
                                         structure=Structure.CYCLIC))
    card = VirtualUicc(default_state(), tree=tree)
    resp = send(card, "00A40804047F206F9B00")
    assert resp.startswith("62") and "820546210003" in resp and resp.endswith("9000")
    assert send(card, "A0A40000027F20")[:2] == "9F"
    gsm = card.process(h("A0A40000026F9B"))
    assert gsm[:1] == b"\x9f"
    assert card.process(h("A0C000000F"))[13] == 0x03               # TS 51.011 §9.2.1: cyclic


def test_a_cyclic_file_writes_its_oldest_record_as_record_1():
    """TS 102 221 §11.1.6: UPDATE RECORD of a cyclic EF is PREVIOUS only; the oldest record
    is overwritten and becomes record 1; NEXT / PREVIOUS go round the ring."""
    tree = TREE.with_child("DF.GSM", raw("EF.CYC", 0x6F9B, PIN_PIN, 2, records=3,
                                         structure=Structure.CYCLIC))
    card = VirtualUicc(default_state(), tree=tree)
    for apdu, answer in [
            (f"0020000108{PIN1}", "9000"), ("00A4080C047F206F9B", "9000"),
            ("00DC01040211AA", "6A86"), ("00DC00040211AA", "6A86"),
            ("00DC00030211AA", "9000"), ("00DC00030222BB", "9000"),
            ("00B2010402", "22BB9000"), ("00B2020402", "11AA9000"),
            ("00B2030402", "FFFF9000"),
            ("00B2000202", "11AA9000"),     # current record is 1 after the update: next is 2
            ("00B2000202", "FFFF9000"), ("00B2000202", "22BB9000"),    # round the ring
            ("00B2000302", "FFFF9000")]:
        assert send(card, apdu) == answer, apdu
    assert card.image_state().files["3F00/7F20/6F9B"] == [h("22BB"), h("11AA"), h("FFFF")]


def test_an_unknown_store_stops_the_card_naming_it():
    tree = TREE.with_child("DF.SYSTEM", raw("EF.OTA_KEYS", 0x6FCB, ADM_ADM, 16,
                                            store="ota.keys"))
    with pytest.raises(DataError, match="ota.keys") as err:
        VirtualUicc(default_state(), tree=tree)
    assert "DF.SYSTEM/EF.OTA_KEYS" in str(err.value)


def test_a_store_of_the_wrong_size_stops_the_card():
    tree = TREE.without("DF.SYSTEM/EF.CHV1").with_child(
        "DF.SYSTEM", raw("EF.CHV1", 0x6F01, ADM_ADM, 20, store="pin.PIN1"))
    with pytest.raises(DataError, match="DF.SYSTEM/EF.CHV1"):
        VirtualUicc(default_state(), tree=tree)


def test_an_access_rule_not_in_ef_arr_stops_the_card():
    odd = Access(Acc.PIN2, Acc.ADM1)
    tree = TREE.with_child("DF.GSM", raw("EF.ODD", 0x6F9C, odd, 2))
    with pytest.raises(DataError, match="DF.GSM/EF.ODD"):
        VirtualUicc(default_state(), tree=tree)


def test_a_link_shares_content_and_keeps_its_own_sfi():
    card = VirtualUicc(default_state())
    for apdu in (f"0020000A08{ADM1}", SELECT_USIM, "00A4000C026F46"):
        assert send(card, apdu) == "9000"
    assert send(card, "00D6000001" + "00") == "9000"                 # ADF.USIM/EF.SPN
    assert send(card, "A0A40000027F20")[:2] == "9F"
    assert send(card, "A0A40000026F46")[:2] == "9F"
    assert send(card, "A0B0000001") == "009000"                     # DF.GSM/EF.SPN


def test_adm_conditions_need_that_key(monkeypatch):
    """An ADM2 file on a card without ADM2 is never accessible, not even with ADM1; its
    EF.ARR record names key reference 0B alone."""
    from tests.virtual_card import fs

    rule = Access(Acc.ADM2, Acc.ADM2)
    assert fs.arr_record(rule) == h("800103A40683010B950108800118A40683010A950108")
    monkeypatch.setattr(fs, "ARR_RULES", (*fs.ARR_RULES, rule))
    tree = TREE.with_child("DF.SYSTEM", raw("EF.ADM2FILE", 0x6FCD, rule, 1))
    card = VirtualUicc(default_state(), tree=tree)
    resp = send(card, "00A4080404A5156FCD00")
    assert "8B032F0608" in resp                                     # record 8 of EF.ARR
    assert send(card, f"0020000A08{ADM1}") == "9000"
    assert send(card, "00B0000001") == "6982"


def test_a_new_df_gets_its_own_arr_and_store_views():
    """A DF a card type adds (its own EF.ARR holding the rules, a file shown from state the
    card keeps elsewhere through ``build(stores=...)``) is built like the others."""
    from simtool.cardtree import DfNode
    from tests.virtual_card.defaults import default_files
    from tests.virtual_card.fs import Content
    from tests.virtual_card.layout import build
    from tests.virtual_card.views import view_stores

    df = DfNode("DF.TEST", 0x7F66, (
        raw("EF.ARR", 0x6F16, ALW_ADM, 56, records=7, sfi=0x06),
        raw("EF.STATE", 0x6FD0, ALW_ADM, 2, store="test.state"),
    ))
    tree = TREE.with_child("", df)
    state = default_state()
    # the SJA2's views of the OTA, GP and SQN state (VirtualUicc hands them in)
    views = view_stores(lambda: None, lambda: None, lambda: None)
    with pytest.raises(DataError, match="test.state"):
        build(state.files, state.pins, state.auth, tree, stores=views)
    made = []

    def maker(name, node):
        made.append((name, node.name))
        return Content(name, data=b"\x01\x02", persistent=False)

    card = build(default_files(), state.pins, state.auth, tree,
                 stores={**views, "test.state": maker})
    assert made == [("test.state", "EF.STATE")]
    assert list(card.adfs) == ["ADF.USIM", "ADF.ISIM"] and card.adfs["ADF.USIM"] is card.adf
    arr = card.nodes["DF.TEST/EF.ARR"].content.records
    assert arr == card.nodes["EF.ARR"].content.records and arr[0][:3] == h("800101")
    assert card.nodes["DF.TEST/EF.STATE"].content.data == b"\x01\x02"
    # its files reference its own EF.ARR, the DF itself too
    assert card.nodes["DF.TEST/EF.STATE"].arr_fid == card.nodes["DF.TEST"].arr_fid == 0x6F16
