"""Tier 2: the card model (simtool.card, simtool.info) against the in-process virtual card."""

from __future__ import annotations

import pytest

from simtool import milenage
from simtool.apdu.channel import Channel
from simtool.apdu.transport import CountingTransport, InProcessTransport
from simtool.card import ADM1, PIN1, Card, parse_auth_response
from simtool.ef import EfIccid, EfSpn
from simtool.errors import AdmTriesTooLow, DecodeError, SecurityNotSatisfied, WrongPin
from simtool.info import read_card_info
from simtool.pin import encode_adm, encode_pin
from simtool.secret import Secret
from tests.virtual_card import VirtualUicc

# 3GPP TS 35.208 test set 1: the virtual card's default Ki/OPc
RAND = bytes.fromhex("23553cbe9637a89d218ae64dae47bf35")
K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")


def card(cla: int = 0x00) -> tuple[Card, CountingTransport]:
    wire = CountingTransport(InProcessTransport(VirtualUicc.from_image(None)))
    return Card(Channel(wire, cla=cla)), wire


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
