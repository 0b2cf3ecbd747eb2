"""A handset (terminal) simulator: drives a card's toolkit through a Channel.

It plays the terminal's side of ETSI TS 102 223 §6 (proactive UICC) and 3GPP TS 31.111:
sends TERMINAL PROFILE, follows every ``91 xx`` with FETCH, renders the proactive command
through an injected UI object, passes SEND USSD / SEND SS to a
:class:`~simtool.stk.network.Network`, and answers with a TERMINAL RESPONSE whose result
follows §8.12 (network errors: 21 / 34 / 37; commands missing from the profile: 30; unknown
types: 31; unknown comprehension-required objects: 32; missing mandatory objects: 36).

The simulator passes user answers through unchecked (a real keypad would enforce lengths
and digits) so tests can exercise the card's own validation.  The reply to SEND SS is put
in a TEXT STRING object (CR = 0) of the TERMINAL RESPONSE, as for SEND USSD, so the
applet can show it.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from simtool.apdu.channel import Channel
from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.sw import proactive_pending
from simtool.errors import CardError, DataError, DecodeError
from simtool.stk.commands import (
    DisplayText,
    GetInput,
    MissingObjectError,
    ProactiveCommand,
    SelectItem,
    SendSs,
    SendUssd,
    SetUpCall,
    SetUpMenu,
    UnknownCommand,
    decode_proactive,
    peek_details,
)
from simtool.stk.callcontrol import (CallControl, CallControlResponse, CallControlResult,
                                     LocationInformation)
from simtool.stk.dialstrings import Address, SsString, UssdString
from simtool.stk.envelopes import MenuSelection
from simtool.stk.network import Network, NetworkError, SsError, UssdError
from simtool.stk.objects import GeneralResult, Result, TextString
from simtool.stk.profile import DEFAULT, TerminalProfile
from simtool.stk.responses import TerminalResponse
from simtool.stk.texts import HandsetTexts, default_texts

#: Where the simulated handset is (PLMN 260/97, LAC 0001, cell 0001) for CALL CONTROL.
DEFAULT_LOCATION = LocationInformation.of("260", "97", 0x0001, 0x0001)

#: Largest TERMINAL RESPONSE: the data of one short APDU (TS 102 221 §10.1).
MAX_RESPONSE_LENGTH = 255


class UserAction(enum.Enum):
    """What a user can do instead of answering: go back (result 11) or end (result 10)."""

    BACK = "back"
    END = "end"


@dataclass(frozen=True)
class AskHelp:
    """The user asks for help (result 13); ``item`` for SELECT ITEM."""

    item: int | None = None


@dataclass(frozen=True)
class MenuEntry:
    id: int
    title: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title}


@dataclass(frozen=True)
class MenuListing:
    """The menu a card installed with SET UP MENU."""

    title: str
    items: tuple[MenuEntry, ...]

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "items": [e.to_json() for e in self.items]}


class UI(Protocol):
    """The person at the handset (the CLI provides a terminal one, tests a scripted one)."""

    def display_text(self, text: str) -> UserAction | None: ...

    def get_input(self, prompt: str, min_len: int, max_len: int, digits_only: bool, *,
                  hidden: bool = False) -> str | UserAction | AskHelp | None:
        """``hidden``: GET INPUT's "user input not revealed" (TS 102 223 §8.6 qualifier b3):
        the answer is a secret, typed without echo."""
        ...

    def select_item(self, title: str, items: Sequence[MenuEntry]
                    ) -> int | UserAction | AskHelp | None: ...

    def notify(self, text: str) -> None: ...


class ScriptedUI:
    """A UI answering from scripts; records what it was shown.  An empty script answers
    None (back)."""

    def __init__(self, *, choices: Iterable[Any] = (), inputs: Iterable[Any] = (),
                 displays: Iterable[UserAction | None] = ()) -> None:
        self.choices = deque(choices)
        self.inputs = deque(inputs)
        self.displays = deque(displays)
        self.shown: list[str] = []
        self.prompts: list[str] = []
        self.hidden: list[bool] = []  # per GET INPUT: asked not to reveal the input
        self.notes: list[str] = []

    def display_text(self, text: str) -> UserAction | None:
        self.shown.append(text)
        return self.displays.popleft() if self.displays else None

    def get_input(self, prompt: str, min_len: int, max_len: int, digits_only: bool, *,
                  hidden: bool = False) -> Any:
        self.prompts.append(prompt)
        self.hidden.append(hidden)
        return self.inputs.popleft() if self.inputs else None

    def select_item(self, title: str, items: Sequence[MenuEntry]) -> Any:
        return self.choices.popleft() if self.choices else None

    def notify(self, text: str) -> None:
        self.notes.append(text)


@dataclass(frozen=True)
class Event:
    """One step of a session.  ``kind``: terminal_profile, envelope, proactive, menu,
    display, select, input, notify, network_request, network_reply, network_error, call,
    terminal_response, note, stopped."""

    kind: str
    text: str
    raw: bytes = b""
    command: ProactiveCommand | None = None
    result: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "text": self.text}
        if self.raw:
            out["hex"] = self.raw.hex().upper()
        if self.result is not None:
            out["result"] = f"{self.result:02X}"
        return out


@dataclass(frozen=True)
class Transcript:
    """Everything that happened in one exchange with the card."""

    events: tuple[Event, ...]
    item: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "events": [e.to_json() for e in self.events]}

    def _of(self, kind: str) -> tuple[str, ...]:
        return tuple(e.text for e in self.events if e.kind == kind)

    @property
    def commands(self) -> tuple[ProactiveCommand, ...]:
        return tuple(e.command for e in self.events if e.command is not None)

    @property
    def displayed(self) -> tuple[str, ...]:
        return self._of("display")

    @property
    def sent(self) -> tuple[str, ...]:
        """The strings sent to the network (``USSD *108#``, ``SS #21#``)."""
        return self._of("network_request")

    @property
    def results(self) -> tuple[int, ...]:
        """General results of the TERMINAL RESPONSEs, in order."""
        return tuple(e.result for e in self.events
                     if e.kind == "terminal_response" and e.result is not None)


class ToolkitBusy(CardError):
    """The card answered 93 00 to an ENVELOPE: a proactive session is still running."""


class Handset:
    """Terminal simulator over ``channel`` (CLA 80 for a UICC, A0 for a GSM SIM)."""

    def __init__(self, channel: Channel, network: Network, ui: UI,
                 profile: TerminalProfile = DEFAULT, *, cla: int = 0x80,
                 max_commands: int = 64, trace: Callable[[str], None] | None = None,
                 texts: HandsetTexts | None = None) -> None:
        self.channel = channel
        self.texts = default_texts().handset if texts is None else texts
        self.network = network
        self.ui = ui
        self.profile = profile
        self.cla = cla
        self.max_commands = max_commands
        self.trace = trace
        self.main_menu: MenuListing | None = None
        self.started = False
        self._events: list[Event] = []
        self._hidden_input = False

    # --- public ---------------------------------------------------------------------------------

    def start(self) -> Transcript:
        """TERMINAL PROFILE, then the proactive commands it triggers (SET UP MENU)."""
        self._events = []
        self._log(Event("terminal_profile", self.profile.describe(), self.profile.data))
        resp = self._send(0x10, self.profile.data, "TERMINAL PROFILE")
        self.started = True
        self._run(resp)
        return Transcript(tuple(self._events))

    def menu(self) -> MenuListing:
        """The card's main menu (starting the handset first if needed)."""
        if not self.started:
            self.start()
        return self.main_menu or MenuListing("", ())

    def select(self, item_id: int, *, help: bool = False) -> Transcript:
        """Choose a main-menu item (MENU SELECTION) and run the whole proactive session."""
        listing = self.menu()
        if listing.items and all(e.id != item_id for e in listing.items):
            raise DataError(f"the card's menu has no item {item_id} (items: "
                            + ", ".join(str(e.id) for e in listing.items) + ")")
        self._events = []
        envelope = MenuSelection.of(item_id, help=help)
        raw = envelope.encode()
        self._log(Event("envelope", envelope.describe(), raw))
        try:
            resp = self._send(0xC2, raw, "ENVELOPE (MENU SELECTION)")
        except CardError as exc:
            if exc.sw == 0x9300:
                raise ToolkitBusy(exc.sw, exc.command) from None
            raise
        self._run(resp)
        return Transcript(tuple(self._events), item_id)

    def call(self, number: str, *, seconds: int | None = None,
             location: LocationInformation | None = None) -> Transcript:
        """Dial ``number`` as a handset with call control by USIM does (TS 31.111 §7.3.1.6):
        ENVELOPE (CALL CONTROL), then what the card's answer says — the call as dialled, no
        call (its alpha identifier shown), or the modified request (a USSD string is sent to
        the network and its answer shown, and the call ends).  A network that calls back
        (:meth:`~simtool.stk.network.VirtualNetwork.take_callback`) rings; the call-back
        lasting ``seconds`` is billed by the network when it can bill calls."""
        if not self.started:
            self.start()
        self._events = []
        envelope = CallControl.for_call(number, location or DEFAULT_LOCATION)
        raw = envelope.encode()
        self._log(Event("envelope", envelope.describe(), raw))
        try:
            # case 4 with Le = 256 (00): the response data comes back with the status word;
            # without Le a T=0 card answers 61xx and GET RESPONSE must then be CLA 00
            # (TS 102 221 §10.1.1), not the envelope's CLA 80
            resp = self._send(0xC2, raw, "ENVELOPE (CALL CONTROL)", le=256)
        except CardError as exc:
            if exc.sw == 0x9300:
                raise ToolkitBusy(exc.sw, exc.command) from None
            raise
        answer = CallControlResponse.decode(resp.data)
        self._log(Event("call_control", answer.describe(), resp.data))
        if answer.alpha is not None and answer.alpha.data and \
                answer.result != CallControlResult.NOT_ALLOWED:
            self._log(Event("notify", answer.alpha.text))
            self.ui.notify(answer.alpha.text)
        if answer.result == CallControlResult.NOT_ALLOWED:
            text = answer.alpha.text if answer.alpha is not None and answer.alpha.data \
                else self.texts.call_not_allowed
            self._log(Event("display", text))
            self.ui.display_text(text)
        elif isinstance(answer.target, UssdString):
            self._modified_ussd(answer.target.text, number, seconds)
        elif isinstance(answer.target, SsString):
            self._modified_ss(answer.target.mmi)
        else:
            dialled = answer.target.dialled if isinstance(answer.target, Address) else number
            self._log(Event("call", f"call to {dialled}"))
            self.ui.notify(self.texts.calling.format(number=dialled))
        self._run(resp)     # a proactive command the card may have queued (91xx)
        return Transcript(tuple(self._events))

    def _modified_ussd(self, ussd: str, number: str, seconds: int | None) -> None:
        from simtool.stk.network import NetworkError, SsError, UssdError

        self._log(Event("network_request", f"USSD {ussd}"))
        try:
            reply = self.network.send_ussd(ussd)
        except (NetworkError, SsError, UssdError) as exc:
            self._log(Event("network_error", str(exc)))
            self.ui.display_text(getattr(exc, "text", str(exc)))
            self._log(Event("display", getattr(exc, "text", str(exc))))
            return
        self._log(Event("network_reply", reply))
        self._log(Event("display", reply))
        self.ui.display_text(reply)
        self._log(Event("note", self.texts.callback_requested))
        take = getattr(self.network, "take_callback", None)
        callback = take() if callable(take) else None
        if callback is None:
            return
        callee = "+" + callback.number
        text = self.texts.incoming_callback.format(number=callee)
        self._log(Event("incoming_call", text))
        self.ui.notify(text)
        bill = getattr(self.network, "call", None)
        if seconds is not None and callable(bill):
            record = bill(callee, seconds)
            from simtool.stk.network import format_money

            self._log(Event("call", self.texts.call_billed.format(
                number=callee, seconds=record.seconds, billed=record.billed_seconds,
                increment=record.increment, cost=format_money(record.cost))))

    def _modified_ss(self, ss: str) -> None:
        from simtool.stk.network import NetworkError, SsError, UssdError

        self._log(Event("network_request", f"SS {ss}"))
        try:
            reply = self.network.send_ss(ss)
        except (NetworkError, SsError, UssdError) as exc:
            self._log(Event("network_error", str(exc)))
            return
        self._log(Event("network_reply", reply))
        self._log(Event("display", reply))
        self.ui.display_text(reply)

    # --- the proactive loop ---------------------------------------------------------------------

    def _log(self, event: Event) -> None:
        self._events.append(event)
        if self.trace is not None:
            self.trace(event.text)

    def _send(self, ins: int, data: bytes, name: str, le: int | None = None, *,
              secret: bool = False) -> ResponseApdu:
        apdu = CommandApdu(self.cla, ins, 0x00, 0x00, data, le)
        return self.channel.send(apdu, name=name, secret=secret)

    def _run(self, resp: ResponseApdu) -> None:
        for _ in range(self.max_commands):
            length = proactive_pending(resp.sw)
            if length is None:
                return
            raw = self._send(0x12, b"", "FETCH", le=length).data
            self._hidden_input = False
            tr = self._execute(raw)
            data = _fit_response(tr)
            # GET INPUT with "input not revealed" (TS 102 223 §8.6): the answer is a secret
            hidden = self._hidden_input
            self._log(Event("terminal_response", tr.describe(hide_text=hidden),
                            b"" if hidden else data, result=tr.general))
            resp = self._send(0x14, data, "TERMINAL RESPONSE", secret=hidden)
        self._log(Event("stopped", f"stopped after {self.max_commands} proactive commands"))

    def _execute(self, raw: bytes) -> TerminalResponse:
        try:
            cmd = decode_proactive(raw)
        except DecodeError as exc:
            details = peek_details(raw)
            if details is None:
                raise
            missing = isinstance(exc, MissingObjectError)
            general = (GeneralResult.REQUIRED_VALUES_MISSING if missing
                       else GeneralResult.DATA_NOT_UNDERSTOOD)
            self._log(Event("note", f"undecodable proactive command: {exc}", raw))
            return TerminalResponse(details, Result(general))
        self._log(Event("proactive", cmd.describe(), raw, cmd))
        if isinstance(cmd, UnknownCommand):
            return TerminalResponse.to(cmd, GeneralResult.TYPE_NOT_UNDERSTOOD)
        if cmd.unknown_required:
            return TerminalResponse.to(cmd, GeneralResult.DATA_NOT_UNDERSTOOD)
        if not self.profile.supports_command(cmd.type_of_command):
            return TerminalResponse.to(cmd, GeneralResult.BEYOND_TERMINAL_CAPABILITIES)
        try:
            return self._HANDLERS[type(cmd)](self, cmd)
        except DecodeError as exc:  # e.g. a text in a coding the terminal cannot read
            self._log(Event("note", f"cannot render: {exc}"))
            return TerminalResponse.to(cmd, GeneralResult.DATA_NOT_UNDERSTOOD)

    # --- one method per command ---------------------------------------------------------------

    def _set_up_menu(self, cmd: SetUpMenu) -> TerminalResponse:
        if cmd.removes_menu:
            self.main_menu = None
            self._log(Event("menu", "menu removed"))
        else:
            self.main_menu = MenuListing(cmd.alpha.text, tuple(
                MenuEntry(it.identifier or 0, it.text) for it in cmd.items))
            self._log(Event("menu", f"menu {self.main_menu.title!r} with "
                                    f"{len(cmd.items)} items"))
        return TerminalResponse.to(cmd, GeneralResult.OK)

    def _display_text(self, cmd: DisplayText) -> TerminalResponse:
        text = cmd.text.text
        self._log(Event("display", text))
        answer = self.ui.display_text(text)
        if answer is None:  # the user read it and cleared it
            return TerminalResponse.to(cmd, GeneralResult.OK)
        self._log(Event("note", f"user answered {answer.value}"))
        return TerminalResponse.to(cmd, _user_result(answer, help_available=False))

    def _select_item(self, cmd: SelectItem) -> TerminalResponse:
        title = "" if cmd.alpha is None else cmd.alpha.text
        entries = tuple(MenuEntry(it.identifier or 0, it.text) for it in cmd.items)
        answer = self.ui.select_item(title, entries)
        if isinstance(answer, int) and not isinstance(answer, bool):
            if all(e.id != answer for e in entries):
                raise DataError(f"SELECT ITEM has no item {answer}")
            self._log(Event("select", f"selected {answer}"))
            return TerminalResponse.to(cmd, GeneralResult.OK, item=answer)
        if isinstance(answer, AskHelp) and cmd.help_available and answer.item is not None:
            self._log(Event("select", f"help for item {answer.item}"))
            return TerminalResponse.to(cmd, GeneralResult.HELP_REQUIRED, item=answer.item)
        self._log(Event("select", f"no selection ({_answer_name(answer)})"))
        return TerminalResponse.to(cmd, _user_result(answer, help_available=False))

    def _get_input(self, cmd: GetInput) -> TerminalResponse:
        rl = cmd.response_length
        answer = self.ui.get_input(cmd.text.text, rl.minimum, rl.maximum, cmd.digits_only,
                                   hidden=cmd.hide_input)
        if isinstance(answer, str):
            self._hidden_input = cmd.hide_input
            shown = "*" * len(answer) if cmd.hide_input else answer
            self._log(Event("input", f"entered {shown!r}"))
            if cmd.ucs2:
                text = TextString.ucs2(answer)
            else:
                text = TextString.from_text(answer, packed=cmd.packed)
            return TerminalResponse.to(cmd, GeneralResult.OK, text=text)
        self._log(Event("input", f"no input ({_answer_name(answer)})"))
        return TerminalResponse.to(cmd, _user_result(answer, cmd.help_available))

    def _send_ussd(self, cmd: SendUssd) -> TerminalResponse:
        self._notify_alpha(cmd)
        ussd = cmd.ussd.text
        self._log(Event("network_request", f"USSD {ussd}"))
        return self._network(cmd, lambda: self.network.send_ussd(ussd))

    def _send_ss(self, cmd: SendSs) -> TerminalResponse:
        self._notify_alpha(cmd)
        ss = cmd.ss.mmi
        self._log(Event("network_request", f"SS {ss}"))
        return self._network(cmd, lambda: self.network.send_ss(ss))

    def _set_up_call(self, cmd: SetUpCall) -> TerminalResponse:
        self._notify_alpha(cmd)
        number = cmd.address.dialled
        self._log(Event("call", f"call to {number}"))
        self.ui.notify(self.texts.calling.format(number=number))
        return TerminalResponse.to(cmd, GeneralResult.OK)

    _HANDLERS: dict[type, Callable[[Handset, Any], TerminalResponse]] = {
        SetUpMenu: _set_up_menu, DisplayText: _display_text, SelectItem: _select_item,
        GetInput: _get_input, SendUssd: _send_ussd, SendSs: _send_ss, SetUpCall: _set_up_call,
    }

    def _notify_alpha(self, cmd: SendUssd | SendSs | SetUpCall) -> None:
        if cmd.alpha is not None and cmd.alpha.data:
            self._log(Event("notify", cmd.alpha.text))
            self.ui.notify(cmd.alpha.text)

    def _network(self, cmd: ProactiveCommand, call: Callable[[], str]) -> TerminalResponse:
        """Run the network request; map its errors to TS 102 223 / TS 31.111 §8.12 results."""
        try:
            reply = call()
        except NetworkError as exc:
            self._log(Event("network_error", str(exc)))
            # §8.12.2: the network cause with b8 set
            return TerminalResponse.to(cmd, GeneralResult.NETWORK_UNABLE,
                                       bytes([0x80 | (exc.cause & 0x7F)]))
        except SsError as exc:
            self._log(Event("network_error", str(exc)))
            return TerminalResponse.to(cmd, GeneralResult.SS_RETURN_ERROR, bytes([exc.code & 0xFF]))
        except UssdError as exc:
            self._log(Event("network_error", str(exc)))
            return TerminalResponse.to(cmd, GeneralResult.USSD_RETURN_ERROR,
                                       bytes([exc.code & 0xFF]))
        self._log(Event("network_reply", reply))
        text = TextString.from_text(reply, cr=isinstance(cmd, SendUssd))
        return TerminalResponse.to(cmd, GeneralResult.OK, text=text)


def _answer_name(answer: object) -> str:
    if isinstance(answer, UserAction):
        return answer.value
    if isinstance(answer, AskHelp):
        return "help"
    return "back"


def _user_result(answer: object, help_available: bool) -> int:
    """Result for a non-answer to GET INPUT / SELECT ITEM (TS 102 223 §8.12)."""
    if answer is UserAction.END:
        return GeneralResult.SESSION_TERMINATED_BY_USER
    if isinstance(answer, AskHelp) and help_available:
        return GeneralResult.HELP_REQUIRED
    return GeneralResult.BACKWARD_MOVE


def _fit_response(tr: TerminalResponse) -> bytes:
    """Encode ``tr``; a network reply too long for one APDU is cut (with '...')."""
    data = tr.encode()
    if len(data) <= MAX_RESPONSE_LENGTH or tr.text is None or tr.text.dcs is None:
        return data
    text = tr.text.text
    while text and len(data) > MAX_RESPONSE_LENGTH:
        text = text[:-1]
        data = tr.with_text(TextString.from_text(text + "...", cr=tr.text.cr)).encode()
    return data
