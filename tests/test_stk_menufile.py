"""EF.MENU: the menu as card data (simtool.stk.menufile), byte layout and round trips."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simtool.errors import DecodeError, EncodeError
from simtool.stk.menu import (INPUT_FORMATS, Call, CallBack, Explain, InputField, Menu, MenuItem,
                              Ss, Submenu, Template, Ussd, load_named_menu)
from simtool.stk.menufile import (EF_MENU_SIZE, HEADER_MAX, decode_menu_file, encode_menu,
                                  encode_menu_file, header_length, stored_length, update_apdus)

# (menu, EF content) pairs written out by hand from the format in the module docstring.
EXAMPLES = [
    (Menu("Milo", (MenuItem(1, "Stan", Ussd("*108#"), "Kod"),)),
     "E120" "800101" "81044D696C6F"
     "A315" "800101" "810453746" "16E" "82034B6F64" "90052A31303823"),
    # "Mój" is no GSM text: the UCS2 81 form (TS 102 221 Annex A), base 0080, ó = 80|73
    (Menu("Mój", (MenuItem(2, "Poczta", Ss("#21#")),
                  MenuItem(3, "Info", Submenu((MenuItem(1, "Numer", Call("+48123")),))))),
     "E13F" "800101" "8106810301" "4DF36A"
     "A311" "800102" "8106506F637A7461" "910423323123"
     "A31F" "800103" "8104496E666F"
     "B614" "A312" "800101" "81054E756D6572" "92062B3438313233"),
    (Menu("T", (MenuItem(1, "Budzik", Template("ussd", "*55*{t}#", (
        InputField("t", "Godzina", 4, 4, "hhmm", "GGMM", "0630"),))),),
          CallBack("*104*{number}#", "A", "N")),
     "E1" "61" "800101" "810154"
     "A218" "80" "10" "2A3130342A1B286E756D6265721B2923" "810141" "82014E"
     "A33F" "800101" "81064275647A696B"
     "B432" "800101" "810A" "2A35352A1B28741B2923"
     "A521" "800174" "8107476F647A696E61" "820104" "830104" "840102"
     "850447474D4D" "860430363330"),
]


@pytest.mark.parametrize("menu,hexdata", EXAMPLES)
def test_examples_both_ways(menu, hexdata):
    data = bytes.fromhex(hexdata)
    assert encode_menu(menu, digest=False).hex().upper() == data.hex().upper()
    assert decode_menu_file(data + b"\xff" * 40) == menu


def test_the_digest_names_the_content_and_sits_in_the_header():
    """8F 10 + SHA-256(the rest of the E1 value)[:16] right after the version, computed here
    with hashlib over the hand-written example."""
    menu, hexdata = EXAMPLES[0]
    plain = bytes.fromhex(hexdata)
    rest = plain[5:]                                      # after E1 20, 80 01 01
    digest = hashlib.sha256(rest).digest()[:16]
    want = bytes.fromhex("E132" "800101" "8F10") + digest + rest
    assert encode_menu(menu) == want
    assert header_length(want) == 2 + 3 + 18
    assert stored_length(want[:HEADER_MAX]) == len(want)
    assert decode_menu_file(want + b"\xff" * 8) == menu
    torn = want[:-3] + b"\x31\x30\x39"                  # *108# → *109#, header kept
    with pytest.raises(DecodeError, match="digest"):
        decode_menu_file(torn)


def test_update_apdus_write_the_header_last():
    menu = load_named_menu("milo")
    apdus = update_apdus(menu)
    content = encode_menu_file(menu)
    head = header_length(content)
    assert apdus[0].ins == 0xA4 and apdus[-1].ins == 0xD6
    assert (apdus[-1].p1, apdus[-1].p2, apdus[-1].data) == (0, 0, content[:head])
    assert apdus[1].p1 << 8 | apdus[1].p2 == head
    written = bytearray(len(content))
    for a in apdus[1:]:
        at = a.p1 << 8 | a.p2
        written[at:at + len(a.data)] = a.data
    assert bytes(written) == content


@pytest.mark.parametrize("name", ["milo", "citysat"])
def test_provisioning_menus_round_trip_through_the_ef(name):
    menu = load_named_menu(name)
    content = encode_menu_file(menu)
    assert len(content) == EF_MENU_SIZE
    assert decode_menu_file(content) == menu


def test_an_erased_file_holds_no_menu():
    assert decode_menu_file(b"\xff" * 64) is None


def test_a_menu_too_large_for_the_file_is_refused():
    with pytest.raises(EncodeError, match="EF.MENU holds 32"):
        encode_menu_file(EXAMPLES[0][0], 32)


@pytest.mark.parametrize("hexdata,message", [
    ("E003800101", "not E1"),
    ("E103800102", "must start with version"),
    ("E106800102810141", "version 02 unknown"),
    ("E108800101810141A300", "needs exactly one action|must be one byte"),
    ("E10D800101810141A305800101" "9000", "tag 81 missing|is empty"),
    ("E110800101810141A30A8001018101419001", "EF.MENU"),
    ("E106800101810141" "00AA", "FF padding"),
    ("E10D800101810141A305800101" "9200", "tag 81 missing|is empty"),
])
def test_malformed_files_are_refused_naming_the_object(hexdata, message):
    with pytest.raises(DecodeError, match=message):
        decode_menu_file(bytes.fromhex(hexdata))


# --- property: decode(encode(menu)) == menu -------------------------------------------------

_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFFFD,
                              blacklist_categories=("Cs",)), min_size=1, max_size=12)
_byte = st.integers(0, 255)
_input = st.builds(InputField, _text, _text, _byte, _byte, st.sampled_from(INPUT_FORMATS),
                   st.none() | _text, st.none() | _text)
_leaf = st.one_of(st.builds(Ussd, _text), st.builds(Ss, _text), st.builds(Call, _text),
                  st.builds(Explain, _text),
                  st.builds(Template, st.sampled_from(("ss", "ussd")), _text,
                            st.lists(_input, max_size=2).map(tuple)))


def _items(actions):
    return st.lists(st.builds(MenuItem, st.integers(1, 255), _text, actions,
                              st.none() | _text), min_size=1, max_size=3).map(tuple)


_actions = st.recursive(_leaf, lambda inner: st.builds(Submenu, _items(inner)), max_leaves=6)
_menus = st.builds(Menu, _text, _items(_actions),
                   st.none() | st.builds(CallBack, _text, _text, _text))


@settings(max_examples=200, deadline=None)
@given(_menus)
def test_round_trip(menu):
    assert decode_menu_file(encode_menu(menu)) == menu
