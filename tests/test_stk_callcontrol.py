"""Call-back calling through USIM call control (seed 000, WYKONYWANIE POŁĄCZEŃ; ETSI TS 102 223
§7.3.1.6, 3GPP TS 31.111 §7.3.1.6): the codec byte-exact, the menu applet's decision, and the
whole flow on the virtual card with the virtual network."""

from __future__ import annotations

from datetime import datetime

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.transport import InProcessTransport
from simtool.errors import DecodeError
from simtool.stk.applet import MenuApplet
from simtool.stk.callcontrol import (EXAMPLES, RESPONSE_EXAMPLES, CallControl,
                                     CallControlResponse, CallControlResult)
from simtool.stk.dialstrings import SsString, UssdString
from simtool.stk.objects import AlphaIdentifier
from simtool.stk.handset import Handset, ScriptedUI
from simtool.stk.menu import load_named_menu
from simtool.stk.network import SubscriberState, TopUp, VirtualNetwork
from simtool.stk.profile import DEFAULT, WITH_CALL_CONTROL

SEED = "seed 000 WYKONYWANIE POŁĄCZEŃ"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


@pytest.mark.parametrize("obj,hexa", EXAMPLES, ids=[e[1][:20] for e in EXAMPLES])
def test_envelope_examples_both_ways(obj, hexa):
    assert obj.encode() == h(hexa)
    assert CallControl.decode(h(hexa)) == obj


@pytest.mark.parametrize("obj,hexa", RESPONSE_EXAMPLES, ids=[e[1][:8] for e in RESPONSE_EXAMPLES])
def test_response_examples_both_ways(obj, hexa):
    assert obj.encode() == h(hexa)
    assert CallControlResponse.decode(h(hexa)) == obj


def test_ussd_string_of_the_response_is_the_packed_request():
    # an independent GSM 7-bit packer (TS 23.038 §6.1.2.1.1): these characters are ASCII
    bits = n = 0
    packed = bytearray()
    for ch in "*104*+48531234567#":
        bits |= ord(ch) << n
        n += 7
        while n >= 8:
            packed.append(bits & 0xFF)
            bits >>= 8
            n -= 8
    if n:
        packed.append(bits)
    assert UssdString.from_text("*104*+48531234567#").value() == b"\x0F" + bytes(packed)
    assert h("8A 11 0F") + bytes(packed) in h(RESPONSE_EXAMPLES[0][1])


def test_no_response_data_means_allowed_as_is():
    assert CallControlResponse.decode(b"") == CallControlResponse(CallControlResult.ALLOWED)


@pytest.mark.parametrize("bad", ["03 00", "02 05 8A 01", "02", "D3 02 82 02"])
def test_malformed_responses(bad):
    with pytest.raises(DecodeError):
        CallControlResponse.decode(h(bad))


def applet(profile=WITH_CALL_CONTROL, menu="milo"):
    a = MenuApplet(load_named_menu(menu))
    a.terminal_profile(profile.data)
    return a


def answer(a, envelope: CallControl) -> CallControlResponse:
    return CallControlResponse.decode(a.envelope(envelope.encode()).data)


@pytest.mark.parametrize("dialled,ussd", [
    ("+48531234567", "*104*+48531234567#"),       # the document's example
    ("0048531234567", "*104*+48531234567#"),      # 00 = the international prefix
    ("+4930123456", "*104*+4930123456#"),
])
def test_international_call_becomes_the_callback_request(dialled, ussd):
    r = answer(applet(), CallControl.for_call(dialled))
    assert r.result == CallControlResult.ALLOWED_WITH_MODIFICATIONS, SEED
    assert isinstance(r.target, UssdString) and r.target.text == ussd
    assert r.alpha.text == "Zamawiam połączenie zwrotne"


def test_number_without_country_code_is_not_allowed():
    r = answer(applet(), CallControl.for_call("531234567"))
    assert r.result == CallControlResult.NOT_ALLOWED and r.target is None
    assert r.alpha.text == "Wybierz numer z kodem kraju, np. +48531234567", SEED


@pytest.mark.parametrize("envelope", [CallControl.for_call("112"),
                                      CallControl(SsString.from_mmi("*#21#")),
                                      CallControl(UssdString.from_text("*108#"))])
def test_emergency_ss_and_ussd_go_as_they_are(envelope):
    assert answer(applet(), envelope).result == CallControlResult.ALLOWED


def test_a_menu_without_the_service_lets_every_call_through():
    r = answer(applet(menu="citysat"), CallControl.for_call("+48531234567"))
    assert r == CallControlResponse(CallControlResult.ALLOWED)


def test_terminal_without_ussd_in_call_control_is_told_the_code():
    r = answer(applet(profile=DEFAULT), CallControl.for_call("+48531234567"))
    assert r.result == CallControlResult.NOT_ALLOWED and r.target is None
    assert "*104*+48531234567#" in r.alpha.text


def test_whole_flow_on_the_virtual_card():
    virtual_card = pytest.importorskip("tests.virtual_card")
    card = virtual_card.VirtualUicc.from_image(None)          # the Milo menu, EF.MSISDN
    state = SubscriberState(msisdn="48531234567", balance=5000,
                            top_ups=[TopUp(datetime(2026, 1, 10, 9), 5000)], country="DE")
    network = VirtualNetwork.for_operator("milo", state, lambda: datetime(2026, 1, 15, 10))
    ui = ScriptedUI()
    hs = Handset(Channel(InProcessTransport(card)), network, ui, WITH_CALL_CONTROL)
    t = hs.call("+48531234567", seconds=95)
    kinds = [e.kind for e in t.events]
    assert kinds == ["envelope", "call_control", "notify", "network_request", "network_reply",
                     "display", "note", "incoming_call", "call"]
    assert t.events[0].raw == h(EXAMPLES[0][1])
    assert t.sent == ("USSD *104*+48531234567#",)
    assert ui.shown == ["Zgłoszenie przyjęte: połączenie z +48531234567 (Polska). Koszt "
                        "połączenia za 1 minutę: 0,29 zł. Rozłącz się i poczekaj, system "
                        "oddzwoni."], SEED + " 2"
    assert "łączę z +48531234567" in t.events[7].text, SEED + " 3-4"
    # billed in the EU: 95 s at 0,29 zł/min = 45.9 gr -> 0,46 zł
    assert state.balance == 5000 - 46 and state.calls[-1].increment == "30/1"


def test_expired_funds_refuse_the_callback():
    virtual_card = pytest.importorskip("tests.virtual_card")
    card = virtual_card.VirtualUicc.from_image(None)
    state = SubscriberState(msisdn="48531234567", balance=0,
                            top_ups=[TopUp(datetime(2025, 1, 1), 5000)])
    network = VirtualNetwork.for_operator("milo", state, lambda: datetime(2026, 1, 15, 10))
    ui = ScriptedUI()
    t = Handset(Channel(InProcessTransport(card)), network, ui, WITH_CALL_CONTROL).call(
        "+48531234567")
    assert "doładuj konto" in ui.shown[0]
    assert "incoming_call" not in [e.kind for e in t.events]


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_numbers = st.from_regex(r"\+?[0-9*#]{1,20}", fullmatch=True)


@given(_numbers)
def test_envelope_round_trip(number):
    env = CallControl.for_call(number)
    assert CallControl.decode(env.encode()) == env


@given(st.sampled_from(list(CallControlResult)), st.text(
    alphabet=st.characters(max_codepoint=0xFFFF, categories=("L", "N", "P", "Zs")),
    max_size=40),
    _numbers)
def test_response_round_trip(result, alpha, ussd):
    r = CallControlResponse(result, UssdString.from_text(ussd), AlphaIdentifier.from_text(alpha))
    assert CallControlResponse.decode(r.encode()) == r


@given(st.binary(max_size=64))
def test_response_decoder_never_crashes_unexpectedly(data):
    try:
        CallControlResponse.decode(data)
    except DecodeError:
        pass
