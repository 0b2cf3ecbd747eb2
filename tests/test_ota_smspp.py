"""SMS-PP data download (TS 31.111 §7.1.1.2, TS 23.040, TS 31.115) with TS 102 225 packets.

The expected bytes are written field by field from the specifications (independent oracles);
the command packet is the osmocom pySim test vector of tests/test_ota_packet.py (3DES,
SJA5 sample keys).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.tlv import ber_decode
from simtool.errors import DecodeError, EncodeError
from simtool.ota import smspp
from simtool.ota.packet import (OtaKeyset, ResponsePacket, Spi, build_response_packet,
                                open_response_packet)
from simtool.ota.smspp import Address, Reassembler, SmsDeliver

h = bytes.fromhex
PACKET = h("00201506193535b00011ae733256918d050b87c94fbfe12e4dc402f262c41cf67f2f")
OA = Address("12345678")
SCTS = h("22705200000000")


def test_single_sms_byte_exact():
    (apdu,) = smspp.sms_pp_download(PACKET, OA, scts=SCTS)
    tpdu = (h("44")                      # TP-MTI SMS-DELIVER, TP-MMS no more, TP-UDHI
            + h("08" "81" "21436587")    # TP-OA: 8 digits, unknown ISDN, swapped BCD
            + h("7F" "F6") + SCTS        # TP-PID data download, TP-DCS class 2 8-bit, TP-SCTS
            + bytes((3 + len(PACKET),))  # TP-UDL
            + h("02" "70" "00") + PACKET)  # UDH: command packet identifier
    body = h("82028381") + h("8B") + bytes((len(tpdu),)) + tpdu
    assert apdu.to_bytes()[:5] == h("80C20000") + bytes((len(body) + 2,))
    assert apdu.data == h("D1") + bytes((len(body),)) + body
    assert smspp.parse_envelope(apdu.data).user_data == PACKET


def test_service_centre_address():
    (apdu,) = smspp.sms_pp_download(PACKET, OA, service_centre=Address("4912345", 0x91))
    tlv, _ = ber_decode(apdu.data)
    assert tlv.value.startswith(h("82028381" "0605" "91" "942143F5"))


def test_concatenated_messages():
    packet = bytes(range(256)) + bytes(100)  # 356 octets
    tpdus = smspp.command_tpdus(packet, OA, reference=0x42)
    assert [t.header for t in tpdus] == [
        ((0x00, h("420301")), (0x70, b"")), ((0x00, h("420302")),), ((0x00, h("420303")),)]
    assert [len(t.user_data) for t in tpdus] == [132, 134, 90]
    assert [t.more_messages for t in tpdus] == [True, True, False]
    first = tpdus[0].encode()
    assert first[0] == 0x40 and h("07" "000342" "0301" "7000") in first
    r = Reassembler()
    assert [r.add(SmsDeliver.decode(t.encode())) for t in tpdus] == [None, None, packet]


@given(st.binary(min_size=1, max_size=1500), st.integers(0, 255))
def test_split_and_reassemble(packet, ref):
    r = Reassembler()
    out = [r.add(smspp.parse_envelope(a.data))
           for a in smspp.sms_pp_download(packet, OA, reference=ref)]
    assert out[-1] == packet and all(x is None for x in out[:-1])
    assert all(len(a.data) <= 255 for a in smspp.sms_pp_download(packet, OA))


def test_por_in_the_response_data():
    raw = h("027100001c12b000118bb989492c632529326a2f4681feb37c825bc9021c9f6d0b")
    udh, packet = smspp.por_from_response(raw)
    assert udh == h("027100") and packet == raw[3:]
    por = ResponsePacket(h("B00011"), 1, 0, h("019000"))
    keys = OtaKeyset()
    spi = Spi(por_integrity=0, por_ciphering=False)
    data = smspp.response_data(build_response_packet(por, spi, keys))
    assert open_response_packet(smspp.por_from_response(data)[1], spi, keys) == por
    with pytest.raises(DecodeError, match="71"):
        smspp.por_from_response(h("027000") + packet)


def test_malformed():
    with pytest.raises(DecodeError, match="D1"):
        smspp.parse_envelope(h("D303820100"))
    with pytest.raises(DecodeError, match="TP-UDL"):
        SmsDeliver.decode(SmsDeliver(OA, b"abc").encode()[:-1])
    with pytest.raises(DecodeError, match="IEI 70"):
        Reassembler().add(SmsDeliver(OA, b"x"))
    with pytest.raises(EncodeError):
        SmsDeliver(OA, bytes(141)).encode()
    missing_70 = [SmsDeliver(OA, b"a", ((0, h("010201")),)), SmsDeliver(OA, b"b", ((0, h("010202")),))]
    r = Reassembler()
    r.add(missing_70[0])
    with pytest.raises(DecodeError, match="first part"):
        r.add(missing_70[1])


def test_dcs_must_be_8bit():
    seven_bit = SmsDeliver(OA, b"x", ((0x70, b""),), dcs=0x00).encode()
    with pytest.raises(DecodeError, match="8-bit"):
        SmsDeliver.decode(seven_bit)
    assert SmsDeliver.decode(SmsDeliver(OA, b"x", dcs=0x04).encode()).dcs == 0x04
