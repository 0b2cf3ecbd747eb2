"""The virtual card, in process: raw command APDUs into VirtualUicc.process().

Expected bytes come from the specs' worked examples (../shared/reference/sim-facts.md §3, §8.3,
§9) and status words from ETSI TS 102 221 §10.2.1 / 3GPP TS 51.011 §9.4.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simtool.apdu.tlv import ber_decode, ber_decode_all
from simtool.errors import DataError
from simtool.milenage import gsm_kc
from simtool.stk.dispatch import EnvelopeAnswer
from tests.virtual_card import VirtualUicc
from tests.virtual_card.defaults import default_image
from tests.virtual_card.image import load_image
from tests.virtual_card.layout import SJA2_ATR, TREE
from tests.virtual_card.vpcd import VpcdClient, parse_address

AID = "A0000000871002FFFFFFFF8907090000"
PIN1, PIN2, PUK1 = "31323334FFFFFFFF", "35363738FFFFFFFF", "3132333435363738"
ADM1 = "3131323233333434"
WRONG = "30303030FFFFFFFF"
ICCID = "988410214365870921F8"                                    # sim-facts §3.1
IMSI = "082906102143658709"                                        # sim-facts §3.2
RAND1 = "23553CBE9637A89D218AE64DAE47BF35"                         # TS 35.208 set 1
AUTN1 = "55F328B43577B9B94A9FFAC354DFAFB3"
AUTH_CMD = f"008800812210{RAND1}10{AUTN1}00"                       # sim-facts §8.3
AUTH_OK = ("DB08A54211D5E3BA50BF10B40BA9A3C58B2A05BBF0D987B21BF8CB"
           "10F769BCD751044604127672711C6D344108EAE4BE823AF9A08B9000")
AUTS1 = "DC0EBA853F3C123CCF44E93596E355C69000"                     # SQN_MS = SQN of set 1
SRES_KC1 = "46F8416AEAE4BE823AF9A08B"                              # c2 / c3 of set 1
MSISDN1 = "FF" * 20 + "07918435214365F7" + "FF" * 6                # +48531234567, §3.4
SELECT_USIM = f"00A4040C10{AID}"

# (scenario, [(command, expected response)]), each on a fresh default card.
EXCHANGES = {
    "ICCID by FID, always readable": [
        ("00A4000C023F00", "9000"), ("00A4000C022FE2", "9000"), ("00B000000A", ICCID + "9000")],
    "ICCID by SFI 02 from the MF": [("00B082000A", ICCID + "9000")],
    "IMSI needs PIN1": [
        ("00A4000C027F20", "9000"), ("00A4000C026F07", "9000"), ("00B0000009", "6982"),
        (f"0020000108{PIN1}", "9000"), ("00B0000009", IMSI + "9000")],
    "IMSI by path from the MF": [
        (f"0020000108{PIN1}", "9000"), ("00A4080C047F206F07", "9000"),
        ("00B0000009", IMSI + "9000")],
    "IMSI by SFI 07 in ADF.USIM": [
        (f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000"), ("00B0870009", IMSI + "9000")],
    "PIN1 counter, block, unblock": [
        ("0020000100", "63C3"), (f"0020000108{WRONG}", "63C2"), ("00200001", "63C2"),
        (f"0020000108{WRONG}", "63C1"), (f"0020000108{WRONG}", "63C0"),
        ("00200001", "6983"), (f"0020000108{PIN1}", "6983"), ("002C0001", "63CA"),
        (f"002C000110{PIN1}{PIN1}", "63C9"), (f"002C000110{PUK1}34333231FFFFFFFF", "9000"),
        ("00200001", "9000"), ("002C0001", "63CA"), (f"0020000108{PIN1}", "63C2")],
    "PIN2 and ADM1 counters are their own": [
        (f"0020008108{WRONG}", "63C2"), ("00200001", "63C3"), ("0020000A", "63C3"),
        (f"0020000A08{PIN1}", "63C2"), (f"0020008108{PIN2}", "9000"), ("00200081", "9000")],
    "DISABLE / ENABLE PIN1": [
        (f"0028000108{PIN1}", "6985"), (f"0026000108{WRONG}", "63C2"),
        (f"0026000108{PIN1}", "9000"), ("00200001", "9000"), ("00A4080C047F206F07", "9000"),
        ("00B0000009", IMSI + "9000"), (f"0026000108{PIN1}", "6985"),
        (f"0028000108{PIN1}", "9000"), (f"0026000A08{ADM1}", "6985")],
    "CHANGE PIN1 checks the new PIN's format": [
        (f"0024000110{PIN1}3132FFFFFFFFFFFF", "6A80"), (f"0024000110{WRONG}{PIN2}", "63C2"),
        (f"0024000110{PIN1}{PIN2}", "9000"), (f"0020000108{PIN1}", "63C2"),
        (f"0020000108{PIN2}", "9000")],
    "PIN commands: lengths and references": [
        ("002000010431323334", "6700"), ("0020000111" + "31" * 17, "6700"),
        (f"0020000208{PIN1}", "6A88"), (f"0020100108{PIN1}", "6A86"),
        (f"002C000A10{ADM1}{ADM1}", "6A88")],
    "AUTHENTICATE, TS 35.208 set 1, then the replay is a sync failure": [
        (f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000"), (AUTH_CMD, AUTH_OK),
        (AUTH_CMD, AUTS1)],
    "AUTHENTICATE with a bad MAC": [
        (f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000"),
        (AUTH_CMD[:-4] + "B200", "9862")],
    "AUTHENTICATE needs PIN1 and ADF.USIM": [
        (SELECT_USIM, "9000"), (AUTH_CMD, "6982"), (f"0020000108{PIN1}", "9000"),
        ("00A4000C027F20", "9000"), (AUTH_CMD, "6985"), ("00A4000C027FFF", "9000"),
        (AUTH_CMD, AUTH_OK)],
    "AUTHENTICATE malformed": [
        (f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000"), (AUTH_CMD[:12] + "00", "6700"),
        ("0088008222" + AUTH_CMD[10:], "6A86"), ("0088008122" + "11" + AUTH_CMD[12:], "6A80")],
    "AUTHENTICATE, GSM context": [
        (f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000"),
        (f"008800801110{RAND1}00", f"04{SRES_KC1[:8]}08{SRES_KC1[8:]}9000")],
    "RUN GSM ALGORITHM, T=0 style": [
        ("A0A40000027F20", "9F16"), (f"A020000108{PIN1}", "9000"),
        (f"A088000010{RAND1}", "9F0C"), ("A0C000000C", SRES_KC1 + "9000"),
        ("A0C000000C", "6F00")],
    "RUN GSM ALGORITHM outside DF.GSM / without CHV1": [
        ("A0A40000027F20", "9F16"), (f"A088000010{RAND1}", "9804"),
        ("A0A40000023F00", "9F16"), (f"A020000108{PIN1}", "9000"),
        (f"A088000010{RAND1}", "9400")],
    "GSM: wrong CHV is 9804, blocked is 9840": [
        (f"A020000108{WRONG}", "9804"), (f"A020000108{WRONG}", "9804"),
        (f"A020000108{WRONG}", "9840"), (f"A020000108{PIN1}", "9840"),
        (f"A02C000010{PUK1}{PIN1}", "9000"), ("A0A40000027F20", "9F16"),
        ("A0A40000026F07", "9F0F"), ("A0B0000009", IMSI + "9000")],
    "GSM class errors": [
        ("A0A40400027F20", "6B00"), ("A0A4000003007F20", "6700"), ("A0A40000022FFF", "9404"),
        ("A0B0000009", "9400"), ("A0A2000000", "6D00"), ("A0A40000027F20", "9F16"),
        ("A0A40000026F07", "9F0F"), ("A0B0000009", "9804"), ("A0B2010409", "9408")],
    "Le shorter than the data is 6Cxx": [
        ("00A4000C022FE2", "9000"), ("00B0000010", "6C0A"), ("00B0050000", "6B00"), ("00B0000A00", "6B00"),
        ("00B000000A", ICCID + "9000"), ("00B0000800", ICCID[16:] + "9000")],
    "records: absolute, next, previous, wrong length": [
        ("00A4080C047F106F40", "9000"), (f"0020000108{PIN1}", "9000"),
        ("00B2030422", "6A83"), ("00B2010410", "6C22"), ("00B2000422", "6A83"),
        ("00B2000222", None), ("00B2000222", "FF" * 34 + "9000"), ("00B2000222", "6A83"),
        ("00B2000322", None), ("00B2000422", None), ("00B0000001", "6981"),
        ("00DC010403FFFFFF", "6700"), ("00B2010322", "6A86")],
    "UPDATE needs the right key": [
        ("00A4080C047F206F07", "9000"), (f"0020000108{PIN1}", "9000"),
        ("00D6000001FF", "6982"), (f"0020000A08{ADM1}", "9000"), ("00D6000801FF", "9000"),
        ("00B0000009", IMSI[:16] + "FF9000"), ("00D6000902FFFF", "6B00"),
        ("00D6000802FFFF", "6700"), ("00A4000C026F21", "6A82")],
    "navigation: parent, siblings, 7FFF, paths": [
        ("00A4080C027FFF", "6A82"), ("00A4000C027FFF", "6A82"), (SELECT_USIM, "9000"),
        ("00A4080C047FFF6F07", "9000"), ("00A40304", None), ("00A4000C027F20", "9000"),
        ("00A4000C027F10", "9000"), ("00A4000C022FE2", "6A82"), ("00A4000C023F00", "9000"),
        ("00A4090C047F206F07", "9000"), ("00A4010C026F07", "6A82"), ("00A4020C026F07", "9000"),
        ("00A4080C03000000", "6700"), ("00A4000C043F007F20", "6700")],
    "SELECT by AID: partial, unknown, next occurrence": [
        ("00A4040C07A0000000871002", "9000"), ("00A4040C07A0000000871009", "6A82"),
        ("00A4040E07A0000000871002", "6A82"), ("00A4040D07A0000000871002", "6A86"),
        ("00A4048C07A0000000871002", "6A86")],
    "malformed APDUs": [
        ("", "6700"), ("00", "6700"), ("00A40C", "6700"), ("00A4000C053F00", "6700"),
("00A4000C0000023F00", "6700"), ("FFA4000C023F00", "6E00"),
        ("40A4000C023F00", "6E00"), ("01A4000C023F00", "6881"), ("04A4000C023F00", "6882"),
        ("00FF0000", "6D00"), ("80B0000000", "6E00"), ("00F2000000", "6E00"),
        ("80C0000000", "6E00"), ("00A4050C023F00", "6A86"), ("00B0800000", "6A82"),
        ("00B0E00000", "6A86"), ("00B0000000", "6986"), ("00B000000001", "6700"),
        ("00B2010700", "6986"), ("00C0000000", "6F00")],
    "STATUS": [
        (SELECT_USIM, "9000"), ("80F2000C00", "9000"), ("80F2000112", f"8410{AID}9000"),
        ("80F2030000", "6A86"), ("80F2000200", "6A86")],
    "SEARCH RECORD": [
        ("00A4080C047F106F40", "9000"), (f"0020000108{PIN1}", "9000"),
        ("00DC020422" + "41" + "FF" * 33, "9000"),
        ("00A201040141" + "00", "029000"), ("00A2010402FFFF00", "019000"),
        ("00A20205014100", "029000"), ("00A20105014100", "6282"), ("00A201040142", "6282"),
        ("00A2000701FF", "6A86"), ("00A2030401FF", "6A83")],
    # TS 51.011 has no SFIs: P1 b8 / P2 b8..b4 are incorrect parameters under CLA A0 (6B00,
    # §9.4.6), where CLA 00 reads the same EFs by SFI.
    "GSM: no short file identifiers": [
        ("00B082000A", ICCID + "9000"), ("A0B082000A", "6B00"), ("A0D683FF01B7", "6B00"),
        ("A0B0873C14", "6B00"), ("A0B20A2320", "6B00"), ("A0DC00810831323335FFFFFFFF", "6B00"),
        ("A0A40000022F00", "9F0F"), ("A0B201F420", "6B00"),
        ("00B201F420", "61" + "X" * 62 + "9000"),           # EF.DIR record 1 by SFI 1E
        ("A0A40000027F20", "9F16"), (f"A020000108{PIN1}", "9000"),
        ("A0A40000026F07", "9F0F"), ("A0B0870009", "6B00"), ("A0B0000009", IMSI + "9000"),
        ("A0A40000027F10", "9F16"), ("A0A40000026F40", "9F0F"), ("A0B2010C22", "6B00"),
        ("A0B2010422", MSISDN1 + "9000")],
    # TS 102 221 Table 7.1: a case 2 command with a wrong Le is re-sent with Le = xx, so the
    # 6Cxx answer must leave the card as it was (record pointer, current DF).
    "6Cxx moves no record pointer and no selection": [
        ("00A4080C047F106F40", "9000"), (f"0020000108{PIN1}", "9000"),
        ("00DC020422" + "41" + "FF" * 33, "9000"), ("00B2000222", MSISDN1 + "9000"),
        ("00B2000210", "6C22"), ("00B2000222", "41" + "FF" * 33 + "9000"),
        ("00B2000310", "6C22"), ("00B2000322", MSISDN1 + "9000"),
        ("00A4000C027F20", "9000"), ("00A4030401", "6CXX"), ("00A4020C026F07", "9000")],
    # A case 4 command ran before its Le is looked at: 61xx / 9Fxx, the data kept whole for
    # GET RESPONSE (TS 102 221 §7.3.1.1.4), and the SQN is spent once.
    "case 4 with a short Le: 61xx, then GET RESPONSE": [
        (f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000"),
        (AUTH_CMD[:-2] + "20", "6135"), ("00C0000035", AUTH_OK), (AUTH_CMD, AUTS1),
        ("00A4000C023F00", "9000"), ("00A40904047F206F0710", "61XX"),
        ("00A4020C026F07", "9000"), ("A0A40000027F20", "9F16"),
        (f"A088000010{RAND1}05", "9F0C"), ("A0C000000C", SRES_KC1 + "9000")],
    # The applet speaks TS 102 221; under CLA A0 the card answers in TS 51.011 §9.4 terms
    # (6985 -> 6F00, 6A80 -> 6B00; tests/virtual_card/toolkit.py gsm_status).
    "GSM: toolkit status words": [
        ("801400000C810301250082028281830100", "6985"),
        ("A01400000C810301250082028281830100", "6F00"),
        ("801400000AFFFFFFFFFFFFFFFFFFFF", "6A80"), ("A01400000AFFFFFFFFFFFFFFFFFFFF", "6B00"),
        ("80C20000024F20", "6A80"), ("A0C20000024F20", "6B00")],
}

# FETCH checks Le before the applet hands its command over (FakeApplet: 11 bytes pending):
# 6Cxx (TS 102 221 Table 7.1) / 67xx with the right length (TS 51.011 §9.4.6), still pending.
FETCH_LE = [
    ("80100000031F0000", "910B"), ("8012000005", "6C0B"), ("8012000010", "6C0B"),
    ("801200000B", "D009810301250082028182" + "9000"), ("A010000001FF", "910B"),
    ("A012000005", "670B"), ("A0120000FF", "670B"),
    ("A01200000B", "D009810301250082028182" + "9000")]

# A card without the menu applet in its registry has no toolkit (the default image has it,
# with the Milo menu in EF.MENU).
NO_APPLET = [("8010000002FFFF", "9000"), ("8012000010", "6D00"), ("80C2000003D30102", "6D00"),
             ("0010000002FFFF", "6E00")]


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def run(card: VirtualUicc, steps) -> None:
    """Send each command; ``expected`` None = don't care, X = any hex digit."""
    for i, (command, expected) in enumerate(steps):
        answer = card.process(h(command)).hex().upper()
        if expected is not None:
            assert len(answer) == len(expected) and all(
                e in ("X", a) for e, a in zip(expected, answer)), \
                f"step {i}: {command} -> {answer}, not {expected}"


@pytest.mark.parametrize("name", list(EXCHANGES))
def test_exchanges(name):
    run(VirtualUicc.from_image(None), EXCHANGES[name])


def test_toolkit_ins_without_an_applet():
    import dataclasses

    from tests.virtual_card.image import default_state

    from tests.virtual_card.gp import default_gp

    run(VirtualUicc(dataclasses.replace(default_state(), gp=default_gp(menu_applet=False))),
        NO_APPLET)


def test_default_image_carries_the_milo_menu():
    card = VirtualUicc.from_image(None)
    # the minimal menu + USSD terminal profile of sim-facts §6 → SET UP MENU pending (91xx)
    assert card.process(h("80100000040961072D"))[:1] == b"\x91"


def test_get_response_in_pieces_reassembles_the_fcp():
    """T=0 (TS 102 221 §7.3.1.1.4): 61xx, then GET RESPONSE with any Le; 6Cxx keeps the data."""
    card = VirtualUicc.from_image(None)
    direct = card.process(h("00A40004022FE200"))[:-2]
    card.process(h("00A4000C023F00"))
    assert card.process(h("00A40004022FE2")) == bytes((0x61, len(direct)))
    first = card.process(h("00C0000010"))
    assert first[-2:] == bytes((0x61, len(direct) - 16))
    assert card.process(h("00C0000020")) == bytes((0x6C, len(direct) - 16))
    rest = card.process(h("00C0000000"))
    assert rest[-2:] == b"\x90\x00" and first[:-2] + rest[:-2] == direct
    assert card.process(h("00C0000000")) == b"\x6f\x00"


def test_empty_select_selects_the_mf():
    """ISO/IEC 7816-4 §11.2.2: SELECT with P1 00 and no data selects the MF."""
    card = VirtualUicc.from_image(None)
    run(card, [("00A4000C027F20", "9000"), ("00A4000C00", "9000"), ("00A4000C022FE2", "9000")])


def test_atr_is_sja2_variant_1():
    assert VirtualUicc.from_image(None).atr == SJA2_ATR
    assert SJA2_ATR.hex().upper() == "3B9F96801F878031E073FE211B674A4C753034054BA9"


# --- FCP (TS 102 221 §11.1.1.3) -------------------------------------------------------------

def _fcp(card: VirtualUicc, path: str) -> dict[int, bytes]:
    resp = card.process(h("00A40804" + f"{len(path) // 2:02X}" + path + "00"))
    assert resp[-2:] == b"\x90\x00"
    template, rest = ber_decode(resp[:-2])
    assert template.tag == 0x62 and rest == b""
    return {t.tag: t.value for t in ber_decode_all(template.value)}


@pytest.mark.parametrize("where", sorted(loc.where for loc in TREE.files()))
def test_ef_fcp_matches_the_tree(where):
    card = VirtualUicc.from_image(None)
    loc = TREE.get(where)
    node = loc.node
    if loc.adf == "ADF.ISIM":                       # the ISIM's files: 7FFF once it is selected
        assert card.process(h("00A4040C07A0000000871004")) == h("9000")
    elif loc.path[0] == 0x7FFF:                       # ADF.USIM's files, by path 7FFF/...
        card.process(h(SELECT_USIM))
    fcp = _fcp(card, "".join(f"{fid:04X}" for fid in loc.path))
    assert fcp[0x83] == node.fid.to_bytes(2, "big")
    assert fcp[0x8A] == b"\x05"
    if node.records == 0:
        assert fcp[0x82] == b"\x41\x21" and int.from_bytes(fcp[0x80], "big") == node.size
    else:
        assert fcp[0x82] == (bytes((0x42 if node.structure.value == "linear fixed" else 0x46,
                                    0x21)) + node.size.to_bytes(2, "big")
                             + bytes((node.records,)))
        assert int.from_bytes(fcp[0x80], "big") == node.size * node.records
    assert fcp[0x88] == (bytes((node.sfi << 3,)) if node.sfi else b"")
    assert fcp[0x8B][:2] in (b"\x2f\x06", b"\x6f\x06")


def test_df_fcp_carries_aid_and_pin_status():
    card = VirtualUicc.from_image(None)
    mf = _fcp(card, "3F00")
    assert mf[0x82] == b"\x78\x21" and mf[0x83] == b"\x3f\x00"
    pins = {t.tag: t.value for t in ber_decode_all(mf[0xC6])}
    assert pins[0x90] == b"\xf0"                      # PIN1, PIN2, ADM1, ADM2 enabled
    resp = card.process(h(f"00A4040410{AID}00"))
    adf = {t.tag: t.value for t in ber_decode_all(ber_decode(resp[:-2])[0].value)}
    assert adf[0x84] == h(AID)
    card.process(h(f"0026000108{PIN1}"))
    mf = _fcp(card, "3F00")
    assert {t.tag: t.value for t in ber_decode_all(mf[0xC6])}[0x90] == b"\x70"  # PIN1 off


def test_gsm_df_response_counts_chv_tries():
    """TS 51.011 §9.2.1: byte 14 b8 = CHV1 disabled; bytes 19..22 = CHV status bytes."""
    card = VirtualUicc.from_image(None)
    card.process(h("A0A40000027F20"))
    resp = card.process(h("A0C0000016"))
    assert resp[4:7] == b"\x7f\x20\x02" and resp[18:22] == b"\x83\x8a\x83\x8a"
    card.process(h(f"A020000108{WRONG}"))
    card.process(h("A0A40000027F20"))
    resp = card.process(h("A0C0000016"))
    assert resp[13] & 0x80 == 0 and resp[18] == 0x82
    card.process(h("A0A40000026F07"))
    ef = card.process(h("A0C000000F"))
    assert ef[2:7] == b"\x00\x09\x6f\x07\x04" and ef[8] == 0x1A and ef[13] == 0x00


# --- SJA2 key files and Milenage --------------------------------------------------------------

SET2 = {"k": "0396EB317B6D1C36F19C1C84CD6FFD16", "opc": "53C15671C60A4B731C55B4A441C0BDE2",
        "op": "FF53BADE17DF5D4E793073CE9D7579FA", "rand": "C00D603103DCEE52C4478119494202E8",
        "sqn": "FD8EEF40DF7D", "amf": "AF17", "res": "D3A628ED988620F0",
        "ck": "58C433FF7A7082ACD424220F2B67C556", "ik": "21A8C1F929702ADB3E738488B9F5C5DA",
        "ak": "C47783995F72", "mac": "5DF5B31807E258B0"}        # TS 35.208 test set 2


def _autn2() -> str:
    sqn_ak = bytes(a ^ b for a, b in zip(h(SET2["sqn"]), h(SET2["ak"]))).hex().upper()
    return sqn_ak + SET2["amf"] + SET2["mac"]


@pytest.mark.parametrize("use_op", [False, True])
def test_programming_key_files_like_pysim_prog_changes_authenticate(use_op):
    """pySim-prog writes Ki at offset 1 and OPc at 17 of A515/6F20 and ADF.USIM/AF20."""
    card = VirtualUicc.from_image(None)
    value = SET2["op"] if use_op else SET2["opc"]
    run(card, [(f"0020000A08{ADM1}", "9000"), ("00A4000C023F00", "9000"),
               ("00A4000C02A515", "9000"), ("00A4000C026F20", "9000"),
               (f"00D6000110{SET2['k']}", "9000"), (f"00D6001110{value}", "9000"),
               (SELECT_USIM, "9000"), ("00A4000C02AF20", "9000"),
               (f"00D6000110{SET2['k']}", "9000"), (f"00D6001110{value}", "9000")])
    if use_op:      # cfg byte b5 = 0: the file holds OP; the card derives OPc itself
        run(card, [("00D6000001" + "04", "9000")])
    kc = gsm_kc(h(SET2["ck"]), h(SET2["ik"])).hex().upper()
    run(card, [("00A4000C027FFF", "9000"),
               (f"008800812210{SET2['rand']}10{_autn2()}00",
                f"DB08{SET2['res']}10{SET2['ck']}10{SET2['ik']}08{kc}9000")])


def test_kc_follows_ust_service_27():
    """TS 31.102 §7.1.2.1: Kc is appended only when service n°27 (GSM access) is available."""
    card = VirtualUicc.from_image(None)
    run(card, [(f"0020000A08{ADM1}", "9000"), (SELECT_USIM, "9000"),
               ("00B0840301", "049000"),                   # EF.UST by SFI 04, byte 4
               ("00D684030100", "9000"), (AUTH_CMD, AUTH_OK[:-22] + "9000")])


def test_image_state_repr_shows_no_key():
    state = VirtualUicc.from_image(None).image_state()
    assert "465B5CE8" not in repr(state).upper() and "465b5ce8" not in repr(state)


def test_key_files_need_adm1():
    card = VirtualUicc.from_image(None)
    run(card, [(f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000"),
               ("00A4000C02AF20", "9000"), ("00B0000021", "6982"), ("00D6000101FF", "6982"),
               (f"0020000A08{ADM1}", "9000"), ("00B0000001", "149000")])


# --- the card image -----------------------------------------------------------------------


def _read_sqn(path) -> str:
    return json.loads(path.read_text())["auth"]["sqn"]


def test_missing_image_is_created_0600_from_the_default(tmp_path):
    path = tmp_path / "card.json"
    VirtualUicc.from_image(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == json.loads(json.dumps(default_image()))


def test_every_acknowledged_change_is_on_disk_before_the_answer(tmp_path):
    """Each step's effect must be visible to a fresh card loaded from the file at once."""
    path = tmp_path / "card.json"
    copies = tmp_path / "copies"
    copies.mkdir()
    card = VirtualUicc.from_image(path)
    steps = [
        (f"0020000108{WRONG}", "63C2", lambda c: c.process(h("00200001")) == h("63C2")),
        (f"0020000A08{ADM1}", "9000", None),
        ("00A4080C047F206F07", "9000", None),
        ("00D6000108" + "0910100000001020", "9000",
         lambda c: c.process(h(f"0020000108{PIN1}")) == h("9000")
         and c.process(h("00A4080C047F206F07")) == h("9000")
         and c.process(h("00B0000009")) == h("080910100000001020" + "9000")),
        ("00A4080C047F106F40", "9000", None),
        ("00DC020422" + "00" * 34, "9000",
         lambda c: c.process(h(f"0020000108{PIN1}")) == h("9000")
         and c.process(h("00A4080C047F106F40")) == h("9000")
         and c.process(h("00B2020422")) == h("00" * 34 + "9000")),
        (SELECT_USIM, "9000", None),
        (AUTH_CMD, AUTH_OK, lambda c: c.process(h(f"0020000108{PIN1}")) == h("9000")
         and c.process(h(SELECT_USIM)) == h("9000") and c.process(h(AUTH_CMD)) == h(AUTS1)),
        (f"0026000108{PIN1}", "9000", lambda c: c.process(h("00200001")) == h("9000")),
    ]
    for command, expected, check in steps:
        assert card.process(h(command)).hex().upper() == expected, command
        assert load_image(path).pins["PIN1"].to_json() == card.image_state().pins["PIN1"].to_json()
        if check is not None:       # a card that "restarts" from a copy of the file
            copy = copies / "card.json"
            copy.write_bytes(path.read_bytes())
            assert check(VirtualUicc.from_image(copy)), command
    assert _read_sqn(path) == "FF9BB4D0B607"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["card.json", "copies"]  # no temp files


def test_a_crash_before_the_rename_leaves_the_old_image(tmp_path, monkeypatch):
    path = tmp_path / "card.json"
    card = VirtualUicc.from_image(path)
    before = path.read_bytes()

    def killed(src, dst):
        assert os.path.exists(src)       # the new image was written and synced ...
        raise OSError(5, "simulated crash before rename")   # ... but never renamed
    monkeypatch.setattr(os, "replace", killed)
    assert card.process(h(f"0020000108{WRONG}")) == h("6581")   # not acknowledged
    assert card.process(h("00200001")) == h("63C3")            # and not applied in memory
    run(card, [(f"0020000A08{ADM1}", "9000"), ("00A4000C022FE2", "9000"),
               ("00D600000100", "6581"), ("00B0000001", "989000")])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["card.json"]
    monkeypatch.undo()
    assert load_image(path).pins["PIN1"].tries == 3


def test_image_round_trips_and_keeps_the_menu_file_and_registry(tmp_path):
    doc = default_image()
    doc["atr"] = "3B9F96801F878031E073FE211B674A4C7531330251B2"
    path = tmp_path / "card.json"
    path.write_text(json.dumps(doc))
    card = VirtualUicc.from_image(path)
    assert card.atr.hex().upper() == doc["atr"]
    card.process(h(f"0020000108{WRONG}"))
    saved = json.loads(path.read_text())
    assert saved["files"]["3F00/7FFF/AF50"] == doc["files"]["3F00/7FFF/AF50"]
    assert saved["gp"] == doc["gp"] and saved["atr"] == doc["atr"]
    assert "stk_menu" not in saved
    assert saved["pins"]["PIN1"]["tries"] == 2


def test_an_older_images_stk_menu_becomes_the_menu_file(tmp_path):
    """An image written before the menu became card data: its stk_menu is read as EF.MENU
    with the menu applet installed, and written back in the new form."""
    from simtool.stk.menu import load_named_menu
    from simtool.stk.menufile import decode_menu_file

    doc = default_image()
    del doc["gp"]
    doc["files"]["3F00/7FFF/AF50"] = "FF" * 8192
    doc["stk_menu"] = load_named_menu("citysat").to_dict()
    path = tmp_path / "card.json"
    path.write_text(json.dumps(doc))
    card = VirtualUicc.from_image(path)
    card.process(h(f"0020000108{WRONG}"))
    saved = json.loads(path.read_text())
    assert "stk_menu" not in saved
    assert decode_menu_file(h(saved["files"]["3F00/7FFF/AF50"])).title == "City-Sat"
    assert card.process(h("8010000014" + "FF" * 20))[0] == 0x91


def _broken(mutate):
    doc = default_image()
    mutate(doc)
    return doc


BROKEN_IMAGES = {
    "format": lambda d: d.update(format="other/1"),
    "unknown top key": lambda d: d.update(extra=1),
    "unknown file": lambda d: d["files"].update({"3F00/7F20/6F99": "00"}),
    "bad hex": lambda d: d["files"].update({"3F00/7F20/6F07": "zz"}),
    "wrong size": lambda d: d["files"].update({"3F00/7F20/6F07": "0809"}),
    "record count": lambda d: d["files"].update({"3F00/7F10/6F40": ["FF" * 34]}),
    "pin digits": lambda d: d["pins"]["PIN1"].update(value="12a4"),
    "tries above max": lambda d: d["pins"]["PIN1"].update(tries=4),
    "missing pin": lambda d: d["pins"].pop("PIN2"),
    "ki size": lambda d: d["auth"]["usim"].update(ki="00"),
    "sqn": lambda d: d["auth"].update(sqn="00"),
    "window": lambda d: d["auth"].update(sqn_window=-1),
}


@pytest.mark.parametrize("name", list(BROKEN_IMAGES))
def test_bad_images_are_refused_with_a_data_error(tmp_path, name):
    path = tmp_path / "card.json"
    path.write_text(json.dumps(_broken(BROKEN_IMAGES[name])))
    with pytest.raises(DataError):
        VirtualUicc.from_image(path)


def test_not_json_is_a_data_error(tmp_path):
    path = tmp_path / "card.json"
    path.write_text("{")
    with pytest.raises(DataError, match="not JSON"):
        VirtualUicc.from_image(path)


def test_sqn_window_bounds_how_far_ahead_an_sqn_may_be(tmp_path):
    doc = default_image()
    doc["auth"].update(sqn="FF9BB4D0B5E7", sqn_window=32)      # SQN of set 1 minus 32
    path = tmp_path / "card.json"
    path.write_text(json.dumps(doc))
    run(VirtualUicc.from_image(path), [(f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000"),
                                       (AUTH_CMD, AUTH_OK)])
    doc["auth"].update(sqn="FF9BB4D0B5E6")                      # 33 behind: too far
    path.write_text(json.dumps(doc))
    answer = VirtualUicc.from_image(path).process(h(f"0020000108{PIN1}"))
    card = VirtualUicc.from_image(path)
    run(card, [(f"0020000108{PIN1}", "9000"), (SELECT_USIM, "9000")])
    assert answer == h("9000") and card.process(h(AUTH_CMD))[:2] == h("DC0E")
    assert _read_sqn(path) == "FF9BB4D0B5E6"


def test_reset_forgets_verification_and_selection():
    card = VirtualUicc.from_image(None)
    run(card, [(f"0020000108{PIN1}", "9000"), ("00A4080C047F206F07", "9000")])
    assert card.reset() == SJA2_ATR
    run(card, [("00B0000009", "6986"), ("00A4080C047F206F07", "9000"), ("00B0000009", "6982")])
    run(card, [(f"0020000108{PIN1}", "9000")])
    card.power_off()
    run(card, [("00200001", "63C3")])


# --- SIM Toolkit applet seam ----------------------------------------------------------------


class FakeApplet:
    """Queues one proactive command after TERMINAL PROFILE and one per ENVELOPE."""

    def __init__(self):
        self.profile = None
        self.responses = []

    def terminal_profile(self, profile):
        self.profile = profile
        return [bytes.fromhex("D009810301250082028182")]

    def envelope(self, data):
        return EnvelopeAnswer(b"\xab", (bytes.fromhex("D00B8103011300820281838500"),))

    def terminal_response(self, response):
        self.responses.append(response.encode())
        return []


def test_toolkit_commands_go_to_the_applet_and_91xx_follows():
    applet = FakeApplet()
    card = VirtualUicc(VirtualUicc.from_image(None).image_state(), applet=applet)
    run(card, [("80100000031F0000", "910B"), ("00A4000C023F00", "910B"),
               ("801200000B", "D009810301250082028182" + "9000"),
               ("801400000C810301250082028281830100", "9000"),
               ("80C2000003D3010200", "AB910D"), ("8012000000", "D00B8103011300820281838500" + "9000"),
               ("A010000001FF", "910B"), ("A01200000B", "D009810301250082028182" + "9000"),
               ("A0A40000023F00", "9F16")])
    assert applet.profile == h("FF") and applet.responses == [h("810301250082028281830100")]


def test_fetch_with_a_wrong_le_keeps_the_proactive_command():
    applet = FakeApplet()
    run(VirtualUicc(VirtualUicc.from_image(None).image_state(), applet=applet), FETCH_LE)


def test_menu_applet_is_built_from_an_images_stk_menu():
    """An (older) image's stk_menu becomes a MenuApplet on first use; TERMINAL PROFILE
    queues SET UP MENU (TS 102 223 §6.4.8, command type 25)."""
    import tomllib
    from pathlib import Path
    from tests.virtual_card.image import parse_image

    doc = default_image()
    menus = Path(__file__).resolve().parent.parent / "provisioning" / "menus"
    doc["stk_menu"] = tomllib.loads((menus / "milo.toml").read_text(encoding="utf-8"))
    card = VirtualUicc(parse_image(json.loads(json.dumps(doc))))
    answer = card.process(h("8010000014" + "FF" * 20))
    assert answer[0] == 0x91
    fetched = card.process(bytes((0x80, 0x12, 0, 0, answer[1])))
    assert fetched[-2:] == h("9000") and fetched[0] == 0xD0 and h("810301") in fetched
    assert fetched[fetched.index(h("810301")) + 3] == 0x25          # type of command
    card.reset()                                         # a fresh applet, nothing pending
    assert card.process(h("8012000010")) == h("6F00")


def test_a_broken_stk_menu_leaves_a_working_card_without_toolkit():
    doc = default_image()
    doc["stk_menu"] = {"no": "menu"}
    from tests.virtual_card.image import parse_image
    card = VirtualUicc(parse_image(doc))
    run(card, [("8010000002FFFF", "9000"), ("8012000010", "6D00"), ("00A4000C023F00", "9000")])


def test_toolkit_applet_status_maps_to_the_status_word():
    from simtool.stk import applet as applet_module

    class Busy(FakeApplet):
        def envelope(self, data):
            raise applet_module.AppletStatus(0x9300)

    card = VirtualUicc(VirtualUicc.from_image(None).image_state(), applet=Busy())
    run(card, [("80C2000003D30102", "9300")])


def test_toolkit_applet_errors_become_6f00():
    class Broken(FakeApplet):
        def envelope(self, data):
            raise RuntimeError("bug")

    card = VirtualUicc(VirtualUicc.from_image(None).image_state(), applet=Broken())
    run(card, [("80C2000003D30102", "6F00"), ("00A4000C023F00", "9000")])


# --- robustness -----------------------------------------------------------------------------

apdus = st.one_of(
    st.binary(max_size=40),
    st.tuples(st.sampled_from([0x00, 0x80, 0xA0, 0x01, 0x84]),
              st.sampled_from([0xA4, 0xB0, 0xB2, 0xD6, 0xDC, 0xA2, 0x20, 0x24, 0x26, 0x28, 0x2C,
                               0x88, 0xC0, 0xF2, 0x10, 0x12, 0x14, 0xC2]),
              st.integers(0, 255), st.integers(0, 255), st.binary(max_size=40),
              st.one_of(st.none(), st.integers(0, 255)))
    .map(lambda t: bytes(t[:4]) + ((bytes((len(t[4]),)) + t[4]) if t[4] else b"")
         + (bytes((t[5],)) if t[5] is not None else b"")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(apdus, max_size=12))
def test_process_never_raises_and_always_answers_a_status_word(sequence):
    card = VirtualUicc.from_image(None)
    card.process(h(f"0020000108{PIN1}"))
    for apdu in sequence:
        answer = card.process(apdu)
        assert isinstance(answer, bytes) and len(answer) >= 2
        assert answer[-2] in (0x61, 0x62, 0x63, 0x65, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C,
                              0x6D, 0x6E, 0x6F, 0x90, 0x91, 0x92, 0x94, 0x98, 0x9F)
    assert card.process(h("00A4000C022FE2")) in (h("9000"), h("6A82"))
    assert card.process(h("00A4000C023F00")) == h("9000")


# --- vpcd framing ---------------------------------------------------------------------------


def test_parse_address():
    assert parse_address("127.0.0.1:35964") == ("127.0.0.1", 35964)
    assert parse_address("35963") == ("127.0.0.1", 35963)
    with pytest.raises(ValueError):
        parse_address("host:99999")


def _frame(sock, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


def _reply(sock) -> bytes:
    n = int.from_bytes(sock.recv(2, socket.MSG_WAITALL), "big")
    return sock.recv(n, socket.MSG_WAITALL)


def test_vpcd_client_framing_reconnect_and_stop(tmp_path):
    """We play vpcd: frames, controls, a malformed frame, vpcd restarting, then stop()."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    ready = tmp_path / "ready"
    client = VpcdClient(VirtualUicc.from_image(None), "127.0.0.1", listener.getsockname()[1],
                        ready_file=ready, max_backoff=0.2)
    thread = threading.Thread(target=client.run, daemon=True)
    thread.start()
    try:
        vpcd, _ = listener.accept()
        vpcd.settimeout(10)
        _frame(vpcd, b"\x04")
        assert _reply(vpcd) == SJA2_ATR
        assert ready.read_text().strip() == str(os.getpid())
        for control in (b"\x01", b""):                  # power on, empty: no reply
            _frame(vpcd, control)
        _frame(vpcd, b"\x07")                             # no control: a 1-byte APDU
        assert _reply(vpcd) == h("6700")
        vpcd.sendall(b"\x00\x07" + h("00A4000C"))       # header and payload split oddly
        vpcd.sendall(h("022FE2"))
        assert _reply(vpcd) == h("9000")
        _frame(vpcd, h("00B000000A"))
        assert _reply(vpcd) == h(ICCID + "9000")
        _frame(vpcd, b"\x02")                             # reset: the selection is gone
        _frame(vpcd, h("00B000000A"))
        assert _reply(vpcd) == h("6986")
        _frame(vpcd, b"\xff" * 300)
        assert _reply(vpcd) == h("6700")
        vpcd.close()                                     # vpcd goes away and comes back
        vpcd, _ = listener.accept()
        vpcd.settimeout(10)
        _frame(vpcd, b"\x04")
        assert _reply(vpcd) == SJA2_ATR
        client.stop()
        thread.join(timeout=10)
        assert not thread.is_alive() and client.connections == 2
        assert vpcd.recv(1) == b""                       # the card closed its side
        vpcd.close()
    finally:
        client.stop()
        listener.close()
