"""simtool.stk.dispatch: the toolkit dispatcher and the CardApplet protocol, with applets made
for the test (the menu applet's own behaviour is in test_stk_applet)."""

from __future__ import annotations

import pytest

from simtool.stk.applet import MenuApplet
from simtool.stk.commands import DisplayText
from simtool.stk.dispatch import (AppletStatus, CardApplet, EnvelopeAnswer, ToolkitDispatcher,
                                  gsm_status)
from simtool.stk.objects import GeneralResult as R
from simtool.stk.profile import DEFAULT
from simtool.stk.responses import TerminalResponse
from tests.stk_menus import milo_with_ss_forwarding


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


class Echo:
    """Takes envelopes with ``tag``; answers each with a DISPLAY TEXT of ``name``; records
    the responses it gets."""

    def __init__(self, name: str, tag: int, number: int) -> None:
        self.name, self.tag, self.number = name, tag, number
        self.responses: list[TerminalResponse] = []
        self.profiles: list[bytes] = []

    def _say(self, text: str) -> DisplayText:
        self.number += 1
        return DisplayText.of(text, number=self.number)

    def terminal_profile(self, profile):
        self.profiles.append(profile)
        return [self._say(f"{self.name} hello")]

    def envelope(self, data):
        if data[0] != self.tag:
            return None
        return EnvelopeAnswer(bytes((self.tag,)), (self._say(f"{self.name} env"),))

    def terminal_response(self, response):
        self.responses.append(response)
        return []


def _answer(card: ToolkitDispatcher) -> DisplayText:
    from simtool.stk.commands import decode_proactive
    command = decode_proactive(card.fetch())
    card.terminal_response(TerminalResponse.to(command, R.OK).encode())
    return command


def test_applets_follow_the_protocol():
    assert isinstance(Echo("a", 0xD3, 0), CardApplet)
    assert isinstance(MenuApplet(milo_with_ss_forwarding()), CardApplet)


def test_queue_order_status_word_and_responses_to_the_issuer():
    a, b = Echo("a", 0xD3, 0), Echo("b", 0xD4, 0x40)
    card = ToolkitDispatcher([a, b])
    assert card.status_word() == 0x9000 and not card.busy
    card.terminal_profile(DEFAULT.data)
    assert a.profiles == b.profiles == [DEFAULT.data]
    first = DisplayText.of("a hello", number=1).encode()
    assert card.pending_length() == len(first) and card.status_word() == 0x9100 | len(first)
    assert card.fetch() == first and card.busy
    with pytest.raises(AppletStatus) as exc:   # one command outstanding at a time: its answer
        card.terminal_response(TerminalResponse.to(DisplayText.of("b hello", number=0x41),
                                                   R.OK).encode())
    assert exc.value.sw == 0x6A80
    card.terminal_response(TerminalResponse.to(DisplayText.of("a hello", number=1),
                                               R.OK).encode())
    assert [r.number for r in a.responses] == [1] and b.responses == []
    assert _answer(card).text.text == "b hello"
    assert [r.number for r in b.responses] == [0x41]
    assert card.status_word() == 0x9000 and not card.busy


def test_an_envelope_goes_to_the_first_applet_that_takes_it():
    a, b = Echo("a", 0xD3, 0), Echo("b", 0xD4, 0)
    card = ToolkitDispatcher([a, b])
    assert card.envelope(h("D4 00")) == b"\xd4"
    assert card.envelope(h("D3 00")) == b"\xd3"
    assert [_answer(card).text.text for _ in range(2)] == ["b env", "a env"]
    assert card.envelope(h("D6 00")) == b"" and not card.busy   # nobody's: accepted, no data


def test_install_after_terminal_profile_announces_and_remove_forgets():
    a, b = Echo("a", 0xD3, 0), Echo("b", 0xD4, 0x40)
    card = ToolkitDispatcher([a])
    card.install(b)                              # no terminal profile yet: nothing to say
    assert b.profiles == [] and card.pending_length() == 0
    card.remove(b)
    card.terminal_profile(h("FF"))
    card.install(b)
    assert b.profiles == [h("FF")]
    card.fetch()                                 # a's hello outstanding, b's queued
    card.remove(a)
    with pytest.raises(AppletStatus) as exc:
        card.terminal_response(TerminalResponse.to(DisplayText.of("a hello", number=1),
                                                   R.OK).encode())
    assert exc.value.sw == 0x6985
    assert _answer(card).text.text == "b hello"
    card.remove(b)
    with pytest.raises(AppletStatus) as exc:
        card.fetch()
    assert exc.value.sw == 0x6D00


def test_reset_forgets_the_queue_and_the_profile():
    card = ToolkitDispatcher([Echo("a", 0xD3, 0)])
    card.terminal_profile(h("FF"))
    card.reset()
    assert card.terminal_profile_data == b"" and card.status_word() == 0x9000
    with pytest.raises(AppletStatus) as exc:
        card.fetch()
    assert exc.value.sw == 0x6F00


# (INS, P1, P2, data, Le) -> status word, on a card whose applet has 11 bytes pending
COMMAND_ERRORS = [
    ((0x12, 0, 0, b"", 5), 0x6C0B),              # FETCH Le must be the 91xx length
    ((0x12, 0, 0, b"", 0x10), 0x6C0B),
    ((0x12, 0, 0, b"\x00", None), 0x6700),
    ((0x12, 1, 0, b"", 0x0B), 0x6A86),
    ((0x10, 0, 0, b"", None), 0x6700),
    ((0x14, 0, 0, b"", None), 0x6700),
    ((0xC2, 0, 0, b"", None), 0x6700),
    ((0xC2, 0, 1, b"\xd3\x00", None), 0x6A86),
    ((0xA4, 0, 0, b"", None), 0x6D00),
    ((0x14, 0, 0, h("810301250082028281830100"), None), 0x6985),   # nothing outstanding
    ((0x14, 0, 0, h("8103"), None), 0x6A80),
]


class Fixed:
    def terminal_profile(self, profile):
        return [h("D009810301250082028182")]     # an encoded command is queued as it is

    def envelope(self, data):
        return None

    def terminal_response(self, response):
        return []


@pytest.mark.parametrize(("apdu", "sw"), COMMAND_ERRORS)
def test_command_errors_leave_the_command_pending(apdu, sw):
    card = ToolkitDispatcher([Fixed()])
    card.command(0x10, 0, 0, h("FF"), None)
    with pytest.raises(AppletStatus) as exc:
        card.command(*apdu)
    assert exc.value.sw == sw
    assert card.status_word() == 0x910B
    assert card.command(0x12, 0, 0, b"", 256) == h("D009810301250082028182")


def test_a_card_without_applets():
    card = ToolkitDispatcher()
    assert card.command(0x10, 0, 0, h("FF"), None) == b""
    for ins, data in ((0x12, b""), (0x14, h("810301250082028281830100")), (0xC2, h("D300"))):
        with pytest.raises(AppletStatus) as exc:
            card.command(ins, 0, 0, data, None)
        assert exc.value.sw == 0x6D00


def test_a_queued_encoding_without_command_details_is_refused():
    class Broken(Fixed):
        def terminal_profile(self, profile):
            return [h("D0 00")]

    with pytest.raises(AppletStatus) as exc:
        ToolkitDispatcher([Broken()]).terminal_profile(h("FF"))
    assert exc.value.sw == 0x6F00


@pytest.mark.parametrize(("uicc", "gsm"), [
    (0x9300, 0x9300), (0x6A80, 0x6B00), (0x6A86, 0x6B00), (0x6985, 0x6F00), (0x6C0B, 0x670B),
    (0x6700, 0x6700), (0x6D00, 0x6D00), (0x6F00, 0x6F00), (0x6982, 0x6F00), (0x6A82, 0x6F00),
])
def test_gsm_status_words(uicc, gsm):
    """TS 51.011 §9.4 under CLA A0 for the TS 102 221 status a toolkit command ends with."""
    assert gsm_status(uicc) == gsm == AppletStatus(uicc).gsm_sw
