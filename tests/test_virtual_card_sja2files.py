"""The sysmoISIM-SJA2's proprietary files in the virtual card (simtool.cardtypes.SJA2_FILES,
tests/virtual_card/views.py, pinfiles.py): byte transcripts of reading each one, and the views
written back into the OTA, GP, PIN and SQN state they show.

The record layouts written out here are the oracle: EF.0348_KEY security domain, key set
version, key type byte (b7 AES, b6..b4 key length / 8, b2..b1 KIc/KID/KIK), key; EF.0348_COUNT
domain, version, 5-byte counter; EF.GP_COUNT domain, version, 2-byte counter, RFU; EF.USIM_SQN
flags, delta, age limit, freshness values (as a real SJA2 has them: sizes from an export of
one card, layouts as osmocom pySim's sysmocom_sja2.py decodes them).
"""

from __future__ import annotations

import json

from simtool.cardtypes import SYSMO_ISIM_SJA2
from simtool.milenage import autn
from simtool.provision.sja2 import UsimSqnFile
from tests.test_virtual_card import AID, PIN1, h, run
from tests.virtual_card import VirtualUicc
from tests.virtual_card.defaults import KI, OPC
from tests.virtual_card.image import default_state

ADM1 = "3131323233333434"
ADM2 = "3535363637373838"
VERIFY_ADM1 = (f"0020000A08{ADM1}", "9000")
KEY_40 = "404142434445464748494A4B4C4D4E4F"
FF = "FF"


def select(path: str) -> tuple[str, str]:
    return (f"00A4080C{len(path) // 2:02X}{path}", "9000")


def test_the_tree_has_the_sja2_files_a_real_card_has():
    tree = SYSMO_ISIM_SJA2.tree
    shapes = {loc.where: (loc.node.fid, loc.node.size, loc.node.records)
              for loc in tree.files()}
    assert shapes["DF.SYSTEM/EF.ADM2"] == (0x6F0B, 11, 0)
    assert shapes["DF.SYSTEM/EF.0348_KEY"] == (0x6F22, 35, 12)
    assert shapes["DF.SYSTEM/EF.0348_COUNT"] == (0x6F23, 7, 4)
    assert shapes["DF.SYSTEM/EF.GP_COUNT"] == (0x6F26, 5, 3)
    assert shapes["DF.SYSTEM/EF.GP_DIV_DATA"] == (0x6F27, 12, 1)
    assert shapes["ADF.USIM/EF.USIM_SQN"] == (0xAF30, 206, 0)
    assert shapes["ADF.USIM/EF.GBA_SK"] == (0xAF31, 33, 0)
    assert shapes["ADF.USIM/EF.GBA_REC_LIST"] == (0xAF32, 200, 0)
    assert shapes["ADF.USIM/EF.GBA_INT_KEY"] == (0xAF33, 32, 1)
    # what the real SJA2 lacks (SELECT answers 6A82 there) the tree lacks too
    for absent in ("DF.SYSTEM/EF.ADM3", "DF.SYSTEM/EF.ADM4", "DF.SYSTEM/EF.SIM_AUTH_COUNTER"):
        assert not tree.has(absent)


FILES = [
    # every file: ADM1 to read, 6982 before
    select("A5156F22"), ("00B2010423", "6982"), VERIFY_ADM1,
    # FCP: linear fixed, 35-byte records x 12 (82 05 42 21 0023 0C), size 01A4
    ("00A40804" "04A5156F22" "00", "6219" "82054221" "00230C" "83026F22" "8A0105"
     "8B032F0606" "800201A4" "8800" "9000"),
    # the ISD's key sets (domain 00): SCP03 version 30 (AES 16: 50/51/52), SCP02 version 20
    # (DES 16: 10/11/12); then the OTA key sets (domain FE): 1 AES (50, 51), 2 3DES (10, 11)
    ("00B2010423", "003050" + KEY_40 + FF * 16 + "9000"),
    ("00B2020423", "003051" + KEY_40 + FF * 16 + "9000"),
    ("00B2030423", "003052" + KEY_40 + FF * 16 + "9000"),
    ("00B2040423", "002010" + KEY_40 + FF * 16 + "9000"),
    ("00B2060423", "002012" + KEY_40 + FF * 16 + "9000"),
    ("00B2070423", "FE0150" + "11" * 16 + FF * 16 + "9000"),
    ("00B2080423", "FE0151" + "22" * 16 + FF * 16 + "9000"),
    ("00B2090423", "FE0210" + "33" * 16 + FF * 16 + "9000"),
    ("00B20A0423", "FE0211" + "44" * 16 + FF * 16 + "9000"),
    ("00B20B0423", FF * 35 + "9000"), ("00B20C0423", FF * 35 + "9000"),
    ("00B20D0423", "6A83"),
    # EF.0348_COUNT: the OTA counters, then unused records
    select("A5156F23"), ("00B2010407", "FE01" "0000000000" "9000"),
    ("00B2020407", "FE02" "0000000000" "9000"), ("00B2030407", FF * 7 + "9000"),
    ("00B2040407", FF * 7 + "9000"),
    # EF.GP_COUNT: the SCP02 key set and the sequence counter
    select("A5156F26"), ("00B2010405", "0020000000" "9000"), ("00B2020405", FF * 5 + "9000"),
    # EF.GP_DIV_DATA: one record of 12
    select("A5156F27"), ("00B201040C", FF * 12 + "9000"),
    # EF.ADM2: state C0 (valid, change-able), 3 of 3 tries, the key; VERIFY on 0B
    select("A5156F0B"), ("00B000000B", "C00303" + ADM2 + "9000"),
    ("0020000B00", "63C3"), (f"0020000B08{ADM2}", "9000"), ("0020000B00", "9000"),
    ("0020000B08" + "30" * 8, "63C2"), ("0020000B00", "63C2"),
    select("A5156F0B"), ("00B000000B", "C00203" + ADM2 + "9000"),
    ("0026000B08" + ADM2, "6985"),          # an ADM cannot be disabled
    # what the real SJA2 lacks
    ("00A4080C04A5156F0C", "6A82"), ("00A4080C04A5156F0D", "6A82"),
    ("00A4080C04A515AF24", "6A82"),
    # ADF.USIM: EF.USIM_SQN, 206 bytes: SQN check, IND length 0, concealed, SQN 0
    (f"00A4040C10{AID}", "9000"), ("00A4000C02AF30", "9000"),
    ("00B0000016", "1003" + "00" * 12 + "000000000000" + "0000" + "9000"),
    ("00B000CD01", "009000"), ("00B000CE01", "6B00"),
    # the GBA files: as the emulator keeps no GBA keys, FF, and nobody writes them
    ("00A4000C02AF31", "9000"), ("00B0000021", FF * 33 + "9000"), ("00D6000001AA", "6982"),
    ("00A4000C02AF32", "9000"), ("00B00000C8", FF * 200 + "9000"),
    ("00A4000C02AF33", "9000"), ("00B2010420", FF * 32 + "9000"),
]


def test_reading_each_sja2_file():
    run(VirtualUicc.from_image(None), FILES)


def _image_card(tmp_path) -> tuple[VirtualUicc, object]:
    path = tmp_path / "card.json"
    return VirtualUicc.from_image(path), path


def test_the_counters_written_through_the_files_are_the_cards(tmp_path):
    card, path = _image_card(tmp_path)
    run(card, [
        VERIFY_ADM1,
        select("A5156F23"), ("00DC0104" "07" "FE01" "0000000123", "9000"),
        ("00DC0204" "07" "FE03" "0000000001", "6A80"),       # not key set 2's record
        ("00DC0304" "07" "FE03" "0000000001", "6A80"),       # no key set to show there
        ("00DC0304" "07" + FF * 7, "9000"),                 # unchanged: nothing to do
        select("A5156F26"), ("00DC0104" "05" "0020" "0042" "00", "9000"),
        ("00DC0104" "05" "0020" "0042" "01", "6A80"),       # RFU stays 00
    ])
    doc = json.loads(path.read_text())
    assert doc["ota"]["keysets"][0]["counter"] == 0x123
    assert doc["gp"]["sequence_counter"] == 0x42
    reloaded = VirtualUicc.from_image(path)
    run(reloaded, [VERIFY_ADM1, select("A5156F23"), ("00B2010407", "FE010000000123" "9000"),
                   select("A5156F26"), ("00B2010405", "0020004200" "9000")])


def test_an_ota_key_written_through_ef_0348_key_is_the_one_the_card_uses(tmp_path):
    card, path = _image_card(tmp_path)
    new = "A5" * 16
    run(card, [
        VERIFY_ADM1, select("A5156F22"),
        ("00DC0704" "23" "FE0150" + new + FF * 16, "9000"),
        ("00DC0704" "23" "FE0160" + new + FF * 16, "6A80"),  # another key length: no
        ("00DC0804" "23" "FE0251" + new + FF * 16, "6A80"),  # another key set: no
        ("00DC0B04" "23" "FE0350" + new + FF * 16, "6A80"),  # no key set to put there
        ("00B2070423", "FE0150" + new + FF * 16 + "9000"),
    ])
    assert card.ota.state.keysets[0].kic == h(new)
    assert json.loads(path.read_text())["ota"]["keysets"][0]["kic"] == new
    # the key never shows in the card's reprs
    assert new not in repr(card.ota.state) and new.lower() not in repr(card.ota.state)


def test_usim_sqn_shows_the_highest_sqn_accepted_in_the_layout_simtool_decodes():
    state = default_state()
    state.sqn, state.sqn_window = 0x123456780, 1 << 28
    vc = VirtualUicc(state)
    run(vc, [VERIFY_ADM1, (f"00A4040C10{AID}", "9000"), ("00A4000C02AF30", "9000")])
    data = vc.process(h("00B00000CE"))
    assert data[-2:] == b"\x90\x00"
    sqn = UsimSqnFile.decode(data[:-2])
    assert (sqn.flag1, sqn.flag2, sqn.delta_max, sqn.ind_len) == (0x50, 0x03, 1 << 28, 0)
    assert sqn.freshness[0] == 0x123456780 and not any(sqn.freshness[1:])
    # an SQN picked from it (IND length 0: one above the freshness value) is accepted at once
    assert sqn.next_sqn() == 0x123456781
    rand = bytes(range(16))
    token = autn(KI, OPC, rand, sqn.next_sqn().to_bytes(6, "big"), b"\x80\x00")
    run(vc, [(f"0020000108{PIN1}", "9000"),
             ("008800812210" + rand.hex() + "10" + token.hex() + "00",
              "DB08" + "X" * 102 + "9000")])


def test_usim_sqn_written_sets_the_cards_sqn_state():
    vc = VirtualUicc.from_image(None)
    body = "00" * 32 * 6
    fixed = "5003" "000010000000" "000000000000"
    run(vc, [
        VERIFY_ADM1, (f"00A4040C10{AID}", "9000"), ("00A4000C02AF30", "9000"),
        ("00D60000CE" + fixed + "000000000100" + body[12:], "9000"),
        # IND length 5, an age limit, no concealment, a second freshness value: not held
        ("00D6000001" "55", "6A80"), ("00D6000001" "70", "6A80"),
        ("00D6000101" "00", "6A80"), ("00D6001401" "01", "6A80"),
        ("00B0000014", fixed + "000000000100" + "9000"),
    ])
    assert (vc._auth.sqn, vc._auth.window) == (0x100, 0x10000000)
    # test set 1's SQN (FF9BB4D0B607) is further ahead than the window: AUTS (TS 33.102
    # §6.3.3, Annex C)
    run(vc, [(f"0020000108{PIN1}", "9000"),
             ("008800812210" "23553CBE9637A89D218AE64DAE47BF35"
              "10" "55F328B43577B9B94A9FFAC354DFAFB3" "00", "DC0EXX" + "X" * 26 + "9000")])


def test_adm2_written_through_its_file_is_kept_in_the_image(tmp_path):
    card, path = _image_card(tmp_path)
    run(card, [VERIFY_ADM1, select("A5156F0B"),
               ("00D600000B" "C00303" "35353636373738FF", "9000"),
               ("00D600000B" "C10303" "35353636373738FF", "6A80")])   # disabled: no
    assert json.loads(path.read_text())["pins"]["ADM2"]["value"] == "5566778"
    run(VirtualUicc.from_image(path), [("0020000B08" + "35353636373738FF", "9000")])


def test_an_image_without_adm2_gets_the_default_one(tmp_path):
    from tests.virtual_card.defaults import default_image

    doc = default_image()
    del doc["pins"]["ADM2"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(doc))
    run(VirtualUicc.from_image(path), [(f"0020000B08{ADM2}", "9000")])
