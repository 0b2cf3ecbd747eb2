"""The card-side SIM Toolkit menu applet: a state machine driven by toolkit payloads.

It is a :class:`~simtool.stk.dispatch.CardApplet`: a card's
:class:`~simtool.stk.dispatch.ToolkitDispatcher` hands it TERMINAL PROFILE, ENVELOPE and
TERMINAL RESPONSE, and queues the proactive commands it answers with for FETCH (ETSI TS
102 223 §6.3, the proactive cycle).  What the applet waits for is :attr:`MenuApplet.state`,
one :class:`AppletState`.

Behaviour: after TERMINAL PROFILE it sends SET UP MENU (§6.6.7) when the terminal supports
it.  A MENU SELECTION (§7.2) starts the item's action: SEND USSD / SEND SS (TS 31.111
§6.4.11-12), GET INPUT prompts first for templates (validated; an invalid answer is shown as
an error and asked again), SELECT ITEM for submenus, SET UP CALL for numbers; the network's
reply (the TEXT STRING of the TERMINAL RESPONSE) is shown with DISPLAY TEXT.  Every result of
§8.12 is handled: 10 ends the session, 11 goes one level back, 13 shows help, 20/30/31/32
(the terminal cannot) explain the code as text, 21/34/37 (network) give a readable message.
A command the terminal's profile lacks is never sent: the code is explained as text instead.
Every text the applet says itself comes from its :class:`~simtool.stk.texts.AppletTexts`;
the menu's own texts come from the menu.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from simtool.errors import DecodeError, EncodeError
from simtool.stk.callcontrol import (CALL_CONTROL_TAG, CallControl, CallControlResponse,
                                     CallControlResult)
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
from simtool.stk.dialstrings import Address, UssdString
from simtool.stk.dispatch import AppletStatus, EnvelopeAnswer
from simtool.stk.envelopes import MenuSelection, UnknownEnvelope, decode_envelope
from simtool.stk.menu import Call, Explain, Menu, MenuItem, Ss, Submenu, Template
from simtool.stk.objects import AlphaIdentifier, SsString
from simtool.stk.objects import GeneralResult as R
from simtool.stk.profile import TerminalProfile
from simtool.stk.responses import TerminalResponse
from simtool.stk.texts import AppletTexts, default_texts

__all__ = ["AppletState", "AppletStatus", "EMERGENCY_NUMBERS", "MAX_INPUT_ATTEMPTS",
           "MenuApplet", "OWN_NUMBER", "plain"]


class AppletState(enum.Enum):
    """What the menu applet waits for.  Every state but IDLE is the TERMINAL RESPONSE to
    one proactive command (TS 102 223 §6.8); a TERMINAL PROFILE leads back to IDLE (or to
    INSTALLING_MENU) from anywhere."""

    #: no session: a MENU SELECTION starts one
    IDLE = "idle"
    #: SET UP MENU sent after TERMINAL PROFILE (§6.4.7)
    INSTALLING_MENU = "installing_menu"
    #: DISPLAY TEXT sent: a reply, an error, help, or a code to dial by hand (§6.4.1)
    SHOWING_TEXT = "showing_text"
    #: SELECT ITEM sent for a submenu (§6.4.9)
    SELECTING_ITEM = "selecting_item"
    #: GET INPUT sent for one field of a template (§6.4.3)
    AWAITING_INPUT = "awaiting_input"
    #: SEND USSD / SEND SS sent: the network's answer comes in the response (TS 31.111 §6.4)
    AWAITING_NETWORK = "awaiting_network"
    #: SET UP CALL sent (§6.4.13)
    AWAITING_CALL = "awaiting_call"


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

#: Letters NFKD does not decompose: L with stroke (U+0141, U+0142).
_NOT_DECOMPOSED = str.maketrans({"\u0141": "L", "\u0142": "l"})


def plain(text: str) -> str:
    """Text without diacritics, for terminals without UCS2 display (TS 102 223 §5.2 byte 2)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_NOT_DECOMPOSED))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass
class _Session:
    levels: list[tuple[str, tuple[MenuItem, ...]]] = field(default_factory=list)
    item: MenuItem | None = None
    values: dict[str, str] = field(default_factory=dict)
    field_index: int = 0
    attempts: int = 0
    code: str = ""                                # sent by SEND USSD / SEND SS
    ss: bool = False
    shown: Callable[[], None] | None = None      # after DISPLAY TEXT: read
    back: Callable[[], None] | None = None       # after DISPLAY TEXT: backward move


class MenuApplet:
    """The menu applet for one :class:`~simtool.stk.menu.Menu` (a CardApplet)."""

    def __init__(self, menu: Menu, *, texts: AppletTexts | None = None,
                 own_number: Callable[[], str | None] | None = None) -> None:
        self.menu = menu
        self.texts = default_texts().applet if texts is None else texts
        # the card's own number (EF.MSISDN, which the applet reads on the card itself), for
        # texts with {own_number}: Milo's forwarding is dialled on the previous phone (seed 000)
        self.own_number = own_number
        self.profile = TerminalProfile(b"")
        self.menu_installed = False
        self.state = AppletState.IDLE
        self._counter = 0
        self._session: _Session | None = None
        self._out: list[ProactiveCommand] = []
        self._set_up_menu().encode()  # fail early on a menu that does not fit

    # --- CardApplet protocol ------------------------------------------------------------------

    def terminal_profile(self, profile: bytes) -> list[ProactiveCommand]:
        """TERMINAL PROFILE: reset, then SET UP MENU if the terminal supports it."""
        self.profile = TerminalProfile(bytes(profile))
        self._out, self._session = [], None
        self.state = AppletState.IDLE
        self.menu_installed = False
        if self.profile.supports("set_up_menu"):
            self._issue(self._set_up_menu(), AppletState.INSTALLING_MENU)
        return self._sent()

    def envelope(self, data: bytes) -> EnvelopeAnswer | None:
        """ENVELOPE: MENU SELECTION starts a session (93 00 while one runs); CALL CONTROL
        answers with response data (:meth:`call_control`); other envelopes are not for this
        applet (None)."""
        try:
            env = decode_envelope(bytes(data))
        except DecodeError as exc:
            raise AppletStatus(0x6A80, f"malformed envelope: {exc}") from None
        if isinstance(env, UnknownEnvelope) and env.tag == CALL_CONTROL_TAG:
            try:
                request = CallControl.from_objects(env.objects)
            except DecodeError as exc:
                raise AppletStatus(0x6A80, f"malformed CALL CONTROL: {exc}") from None
            return EnvelopeAnswer(self.call_control(request).encode())
        if not isinstance(env, MenuSelection):
            return None
        if self.busy:
            raise AppletStatus(0x9300, f"toolkit busy ({self.state.value})")
        self._out, self._session = [], _Session()
        item = self.menu.item(env.item_id)
        if item is None:
            self._show(self.texts.unknown_item, self._end)
        elif env.help_requested:
            self._show(self._help_text(item), self._end)
        else:
            self._start(item)
        return EnvelopeAnswer(commands=tuple(self._sent()))

    def terminal_response(self, response: TerminalResponse) -> list[ProactiveCommand]:
        """TERMINAL RESPONSE to this applet's outstanding command: the next step, by state."""
        on_response = self._ON_RESPONSE.get(self.state)
        if on_response is None:
            raise AppletStatus(0x6985, "TERMINAL RESPONSE with no command outstanding")
        self._out = []
        on_response(self, response)
        return self._sent()

    def call_control(self, request: CallControl) -> CallControlResponse:
        """Call control by USIM (TS 31.111 §7.3.1.6) for the menu's ``[call_control]``
        call-back service (seed 000): a call to an international number becomes the USSD
        call-back request ("allowed with modifications"); a number without its country code
        is not allowed (the alpha identifier says why); emergency calls, SS and USSD strings,
        and every call on a card without the service, go as they are.  The USSD answer needs
        the terminal's "USSD string in call control" bit (TS 31.111 §5.2 byte 1 b7); without
        it the call is not allowed and the alpha names the code."""
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

    @property
    def busy(self) -> bool:
        """A session runs (or the menu is being installed): MENU SELECTION answers 93 00."""
        return self.state is not AppletState.IDLE

    # --- issuing commands ------------------------------------------------------------------------

    def _can(self, facility: str) -> bool:
        return self.profile.supports(facility)

    def _t(self, text: str) -> str:
        return text if self._can("ucs2_display") else plain(text)

    def _issue(self, command: ProactiveCommand, state: AppletState) -> None:
        self._counter = self._counter % 0xFE + 1  # command numbers 01..FE
        self._out.append(command.with_number(self._counter))
        self.state = state

    def _sent(self) -> list[ProactiveCommand]:
        """The commands issued by this step.  None issued: nothing will answer, the session
        is over."""
        out, self._out = self._out, []
        if not out:
            self._end()
        return out

    def _set_up_menu(self) -> SetUpMenu:
        return SetUpMenu.of(self._t(self.menu.title),
                            [(it.id, self._t(it.title)) for it in self.menu.items],
                            help_available=True)

    def _end(self) -> None:
        self._session = None
        self.state = AppletState.IDLE

    def _show(self, text: str, then: Callable[[], None],
              back: Callable[[], None] | None = None) -> None:
        """DISPLAY TEXT (wait for the user), then ``then``; skipped without DISPLAY TEXT."""
        if not self._can("display_text"):
            then()
            return
        s = self._s
        s.shown, s.back = then, back
        self._issue(_fitted_display(self._t(text)), AppletState.SHOWING_TEXT)

    def _on_shown(self, tr: TerminalResponse) -> None:
        s = self._s
        then, back = s.shown or self._end, s.back
        s.shown = s.back = None
        if tr.result.performed:
            then()
        elif tr.general == R.BACKWARD_MOVE:
            (back or then)()
        else:
            self._end()

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
                self._issue(SetUpCall.of(action.number, confirm=confirm),
                            AppletState.AWAITING_CALL)
            else:
                self._show(self.texts.call_yourself.format(code=action.number), self._end)
        else:
            self._send(action.code, ss=isinstance(action, Ss))

    def _select_level(self, default: int | None = None) -> None:
        title, items = self._s.levels[-1]
        command = SelectItem.of(self._t(title), [(it.id, self._t(it.title)) for it in items],
                                help_available=True, default_item=default)
        self._issue(command, AppletState.SELECTING_ITEM)

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
        self._issue(command, AppletState.AWAITING_INPUT)

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
        s = self._s
        s.code, s.ss = code, ss
        self._issue(command, AppletState.AWAITING_NETWORK)

    def _on_sent(self, tr: TerminalResponse) -> None:
        t, general, code, ss = self.texts, tr.general, self._s.code, self._s.ss
        additional = tr.result.additional
        error = str(additional[0]) if additional else "?"
        reason = t.network_errors.get(additional[0], t.unknown_error) if additional \
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

    #: The step that follows the TERMINAL RESPONSE, by what the applet waits for.
    _ON_RESPONSE: dict[AppletState, Callable[[MenuApplet, TerminalResponse], None]] = {
        AppletState.INSTALLING_MENU: _on_set_up_menu,
        AppletState.SHOWING_TEXT: _on_shown,
        AppletState.SELECTING_ITEM: _on_select,
        AppletState.AWAITING_INPUT: _on_input,
        AppletState.AWAITING_NETWORK: _on_sent,
        AppletState.AWAITING_CALL: _on_call,
    }


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
