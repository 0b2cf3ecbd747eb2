"""BER-TLV and COMPREHENSION-TLV: sim-facts §5 worked examples, length forms, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.tlv import (
    ComprehensionTlv,
    Tlv,
    ber_decode,
    ber_decode_all,
    ber_encode,
    ctlv_decode,
    ctlv_decode_all,
    ctlv_encode,
    decode_length,
    encode_length,
)
from simtool.errors import DecodeError, EncodeError


def h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- lengths (TS 101 220 §7.1.2, sim-facts §5.3) ---------------------------------------------

LENGTHS = [(0, "00"), (5, "05"), (127, "7F"), (128, "8180"), (255, "81FF"), (256, "820100"),
           (65535, "82FFFF")]


@pytest.mark.parametrize("n, hex_", LENGTHS)
def test_length_forms(n, hex_):
    assert encode_length(n) == h(hex_)
    assert decode_length(h("AA" + hex_), 1) == (n, 1 + len(h(hex_)))


@pytest.mark.parametrize("hex_, n, end", [("8105", 5, 2), ("820005", 5, 3), ("820080", 128, 3)])
def test_non_minimal_lengths_are_accepted_on_decode(hex_, n, end):
    assert decode_length(h(hex_), 0) == (n, end)


@pytest.mark.parametrize("hex_", ["", "80", "83010000", "84", "FF", "81", "8201"])
def test_bad_length_fields(hex_):
    with pytest.raises(DecodeError):
        decode_length(h(hex_), 0)


@pytest.mark.parametrize("n", [-1, 65536, 1.0, None])
def test_unencodable_lengths(n):
    with pytest.raises(EncodeError):
        encode_length(n)


# --- SIM Toolkit worked examples (sim-facts §5.9–§5.12) -----------------------------------------

SET_UP_MENU = (
    "D0 2E 81 03 01 25 00 82 02 81 82 85 04 4D 65 6E 75 8F 0C 01 53 61 6C 64 6F 20 6B 6F 6E 74 "
    "61 8F 0F 02 81 0B 02 44 6F C2 61 64 6F 77 61 6E 69 65"
)
MENU_SELECTION = "D3 07 82 02 01 81 90 01 02"
SEND_USSD = (
    "D0 1F 81 03 01 12 00 82 02 81 83 85 0C 53 70 72 61 77 64 7A 61 6D 2E 2E 2E "
    "8A 06 0F AA 18 0C 37 02"
)

# (outer BER tag, full hex, the COMPREHENSION-TLV objects inside)
BER_CTLV_EXAMPLES = [
    (
        0xD0,
        SET_UP_MENU,
        [
            ComprehensionTlv(0x01, h("012500"), cr=True),  # command details: SET UP MENU
            ComprehensionTlv(0x02, h("8182"), cr=True),  # device ids: UICC → terminal
            ComprehensionTlv(0x05, b"Menu", cr=True),  # alpha identifier
            ComprehensionTlv(0x0F, b"\x01Saldo konta", cr=True),  # item 1
            ComprehensionTlv(0x0F, h("02 81 0B 02 44 6F C2 61 64 6F 77 61 6E 69 65"),
                             cr=True),  # item 2, UCS2 81 form
        ],
    ),
    (
        0xD3,
        MENU_SELECTION,
        [
            ComprehensionTlv(0x02, h("0181"), cr=True),  # keypad → UICC
            ComprehensionTlv(0x10, h("02"), cr=True),  # item identifier 2
        ],
    ),
    (
        0xD0,
        SEND_USSD,
        [
            ComprehensionTlv(0x01, h("011200"), cr=True),
            ComprehensionTlv(0x02, h("8183"), cr=True),
            ComprehensionTlv(0x05, b"Sprawdzam...", cr=True),
            ComprehensionTlv(0x0A, h("0FAA180C3702"), cr=True),  # DCS 0F + packed "*108#"
        ],
    ),
]


@pytest.mark.parametrize("tag, hex_, objects", BER_CTLV_EXAMPLES)
def test_toolkit_examples_decode_to_the_listed_objects(tag, hex_, objects):
    raw = h(hex_)
    outer, rest = ber_decode(raw)
    assert rest == b""
    assert outer.tag == tag
    assert ctlv_decode_all(outer.value) == objects
    # and back, byte for byte
    assert ber_encode(tag, b"".join(ctlv_encode(o) for o in objects)) == raw


# TERMINAL RESPONSE bodies (no outer tag), sim-facts §5.9 and §5.12
TERMINAL_RESPONSES = [
    (
        "81 03 01 25 00 82 02 82 81 83 01 00",
        [ComprehensionTlv(1, h("012500"), True), ComprehensionTlv(2, h("8281"), True),
         ComprehensionTlv(3, h("00"), True)],
    ),
    (
        "81 03 01 12 00 82 02 82 81 83 01 00 8D 10 04 53 61 6C 64 6F 3A 20 31 32 2C 35 30 20 7A 6C",
        [ComprehensionTlv(1, h("011200"), True), ComprehensionTlv(2, h("8281"), True),
         ComprehensionTlv(3, h("00"), True), ComprehensionTlv(0x0D, b"\x04Saldo: 12,50 zl", True)],
    ),
    (
        "81 03 01 12 00 82 02 82 81 83 01 00 8D 0F 00 D3 30 9B FC D6 81 62 32 56 0D 06 D2 B3 01",
        [ComprehensionTlv(1, h("011200"), True), ComprehensionTlv(2, h("8281"), True),
         ComprehensionTlv(3, h("00"), True),
         ComprehensionTlv(0x0D, h("00D3309BFCD6816232560D06D2B301"), True)],
    ),
]


@pytest.mark.parametrize("hex_, objects", TERMINAL_RESPONSES)
def test_terminal_response_bodies(hex_, objects):
    raw = h(hex_)
    assert ctlv_decode_all(raw) == objects
    assert b"".join(o.to_bytes() for o in objects) == raw


# --- BER-TLV structure ------------------------------------------------------------------------

BER_EXAMPLES = [
    (Tlv(0x62, h("8202782183023F00")), "62 08 82 02 78 21 83 02 3F 00"),  # FCP template
    (Tlv(0x5F2D, b"en"), "5F 2D 02 65 6E"),  # 2-byte tag
    (Tlv(0xBF30, b""), "BF 30 00"),  # 2-byte constructed tag, empty value
    (Tlv(0xD0, bytes(128)), "D0 81 80" + "00" * 128),  # 81 xx length
    (Tlv(0x53, bytes(300)), "53 82 01 2C" + "00" * 300),  # 82 xx xx length
]


@pytest.mark.parametrize("obj, hex_", BER_EXAMPLES)
def test_ber_examples_both_ways(obj, hex_):
    raw = h(hex_)
    assert obj.to_bytes() == raw
    assert ber_decode(raw) == (obj, b"")


def test_constructed_flag():
    assert Tlv(0x62, b"").constructed and Tlv(0xBF30, b"").constructed
    assert not Tlv(0x82, b"").constructed and not Tlv(0x5F2D, b"").constructed


def test_ber_decode_returns_the_rest():
    assert ber_decode(h("8A 01 05 FF FF")) == (Tlv(0x8A, b"\x05"), b"\xff\xff")


def test_ber_decode_all_skips_padding_of_a_record():
    # EF.DIR record: application template 61 with AID 4F and label 50, padded with FF
    record = h("61 0C 4F 07 A0 00 00 00 87 10 02 50 01 55 FF FF FF")
    (app,) = ber_decode_all(record)
    assert app.tag == 0x61
    assert ber_decode_all(app.value) == [Tlv(0x4F, h("A0000000871002")), Tlv(0x50, b"U")]


def test_non_minimal_length_decodes_and_re_encodes_minimal():
    obj, _ = ber_decode(h("80 81 02 00 1A"))
    assert obj == Tlv(0x80, h("001A"))
    assert obj.to_bytes() == h("80 02 00 1A")


@pytest.mark.parametrize(
    "hex_, why",
    [
        ("", "no data"),
        ("62", "length field missing"),
        ("62 05 01 02", "runs past the end"),
        ("5F", "truncated"),
        ("5F 81 01 00", "longer than 2 bytes"),
        ("62 80 00 00", "indefinite"),
        ("62 83 00 00 01 00", "only 1..3-byte"),
        ("FF 01 00", "padding"),
    ],
)
def test_ber_decode_errors(hex_, why):
    with pytest.raises(DecodeError, match=why):
        ber_decode(h(hex_))


@pytest.mark.parametrize("tag", [0x00, 0x1F, 0x5F, 0xFF, 0xFF20, 0x5F80, 0x10000, -1])
def test_ber_encode_refuses_invalid_tags(tag):
    with pytest.raises(EncodeError):
        ber_encode(tag, b"")


# --- COMPREHENSION-TLV three-byte form (TS 101 220 §7.1.1) ------------------------------------

CTLV_EXAMPLES = [
    (ComprehensionTlv(0x7F, b"", cr=False), "7F 00 7F 00"),
    (ComprehensionTlv(0x1234, b"\xAA", cr=True), "7F 92 34 01 AA"),
    (ComprehensionTlv(0x0080, b"", cr=False), "7F 00 80 00"),
    (ComprehensionTlv(0x7E, b"", cr=True), "FE 00"),
    (ComprehensionTlv(0x2B, b"", cr=False), "2B 00"),  # immediate response, CR = 0
]


@pytest.mark.parametrize("obj, hex_", CTLV_EXAMPLES)
def test_ctlv_tag_forms(obj, hex_):
    assert ctlv_encode(obj) == h(hex_)
    assert ctlv_decode(h(hex_)) == (obj, b"")


def test_ctlv_three_byte_form_of_a_small_tag_is_accepted():
    assert ctlv_decode_all(h("7F 80 01 01 AA")) == [ComprehensionTlv(1, b"\xaa", cr=True)]
    assert ComprehensionTlv(1, b"\xaa", cr=True).to_bytes() == h("81 01 AA")


@pytest.mark.parametrize(
    "hex_, why",
    [
        ("00 00", "reserved"),
        ("80 00", "reserved"),
        ("FF 00", "reserved"),
        ("7F 00", "truncated"),
        ("7F 80 00 00", "0000"),
        ("81 03 01 25", "runs past the end"),
        ("81", "length field missing"),
    ],
)
def test_ctlv_decode_errors(hex_, why):
    with pytest.raises(DecodeError, match=why):
        ctlv_decode_all(h(hex_))


@pytest.mark.parametrize("tag", [0, 0x8000, -5])
def test_ctlv_encode_refuses_out_of_range_tags(tag):
    with pytest.raises(EncodeError):
        ctlv_encode(ComprehensionTlv(tag, b""))


# --- properties -----------------------------------------------------------------------------------

one_byte_tags = st.integers(1, 0xFE).filter(lambda t: t & 0x1F != 0x1F)
two_byte_tags = st.builds(lambda hi, lo: hi << 8 | lo,
                          st.sampled_from([b for b in range(0x1F, 0xFF) if b & 0x1F == 0x1F]),
                          st.integers(0, 0x7F))
ber_objects = st.builds(Tlv, one_byte_tags | two_byte_tags, st.binary(max_size=300))
ctlv_objects = st.builds(ComprehensionTlv, st.integers(1, 0x7FFF), st.binary(max_size=300),
                         st.booleans())


@given(st.lists(ber_objects, max_size=5))
def test_ber_round_trip(objects):
    raw = b"".join(o.to_bytes() for o in objects)
    assert ber_decode_all(raw) == objects


@given(st.lists(ctlv_objects, max_size=5))
def test_ctlv_round_trip(objects):
    raw = b"".join(ctlv_encode(o) for o in objects)
    assert ctlv_decode_all(raw) == objects


@given(st.integers(0, 0xFFFF))
def test_length_round_trip(n):
    field = encode_length(n)
    assert decode_length(field, 0) == (n, len(field))


@given(st.binary(max_size=64))
def test_decoders_raise_only_decode_error(raw):
    for decode in (ber_decode_all, ctlv_decode_all, ber_decode, ctlv_decode,
                   lambda d: decode_length(d, 0)):
        try:
            decode(raw)
        except DecodeError:
            pass


# --- each malformed input gets its own one-line reason -----------------------------------------

@pytest.mark.parametrize("call,message", [
    (lambda: encode_length(-1), "TLV length must be a non-negative int, got -1"),
    (lambda: encode_length(0x10000),
     "TLV length 65536 exceeds the 3-byte length field limit of 65535"),
    (lambda: ber_encode("84", b""), "BER-TLV tag must be an int, got '84'"),
    (lambda: ber_encode(0x1F, b""), "BER-TLV tag 1F announces a second tag byte (b5..b1 = 11111)"),
    (lambda: ber_encode(0xFF, b""), "BER-TLV tag FF announces a second tag byte (b5..b1 = 11111)"),
    (lambda: ber_encode(0x100, b""), "BER-TLV tag 0100 is not a valid 2-byte tag (first byte "
                                     "must end in 11111 and not be FF, second byte b8 = 0)"),
    (lambda: ber_encode(0xFFFF, b""), "BER-TLV tag FFFF is not a valid 2-byte tag (first byte "
                                      "must end in 11111 and not be FF, second byte b8 = 0)"),
    (lambda: ber_encode(0x10000, b""), "BER-TLV tag 65536 is not a 1- or 2-byte tag"),
    (lambda: ber_encode(0, b""), "BER-TLV tag 0 is not a 1- or 2-byte tag"),
    (lambda: ctlv_encode(ComprehensionTlv(0x8000, b"")),
     "COMPREHENSION-TLV tag 32768 is outside 0x01..0x7FFF"),
])
def test_encode_errors(call, message):
    with pytest.raises(EncodeError) as info:
        call()
    assert str(info.value) == message


@pytest.mark.parametrize("call,message", [
    (lambda: ber_decode(b""), "BER-TLV: no data"),
    (lambda: ctlv_decode(b""), "COMPREHENSION-TLV: no data"),
    # the 2-byte tag is complete, the length is what is missing
    (lambda: ber_decode(h("5F2D")), "TLV length field missing at offset 2"),
    (lambda: ber_decode(h("5F")), "BER-TLV 2-byte tag truncated at offset 0"),
    (lambda: ctlv_decode(h("7F0001")), "TLV length field missing at offset 3"),
    (lambda: ctlv_decode(h("7F00")), "COMPREHENSION-TLV 3-byte tag truncated at offset 0"),
    (lambda: ber_decode(h("8481")), "TLV length field 81 truncated at offset 1"),
    (lambda: ber_decode(h("848201")), "TLV length field 82 truncated at offset 1"),
    (lambda: ber_decode(h("8483000000")), "TLV length field 83 at offset 1: only 1..3-byte "
                                          "lengths (up to 82 xx xx) are supported"),
    (lambda: ber_decode(h("840301")),
     "BER-TLV 84 value of 3 bytes at offset 2 runs past the end (1 bytes left)"),
    (lambda: ctlv_decode(h("0503AABB")),
     "COMPREHENSION-TLV 05 value of 3 bytes at offset 2 runs past the end (2 bytes left)"),
])
def test_decode_errors(call, message):
    with pytest.raises(DecodeError) as info:
        call()
    assert str(info.value) == message


def test_padding_is_skipped_byte_by_byte_before_between_and_after():
    assert ber_decode_all(h("FF8400")) == [Tlv(0x84, b"")]
    assert ber_decode_all(h("008400")) == [Tlv(0x84, b"")]
    assert ber_decode_all(h("00FF840100FF8501AA00")) == [Tlv(0x84, b"\x00"), Tlv(0x85, b"\xaa")]
