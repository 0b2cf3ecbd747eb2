"""The card-side SIM Toolkit menu applet: a state machine driven by toolkit APDU payloads.

It implements the ``CardApplet`` protocol of docs/architecture.md: the virtual card hands it
TERMINAL PROFILE (80 10), ENVELOPE (80 C2), FETCH (80 12) and TERMINAL RESPONSE (80 14) data
and answers ``91 xx`` while :meth:`MenuApplet.pending_length` is non-zero (ETSI TS 102 223
§6.3, the proactive cycle).

Behaviour: after TERMINAL PROFILE it queues SET UP MENU (§6.6.7) when the terminal supports
it.  A MENU SELECTION (§7.2) starts the item's action: SEND USSD / SEND SS (TS 31.111
§6.4.11-12), GET INPUT prompts first for templates (validated; an invalid answer is shown as
an error and asked again), SELECT ITEM for submenus, SET UP CALL for numbers; the network's
reply (the TEXT STRING of the TERMINAL RESPONSE) is shown with DISPLAY TEXT.  Every result of
§8.12 is handled: 10 ends the session, 11 goes one level back, 13 shows help, 20/30/31/32
(the terminal cannot) explain the code as text, 21/34/37 (network) give a readable message.
A command the terminal's profile lacks is never sent: the code is explained as text instead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from simtool.errors import DecodeError, EncodeError, SimtoolError
from simtool.stk.commands import (
    DisplayText,
    GetInput,
    ProactiveCommand,
    SelectItem,
    SendSs,
    SendUssd,
    SetUpCall,
    SetUpMenu,
)
from simtool.stk.callcontrol import (CALL_CONTROL_TAG, CallControl, CallControlResponse,
                                     CallControlResult)
from simtool.stk.dialstrings import Address, UssdString
from simtool.stk.envelopes import MenuSelection, UnknownEnvelope, decode_envelope
from simtool.stk.menu import Call, Explain, Menu, MenuItem, Ss, Submenu, Template
from simtool.stk.objects import GeneralResult as R
from simtool.stk.objects import AlphaIdentifier, SsString
from simtool.stk.profile import TerminalProfile
from simtool.stk.responses import TerminalResponse


class AppletStatus(SimtoolError):
    """The card must answer ``sw`` instead of 90 00 / 91 xx (TS 102 221 §10.2)."""

    def __init__(self, sw: int, message: str = "") -> None:
        self.sw = sw
        super().__init__(f"{sw:04X}: {message}" if message else f"{sw:04X}")


@dataclass(frozen=True)
class Texts:
    """What the applet says to the user (Polish by default)."""

    network_unable: str = "Sieć nie może teraz wykonać polecenia. Spróbuj później."
    ss_error: str = "Sieć odrzuciła usługę {code}: {reason} (błąd {error})."
    ussd_error: str = "Sieć odrzuciła kod {code}: {reason} (błąd {error})."
    unknown_error: str = "nieznany błąd"
    not_supported: str = "Telefon nie może wysłać tego kodu. Wybierz na klawiaturze: {code}"
    call_yourself: str = "Telefon nie może połączyć. Zadzwoń pod numer {code}."
    failed: str = "Nie udało się wykonać: {code} (wynik {result})."
    sent: str = "Wysłano kod {code}."
    ss_done: str = "Wykonano: {code}."
    help: str = "{title}: kod {code}."
    unknown_item: str = "Nieznana pozycja menu."
    input_length: str = "Podaj od {min} do {max} znaków."
    input_digits: str = "Dozwolone są tylko cyfry."
    input_time: str = "Niepoprawna godzina. Podaj GGMM, np. 0630."
    input_trunk: str = "Podaj pełny numer z 0 i numerem kierunkowym, np. 0322015880."
    call_confirm: str = "Zadzwonić pod {code}?"
    own_number_unknown: str = "numer_tej_karty"


POLISH = Texts()

#: SS / USSD error codes of TS 24.080 §4.5 (values of TS 29.002 §17.6), as the user reads them.
NETWORK_ERRORS_PL: dict[int, str] = {
    13: "połączenia zablokowane",
    16: "niedozwolona operacja",
    17: "usługa w niewłaściwym stanie",
    18: "usługa niedostępna",
    19: "brak uprawnień do usługi",
    20: "usługa niezgodna z inną włączoną usługą",
    21: "funkcja nieobsługiwana",
    34: "awaria systemu",
    35: "brak danych",
    36: "niepoprawne dane",
    38: "błędne hasło",
    71: "nieznany alfabet",
    72: "usługa USSD zajęta",
}

#: Numbers call control always lets through as dialled (112, TS 22.101 §10.1.1; 997-999 are
#: Poland's police, fire and ambulance).
EMERGENCY_NUMBERS = frozenset({"112", "911", "997", "998", "999"})

#: Placeholder of an Explain text for the card's own number.
OWN_NUMBER = "{own_number}"

#: Wrong answers to one prompt before the session gives up.
MAX_INPUT_ATTEMPTS = 3
#: "The terminal cannot": explain the code as text instead (TS 102 223 §8.12).
_TERMINAL_CANNOT = frozenset({R.TERMINAL_UNABLE, R.BEYOND_TERMINAL_CAPABILITIES,
                              R.TYPE_NOT_UNDERSTOOD, R.DATA_NOT_UNDERSTOOD,
                              R.REQUIRED_VALUES_MISSING})

Handler = Callable[[TerminalResponse], None]


def plain(text: str) -> str:
    """Text without diacritics, for terminals without UCS2 display (TS 102 223 §5.2 byte 2)."""
    text = text.replace("ł", "l").replace("Ł", "L")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass
class _Session:
    levels: list[tuple[str, tuple[MenuItem, ...]]] = field(default_factory=list)
    item: MenuItem | None = None
    values: dict[str, str] = field(default_factory=dict)
    field_index: int = 0
    attempts: int = 0


class MenuApplet:
    """The menu applet for one :class:`~simtool.stk.menu.Menu` (CardApplet protocol)."""

    def __init__(self, menu: Menu, *, texts: Texts = POLISH,
                 own_number: Callable[[], str | None] | None = None) -> None:
        self.menu = menu
        self.texts = texts
        # the card's own number (EF.MSISDN, which the applet reads on the card itself), for
        # texts with {own_number}: Milo's forwarding is dialled on the previous phone (seed 000)
        self.own_number = own_number
        self.profile = TerminalProfile(b"")
        self.menu_installed = False
        self._counter = 0
        self._queued: tuple[ProactiveCommand, bytes] | None = None
        self._outstanding: ProactiveCommand | None = None
        self._handler: Handler | None = None
        self._session: _Session | None = None
        self._set_up_menu().encode()  # fail early on a menu that does not fit

    # --- CardApplet protocol ------------------------------------------------------------------

    def terminal_profile(self, profile: bytes) -> None:
        """TERMINAL PROFILE: reset, then queue SET UP MENU if the terminal supports it."""
        self.profile = TerminalProfile(bytes(profile))
        self._queued = self._outstanding = self._handler = self._session = None
        self.menu_installed = False
        if self.profile.supports("set_up_menu"):
            self._issue(self._set_up_menu(), self._on_set_up_menu)

    def envelope(self, data: bytes) -> bytes:
        """ENVELOPE: MENU SELECTION starts a session; CALL CONTROL answers with response
        data (:meth:`call_control`); other envelopes are ignored."""
        try:
            env = decode_envelope(bytes(data))
        except DecodeError as exc:
            raise AppletStatus(0x6A80, f"malformed envelope: {exc}") from None
        if isinstance(env, UnknownEnvelope) and env.tag == CALL_CONTROL_TAG:
            try:
                request = CallControl.from_objects(env.objects)
            except DecodeError as exc:
                raise AppletStatus(0x6A80, f"malformed CALL CONTROL: {exc}") from None
            return self.call_control(request).encode()
        if not isinstance(env, MenuSelection):
            return b""
        if self.busy:
            raise AppletStatus(0x9300, "toolkit busy: a proactive session is running")
        self._session = _Session()
        item = self.menu.item(env.item_id)
        if item is None:
            self._show(self.texts.unknown_item, self._end)
        elif env.help_requested:
            self._show(self._help_text(item), self._end)
        else:
            self._start(item)
        return b""

    def call_control(self, request: CallControl) -> CallControlResponse:
        """Call control by USIM (TS 31.111 §7.3.1.6) for the menu's ``[call_control]``
        call-back service (seed 000, WYKONYWANIE POŁĄCZEŃ): a call to an international number
        becomes the USSD call-back request ("allowed with modifications"); a number without
        its country code is not allowed (the alpha identifier says why); emergency calls,
        SS and USSD strings, and every call on a card without the service, go as they are.
        The USSD answer needs the terminal's "USSD string in call control" bit (TS 31.111
        §5.2 byte 1 b7); without it the call is not allowed and the alpha names the code."""
        rule = self.menu.call_control
        target = request.target
        if rule is None or not isinstance(target, Address):
            return CallControlResponse(CallControlResult.ALLOWED)
        number = target.dialled
        if number.lstrip("+") in EMERGENCY_NUMBERS:
            return CallControlResponse(CallControlResult.ALLOWED)
        if number.startswith("00"):
            number = "+" + number[2:]
        if not number.startswith("+"):
            return CallControlResponse(CallControlResult.NOT_ALLOWED,
                                       alpha=AlphaIdentifier.from_text(self._t(rule.national)))
        ussd = rule.render(number)
        if not self.profile.supports("ussd_in_call_control"):
            return CallControlResponse(
                CallControlResult.NOT_ALLOWED,
                alpha=AlphaIdentifier.from_text(self._t(self.texts.not_supported.format(code=ussd))))
        return CallControlResponse(CallControlResult.ALLOWED_WITH_MODIFICATIONS,
                                   UssdString.from_text(ussd),
                                   AlphaIdentifier.from_text(self._t(rule.alpha)))

    def fetch(self) -> bytes:
        """FETCH: the queued proactive command (6F00 when there is none)."""
        if self._queued is None:
            raise AppletStatus(0x6F00, "FETCH with no proactive command pending")
        command, raw = self._queued
        self._queued = None
        self._outstanding = command
        return raw

    def terminal_response(self, data: bytes) -> None:
        """TERMINAL RESPONSE to the outstanding command: run the next step."""
        try:
            tr = TerminalResponse.decode(bytes(data))
        except DecodeError as exc:
            raise AppletStatus(0x6A80, f"malformed TERMINAL RESPONSE: {exc}") from None
        command, handler = self._outstanding, self._handler
        if command is None or handler is None:
            raise AppletStatus(0x6985, "TERMINAL RESPONSE without a proactive command")
        if not tr.answers(command):
            raise AppletStatus(0x6A80, f"TERMINAL RESPONSE is for command #{tr.number} "
                                       f"{tr.type_of_command:02X}, not #{command.number}")
        self._outstanding = self._handler = None
        handler(tr)

    def pending_length(self) -> int:
        return 0 if self._queued is None else len(self._queued[1])

    @property
    def busy(self) -> bool:
        return bool(self._queued or self._outstanding or self._session)

    # --- issuing commands ------------------------------------------------------------------------

    def _can(self, facility: str) -> bool:
        return self.profile.supports(facility)

    def _t(self, text: str) -> str:
        return text if self._can("ucs2_display") else plain(text)

    def _issue(self, command: ProactiveCommand, handler: Handler) -> None:
        self._counter = self._counter % 0xFE + 1  # command numbers 01..FE
        command = command.with_number(self._counter)
        self._queued = (command, command.encode())
        self._handler = handler

    def _set_up_menu(self) -> SetUpMenu:
        return SetUpMenu.of(self._t(self.menu.title),
                            [(it.id, self._t(it.title)) for it in self.menu.items],
                            help_available=True)

    def _end(self) -> None:
        self._session = None

    def _show(self, text: str, then: Callable[[], None],
              back: Callable[[], None] | None = None) -> None:
        """DISPLAY TEXT (wait for the user), then ``then``; skipped without DISPLAY TEXT."""
        if not self._can("display_text"):
            then()
            return
        command = _fitted_display(self._t(text))

        def on_shown(tr: TerminalResponse) -> None:
            if tr.result.performed:
                then()
            elif tr.general == R.BACKWARD_MOVE:
                (back or then)()
            else:
                self._end()

        self._issue(command, on_shown)

    # --- the session -----------------------------------------------------------------------------

    @property
    def _s(self) -> _Session:
        if self._session is None:  # every handler runs inside a session
            self._session = _Session()
        return self._session

    def _start(self, item: MenuItem) -> None:
        s = self._s
        s.item, s.values, s.field_index, s.attempts = item, {}, 0, 0
        action = item.action
        if isinstance(action, Submenu):
            if self._can("select_item"):
                s.levels.append((item.title, action.items))
                self._select_level()
            else:
                self._show(self._submenu_as_text(item, action), self._end)
        elif isinstance(action, Explain):
            self._show(self._fill(action.text), self._end, self._back_to_level)
        elif isinstance(action, Template):
            if self._can("get_input"):
                self._ask()
            else:
                self._explain(action.shown())
        elif isinstance(action, Call):
            if self._can("set_up_call"):
                confirm = self._t(self.texts.call_confirm.format(code=action.number))
                self._issue(SetUpCall.of(action.number, confirm=confirm), self._on_call)
            else:
                self._show(self.texts.call_yourself.format(code=action.number), self._end)
        else:
            self._send(action.code, ss=isinstance(action, Ss))

    def _select_level(self, default: int | None = None) -> None:
        title, items = self._s.levels[-1]
        command = SelectItem.of(self._t(title), [(it.id, self._t(it.title)) for it in items],
                                help_available=True, default_item=default)
        self._issue(command, self._on_select)

    def _back_to_level(self) -> None:
        if self._s.levels:
            self._select_level()
        else:
            self._end()

    def _on_set_up_menu(self, tr: TerminalResponse) -> None:
        self.menu_installed = tr.result.performed
        self._end()

    def _on_select(self, tr: TerminalResponse) -> None:
        s = self._s
        items = s.levels[-1][1]
        chosen = None if tr.item is None else next(
            (it for it in items if it.id == tr.item.identifier), None)
        if tr.result.performed:
            if chosen is None:
                self._show(self.texts.unknown_item, self._end)
            else:
                self._start(chosen)
        elif tr.general == R.BACKWARD_MOVE:
            s.levels.pop()
            self._back_to_level()
        elif tr.general == R.HELP_REQUIRED and chosen is not None:
            self._show(self._help_text(chosen), lambda: self._select_level(chosen.id))
        elif tr.general in _TERMINAL_CANNOT:
            title, items = s.levels.pop()
            self._show(self._submenu_as_text(MenuItem(0, title, Submenu(items)),
                                             Submenu(items)), self._end)
        else:
            self._end()

    # --- GET INPUT --------------------------------------------------------------------------------

    def _template(self) -> Template:
        item = self._s.item
        assert item is not None and isinstance(item.action, Template)
        return item.action

    def _ask(self) -> None:
        f = self._template().inputs[self._s.field_index]
        command = GetInput.of(self._t(f.prompt), f.min_length, f.max_length,
                              help_available=True, default=f.default)
        self._issue(command, self._on_input)

    def _on_input(self, tr: TerminalResponse) -> None:
        s, template = self._s, self._template()
        f = template.inputs[s.field_index]
        if tr.result.performed:
            try:
                value = "" if tr.text is None else tr.text.text
            except DecodeError:
                value = "\x00"  # undecodable: reported as "digits only"
            problem = f.problem(value)
            if problem is None:
                s.values[f.name] = value
                s.field_index += 1
                s.attempts = 0
                if s.field_index < len(template.inputs):
                    self._ask()
                else:
                    self._send(template.render(s.values), ss=template.service == "ss")
                return
            s.attempts += 1
            message = {"length": self.texts.input_length.format(min=f.min_length,
                                                                max=f.max_length),
                       "time": self.texts.input_time,
                       "trunk": self.texts.input_trunk}.get(problem, self.texts.input_digits)
            retry = self._ask if s.attempts < MAX_INPUT_ATTEMPTS else self._end
            self._show(message, retry)
        elif tr.general == R.BACKWARD_MOVE:
            if s.field_index > 0:
                s.field_index -= 1
                self._ask()
            else:
                self._back_to_level()
        elif tr.general == R.HELP_REQUIRED:
            assert s.item is not None
            self._show(self._help_text(s.item), self._ask)
        elif tr.general in _TERMINAL_CANNOT:
            self._explain(template.shown())
        else:
            self._end()

    # --- SEND USSD / SEND SS / SET UP CALL -------------------------------------------------------

    def _send(self, code: str, *, ss: bool) -> None:
        item = self._s.item
        alpha = None if item is None else self._t(item.title)
        if ss and self._can("send_ss"):
            command: ProactiveCommand = SendSs(
                ss=SsString.from_mmi(code),
                alpha=None if alpha is None else AlphaIdentifier.from_text(alpha))
        elif not ss and self._can("send_ussd"):
            command = SendUssd.of(code, alpha=alpha)
        else:
            self._explain(code)
            return
        self._issue(command, lambda tr: self._on_sent(tr, code, ss))

    def _on_sent(self, tr: TerminalResponse, code: str, ss: bool) -> None:
        t, general = self.texts, tr.general
        additional = tr.result.additional
        error = str(additional[0]) if additional else "?"
        reason = NETWORK_ERRORS_PL.get(additional[0], t.unknown_error) if additional \
            else t.unknown_error
        if tr.result.performed:
            try:
                reply = "" if tr.text is None else tr.text.text
            except DecodeError:
                reply = ""
            if not reply.strip():
                reply = (t.ss_done if ss else t.sent).format(code=code)
            self._show(reply, self._end, self._back_to_level)
        elif general in (R.SESSION_TERMINATED_BY_USER, R.USSD_SS_TERMINATED_BY_USER):
            self._end()
        elif general == R.BACKWARD_MOVE:
            self._back_to_level()
        elif general == R.NETWORK_UNABLE:
            self._show(t.network_unable, self._end)
        elif general == R.SS_RETURN_ERROR:
            self._show(t.ss_error.format(code=code, error=error, reason=reason), self._end)
        elif general == R.USSD_RETURN_ERROR:
            self._show(t.ussd_error.format(code=code, error=error, reason=reason), self._end)
        elif general in _TERMINAL_CANNOT:
            self._explain(code)
        else:
            self._show(t.failed.format(code=code, result=f"{general:02X}"), self._end)

    def _on_call(self, tr: TerminalResponse) -> None:
        item = self._s.item
        if tr.general in _TERMINAL_CANNOT and item is not None:
            self._show(self.texts.call_yourself.format(code=item.code), self._end)
        elif tr.general == R.BACKWARD_MOVE:
            self._back_to_level()
        elif tr.general == R.NETWORK_UNABLE:
            self._show(self.texts.network_unable, self._end)
        else:
            self._end()

    # --- texts ---------------------------------------------------------------------------------

    def _fill(self, text: str) -> str:
        """``{own_number}`` → the card's number in international form (+48…)."""
        if OWN_NUMBER not in text:
            return text
        number = self.own_number() if self.own_number is not None else None
        shown = f"+{number.lstrip('+')}" if number else self.texts.own_number_unknown
        return text.replace(OWN_NUMBER, shown)

    def _explain(self, code: str) -> None:
        self._show(self.texts.not_supported.format(code=code), self._end)

    def _help_text(self, item: MenuItem) -> str:
        if item.help:
            return item.help
        return self.texts.help.format(title=item.title, code=item.code or "-")

    def _submenu_as_text(self, item: MenuItem, submenu: Submenu) -> str:
        lines = [f"{sub.title}: {sub.code}" for sub in submenu.items if sub.code]
        return "\n".join([item.title] + lines)


def _fitted_display(text: str) -> DisplayText:
    """DISPLAY TEXT of ``text``, cut with '...' when it would not fit one command."""
    try:
        command = DisplayText.of(text)
        command.encode()
        return command
    except EncodeError:
        pass
    low, high = 0, len(text)  # longest prefix that fits, by bisection
    while low < high:
        mid = (low + high + 1) // 2
        try:
            DisplayText.of(text[:mid] + "...").encode()
            low = mid
        except EncodeError:
            high = mid - 1
    return DisplayText.of(text[:low] + "...")
