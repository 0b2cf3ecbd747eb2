"""The virtual card's ADF.ISIM (TS 31.103) and the USIM's mandatory START-HFN / THRESHOLD / NETPAR:
what EF.DIR lists, what the files hold, and the ISIM's AUTHENTICATE (IMS AKA) byte for byte
against the 3GPP TS 35.208 §4.3 test sets."""

from __future__ import annotations

import pytest

from simtool import milenage
from simtool.ef import EfDir, EfDomain, EfImpi, EfImpu, EfIst, EfNetpar, EfPcscf, EfStartHfn
from simtool.ef import EfThreshold, decode_select_response
from tests.virtual_card.auth import milenage_aka
from tests.virtual_card.status import CardStatus
from tests.virtual_card.uicc import VirtualUicc

h = bytes.fromhex

# TS 35.208 §4.3 test sets 1-4: K, RAND, SQN, AMF, OPc -> RES (f2), CK (f3), IK (f4), AK (f5)
TEST_SETS = [
    ("465b5ce8b199b49faa5f0a2ee238a6bc", "23553cbe9637a89d218ae64dae47bf35", "ff9bb4d0b607",
     "b9b9", "cd63cb71954a9f4e48a5994e37a02baf", "a54211d5e3ba50bf",
     "b40ba9a3c58b2a05bbf0d987b21bf8cb", "f769bcd751044604127672711c6d3441"),
    ("0396eb317b6d1c36f19c1c84cd6ffd16", "c00d603103dcee52c4478119494202e8", "fd8eef40df7d",
     "af17", "53c15671c60a4b731c55b4a441c0bde2", "d3a628ed988620f0",
     "58c433ff7a7082acd424220f2b67c556", "21a8c1f929702adb3e738488b9f5c5da"),
    ("fec86ba6eb707ed08905757b1bb44b8f", "9f7c8d021accf4db213ccff0c7f71a6a", "9d0277595ffc",
     "725c", "1006020f0a478bf6b699f15c062e42b3", "8011c48c0c214ed2",
     "5dbdbb2954e8f3cde665b046179a5098", "59a92d3b476a0443487055cf88b2307b"),
    ("9e5944aea94b81165c82fbf9f32db751", "ce83dbc54ac0274a157c17f80d017bd6", "0b604a81eca8",
     "9e09", "a64a507ae1a2a98bb88eb4210135dc87", "f365cd683cd92e96",
     "e203edb3971574f5a94b0d61b816345d", "0c4524adeac041c4dd830d20854fc46b"),
]
# Test set 1, AUTN = SQN xor AK (aa689c648370) || AMF || MAC-A (4a9ffac354dfafb3)
SET1_RAND = "23553cbe9637a89d218ae64dae47bf35"
SET1_AUTN = "55f328b43577" "b9b9" "4a9ffac354dfafb3"
# AUTS for SQN_MS = ff9bb4d0b607: SQN_MS xor AK* (451e8beca43b) || MAC-S with AMF 0000
SET1_AUTS = "ba853f3c123c" "cf44e93596e355c6"
ISIM_PARTIAL_AID = "A0000000871004"
VERIFY_PIN1 = "002000010831323334FFFFFFFF"     # PIN1 1234 of the default image


@pytest.mark.parametrize("k, rand, sqn, amf, opc, res, ck, ik", TEST_SETS)
def test_ims_aka_answers_res_ck_ik_and_no_kc(k, rand, sqn, amf, opc, res, ck, ik):
    m = milenage.Milenage(h(k), h(opc))
    autn = milenage.autn(h(k), h(opc), h(rand), h(sqn), h(amf))
    out = milenage_aka(m, h(k), h(opc), h(rand), autn, 0, None)
    # TS 31.103 §7.1.2.1: 'DB' L RES L CK L IK, no Kc in the IMS context
    assert out.response == h("DB08" + res + "10" + ck + "10" + ik)
    assert out.accepted and out.sqn == int(sqn, 16)


def test_ims_aka_sync_failure_gives_auts_of_the_card_sqn():
    k, rand, sqn, _amf, opc = TEST_SETS[0][:5]
    m = milenage.Milenage(h(k), h(opc))
    assert milenage.autn(h(k), h(opc), h(rand), h(sqn), h("b9b9")) == h(SET1_AUTN)
    # the card has already accepted this SQN: not fresh -> 'DC' '0E' AUTS of its own SQN
    out = milenage_aka(m, h(k), h(opc), h(rand), h(SET1_AUTN), int(sqn, 16), None)
    assert out.response == h("DC0E" + SET1_AUTS)
    assert not out.accepted and out.sqn == int(sqn, 16)
    # too far ahead of a card with a window is no better
    out = milenage_aka(m, h(k), h(opc), h(rand), h(SET1_AUTN), 1, 32)
    assert out.response[:2] == h("DC0E") and not out.accepted


def test_ims_aka_mac_failure_is_9862():
    k, rand, _sqn, _amf, opc = TEST_SETS[0][:5]
    m = milenage.Milenage(h(k), h(opc))
    bad = bytearray(h(SET1_AUTN))
    bad[-1] ^= 1
    with pytest.raises(CardStatus) as exc:
        milenage_aka(m, h(k), h(opc), h(rand), bytes(bad), 0, None)
    assert exc.value.uicc == 0x9862


def _card_in_isim() -> VirtualUicc:
    card = VirtualUicc.from_image(None)
    assert card.process(h("00A4040C07" + ISIM_PARTIAL_AID)) == h("9000")
    return card


def test_isim_authenticate_on_the_card_byte_for_byte():
    # The default image holds test set 1's K/OPc and SQN 0; the UST has GSM access (27), so
    # the USIM answers with a Kc — the ISIM must not.
    apdu = h("0088008122" "10" + SET1_RAND + "10" + SET1_AUTN + "00")
    card = _card_in_isim()
    assert card.process(apdu) == h("6982")                      # PIN1 first
    assert card.process(h(VERIFY_PIN1)) == h("9000")
    assert card.process(apdu) == h(
        "DB08a54211d5e3ba50bf" "10b40ba9a3c58b2a05bbf0d987b21bf8cb"
        "10f769bcd751044604127672711c6d3441" "9000")
    # the same challenge again: the SQN is spent -> synchronisation failure
    assert card.process(apdu) == h("DC0E" + SET1_AUTS + "9000")
    # the GSM context does not exist in an ISIM
    assert card.process(h("0088008011" "10" + SET1_RAND + "00")) == h("6A86")


def test_usim_authenticate_still_carries_kc():
    card = VirtualUicc.from_image(None)
    assert card.process(h("00A4040C07A0000000871002")) == h("9000")
    card.process(h(VERIFY_PIN1))
    out = card.process(h("0088008122" "10" + SET1_RAND + "10" + SET1_AUTN + "00"))
    assert out.endswith(h("08eae4be823af9a08b9000"))            # c3(CK, IK), sim-facts §8.2


def _read(card: VirtualUicc, fid: str) -> bytes:
    fcp = card.process(h("00A4080404" "7FFF" + fid + "00"))
    assert fcp[-2:] == h("9000"), fid
    size = decode_select_response(fcp[:-2]).size
    out = card.process(h("00B00000") + bytes((size,)))
    assert out[-2:] == h("9000")
    return out[:-2]


def test_isim_files_hold_the_milo_subscriber_ims_identities():
    card = _card_in_isim()
    card.process(h(VERIFY_PIN1))
    domain = "ims.mnc001.mcc260.3gppnetwork.org"          # TS 23.003 §13.2, MCC 260 MNC 01
    assert EfImpi.decode(_read(card, "6F02")).nai == f"260011234567890@{domain}"
    assert EfDomain.decode(_read(card, "6F03")).domain == domain
    assert 1 in EfIst.decode(_read(card, "6F07"))       # the ISIM's IST, not the USIM's IMSI
    assert card.process(h("00A4080C047FFF6F04")) == h("9000")
    impu = card.process(h("00B2010480"))
    assert EfImpu.decode(impu[:-2]).uri == f"sip:+48531234567@{domain}"
    assert card.process(h("00A4080C047FFF6F09")) == h("9000")
    assert EfPcscf.decode(card.process(h("00B2010440"))[:-2]).address == f"pcscf.{domain}"


def test_usim_mandatory_files_hold_the_personalisation_values():
    card = VirtualUicc.from_image(None)
    card.process(h("00A4040C07A0000000871002"))
    card.process(h(VERIFY_PIN1))
    assert _read(card, "6F5B") == h("F00000F00000")          # TS 31.102 Annex E
    assert EfStartHfn.decode(_read(card, "6F5B")) == EfStartHfn(0, 0)
    assert EfThreshold.decode(_read(card, "6F5C")).max_start == 0xFFFFF
    assert EfNetpar.decode(_read(card, "6FC4")) == EfNetpar()
    # START-HFN by its SFI 0F, THRESHOLD by SFI 10 (TS 31.102 §4.2.51, §4.2.52)
    assert card.process(h("00B08F0006")) == h("F00000F000009000")
    assert card.process(h("00B0900003")) == h("FFFFFF9000")


def test_ef_dir_lists_the_isim():
    card = VirtualUicc.from_image(None)
    card.process(h("00A4080C022F00"))
    apps = [card.process(h(f"00B2{n:02X}0420")) for n in (1, 2)]
    dirs = [EfDir.decode(r[:-2]) for r in apps]
    assert [d.is_usim for d in dirs] == [True, False] and dirs[1].is_isim
    assert dirs[1].aid == h("A0000000871004FFFFFFFF8907090000") and dirs[1].label == "ISIM"
