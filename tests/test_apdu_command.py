"""CommandApdu / ResponseApdu: worked APDUs from the specs both ways, errors, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.errors import DecodeError, EncodeError

RAND = "23553cbe9637a89d218ae64dae47bf35"
AUTN = "55f328b43577b9b94a9ffac354dfafb3"

# (object, hex, case) — APDUs quoted in sim-facts §5, §8.3, §9 (TS 102 221 §11, TS 51.011 §9.2)
EXAMPLES = [
    # VERIFY PIN retry query, no data (TS 102 221 §11.1.9)
    (CommandApdu(0x00, 0x20, 0x00, 0x01), "00200001", 1),
    # UNBLOCK PIN retry query (TS 102 221 §11.1.13)
    (CommandApdu(0x00, 0x2C, 0x00, 0x01), "002C0001", 1),
    # FETCH after 91 30 (TS 102 221 §11.2.3, sim-facts §5.9)
    (CommandApdu(0x80, 0x12, 0x00, 0x00, le=0x30), "8012000030", 2),
    # GET RESPONSE of RUN GSM ALGORITHM (TS 51.011)
    (CommandApdu(0xA0, 0xC0, 0x00, 0x00, le=0x0C), "A0C000000C", 2),
    # READ BINARY of 256 bytes: Le = 00
    (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=256), "00B0000000", 2),
    # SELECT MF by FID, FCP returned (TS 102 221 §11.1.1)
    (CommandApdu(0x00, 0xA4, 0x00, 0x04, bytes.fromhex("3F00")), "00A40004023F00", 3),
    # VERIFY ADM1 with 8 ASCII digits (sim-facts §9.4)
    (
        CommandApdu(0x00, 0x20, 0x00, 0x0A, bytes.fromhex("3535353338343037")),
        "002000 0A 08 3535353338343037",
        3,
    ),
    # TERMINAL RESPONSE accepting SET UP MENU (sim-facts §5.9)
    (
        CommandApdu(0x80, 0x14, 0x00, 0x00, bytes.fromhex("810301250082028281830100")),
        "801400000C 810301250082028281830100",
        3,
    ),
    # ENVELOPE menu selection, item 2 (sim-facts §5.10)
    (
        CommandApdu(0x80, 0xC2, 0x00, 0x00, bytes.fromhex("D30782020181900102")),
        "80C2000009 D30782020181900102",
        3,
    ),
    # RUN GSM ALGORITHM (TS 51.011, sim-facts §8.3)
    (CommandApdu(0xA0, 0x88, 0x00, 0x00, bytes.fromhex(RAND)), "A088000010" + RAND, 3),
    # AUTHENTICATE 3G context with Le = 00 (3GPP TS 31.102 §7.1.2.1, sim-facts §8.3)
    (
        CommandApdu(0x00, 0x88, 0x00, 0x81, bytes.fromhex("10" + RAND + "10" + AUTN), 256),
        "0088008122 10" + RAND + "10" + AUTN + "00",
        4,
    ),
]


@pytest.mark.parametrize("apdu, hex_, case", EXAMPLES)
def test_worked_examples_both_ways(apdu, hex_, case):
    raw = bytes.fromhex(hex_)
    assert apdu.to_bytes() == raw
    assert CommandApdu.from_bytes(raw) == apdu
    assert apdu.case == case


def test_le_zero_is_sent_as_00_and_read_back_as_256():
    apdu = CommandApdu(0x00, 0xA4, 0x00, 0x04, b"\x3f\x00", le=0)
    assert apdu.to_bytes() == bytes.fromhex("00A40004023F0000")
    assert CommandApdu.from_bytes(apdu.to_bytes()).le == 256
    assert apdu.case == 4


@pytest.mark.parametrize(
    "apdu, limit",
    [
        (CommandApdu(0x00, 0xD6, 0x00, 0x00, bytes(256)), "255"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=257), "256"),
        (CommandApdu(0x00, 0xB0, 0x00, 0x00, le=-1), "256"),
        (CommandApdu(0x100, 0xB0, 0x00, 0x00), "0..255"),
        (CommandApdu(0x00, 0xB0, -1, 0x00), "0..255"),
    ],
)
def test_encode_refuses_what_a_short_apdu_cannot_carry(apdu, limit):
    with pytest.raises(EncodeError, match=limit):
        apdu.to_bytes()


@pytest.mark.parametrize(
    "hex_, why",
    [
        ("", "at least 4"),
        ("00A400", "at least 4"),
        ("00A40004023F", "inconsistent"),  # Lc 2, one data byte
        ("00A40004023F000000", "inconsistent"),  # Lc 2, two bytes too many
        ("00A4000400023F00", "extended"),  # Lc 00 then more bytes
    ],
)
def test_decode_rejects_inconsistent_lengths(hex_, why):
    with pytest.raises(DecodeError, match=why):
        CommandApdu.from_bytes(bytes.fromhex(hex_))


def test_str_is_spaced_hex():
    assert str(CommandApdu(0x00, 0xA4, 0x00, 0x04, b"\x3f\x00")) == "00 A4 00 04 02 3F 00"


commands = st.builds(
    CommandApdu,
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=255),
    st.none() | st.integers(1, 256),
)


@given(commands)
def test_command_round_trip(apdu):
    raw = apdu.to_bytes()
    assert CommandApdu.from_bytes(raw) == apdu
    assert len(raw) == 4 + (1 + len(apdu.data) if apdu.data else 0) + (apdu.le is not None)


@given(st.binary(max_size=300))
def test_command_decoder_raises_only_decode_error_and_is_canonical(raw):
    try:
        apdu = CommandApdu.from_bytes(raw)
    except DecodeError:
        return
    assert apdu.to_bytes() == raw


# --- ResponseApdu ----------------------------------------------------------------------------

RESPONSES = [
    (ResponseApdu(b"", 0x9000), "9000", 0x90, 0x00),
    (ResponseApdu(b"", 0x9130), "9130", 0x91, 0x30),
    (
        ResponseApdu(bytes.fromhex("DC0E") + bytes(14), 0x9000),
        "DC0E" + "00" * 14 + "9000",
        0x90,
        0x00,
    ),
    (ResponseApdu(bytes.fromhex("3F00"), 0x6282), "3F006282", 0x62, 0x82),
]


@pytest.mark.parametrize("resp, hex_, sw1, sw2", RESPONSES)
def test_response_examples(resp, hex_, sw1, sw2):
    assert resp.to_bytes() == bytes.fromhex(hex_)
    assert ResponseApdu.from_bytes(bytes.fromhex(hex_)) == resp
    assert (resp.sw1, resp.sw2) == (sw1, sw2)


@pytest.mark.parametrize("raw", [b"", b"\x90"])
def test_response_needs_two_bytes(raw):
    with pytest.raises(DecodeError, match="at least 2"):
        ResponseApdu.from_bytes(raw)


def test_response_with_bad_sw_does_not_encode():
    with pytest.raises(EncodeError):
        ResponseApdu(b"", 0x10000).to_bytes()
    with pytest.raises(EncodeError):
        ResponseApdu(b"", True).to_bytes()


def test_response_takes_the_status_word_table():
    from simtool.apdu.sw import SW

    assert ResponseApdu(b"\x01", SW.SECURITY_NOT_SATISFIED).to_bytes() == bytes.fromhex("016982")


@given(st.binary(max_size=258), st.integers(0, 0xFFFF))
def test_response_round_trip(data, sw):
    resp = ResponseApdu(data, sw)
    assert ResponseApdu.from_bytes(resp.to_bytes()) == resp
