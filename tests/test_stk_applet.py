"""The card-side menu applet driven directly with toolkit payloads (TS 102 223 §6.3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from simtool.stk.applet import MAX_INPUT_ATTEMPTS, AppletStatus, MenuApplet, plain
from simtool.stk.commands import (
    MAX_COMMAND_LENGTH,
    DisplayText,
    GetInput,
    ProactiveCommand,
    SelectItem,
    SendSs,
    SendUssd,
    SetUpCall,
    SetUpMenu,
    decode_proactive,
)
from simtool.stk.dispatch import ToolkitDispatcher
from simtool.stk.envelopes import MenuSelection
from simtool.stk.menu import load_menu
from tests.stk_menus import milo_with_ss_forwarding
from simtool.stk.objects import GeneralResult as R
from simtool.stk.objects import TextString
from simtool.stk.profile import DEFAULT, TerminalProfile
from simtool.stk.responses import TerminalResponse
from simtool.stk.texts import default_texts

MENUS = Path(__file__).resolve().parents[1] / "provisioning" / "menus"
MILO = milo_with_ss_forwarding()
CITYSAT = load_menu(MENUS / "citysat.toml")


class Driver:
    """Plays the terminal by hand: one method per toolkit APDU, to the card's dispatcher
    (``card``) with the applet in it."""

    def __init__(self, menu=MILO, profile: TerminalProfile = DEFAULT, *,
                 install: bool = True) -> None:
        self.applet = MenuApplet(menu)
        self.card = ToolkitDispatcher([self.applet])
        self.card.terminal_profile(profile.data)
        self.last: ProactiveCommand | None = None
        if profile.supports("set_up_menu"):
            if install:
                self.answer(R.OK, expect=SetUpMenu)
            else:
                self.fetch()

    def fetch(self) -> ProactiveCommand:
        n = self.card.pending_length()
        raw = self.card.fetch()
        assert len(raw) == n <= MAX_COMMAND_LENGTH
        self.last = decode_proactive(raw)
        return self.last

    def select(self, item: int, *, help: bool = False) -> ProactiveCommand | None:
        self.card.envelope(MenuSelection.of(item, help=help).encode())
        return self.fetch() if self.card.pending_length() else None

    def answer(self, general: int, additional: bytes = b"", *, text: str | None = None,
               item: int | None = None, expect: type | None = None) -> ProactiveCommand | None:
        cmd = self.fetch() if self.card.pending_length() else self.last
        if expect is not None:
            assert isinstance(cmd, expect), cmd
        ts = None if text is None else TextString.from_text(text)
        tr = TerminalResponse.to(cmd, general, additional, text=ts, item=item)
        self.card.terminal_response(tr.encode())
        return self.fetch() if self.card.pending_length() else None


def _shown(cmd: ProactiveCommand | None) -> str:
    assert isinstance(cmd, DisplayText), cmd
    return cmd.text.text


def test_set_up_menu_after_terminal_profile():
    applet = MenuApplet(MILO)
    card = ToolkitDispatcher([applet])
    assert card.pending_length() == 0
    card.terminal_profile(DEFAULT.data)
    menu = decode_proactive(card.fetch())
    assert isinstance(menu, SetUpMenu) and menu.alpha.text == "Milo Telecom"
    assert [(i.identifier, i.text) for i in menu.items][:3] == [
        (1, "Mój numer"), (2, "Internet"), (3, "Stan konta")]
    assert menu.help_available
    card.terminal_response(TerminalResponse.to(menu, R.OK).encode())
    assert applet.menu_installed and not applet.busy and card.pending_length() == 0


def test_no_set_up_menu_without_the_facility():
    applet = MenuApplet(MILO)
    card = ToolkitDispatcher([applet])
    card.terminal_profile(DEFAULT.without("set_up_menu").data)
    assert card.pending_length() == 0 and not applet.busy


def test_terminal_without_ucs2_display_gets_plain_titles():
    card = ToolkitDispatcher([MenuApplet(MILO)])
    card.terminal_profile(DEFAULT.without("ucs2_display").data)
    menu = decode_proactive(card.fetch())
    assert menu.items[3].text == "Waznosc srodkow"
    assert menu.items[3].data[0] < 0x80  # GSM alphabet, not UCS2
    assert plain("Łódź żółć") == "Lodz zolc"


@pytest.mark.parametrize(("call", "sw"), [
    (lambda a: a.fetch(), 0x6F00),
    (lambda a: a.terminal_response(bytes.fromhex("810301250082028281830100")), 0x6985),
    (lambda a: a.envelope(bytes.fromhex("D3 03 90 01")), 0x6A80),
    (lambda a: a.terminal_response(b"\x81\x03"), 0x6A80),
])
def test_status_words_for_misuse(call, sw):
    d = Driver()
    with pytest.raises(AppletStatus) as exc:
        call(d.card)
    assert exc.value.sw == sw


def test_terminal_response_must_answer_the_outstanding_command():
    d = Driver()
    cmd = d.select(3)
    wrong = TerminalResponse.to(cmd.with_number(cmd.number + 1), R.OK)
    with pytest.raises(AppletStatus) as exc:
        d.card.terminal_response(wrong.encode())
    assert exc.value.sw == 0x6A80


def test_busy_while_a_session_runs():
    d = Driver()
    d.card.envelope(MenuSelection.of(3).encode())
    for step in ("pending", "outstanding"):
        with pytest.raises(AppletStatus) as exc:
            d.card.envelope(MenuSelection.of(1).encode())
        assert exc.value.sw == 0x9300, step
        if step == "pending":
            d.fetch()
    d.answer(R.OK, text="Saldo: 5 zł", expect=SendUssd)
    d.answer(R.OK, expect=DisplayText)
    assert not d.applet.busy
    assert isinstance(d.select(1), SendUssd)


def test_other_envelopes_are_ignored():
    d = Driver()
    assert d.card.envelope(bytes.fromhex("D6 07 99 01 04 82 02 82 81")) == b""
    assert not d.applet.busy


def test_help_and_unknown_item():
    d = Driver()
    assert _shown(d.select(3, help=True)) == "Aktualny stan środków na koncie (kod *108#)."
    assert d.answer(R.OK) is None and not d.applet.busy
    assert _shown(d.select(42)) == "Nieznana pozycja menu."


# (result of SEND USSD *108#, additional info, reply text, then shown / None = session ends)
SEND_USSD_RESULTS = [
    (R.OK, b"", "Saldo: 12,50 zł", "Saldo: 12,50 zł"),
    (R.OK, b"", None, "Wysłano kod *108#."),
    (R.OK_LIMITED_SERVICE, b"", "Saldo", "Saldo"),
    (R.NETWORK_UNABLE, b"\x91", None,
     "Sieć nie może teraz wykonać polecenia. Spróbuj później."),
    (R.USSD_RETURN_ERROR, b"\x48", None,
     "Sieć odrzuciła kod *108#: usługa USSD zajęta (błąd 72)."),
    (R.USSD_RETURN_ERROR, b"", None, "Sieć odrzuciła kod *108#: nieznany błąd (błąd ?)."),
    (R.TERMINAL_UNABLE, b"\x02", None,
     "Telefon nie może wysłać tego kodu. Wybierz na klawiaturze: *108#"),
    (R.BEYOND_TERMINAL_CAPABILITIES, b"", None,
     "Telefon nie może wysłać tego kodu. Wybierz na klawiaturze: *108#"),
    (R.TYPE_NOT_UNDERSTOOD, b"", None,
     "Telefon nie może wysłać tego kodu. Wybierz na klawiaturze: *108#"),
    (R.DATA_NOT_UNDERSTOOD, b"", None,
     "Telefon nie może wysłać tego kodu. Wybierz na klawiaturze: *108#"),
    (R.USER_DID_NOT_ACCEPT, b"", None, "Nie udało się wykonać: *108# (wynik 22)."),
    (R.SESSION_TERMINATED_BY_USER, b"", None, None),
    (R.USSD_SS_TERMINATED_BY_USER, b"", None, None),
    (R.BACKWARD_MOVE, b"", None, None),
]


@pytest.mark.parametrize(("general", "additional", "reply", "shown"), SEND_USSD_RESULTS)
def test_every_send_ussd_result(general, additional, reply, shown):
    d = Driver()
    cmd = d.select(3)
    assert isinstance(cmd, SendUssd) and cmd.ussd.text == "*108#"
    assert cmd.alpha is not None and cmd.alpha.text == "Stan konta"
    after = d.answer(general, additional, text=reply)
    if shown is None:
        assert after is None and not d.applet.busy
    else:
        assert _shown(after) == shown
        assert d.answer(R.OK) is None and not d.applet.busy


def test_network_error_names_follow_the_network_codes():
    from simtool.stk.network import MapError

    assert set(default_texts().applet.network_errors) == {int(e) for e in MapError}


def test_ss_error_and_success_text():
    d = Driver()
    d.select(7)
    cmd = d.answer(R.OK, item=2, expect=SelectItem)
    assert isinstance(cmd, SendSs) and cmd.ss.ss == "#21#" and cmd.ss.ton_npi == 0xFF
    assert _shown(d.answer(R.SS_RETURN_ERROR, b"\x12")) == \
        "Sieć odrzuciła usługę #21#: usługa niedostępna (błąd 18)."
    d.answer(R.OK)
    d.select(7)
    d.answer(R.OK, item=3, expect=SelectItem)
    assert _shown(d.answer(R.OK)) == "Wykonano: *#21#."


def test_forwarding_with_input():
    d = Driver()
    sel = d.select(7)
    assert isinstance(sel, SelectItem) and sel.alpha.text == "Przekierowania"
    gi = d.answer(R.OK, item=1)
    assert isinstance(gi, GetInput) and gi.digits_only and gi.help_available
    assert (gi.response_length.minimum, gi.response_length.maximum) == (9, 15)
    ss = d.answer(R.OK, text="+48600123456")
    assert isinstance(ss, SendSs) and ss.ss.mmi == "*21*+48600123456#" and ss.ss.ton_npi == 0x91
    assert _shown(d.answer(R.OK, text="Przekierowanie włączone")) == "Przekierowanie włączone"


def test_invalid_input_is_shown_and_asked_again():
    d = Driver()
    d.select(7)
    d.answer(R.OK, item=1, expect=SelectItem)
    assert _shown(d.answer(R.OK, text="600*23456")) == "Dozwolone są tylko cyfry."
    assert isinstance(d.answer(R.OK), GetInput)
    assert _shown(d.answer(R.OK, text="1234")) == "Podaj od 9 do 15 znaków."
    assert isinstance(d.answer(R.OK), GetInput)
    assert isinstance(d.answer(R.OK, text="600123456"), SendSs)


def test_too_many_invalid_answers_end_the_session():
    d = Driver()
    d.select(7)
    d.answer(R.OK, item=1, expect=SelectItem)
    for attempt in range(1, MAX_INPUT_ATTEMPTS + 1):
        _shown(d.answer(R.OK, text="12", expect=GetInput))
        after = d.answer(R.OK)
        assert isinstance(after, GetInput) == (attempt < MAX_INPUT_ATTEMPTS)
    assert not d.applet.busy


def test_backward_moves_go_one_level_up():
    d = Driver()
    d.select(7)
    d.answer(R.OK, item=1, expect=SelectItem)
    again = d.answer(R.BACKWARD_MOVE, expect=GetInput)   # GET INPUT -> the submenu
    assert isinstance(again, SelectItem)
    assert d.answer(R.BACKWARD_MOVE) is None              # submenu -> main menu
    assert not d.applet.busy


def test_backward_between_two_prompts():
    d = Driver(CITYSAT)
    d.select(4)
    first = d.answer(R.OK, item=1, expect=SelectItem)
    assert first.text.text == "Numer skrócony (1 lub 2 cyfry):"
    second = d.answer(R.OK, text="7")
    assert second.text.text.startswith("Pełny numer docelowy")
    assert d.answer(R.BACKWARD_MOVE).text.text == first.text.text
    d.answer(R.OK, text="12")
    ussd = d.answer(R.OK, text="0322015880")
    assert isinstance(ussd, SendUssd) and ussd.ussd.text == "*50*12*0322015880#"


def test_wake_up_time_is_validated():
    d = Driver(CITYSAT)
    d.select(2)
    d.answer(R.OK, item=1, expect=SelectItem)
    assert _shown(d.answer(R.OK, text="2460")) == "Niepoprawna godzina. Podaj GGMM, np. 0630."
    d.answer(R.OK)
    ussd = d.answer(R.OK, text="0630", expect=GetInput)
    assert isinstance(ussd, SendUssd) and ussd.ussd.text == "*55*0630#"


def test_help_in_select_item_and_get_input():
    d = Driver()
    d.select(2)
    helped = d.answer(R.HELP_REQUIRED, item=2, expect=SelectItem)
    assert _shown(helped) == "Włącza usługę Internet (kod *107*1#)."
    again = d.answer(R.OK)
    assert isinstance(again, SelectItem) and again.default_item.identifier == 2
    assert d.answer(R.BACKWARD_MOVE) is None
    d.select(7)
    d.answer(R.OK, item=1, expect=SelectItem)
    assert _shown(d.answer(R.HELP_REQUIRED, expect=GetInput)).startswith("Przekierowuje")
    assert isinstance(d.answer(R.OK), GetInput)


def test_user_ends_the_session_anywhere():
    d = Driver()
    d.select(7)
    assert d.answer(R.SESSION_TERMINATED_BY_USER, expect=SelectItem) is None
    assert not d.applet.busy
    d.select(7)
    d.answer(R.OK, item=1)
    assert d.answer(R.SESSION_TERMINATED_BY_USER, expect=GetInput) is None
    assert not d.applet.busy


# --- only what the terminal supports ----------------------------------------------------------


def test_terminal_without_ussd_gets_the_code_as_text():
    d = Driver(profile=DEFAULT.without("send_ussd"))
    assert _shown(d.select(1)) == \
        "Telefon nie może wysłać tego kodu. Wybierz na klawiaturze: *101#"
    d.answer(R.OK)
    d.select(7)
    assert isinstance(d.answer(R.OK, item=2, expect=SelectItem), SendSs)  # SS still fine


def test_terminal_without_send_ss_or_get_input_or_select_item():
    d = Driver(profile=DEFAULT.without("send_ss"))
    d.select(7)
    assert _shown(d.answer(R.OK, item=2, expect=SelectItem)).endswith("#21#")
    d = Driver(profile=DEFAULT.without("get_input"))
    d.select(7)
    assert _shown(d.answer(R.OK, item=1, expect=SelectItem)).endswith("*21*numer#")
    d = Driver(profile=DEFAULT.without("select_item"))
    text = _shown(d.select(2))
    assert text.splitlines() == ["Internet", "Sprawdź aktywność: *107#",
                                 "Włącz Internet: *107*1#", "Wyłącz Internet: *107*2#"]


def test_terminal_that_can_do_nothing_gets_nothing():
    bare = TerminalProfile.from_facilities(["profile_download", "menu_selection",
                                            "set_up_menu"])
    d = Driver(profile=bare)
    assert d.select(3) is None and not d.applet.busy


def test_set_up_call_or_the_number_as_text():
    d = Driver(CITYSAT)
    d.select(1)
    call = d.answer(R.OK, item=7, expect=SelectItem)
    assert isinstance(call, SetUpCall) and call.address.dialled == "9555"
    assert d.answer(R.OK) is None
    d = Driver(CITYSAT, profile=DEFAULT.without("set_up_call"))
    d.select(1)
    assert _shown(d.answer(R.OK, item=7)) == \
        "Telefon nie może połączyć. Zadzwoń pod numer 9555."


def test_long_network_reply_is_cut_to_fit():
    d = Driver()
    d.select(3)
    shown = _shown(d.answer(R.OK, text="Saldo: " + "ż" * 200))
    assert shown.startswith("Saldo: żżż") and shown.endswith("...")
    assert len(d.last.encode()) <= MAX_COMMAND_LENGTH


def test_command_numbers_advance():
    d = Driver()
    numbers = [d.select(3).number]
    numbers.append(d.answer(R.OK, text="x").number)
    assert numbers[1] == numbers[0] + 1
