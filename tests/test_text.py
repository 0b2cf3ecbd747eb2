"""simtool.text: GSM 7-bit alphabet, SMS packing, UCS2 alpha forms, STK text strings."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.errors import DecodeError, EncodeError
from simtool.text import (
    GSM_DEFAULT,
    GSM_EXTENSION,
    Alphabet,
    dcs_alphabet,
    decode_alpha,
    decode_gsm7,
    decode_text_string,
    encode_alpha,
    encode_alpha_form,
    encode_gsm7,
    encode_text_string,
    gsm7_pack,
    gsm7_unpack,
    is_gsm7,
)

VECTORS = tomllib.loads((Path(__file__).parent / "vectors" / "text.toml").read_text("utf-8"))
POLISH = "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ"


def _ids(rows):
    return [repr(r["text"]) for r in rows]


# --- worked examples, both ways -----------------------------------------------------------------


@pytest.mark.parametrize("row", VECTORS["alpha"], ids=_ids(VECTORS["alpha"]))
def test_alpha_vectors(row):
    raw = bytes.fromhex(row["hex"])
    assert encode_alpha(row["text"]) == raw
    assert decode_alpha(raw) == row["text"]


@pytest.mark.parametrize("row", VECTORS["alpha_form"], ids=_ids(VECTORS["alpha_form"]))
def test_alpha_form_vectors(row):
    raw = bytes.fromhex(row["hex"])
    assert encode_alpha_form(row["text"], row["form"]) == raw
    assert decode_alpha(raw) == row["text"]


@pytest.mark.parametrize("row", VECTORS["alpha_padded"], ids=_ids(VECTORS["alpha_padded"]))
def test_alpha_decodes_with_ff_padding(row):
    assert decode_alpha(bytes.fromhex(row["hex"])) == row["text"]


@pytest.mark.parametrize("row", VECTORS["packed"], ids=_ids(VECTORS["packed"]))
def test_packing_vectors(row):
    raw = bytes.fromhex(row["hex"])
    septets = encode_gsm7(row["text"])
    assert gsm7_pack(septets) == raw
    assert decode_gsm7(gsm7_unpack(raw, len(septets))) == row["text"]


@pytest.mark.parametrize("row", VECTORS["text_string"], ids=_ids(VECTORS["text_string"]))
def test_text_string_vectors(row):
    raw = bytes.fromhex(row["hex"])
    assert encode_text_string(row["text"], packed=row["packed"]) == (row["dcs"], raw)
    assert decode_text_string(row["dcs"], raw) == row["text"]


# --- the alphabet tables ------------------------------------------------------------------------

# sim-facts §4.1: characters whose GSM value differs from ASCII (TS 23.038 §6.2.1, §6.2.1.1)
SEPTETS = {"@": "00", "$": "02", "_": "11", "ä": "7B", "ö": "7C", "ñ": "7D", "ü": "7E",
           "à": "7F", "Ä": "5B", "Ö": "5C", "Ñ": "5D", "Ü": "5E", "§": "5F", "¡": "40",
           "¿": "60", "^": "1B14", "{": "1B28", "}": "1B29", "\\": "1B2F", "[": "1B3C",
           "~": "1B3D", "]": "1B3E", "|": "1B40", "€": "1B65", "\n": "0A", "\r": "0D",
           "A": "41", "z": "7A", "0": "30", " ": "20"}


@pytest.mark.parametrize("char,hexcode", SEPTETS.items())
def test_gsm_septets(char, hexcode):
    assert encode_gsm7(char) == bytes.fromhex(hexcode)
    assert decode_gsm7(bytes.fromhex(hexcode)) == char


def test_tables_have_the_spec_sizes():
    assert len(GSM_DEFAULT) == 127  # 128 codes, 1B is the escape
    assert len(GSM_EXTENSION) == 10  # FF, ^ { } \ [ ~ ] | €


@pytest.mark.parametrize("char", list(POLISH))
def test_polish_letters_are_not_gsm(char):
    assert not is_gsm7(char)
    with pytest.raises(EncodeError, match="not in the GSM 7-bit default alphabet"):
        encode_gsm7(char)


def test_unknown_escape_shows_the_default_character():
    # TS 23.038 §6.2.1.1: an undefined extension code displays the default-table character
    assert decode_gsm7(bytes.fromhex("1B41")) == "A"
    assert decode_gsm7(bytes.fromhex("411B")) == "A "


def test_decode_gsm7_rejects_8bit_bytes():
    with pytest.raises(DecodeError):
        decode_gsm7(b"\x41\x80")


# --- choices made by encode_alpha -------------------------------------------------------------


def test_polish_text_uses_ucs2_and_round_trips():
    for text in (POLISH, "Zażółć gęślą jaźń", "Doładowanie konta", "ŻÓŁW"):
        raw = encode_alpha(text)
        assert raw[0] in (0x80, 0x81, 0x82)
        assert decode_alpha(raw) == text


def test_shortest_form_is_chosen():
    assert encode_alpha("ł")[0] == 0x80  # 3 bytes vs 4 for 81
    assert encode_alpha("łł")[0] == 0x80  # 5 bytes each: tie goes to 80
    assert encode_alpha("łłł")[0] == 0x81  # 6 < 7
    # span U+017F..U+0180 crosses a 128 boundary: 81 impossible, 82 with base 017F
    assert encode_alpha("ſƀſƀ") == bytes.fromhex("8204017F80818081")


def test_max_len_error_names_text_and_limit():
    with pytest.raises(EncodeError) as exc:
        encode_alpha("Doładowanie konta", max_len=16)
    message = str(exc.value)
    assert "Doładowanie konta" in message and "16-byte" in message
    assert encode_alpha("Play", max_len=4) == b"Play"


def test_characters_outside_ucs2_are_refused():
    with pytest.raises(EncodeError, match="UCS2"):
        encode_alpha("ok 😀")


@pytest.mark.parametrize("raw", ["81", "8105021234", "8204017F", "AABB", "C0"])
def test_malformed_alpha_raises_decode_error(raw):
    with pytest.raises(DecodeError):
        decode_alpha(bytes.fromhex(raw))


# --- packing and the CR rule (TS 23.038 §6.1.2.3.1) ------------------------------------------


def test_cr_padding_fills_seven_spare_bits():
    septets = encode_gsm7("1234567")  # 7 septets = 49 bits -> 7 spare bits in octet 7
    plain = gsm7_pack(septets)
    padded = gsm7_pack(septets, cr_padding=True)
    assert len(plain) == len(padded) == 7
    assert plain[-1] >> 1 == 0 and padded[-1] >> 1 == 0x0D
    assert gsm7_unpack(plain) == septets + b"\x00"  # zero bits read back as '@'
    assert gsm7_unpack(padded, cr_padding=True) == septets


def test_wanted_cr_on_octet_boundary_gets_a_second_cr():
    septets = encode_gsm7("1234567\r")  # 8 septets end on an octet boundary with CR
    packed = gsm7_pack(septets, cr_padding=True)
    assert len(packed) == 8  # 9 septets: <CR><CR>, receiver performs CR twice
    assert gsm7_unpack(packed, cr_padding=True) == septets + b"\r"


def test_unpack_count_beyond_data_is_an_error():
    with pytest.raises(DecodeError):
        gsm7_unpack(b"\x41", 2)


@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)))
def test_pack_unpack_round_trip(septets):
    assert gsm7_unpack(gsm7_pack(septets), len(septets)) == septets


@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)))
def test_cr_padded_round_trip(septets):
    out = gsm7_unpack(gsm7_pack(septets, cr_padding=True), cr_padding=True)
    if len(septets) % 8 == 0 and septets.endswith(b"\r"):
        assert out == septets + b"\r"  # the spec's accepted <CR><CR>
    else:
        assert out == septets


# --- data coding schemes ------------------------------------------------------------------------

DCS_TABLE = [
    (0x00, False, Alphabet.GSM7_PACKED), (0x04, False, Alphabet.GSM8),
    (0x08, False, Alphabet.UCS2), (0x0C, False, Alphabet.GSM7_PACKED),  # reserved -> GSM
    (0x0F, False, Alphabet.GSM7_PACKED), (0x11, False, Alphabet.GSM7_PACKED),
    (0x18, False, Alphabet.UCS2), (0x48, False, Alphabet.UCS2), (0xC0, False, Alphabet.GSM7_PACKED),
    (0xE0, False, Alphabet.UCS2), (0xF0, False, Alphabet.GSM7_PACKED), (0xF4, False, Alphabet.GSM8),
    (0x0F, True, Alphabet.GSM7_PACKED), (0x00, True, Alphabet.GSM7_PACKED),
    (0x08, True, Alphabet.GSM7_PACKED),  # CBS group 0000: a language (Portuguese), GSM 7-bit
    (0x10, True, Alphabet.GSM7_PACKED), (0x11, True, Alphabet.UCS2),
    (0x44, True, Alphabet.GSM8), (0x48, True, Alphabet.UCS2), (0x94, True, Alphabet.GSM8),
    (0xF4, True, Alphabet.GSM8), (0x80, True, Alphabet.GSM7_PACKED),
]


@pytest.mark.parametrize("dcs,cbs,alphabet", DCS_TABLE)
def test_dcs_alphabet(dcs, cbs, alphabet):
    assert dcs_alphabet(dcs, cbs=cbs) is alphabet


@pytest.mark.parametrize("dcs,cbs", [(0x20, False), (0x60, True)])
def test_compressed_text_is_refused(dcs, cbs):
    with pytest.raises(DecodeError, match="compressed"):
        dcs_alphabet(dcs, cbs=cbs)


def test_ussd_string_with_cbs_dcs_0f():
    assert decode_text_string(0x0F, bytes.fromhex("AA180C3602"), cbs=True) == "*100#"


def test_cbs_language_prefixes_are_removed():
    gsm = gsm7_pack(encode_gsm7("pl\rSaldo"))
    assert decode_text_string(0x10, gsm, cbs=True) == "Saldo"
    ucs2 = gsm7_pack(encode_gsm7("pl")) + "Łódź".encode("utf-16-be")
    assert decode_text_string(0x11, ucs2, cbs=True) == "Łódź"


def test_text_string_limit_and_odd_ucs2():
    with pytest.raises(EncodeError, match="Saldo konta"):
        encode_text_string("Saldo konta", max_len=10)
    with pytest.raises(DecodeError):
        decode_text_string(0x08, b"\x00\x41\x00")


# --- property tests ---------------------------------------------------------------------------

gsm_text = st.text(alphabet=st.sampled_from(sorted(set(GSM_DEFAULT.values()) |
                                                   set(GSM_EXTENSION.values()))), max_size=80)
bmp_text = st.text(alphabet=st.characters(max_codepoint=0xFFFE, exclude_categories=("Cs",)),
                   max_size=60)
polish_text = st.text(alphabet=st.sampled_from(POLISH + "abc XYZ019.,-"), max_size=60)


@given(gsm_text)
def test_gsm7_round_trip(text):
    assert decode_gsm7(encode_gsm7(text)) == text
    assert decode_alpha(encode_alpha(text)) == text


@given(st.one_of(bmp_text, polish_text))
def test_alpha_round_trip_and_shortest(text):
    raw = encode_alpha(text)
    assert decode_alpha(raw) == text
    assert decode_alpha(raw + b"\xff" * 5) == text
    if not is_gsm7(text):
        for form in (0x80, 0x81, 0x82):
            try:
                other = encode_alpha_form(text, form)
            except EncodeError:
                continue
            assert decode_alpha(other) == text
            assert len(raw) <= len(other)


@given(st.one_of(gsm_text, bmp_text), st.booleans())
def test_text_string_round_trip(text, packed):
    dcs, data = encode_text_string(text, packed=packed)
    decoded = decode_text_string(dcs, data)
    if packed and is_gsm7(text) and len(encode_gsm7(text)) % 8 == 0 and text.endswith("\r"):
        assert decoded == text + "\r"
    else:
        assert decoded == text


@given(st.binary(max_size=40))
def test_decode_alpha_only_raises_decode_error(raw):
    try:
        decode_alpha(raw)
    except DecodeError:
        pass


def test_ucs2_surrogate_pairs_decode_to_one_character():
    assert decode_text_string(0x08, "😀a".encode("utf-16-be")) == "😀a"
    assert decode_alpha(b"\x80" + "😀".encode("utf-16-be") + b"\xff\xff") == "😀"


def test_pack_refuses_an_octet_that_is_not_a_septet():
    for bad in (b"\x80", b"\x41\x81"):
        with pytest.raises(EncodeError) as info:
            gsm7_pack(bad)
        assert str(info.value) == "septets must be 00..7F"


def test_unpack_keeps_a_final_cr_unless_asked_and_names_a_bad_count():
    # 8 septets "ABCDEFG" + <CR> fill 7 octets exactly: the CR is data unless cr_padding
    packed = gsm7_pack(b"ABCDEFG\r")
    assert gsm7_unpack(packed) == b"ABCDEFG\r"
    assert gsm7_unpack(packed, cr_padding=True) == b"ABCDEFG"
    with pytest.raises(DecodeError) as info:
        gsm7_unpack(b"\x00\x00", 3)
    assert str(info.value) == "2 packed octets hold at most 2 septets, not 3"
