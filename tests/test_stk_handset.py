"""Handset simulator <-> menu applet, in process: APDUs through Channel and
InProcessTransport to a tiny card object routing 80 10 / 12 / 14 / C2 to the applet."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.command import CommandApdu
from simtool.apdu.transport import InProcessTransport
from simtool.stk.applet import MenuApplet
from simtool.stk.commands import DisplayText, SendUssd, UnknownCommand
from simtool.stk.dispatch import AppletStatus, ToolkitDispatcher
from simtool.stk.envelopes import MenuSelection
from simtool.stk.handset import AskHelp, Handset, ScriptedUI, ToolkitBusy, UserAction
from simtool.stk.menu import load_menu
from tests.stk_menus import milo_with_ss_forwarding
from simtool.stk.network import (
    NetworkError,
    SsError,
    SubscriberState,
    UssdError,
    VirtualNetwork,
)
from simtool.stk.objects import GeneralResult as R
from simtool.stk.profile import DEFAULT, TerminalProfile
from simtool.stk.responses import TerminalResponse

MENUS = Path(__file__).resolve().parents[1] / "provisioning" / "menus"


class FakeCard:
    """A card that only has the toolkit: CLA 80 (or A0) INS 10/12/14/C2 go to the library's
    toolkit dispatcher, with ``applet`` in it."""

    atr = bytes.fromhex("3B 9F 96 80 1F C7 80 31 A0 73 BE 21 13 67 43 20 07 18 00 00 01 A5")

    def __init__(self, applet) -> None:
        self.applet = applet
        self.toolkit = ToolkitDispatcher([applet])
        self.apdus: list[bytes] = []

    def reset(self) -> bytes:
        self.toolkit.reset()
        return self.atr

    def process(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        command = CommandApdu.from_bytes(apdu)
        if command.cla not in (0x80, 0xA0):
            return b"\x6E\x00"
        try:
            out = self.toolkit.command(command.ins, command.p1, command.p2, command.data,
                                       command.le)
        except AppletStatus as exc:
            sw = exc.sw if command.cla == 0x80 else exc.gsm_sw
            return sw.to_bytes(2, "big")
        return out + self.toolkit.status_word().to_bytes(2, "big")


class FakeNetwork:
    """Answers from a table; an exception in the table is raised."""

    def __init__(self, answers: dict[str, object] | None = None) -> None:
        self.answers = answers or {}
        self.requests: list[str] = []

    def _answer(self, kind: str, text: str) -> str:
        self.requests.append(f"{kind} {text}")
        answer = self.answers.get(text, f"OK {text}")
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    def send_ussd(self, ussd: str) -> str:
        return self._answer("USSD", ussd)

    def send_ss(self, ss: str) -> str:
        return self._answer("SS", ss)


def handset(menu: str = "milo", *, profile: TerminalProfile = DEFAULT, network=None,
            ui: ScriptedUI | None = None, cla: int = 0x80, trace=None):
    card = FakeCard(MenuApplet(milo_with_ss_forwarding() if menu == "milo"
                                else load_menu(MENUS / f"{menu}.toml")))
    hs = Handset(Channel(InProcessTransport(card)), network or FakeNetwork(),
                 ui or ScriptedUI(), profile, cla=cla, trace=trace)
    return hs, card


# (main item, SELECT ITEM choices, GET INPUT answers, what goes to the network)
MILO_ITEMS = [
    (1, [], [], "USSD *101#"),
    (2, [1], [], "USSD *107#"),
    (2, [2], [], "USSD *107*1#"),
    (2, [3], [], "USSD *107*2#"),
    (3, [], [], "USSD *108#"),
    (4, [], [], "USSD *109#"),
    (5, [], [], "USSD *110#"),
    (6, [], [], "USSD *555#"),
    (7, [1], ["600123456"], "SS *21*600123456#"),
    (7, [1], ["+48600123456"], "SS *21*+48600123456#"),
    (7, [2], [], "SS #21#"),
    (7, [3], [], "SS *#21#"),
]


@pytest.mark.parametrize(("item", "choices", "inputs", "sent"), MILO_ITEMS)
def test_every_milo_item_end_to_end(item, choices, inputs, sent):
    code = sent.split()[1]
    network = FakeNetwork({code: f"Odpowiedź sieci na {code}"})
    ui = ScriptedUI(choices=choices, inputs=inputs)
    hs, _ = handset(network=network, ui=ui)
    assert [e.id for e in hs.menu().items] == [1, 2, 3, 4, 5, 6, 7]
    t = hs.select(item)
    assert network.requests == [sent]
    assert t.sent == (sent,)
    assert t.displayed == (f"Odpowiedź sieci na {code}",)
    assert ui.shown == [f"Odpowiedź sieci na {code}"]
    assert set(t.results) == {R.OK}
    assert not ui.choices and not ui.inputs


def test_real_virtual_network_in_process():
    subscriber = SubscriberState(msisdn="48531234567", balance=1250)
    network = VirtualNetwork.for_operator("milo", subscriber, lambda: datetime(2024, 5, 1, 12))
    hs, _ = handset(network=network)
    own = hs.select(1).displayed[0]
    assert "531234567" in own
    assert "12,50" in hs.select(3).displayed[0]
    hs.ui.choices.append(2)
    hs.select(2)
    assert subscriber.internet
    hs.ui.choices.append(1)
    hs.ui.inputs.append("600123456")
    forwarded = hs.select(7)
    assert forwarded.sent == ("SS *21*600123456#",) and forwarded.displayed


def test_with_the_virtual_uicc():
    from tests import virtual_card
    image = virtual_card.VirtualUicc.from_image(None).image_state()
    card = virtual_card.VirtualUicc(image, applet=MenuApplet(milo_with_ss_forwarding()))
    network = FakeNetwork({"*108#": "Saldo: 3,00 zł"})
    ui = ScriptedUI(choices=[1], inputs=["600123456"])
    hs = Handset(Channel(InProcessTransport(card)), network, ui)
    assert hs.menu().title == "Milo Telecom"
    assert hs.select(3).displayed == ("Saldo: 3,00 zł",)
    assert hs.select(7).sent == ("SS *21*600123456#",)


def test_terminal_without_ussd_support_is_told_the_code():
    network = FakeNetwork()
    hs, _ = handset(profile=DEFAULT.without("send_ussd"), network=network)
    t = hs.select(3)
    assert network.requests == []
    assert t.displayed == ("Telefon nie może wysłać tego kodu. Wybierz na klawiaturze: *108#",)
    assert not any(isinstance(c, SendUssd) for c in t.commands)


def test_user_who_backs_out():
    network = FakeNetwork()
    ui = ScriptedUI(choices=[1, UserAction.BACK], inputs=[UserAction.BACK])
    hs, _ = handset(network=network, ui=ui)
    t = hs.select(7)
    # SELECT ITEM -> 1, GET INPUT -> back (11), SELECT ITEM again -> back (11): session over
    assert t.results == (R.OK, R.BACKWARD_MOVE, R.BACKWARD_MOVE)
    assert network.requests == [] and t.displayed == ()
    assert hs.select(3).sent == ("USSD *108#",)  # the card is free again


def test_user_who_ends_the_session_and_empty_script_means_back():
    hs, _ = handset(ui=ScriptedUI(choices=[1], inputs=[UserAction.END]))
    assert hs.select(7).results == (R.OK, R.SESSION_TERMINATED_BY_USER)
    assert hs.select(7).results == (R.BACKWARD_MOVE,)  # nothing scripted: back


def test_user_backs_out_of_the_reply_to_the_submenu():
    ui = ScriptedUI(choices=[1, UserAction.END], displays=[UserAction.BACK])
    hs, _ = handset(ui=ui)
    t = hs.select(2)
    assert t.sent == ("USSD *107#",)
    # SELECT ITEM 1, SEND USSD, reply shown -> back (11), the submenu again -> end (10)
    assert t.results == (R.OK, R.OK, R.BACKWARD_MOVE, R.SESSION_TERMINATED_BY_USER)


def test_invalid_input_then_valid():
    ui = ScriptedUI(choices=[1], inputs=["600ab3456", "600123456"])
    hs, _ = handset(ui=ui)
    t = hs.select(7)
    assert t.displayed[0] == "Dozwolone są tylko cyfry."
    assert t.sent == ("SS *21*600123456#",)
    assert ui.prompts == ["Numer, na który przekierować:"] * 2


@pytest.mark.parametrize(("error", "result", "shown"), [
    (UssdError(0x48, "zajęte"), (R.USSD_RETURN_ERROR, b"\x48"),
     "Sieć odrzuciła kod *108#: usługa USSD zajęta (błąd 72)."),
    (NetworkError(17, "busy"), (R.NETWORK_UNABLE, b"\x91"),
     "Sieć nie może teraz wykonać polecenia. Spróbuj później."),
    (SsError(0x12, "niedostępna"), (R.SS_RETURN_ERROR, b"\x12"),
     "Sieć odrzuciła usługę *108#: usługa niedostępna (błąd 18)."),
])
def test_network_errors_become_results_and_messages(error, result, shown):
    hs, card = handset(network=FakeNetwork({"*108#": error}))
    t = hs.select(3)
    tr = TerminalResponse.decode(t.events[[e.kind for e in t.events].index(
        "terminal_response")].raw)
    assert (tr.general, tr.result.additional) == result
    assert t.displayed == (shown,)


def test_help_on_menu_selection_and_in_submenu():
    hs, _ = handset(ui=ScriptedUI(choices=[AskHelp(2), UserAction.END]))
    assert hs.select(3, help=True).displayed == ("Aktualny stan środków na koncie (kod *108#).",)
    t = hs.select(2)
    assert t.displayed == ("Włącza usługę Internet (kod *107*1#).",)
    assert t.results == (R.HELP_REQUIRED, R.OK, R.SESSION_TERMINATED_BY_USER)


def test_card_busy_raises_toolkit_busy():
    hs, card = handset()
    hs.menu()
    card.applet.envelope(MenuSelection.of(3).encode())  # another session holds the card
    with pytest.raises(ToolkitBusy) as exc:
        hs.select(1)
    assert exc.value.sw == 0x9300


def test_unknown_item_is_refused_before_the_card():
    hs, card = handset()
    hs.menu()
    sent = len(card.apdus)
    with pytest.raises(ValueError, match="no item 9"):
        hs.select(9)
    assert len(card.apdus) == sent


def test_citysat_wake_up_speed_dial_and_call():
    ui = ScriptedUI(choices=[1, 1, 7], inputs=["2500", "0630", "3", "0322015880"])
    hs, _ = handset("citysat", ui=ui)
    wake = hs.select(2)
    assert wake.displayed[0] == "Niepoprawna godzina. Podaj GGMM, np. 0630."
    assert wake.sent == ("USSD *55*0630#",)
    assert hs.select(4).sent == ("USSD *50*3*0322015880#",)
    call = hs.select(1)
    assert [e.text for e in call.events if e.kind == "call"] == ["call to 9555"]
    assert ui.notes[-1] == "Połączenie: 9555"


def test_gsm_class_a0_and_trace_lines():
    lines: list[str] = []
    hs, card = handset(cla=0xA0, trace=lines.append)
    hs.select(3)
    assert all(apdu[0] == 0xA0 for apdu in card.apdus)
    assert "SEND USSD #2 '*108#' (alpha 'Stan konta')" in lines
    assert lines[0].startswith("TERMINAL PROFILE 0961073D")


def test_transcript_json():
    hs, _ = handset()
    data = hs.select(3).to_json()
    text = json.dumps(data, ensure_ascii=False)
    assert data["item"] == 3 and '"kind": "network_request"' in text
    assert json.dumps(hs.menu().to_json(), ensure_ascii=False).count('"id"') == 7


# --- the handset against a card sending arbitrary proactive commands --------------------------


class ScriptedCard:
    """Sends the given D0 commands one by one and keeps the TERMINAL RESPONSEs."""

    atr = FakeCard.atr

    def __init__(self, *commands: str) -> None:
        self.queue = [bytes.fromhex(c) for c in commands]
        self.responses: list[TerminalResponse] = []

    def reset(self) -> bytes:
        return self.atr

    def _sw(self) -> bytes:
        return bytes([0x91, len(self.queue[0])]) if self.queue else b"\x90\x00"

    def process(self, apdu: bytes) -> bytes:
        if apdu[1] == 0x12:
            return self.queue.pop(0) + self._sw()
        if apdu[1] == 0x14:
            self.responses.append(TerminalResponse.decode(apdu[5:5 + apdu[4]]))
        return self._sw()


@pytest.mark.parametrize(("command", "general"), [
    ("D0 09 81 03 01 26 00 82 02 81 82", R.TYPE_NOT_UNDERSTOOD),            # not modelled
    ("D0 0F 81 03 01 21 80 82 02 81 02 8D 02 04 41 D0 00", R.DATA_NOT_UNDERSTOOD),  # CR unknown
    ("D0 0F 81 03 01 21 80 82 02 81 02 8D 02 04 41 50 00", R.OK),           # not CR: ignored
    ("D0 09 81 03 01 21 80 82 02 81 02", R.REQUIRED_VALUES_MISSING),       # no text string
    ("D0 0C 81 03 01 21 80 82 02 81 02 8D 01 08", R.OK),                   # empty UCS2 text
    ("D0 0D 81 03 01 21 80 82 02 81 02 8D 02 08 41", R.DATA_NOT_UNDERSTOOD),  # odd UCS2
    ("D0 10 81 03 01 10 00 82 02 81 83 86 05 91 10 32 54 F6", R.BEYOND_TERMINAL_CAPABILITIES),
])
def test_handset_results_for_what_a_card_sends(command, general):
    card = ScriptedCard(command)
    profile = DEFAULT.without("set_up_call")
    hs = Handset(Channel(InProcessTransport(card)), FakeNetwork(), ScriptedUI(), profile)
    t = hs.start()
    assert [tr.general for tr in card.responses] == [general]
    assert card.responses[0].details.number == 1
    assert t.events[1].kind in ("proactive", "note")
    if general == R.TYPE_NOT_UNDERSTOOD:
        assert isinstance(t.commands[0], UnknownCommand)


def test_get_input_answers_in_the_coding_asked_for():
    card = ScriptedCard(
        "D0 1A 81 03 01 23 08 82 02 81 82 8D 0B 00 45 37 BD 2C 07 D9 6E AA D1 0A 91 02 05 05",
        "D0 15 81 03 01 23 03 82 02 81 82 8D 06 04 48 61 73 6C 6F 91 02 01 08",
        "D0 15 81 03 01 23 04 82 02 81 82 8D 06 04 48 61 73 6C 6F 91 02 04 08",
    )
    ui = ScriptedUI(inputs=["12345", "Łódź", "9876"])
    hs = Handset(Channel(InProcessTransport(card)), FakeNetwork(), ui)
    t = hs.start()
    packed, ucs2, hidden = (tr.text for tr in card.responses)
    assert (packed.dcs, packed.text) == (0x00, "12345")
    assert (ucs2.dcs, ucs2.text) == (0x08, "Łódź")
    assert (hidden.dcs, hidden.text) == (0x04, "9876")
    assert "entered '****'" in [e.text for e in t.events]
    hidden_tr = [e for e in t.events if e.kind == "terminal_response"][2]
    assert hidden_tr.raw == b"" and "9876" not in json.dumps(t.to_json())
    assert hidden_tr.text.endswith("text hidden")
    assert ui.prompts == ["Enter 67*#+", "Haslo", "Haslo"]
    assert ui.hidden == [False, False, True]  # the UI was told not to show the third


def test_display_text_conformance_command():
    card = ScriptedCard("D0 1A 81 03 01 21 80 82 02 81 02 8D 0F 04 54 6F 6F 6C 6B 69 74 20 54"
                        " 65 73 74 20 31")
    ui = ScriptedUI()
    t = Handset(Channel(InProcessTransport(card)), FakeNetwork(), ui).start()
    assert ui.shown == ["Toolkit Test 1"]
    assert isinstance(t.commands[0], DisplayText)
    assert card.responses[0].encode() == bytes.fromhex("81 03 01 21 80 82 02 82 81 83 01 00")
