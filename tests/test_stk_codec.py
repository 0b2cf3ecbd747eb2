"""SIM Toolkit codecs: worked examples both ways, decoded meaning, round trips, malformed input.

Sources: sim-facts §4.3, §5.9-§5.12, §6, §7.5 (ETSI TS 102 223, 3GPP TS 31.111); the
conformance-test commands kept beside the codecs in ``commands.EXAMPLES``.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from simtool.apdu.tlv import ComprehensionTlv, ctlv_decode_all
from simtool.errors import DecodeError, EncodeError
from simtool.stk import commands, envelopes, objects, profile, responses
from simtool.stk.commands import (
    MAX_COMMAND_LENGTH,
    DisplayText,
    GetInput,
    MissingObjectError,
    SelectItem,
    SendSs,
    SendUssd,
    SetUpCall,
    SetUpMenu,
    UnknownCommand,
    decode_proactive,
    peek_details,
)
from simtool.stk.envelopes import MenuSelection, UnknownEnvelope, decode_envelope
from simtool.stk.objects import (
    OBJECT_TYPES,
    Address,
    AlphaIdentifier,
    CapabilityConfigurationParameters,
    CommandDetails,
    DefaultText,
    DeviceIdentities,
    Duration,
    HelpRequest,
    IconIdentifier,
    ImmediateResponse,
    Item,
    ItemIconIdentifierList,
    ItemIdentifier,
    ItemsNextActionIndicator,
    ResponseLength,
    Result,
    SsString,
    Subaddress,
    TextAttribute,
    TextString,
    UssdString,
)
from simtool.stk.profile import FACILITIES, TerminalProfile
from simtool.stk.responses import TerminalResponse


def _h(text: str) -> bytes:
    return bytes.fromhex(text)


# --- worked examples, both ways ------------------------------------------------------------

VECTORS = (
    [(obj, hx, type(obj).decode) for obj, hx in objects.EXAMPLES]
    + [(cmd, hx, decode_proactive) for cmd, hx in commands.EXAMPLES]
    + [(tr, hx, TerminalResponse.decode) for tr, hx in responses.EXAMPLES]
    + [(env, hx, decode_envelope) for env, hx in envelopes.EXAMPLES]
    + [(tp, hx, TerminalProfile.decode) for tp, hx in profile.EXAMPLES]
)


@pytest.mark.parametrize(("value", "hex_", "decode"), VECTORS,
                         ids=[f"{type(v).__name__}-{i}" for i, (v, _, _) in enumerate(VECTORS)])
def test_worked_example_both_ways(value, hex_, decode):
    raw = _h(hex_)
    assert value.encode() == raw
    assert decode(raw) == value


# What the worked examples mean, read back through the text codecs.
MEANINGS = [
    (lambda: objects.EXAMPLES[4][0].text, "Doładowanie"),                    # §5.9 item 2
    (lambda: objects.EXAMPLES[8][0].text, "*108#"),                          # §5.11
    (lambda: responses.EXAMPLES[1][0].text.text, "Saldo: 12,50 zl"),         # §5.12 DCS 04
    (lambda: responses.EXAMPLES[2][0].text.text, "Saldo: 12,50 zl"),         # §5.12 DCS 00
    (lambda: commands.EXAMPLES[1][0].alpha.text, "Sprawdzam..."),
    (lambda: commands.EXAMPLES[6][0].text.text, "Enter 67*#+"),              # packed prompt
    (lambda: commands.EXAMPLES[9][0].ussd.text, "ЗДРАВСТВУЙТЕ"),            # CBS DCS 48
    (lambda: commands.EXAMPLES[10][0].ussd.text,                             # CBS DCS F0
     "ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-1234567890"),
    (lambda: commands.EXAMPLES[11][0].address.dialled, "+012340123456c1c2"),
    (lambda: TextString(0x0F, _h("AA180C3702")).text, "*108#"),              # CBS-style DCS
]


@pytest.mark.parametrize(("read", "expected"), MEANINGS)
def test_worked_example_meaning(read, expected):
    assert read() == expected


def test_builders_reproduce_the_worked_examples():
    # §5.9: the same bytes from text, the item in the shortest UCS2 form (81)
    menu = SetUpMenu.of("Menu", [(1, "Saldo konta"), (2, "Doładowanie")])
    assert menu.encode() == _h(commands.EXAMPLES[0][1])
    # §5.11
    ussd = SendUssd.of("*108#", alpha="Sprawdzam...")
    assert ussd.encode() == _h(commands.EXAMPLES[1][1])
    # §5.10
    assert MenuSelection.of(2).encode() == _h("D3 07 82 02 01 81 90 01 02")
    # §7.5: *#21# as an SS string
    assert SendSs.of("*#21#").ss.encode() == _h("89 04 FF BA 12 FB")


def test_terminal_response_to_a_command_echoes_its_details():
    cmd = decode_proactive(_h(commands.EXAMPLES[1][1]))
    tr = TerminalResponse.to(cmd, 0x00, text=TextString(0x04, b"Saldo: 12,50 zl"))
    assert tr.encode() == _h(responses.EXAMPLES[1][1])
    assert tr.answers(cmd)
    assert not tr.answers(cmd.with_number(2))


def test_ss_string_international_number_uses_ton_91():
    ss = SsString.from_mmi("*21*+48600123456#")
    assert (ss.ton_npi, ss.ss) == (0x91, "*21*48600123456#")
    assert ss.mmi == "*21*+48600123456#"
    assert SsString.from_mmi("**61*+48600123456**20#").mmi == "**61*+48600123456**20#"
    assert SsString.from_mmi("#21#") == SsString("#21#", 0xFF)


def test_ussd_from_text_pads_7_spare_bits_with_cr():
    # TS 23.038 §6.1.2.3.1: 7 characters leave 7 spare bits, filled with <CR>
    ussd = UssdString.from_text("*100*1#")
    assert ussd.data[-1] >> 1 == 0x0D
    assert ussd.text == "*100*1#"
    assert UssdString.from_text("*100#").data == _h("AA 18 0C 36 02")  # sim-facts §4.3


def test_ussd_outside_gsm_alphabet_is_ucs2():
    ussd = UssdString.from_text("Łódź")
    assert ussd.dcs == 0x48 and ussd.text == "Łódź"


def test_qualifier_properties():
    gi = GetInput.of("PIN", 4, 8, digits_only=False, hide_input=True, help_available=True)
    assert (gi.qualifier, gi.digits_only, gi.hide_input, gi.help_available) == (0x85, False,
                                                                                True, True)
    dt = DisplayText.of("x", wait_for_user=False, high_priority=True)
    assert (dt.qualifier, dt.high_priority, dt.wait_for_user) == (0x01, True, False)
    assert SelectItem.of(None, [(1, "a")], help_available=True).help_available


def test_describe_is_one_line_per_command():
    for cmd, _ in commands.EXAMPLES:
        line = cmd.describe()
        assert "\n" not in line and line.startswith(cmd.name)
    assert SetUpMenu.of("Milo", [(1, "Stan konta")]).describe() == \
        "SET UP MENU #1 'Milo': 1 'Stan konta'"


# --- size limits name the item ------------------------------------------------------------------


def test_too_long_menu_names_the_item():
    items = [(i, f"Pozycja numer {i} – wiele znaków") for i in range(1, 12)]
    with pytest.raises(EncodeError) as exc:
        SetUpMenu.of("Menu", items).encode()
    where = exc.value.where or ""
    assert where.startswith("menu item ")
    number = int(where.split()[2])
    # the named item is the first one with which the command passes the limit
    assert len(SetUpMenu.of("Menu", items[: number - 1]).encode()) <= MAX_COMMAND_LENGTH
    with pytest.raises(EncodeError):
        SetUpMenu.of("Menu", items[:number]).encode()


def test_too_long_display_text_is_an_encode_error():
    with pytest.raises(EncodeError, match="DISPLAY TEXT would be"):
        DisplayText.of("x" * 300).encode()


def test_command_needs_its_mandatory_objects():
    with pytest.raises(EncodeError, match="at least one item"):
        SetUpMenu(alpha=AlphaIdentifier(b"M"), items=()).encode()
    with pytest.raises(EncodeError, match="must be ResponseLength"):
        GetInput(text=TextString(4, b"x"), response_length=Result(0))  # type: ignore[arg-type]


# --- decoding what a real card may send ----------------------------------------------------------


def test_unknown_command_keeps_its_objects():
    raw = _h("D0 09 81 03 01 26 00 82 02 81 82")  # PROVIDE LOCAL INFORMATION
    cmd = decode_proactive(raw)
    assert isinstance(cmd, UnknownCommand) and cmd.type_of_command == 0x26
    assert cmd.encode() == raw
    assert "PROVIDE LOCAL INFORMATION" in cmd.describe()


def test_unknown_objects_are_kept_with_their_cr_flag():
    cmd = decode_proactive(_h(commands.EXAMPLES[10][1]))
    assert cmd.extra == (ComprehensionTlv(0x50, _h("001000B4"), cr=True),)
    assert cmd.unknown_required == cmd.extra


def test_two_alpha_identifiers_of_set_up_call_keep_their_roles():
    call = SetUpCall(address=Address("9555"), call_alpha=AlphaIdentifier(b"Dzwonie"))
    back = decode_proactive(call.encode())
    assert back == call and back.alpha is None


@pytest.mark.parametrize(("hex_", "error"), [
    ("", DecodeError),
    ("D1 05 81 03 01 25 00", DecodeError),                          # not D0
    ("D0 05 81 03 01 25", DecodeError),                             # truncated
    ("D0 05 81 03 01 25 00 00", DecodeError),                       # trailing byte
    ("D0 04 82 02 81 82", MissingObjectError),                      # no command details
    ("D0 05 81 03 01 25 00", MissingObjectError),                   # no device identities
    ("D0 09 81 03 01 25 00 82 02 81 82", MissingObjectError),       # SET UP MENU, no alpha
    ("D0 0C 81 03 01 21 80 82 02 81 02 8D 00 9E 01", DecodeError),  # short object
    ("D0 08 81 02 01 25 82 02 81 82", DecodeError),                 # 2-byte details
])
def test_malformed_commands(hex_, error):
    with pytest.raises(error):
        decode_proactive(_h(hex_))


def test_peek_details_of_a_command_missing_objects():
    raw = _h("D0 09 81 03 07 25 00 82 02 81 82")
    assert peek_details(raw) == CommandDetails(7, 0x25, 0)
    assert peek_details(b"\xD0\x01") is None


@pytest.mark.parametrize(("cls", "hex_"), [
    (Result, "83 00"), (CommandDetails, "81 02 01 02"), (ItemIdentifier, "90 00"),
    (HelpRequest, "95 01 00"), (SsString, "89 03 FF F1 21"), (Address, "86 00"),
    (UssdString, "8A 00"), (ResponseLength, "91 01 05"), (IconIdentifier, "9E 01 00"),
])
def test_malformed_objects(cls, hex_):
    with pytest.raises(DecodeError):
        cls.decode(_h(hex_))


@pytest.mark.parametrize("bad", ["*21*+48#", "12a4", "x"])
def test_bcd_rejects_characters_it_cannot_code(bad):
    with pytest.raises(EncodeError):
        SsString(bad)


def test_envelopes():
    env = decode_envelope(_h("D3 09 82 02 01 81 90 01 02 95 00"))
    assert isinstance(env, MenuSelection) and env.item_id == 2 and env.help_requested
    other = decode_envelope(_h("D6 07 99 01 04 82 02 82 81"))
    assert isinstance(other, UnknownEnvelope) and other.encode() == _h("D6 07 99 01 04 82 02 82 81")
    for bad in ("D3 03 90 01 02", "C2 00", "D3 03 82 02 01"):
        with pytest.raises(DecodeError):
            decode_envelope(_h(bad))


def test_terminal_response_needs_details_device_and_result():
    with pytest.raises(DecodeError, match="result"):
        TerminalResponse.decode(_h("81 03 01 25 00 82 02 82 81"))


# --- terminal profile -------------------------------------------------------------------------


def test_profile_bits_of_sim_facts_6():
    tp = TerminalProfile(_h("09 61 07 2D"))
    assert tp.supports("set_up_menu") and tp.supports("send_ussd") and tp.supports("get_input")
    assert not tp.supports("set_up_call") and not tp.supports("set_up_event_list")
    assert tp.supports_command(0x12) and not tp.supports_command(0x10)
    assert not TerminalProfile(b"").supports("profile_download")
    with pytest.raises(ValueError, match="unknown terminal profile facility"):
        tp.supports("teleport")


@given(st.sets(st.sampled_from(sorted(FACILITIES))), st.sampled_from(sorted(FACILITIES)))
def test_profile_facilities_round_trip(names, extra):
    tp = TerminalProfile.from_facilities(names)
    assert set(tp.facilities) == names
    assert tp.with_facilities(extra).supports(extra)
    assert not tp.without(extra).supports(extra)
    assert set(tp.without(extra).facilities) == names - {extra}
    assert TerminalProfile.decode(tp.encode()) == tp


# --- property tests: decode(encode(x)) == x ----------------------------------------------------

u8 = st.integers(0, 0xFF)
small = st.binary(max_size=12)
cr = st.booleans()
bcd = st.text(alphabet="0123456789*#cde", max_size=20)
texts = st.text(st.characters(max_codepoint=0xFFFD, exclude_categories=("Cs",)), max_size=24)
gsm_texts = st.text(alphabet="abcXYZ019 @$*#+-.,:ÄÖéè€[]{}\\^~|", max_size=30)

OBJECTS = {
    CommandDetails: st.builds(CommandDetails, u8, u8, u8, cr=cr),
    DeviceIdentities: st.builds(DeviceIdentities, u8, u8, cr=cr),
    Result: st.builds(Result, u8, small, cr=cr),
    Duration: st.builds(Duration, u8, u8, cr=cr),
    AlphaIdentifier: st.builds(AlphaIdentifier, small, cr=cr),
    Address: st.builds(Address, bcd, u8, cr=cr),
    SsString: st.builds(SsString, bcd, u8, cr=cr),
    UssdString: st.builds(UssdString, u8, small, cr=cr),
    TextString: st.one_of(st.builds(TextString, u8, small, cr=cr),
                          st.builds(TextString, st.none(), cr=cr)),
    DefaultText: st.builds(DefaultText, u8, small, cr=cr),
    Item: st.one_of(st.builds(Item, u8, small, cr=cr), st.builds(Item, st.none(), cr=cr)),
    ItemIdentifier: st.builds(ItemIdentifier, u8, cr=cr),
    ResponseLength: st.builds(ResponseLength, u8, u8, cr=cr),
    HelpRequest: st.builds(HelpRequest, cr=cr),
    ItemsNextActionIndicator: st.builds(ItemsNextActionIndicator, small, cr=cr),
    IconIdentifier: st.builds(IconIdentifier, u8, u8, cr=cr),
    ItemIconIdentifierList: st.builds(ItemIconIdentifierList, u8, small, cr=cr),
    ImmediateResponse: st.builds(ImmediateResponse, cr=cr),
    Subaddress: st.builds(Subaddress, small, cr=cr),
    CapabilityConfigurationParameters: st.builds(CapabilityConfigurationParameters, small, cr=cr),
    TextAttribute: st.builds(TextAttribute, small, cr=cr),
}


def test_every_object_type_has_a_strategy():
    assert set(OBJECTS) == set(OBJECT_TYPES.values())


@given(st.one_of(*OBJECTS.values()))
def test_object_round_trip(obj):
    raw = obj.encode()
    assert type(obj).decode(raw) == obj
    assert objects.decode_object(ctlv_decode_all(raw)[0]) == obj


@given(texts)
def test_alpha_and_item_text_round_trip(text):
    assert AlphaIdentifier.from_text(text).text == text
    assert Item.from_text(7, text).text == text


@given(texts, st.booleans())
def test_text_string_round_trip(text, packed):
    ts = TextString.from_text(text, packed=packed)
    # 8n septets ending in '@' are ambiguous with 7 zero fill bits when packed (§8.15 has no
    # septet count); the encoder never produces the 8n-1 case (it pads with <CR>).
    assume(not (packed and ts.dcs == 0 and text.endswith("@") and len(ts.data) % 7 == 0))
    assert ts.text == text
    assert TextString.ucs2(text).text == text


@given(st.one_of(texts, gsm_texts))
def test_ussd_text_round_trip(text):
    assert UssdString.from_text(text).text == text


@given(bcd)
def test_ss_string_round_trip(code):
    assert SsString.decode(SsString(code).encode()).ss == code


EXTRA_TAGS = st.sampled_from([0x2D, 0x50, 0x62, 0x7E, 0x1234])
extras = st.lists(st.builds(ComprehensionTlv, EXTRA_TAGS, small, cr), max_size=2).map(tuple)


def opt(strategy):
    return st.none() | strategy


items = st.lists(OBJECTS[Item].filter(lambda i: i.identifier is not None), min_size=1,
                 max_size=4).map(tuple)
common = {"number": u8, "qualifier": u8, "extra": extras, "details_cr": cr,
          "device": OBJECTS[DeviceIdentities]}

COMMANDS = [
    st.builds(SetUpMenu, alpha=OBJECTS[AlphaIdentifier], items=items,
              next_actions=opt(OBJECTS[ItemsNextActionIndicator]),
              icon=opt(OBJECTS[IconIdentifier]),
              item_icons=opt(OBJECTS[ItemIconIdentifierList]), **common),
    st.builds(SelectItem, alpha=opt(OBJECTS[AlphaIdentifier]), items=items,
              default_item=opt(OBJECTS[ItemIdentifier]), icon=opt(OBJECTS[IconIdentifier]),
              **common),
    st.builds(DisplayText, text=OBJECTS[TextString], icon=opt(OBJECTS[IconIdentifier]),
              immediate_response=opt(OBJECTS[ImmediateResponse]),
              duration=opt(OBJECTS[Duration]), **common),
    st.builds(GetInput, text=OBJECTS[TextString], response_length=OBJECTS[ResponseLength],
              default_text=opt(OBJECTS[DefaultText]), icon=opt(OBJECTS[IconIdentifier]), **common),
    st.builds(SendUssd, alpha=opt(OBJECTS[AlphaIdentifier]), ussd=OBJECTS[UssdString],
              icon=opt(OBJECTS[IconIdentifier]), **common),
    st.builds(SendSs, alpha=opt(OBJECTS[AlphaIdentifier]), ss=OBJECTS[SsString],
              icon=opt(OBJECTS[IconIdentifier]), **common),
    st.builds(SetUpCall, alpha=opt(OBJECTS[AlphaIdentifier]), address=OBJECTS[Address],
              capability=opt(OBJECTS[CapabilityConfigurationParameters]),
              subaddress=opt(OBJECTS[Subaddress]), duration=opt(OBJECTS[Duration]),
              icon=opt(OBJECTS[IconIdentifier]), call_alpha=opt(OBJECTS[AlphaIdentifier]),
              **common),
    st.builds(UnknownCommand, command_type=st.sampled_from([0x03, 0x05, 0x26, 0x40]),
              **common),
]


@given(st.one_of(*COMMANDS))
def test_command_round_trip(cmd):
    raw = cmd.encode()
    assert decode_proactive(raw) == cmd
    assert type(cmd).decode(raw) == cmd


@given(st.builds(TerminalResponse, OBJECTS[CommandDetails], OBJECTS[Result],
                 OBJECTS[DeviceIdentities], opt(OBJECTS[Duration]), opt(OBJECTS[TextString]),
                 opt(OBJECTS[ItemIdentifier]), extras))
def test_terminal_response_round_trip(tr):
    assert TerminalResponse.decode(tr.encode()) == tr


@given(st.builds(MenuSelection, OBJECTS[ItemIdentifier], opt(OBJECTS[HelpRequest]),
                 OBJECTS[DeviceIdentities], extras))
def test_menu_selection_round_trip(env):
    assert decode_envelope(env.encode()) == env


@given(st.binary(max_size=80))
def test_decoders_raise_only_decode_error(data):
    for decode in (decode_proactive, TerminalResponse.decode, decode_envelope):
        try:
            decode(data)
        except DecodeError:
            pass
    for raw in (b"\xD0" + bytes([len(data)]) + data, data):
        try:
            cmd = decode_proactive(raw)
        except DecodeError:
            continue
        cmd.describe()
