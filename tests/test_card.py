"""Tier 2: the card model (simtool.card, simtool.info) against the in-process virtual card."""

from __future__ import annotations

import pytest

from simtool import milenage
from simtool.apdu.channel import Channel
from simtool.apdu.transport import CountingTransport, InProcessTransport
from simtool.apdu.sw import describe
from simtool.card import Card, TrackedCard, parse_auth_response
from simtool.ef import EfIccid, EfSpn
from simtool.errors import (AdmTriesTooLow, CardError, DecodeError, FileNotFound, NotSupported,
                            SecurityNotSatisfied, WrongPin)
from simtool.info import read_card_info
from simtool.pin import ADM1, PIN1, encode_adm, encode_pin
from simtool.secret import Secret
from tests.conftest import ScriptedCard
from tests.virtual_card import VirtualUicc

# 3GPP TS 35.208 test set 1: the virtual card's default Ki/OPc
RAND = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")


def card(cla: int = 0x00) -> tuple[Card, CountingTransport]:
    wire = CountingTransport(InProcessTransport(VirtualUicc.from_image(None)))
    return Card(Channel(wire), cla=cla), wire


def scripted(script: list[tuple[str, str]], cla: int = 0x00,
             kind: type[Card] = Card) -> tuple[Card, ScriptedCard]:
    double = ScriptedCard(script)
    return kind(Channel(InProcessTransport(double)), cla=cla), double


def test_info_reads_identity_and_counters_without_spending_a_try():
    c, wire = card()
    info = read_card_info(c)
    assert (info.card_type, info.iccid, info.spn) == ("sysmoISIM-SJA2", "8948011234567890128",
                                                      "Milo Telecom")
    assert info.imsi is None and any("IMSI needs PIN1" in n for n in info.notes)
    assert {x.name: x.tries_left for x in info.counters} == {
        "PIN1": 3, "PIN2": 3, "ADM1": 3, "PUK1": 10, "PUK2": 10}
    # counters were read with VERIFY / UNBLOCK carrying no data: nothing was spent
    assert read_card_info(c).counters == info.counters
    c.verify_pin(PIN1, encode_pin(Secret("1234")))
    after = read_card_info(c)
    assert (after.imsi, after.msisdn) == ("260011234567890", "+48531234567")


def test_select_usim_finds_the_aid_in_ef_dir():
    c, _ = card()
    fcp = c.file_info(c.select_usim())
    assert c.usim_aid.startswith(bytes.fromhex("A0000000871002"))
    assert fcp.df_name == c.usim_aid  # the ADF's FCP names it (tag 84)
    assert fcp.pin_status  # and carries its PIN status template (tag C6)
    spn = EfSpn.decode(c.read_transparent([0x7FFF, 0x6F46]))
    assert spn.name == "Milo Telecom"


def test_gsm_class_selects_by_fid_and_reads():
    c, _ = card(cla=0xA0)
    data = c.read_transparent([0x2FE2])
    assert EfIccid.decode(data).iccid.digits == "8948011234567890128"


def test_wrong_pin_is_a_typed_error_with_tries_left():
    c, _ = card()
    with pytest.raises(WrongPin) as info:
        c.verify_pin(PIN1, encode_pin(Secret("0000")))
    assert info.value.tries_left == 2 and "0000" not in str(info.value)
    assert c.pin_tries(PIN1) == 2


def test_update_without_adm_is_refused_and_adm_opens_it():
    c, _ = card()
    c.select_path([0x7F20, 0x6F46])
    new = EfSpn("Nowa").encode(17)
    with pytest.raises(SecurityNotSatisfied):
        c.update_binary(new)
    c.verify_adm(ADM1, encode_adm(Secret("11223344"))[0], min_tries=2)
    c.update_binary(new)
    assert EfSpn.decode(c.read_binary(17)).name == "Nowa"


def test_adm_with_too_few_tries_is_refused_before_any_verify():
    c, wire = card()
    for _ in range(2):
        with pytest.raises(WrongPin):
            c.verify_pin(ADM1, encode_adm(Secret("00000000"))[0])
    sent = wire.by_ins.get(0x20, 0)
    with pytest.raises(AdmTriesTooLow):
        c.verify_adm(ADM1, encode_adm(Secret("11223344"))[0], min_tries=2)
    assert wire.by_ins.get(0x20, 0) == sent + 1  # only the counter query (no data) went out


def test_authenticate_matches_milenage_and_reports_resync():
    c, _ = card()
    c.verify_pin(PIN1, encode_pin(Secret("1234")))
    c.select_usim()
    sqn, amf = bytes.fromhex("000000000021"), bytes.fromhex("8000")
    autn = milenage.autn(K, OPC, RAND, sqn, amf)
    result = c.authenticate(RAND, autn)
    res, ck, ik, _ak = milenage.Milenage(K, OPC).f2345(RAND)
    assert (result.res, result.ck, result.ik) == (Secret(res), Secret(ck), Secret(ik))
    assert res.hex() not in repr(result) and ck.hex() not in repr(result)  # a secret type
    again = c.authenticate(RAND, autn)  # the same SQN twice: synchronisation failure
    assert again.sync_failure and len(again.auts) == 14


@pytest.mark.parametrize("raw", ["", "DB", "DB08A5", "DC0E00", "9F00"])
def test_malformed_authenticate_responses_are_decode_errors(raw):
    with pytest.raises(DecodeError):
        parse_auth_response(bytes.fromhex(raw))


def test_read_msisdn_needs_pin1_and_then_reads_the_own_number():
    from simtool.info import read_msisdn

    c, _ = card()
    assert read_msisdn(c) is None  # PIN1 enabled and not verified: 69 82
    c.verify_pin(PIN1, encode_pin(Secret("1234")))
    assert read_msisdn(c) == "+48531234567"


# --- PIN counters (TS 102 221 §11.1.9, §11.1.13): the card's, not the channel's ---------------

PIN_TRIES = [
    (0x01, False, 0x00, "00200001", "63C3", 3),
    (0x01, True, 0x00, "002C0001", "63CA", 10),
    (0x81, False, 0x00, "00200081", "63C2", 2),
    (0x0A, False, 0x00, "0020000A", "63C0", 0),
    (0x01, False, 0x00, "00200001", "9000", None),  # disabled or already verified
    (0x01, False, 0x00, "00200001", "6983", 0),  # blocked
    (0x01, False, 0xA0, "A0200001", "9840", 0),  # GSM: CHV blocked
]


@pytest.mark.parametrize("ref, puk, cla, command, sw, tries", PIN_TRIES)
def test_pin_tries_queries_without_data_in_the_cards_class(ref, puk, cla, command, sw, tries):
    c, double = scripted([(command, sw)], cla=cla)
    assert (c.puk_tries(ref) if puk else c.pin_tries(ref)) == tries
    assert double.script == []


def test_the_default_class_is_the_uicc_one():
    c, _ = scripted([("0020000A", "63C3")])
    assert c.cla == 0x00 and not c.gsm
    assert c.pin_tries(ADM1) == 3


def test_pin_tries_names_the_query_and_the_cards_status_word():
    c, _ = scripted([("00200099", "6A88")])
    with pytest.raises(CardError, match="6A88 referenced data not found"):
        c.pin_tries(0x99)
    c, _ = scripted([("00200081", "6A82")])
    with pytest.raises(FileNotFound) as info:
        c.pin_tries(0x81)
    assert info.value.sw == 0x6A82
    assert str(info.value) == f"VERIFY PIN counter query (P2 81): 6A82 {describe(0x6A82)}"


# --- a card without a USIM: NotSupported, with the status word the card sent or none -----------

USIM_AID = "A0000000871002FFFFFFFF8907090000"
SELECT_MF = ("00A4000C023F00", "9000")
EF_DIR_FCP = "621782054221002001" "83022F00" "8A0105" "8B032F0601" "80020020"
SELECT_EF_DIR = ("00A40004022F0000", EF_DIR_FCP + "9000")


def dir_record(aid: str) -> str:
    """An EF.DIR record (TS 102 221 §13.1): application template 61 with the AID (4F)."""
    body = "4F" + f"{len(aid) // 2:02X}" + aid
    return ("61" + f"{len(body) // 2:02X}" + body).ljust(64, "F")


@pytest.mark.parametrize("tracked", [False, True])
def test_a_gsm_sim_is_asked_for_no_application_and_says_not_supported(tracked):
    """CLA A0 (TS 51.011) has no SELECT by AID: nothing is sent, no status word is made up."""
    c, wire = card(cla=0xA0)
    if tracked:
        c = TrackedCard.of(c)
    for call in (c.select_usim, lambda: c.select_aid(bytes.fromhex(USIM_AID))):
        with pytest.raises(NotSupported) as info:
            call()
        assert info.value.sw is None and info.value.exit_code == 1
        assert "GSM SIM (CLA A0)" in str(info.value)
    assert wire.count == 0


@pytest.mark.parametrize("refusal", ["6A81", "6D00", "6E00"])
def test_a_refused_select_by_aid_is_not_supported_with_the_cards_status_word(refusal):
    aid = bytes.fromhex(USIM_AID)
    c, _ = scripted([(f"00A4040410{USIM_AID}00", refusal)])
    with pytest.raises(NotSupported) as info:
        c.select_aid(aid)
    assert info.value.sw == int(refusal, 16)
    assert str(info.value) == f"SELECT AID {USIM_AID}: {refusal} {describe(int(refusal, 16))}"
    # the same through select_usim: EF.DIR names the USIM, the card refuses to select it
    c, double = scripted([SELECT_MF, SELECT_EF_DIR, ("00B2010420", dir_record(USIM_AID) + "9000"),
                          (f"00A4040410{USIM_AID}00", refusal)])
    with pytest.raises(NotSupported) as info:
        c.select_usim()
    assert info.value.sw == int(refusal, 16) and double.script == []


def test_a_tracked_card_refusing_partial_aids_falls_back_to_ef_dir():
    c, double = scripted([("00A4040407A000000087100200", "6A81"), SELECT_MF, SELECT_EF_DIR,
                          ("00B2010420", dir_record(USIM_AID) + "9000"),
                          (f"00A4040410{USIM_AID}00", "6A81")], kind=TrackedCard)
    with pytest.raises(NotSupported) as info:
        c.select_usim()
    assert info.value.sw == 0x6A81 and double.script == []


def test_no_ef_dir_is_not_supported_with_the_cards_6a82():
    c, _ = scripted([SELECT_MF, ("00A40004022F0000", "6A82")])
    with pytest.raises(NotSupported) as info:
        c.select_usim()
    assert info.value.sw == 0x6A82
    assert str(info.value).startswith("SELECT 2F00: 6A82 no EF.DIR")


def test_an_ef_dir_without_a_usim_is_not_supported_with_no_status_word():
    """Every answer was 9000: the error carries no status word (it used to invent 6A82)."""
    isim = "A0000000871004FFFFFFFF8907090000"
    c, _ = scripted([SELECT_MF, SELECT_EF_DIR, ("00B2010420", dir_record(isim) + "9000")])
    with pytest.raises(NotSupported) as info:
        c.select_usim()
    assert info.value.sw is None
    assert str(info.value) == "EF.DIR: no USIM application listed in EF.DIR"


def test_the_virtual_card_without_its_usim_record_says_not_supported():
    c, _ = card()
    c.verify_adm(ADM1, encode_adm(Secret("11223344"))[0], min_tries=2)
    c.select_path([0x2F00])
    for n in (1, 2):
        c.update_record(n, b"\xff" * 32)
    with pytest.raises(NotSupported) as info:
        Card(c.channel).select_usim()
    assert info.value.sw is None


def test_info_shows_the_isim_identities_once_pin1_is_verified():
    c, _ = card()
    info = read_card_info(c)
    assert info.ims is not None and info.ims.impi is None
    assert "IMPI, IMPU and IMS domain need PIN1" in info.notes
    c.verify_pin(PIN1, encode_pin(Secret("1234")))
    info = read_card_info(c)
    domain = "ims.mnc001.mcc260.3gppnetwork.org"          # TS 23.003 §13.2 for 260-01
    assert (info.ims.impi, info.ims.impu, info.ims.domain) == (
        f"260011234567890@{domain}", f"sip:+48531234567@{domain}", domain)
    assert f"IMPU       sip:+48531234567@{domain}" in info.render()
    assert info.to_json()["ims"]["domain"] == domain
    # PIN2 is still counted in the USIM: info selected it again after the ISIM
    assert {x.name: x.tries_left for x in info.counters}["PIN2"] == 3
