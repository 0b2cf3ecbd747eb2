"""The card side of the toolkit: one dispatcher for the toolkit commands, and the protocol of
the applets behind it (ETSI TS 102 221 §11.2, TS 102 223 §6.3 the proactive cycle).

A card hands the data of TERMINAL PROFILE (80 10), FETCH (80 12), TERMINAL RESPONSE (80 14)
and ENVELOPE (80 C2) to a :class:`ToolkitDispatcher`.  The dispatcher owns what the protocol
shares between applets: the queue of proactive commands waiting for FETCH, the one command
fetched and not yet answered, the ``91 xx`` / ``90 00`` status after every command, and the
checks of TS 102 221 (FETCH with the wrong Le, a TERMINAL RESPONSE that answers nothing or
another command).  What a command *means* is the applet's business: a :class:`CardApplet`
takes a terminal profile, an envelope or a terminal response and answers with the proactive
commands to queue.  Neither side does I/O; the virtual card and the handset tests drive the
same objects.

Errors are :class:`AppletStatus` carrying the TS 102 221 §10.2 status word; under CLA A0 a
card answers :func:`gsm_status` of it instead (3GPP TS 51.011 §9.4).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, Union, runtime_checkable

from simtool.errors import DecodeError, SimtoolError
from simtool.stk.objects import CommandDetails
from simtool.stk.proactive import ProactiveCommand, peek_details
from simtool.stk.responses import TerminalResponse

# TS 102 221 Table 10.5: the toolkit commands (CLA 80; A0 under TS 51.011 §9.2)
TERMINAL_PROFILE, FETCH, TERMINAL_RESPONSE, ENVELOPE = 0x10, 0x12, 0x14, 0xC2
TOOLKIT_INS = frozenset((TERMINAL_PROFILE, FETCH, TERMINAL_RESPONSE, ENVELOPE))

SW_OK = 0x9000
SW_PROACTIVE_PENDING = 0x9100      # | length (TS 102 221 §10.2.1.1)
SW_TOOLKIT_BUSY = 0x9300           # TS 102 221 §10.2.1.1
SW_WRONG_LENGTH = 0x6700
SW_WRONG_LE = 0x6C00               # | the right length (TS 102 221 Table 7.1)
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_WRONG_DATA = 0x6A80
SW_WRONG_P1P2 = 0x6A86
SW_INS_NOT_SUPPORTED = 0x6D00
SW_TECHNICAL_PROBLEM = 0x6F00

#: A proactive command as an applet hands it over: a command object, or its encoded D0 object.
Proactive = Union[ProactiveCommand, bytes]


class AppletStatus(SimtoolError):
    """The card must answer ``sw`` instead of 90 00 / 91 xx (TS 102 221 §10.2)."""

    def __init__(self, sw: int, message: str = "") -> None:
        self.sw = sw
        super().__init__(f"{sw:04X}: {message}" if message else f"{sw:04X}")

    @property
    def gsm_sw(self) -> int:
        """The status word under CLA A0 (:func:`gsm_status`)."""
        return gsm_status(self.sw)


#: TS 102 221 status word -> its TS 51.011 §9.4 equivalent, where the value differs.
_GSM_EQUIVALENT = {
    # 6A80 incorrect data (malformed TLV, a TERMINAL RESPONSE for another command) and 6A86
    # wrong P1-P2: TS 51.011 has no data-field error; 6B00 "incorrect parameter P1 or P2"
    SW_WRONG_DATA: 0x6B00,
    SW_WRONG_P1P2: 0x6B00,
    # 6985 conditions of use not satisfied (TERMINAL RESPONSE with no proactive command
    # outstanding): not a CHV (98xx) or file (94xx) condition, so the §9.4.6 catch-all 6F00
    SW_CONDITIONS_NOT_SATISFIED: SW_TECHNICAL_PROBLEM,
}
#: SW1 values of TS 51.011 §9.4 that an error keeps under CLA A0: 9E XX (§9.4.1), 93 00
#: (§9.4.2) and the application independent errors of §9.4.6 (67 XX P3, 6B XX P1-P2, 6D XX
#: INS, 6E XX class, 6F XX technical problem).
_GSM_SW1 = frozenset((0x67, 0x6B, 0x6D, 0x6E, 0x6F, 0x93, 0x9E))


def gsm_status(sw: int) -> int:
    """The TS 51.011 §9.4 status word for the TS 102 221 status word ``sw``."""
    equivalent = _GSM_EQUIVALENT.get(sw)
    if equivalent is not None:
        return equivalent
    if sw >> 8 == SW_WRONG_LE >> 8:       # wrong Le -> 67 XX, incorrect P3 with the right one
        return SW_WRONG_LENGTH | sw & 0xFF
    return sw if sw >> 8 in _GSM_SW1 else SW_TECHNICAL_PROBLEM


@dataclass(frozen=True)
class EnvelopeAnswer:
    """An applet's answer to an ENVELOPE: response data (e.g. a CALL CONTROL result, TS 31.111
    §7.3.1.6) and the proactive commands it queues."""

    data: bytes = b""
    commands: tuple[Proactive, ...] = ()


@runtime_checkable
class CardApplet(Protocol):
    """What a toolkit applet answers to (sans-I/O; the dispatcher calls it).

    Each method returns the proactive commands to queue, numbered and complete; a refusal is
    an :class:`AppletStatus`.  An applet never sees FETCH: the dispatcher hands out its
    queue, and passes on a TERMINAL RESPONSE only when it answers a command of this applet.
    """

    def terminal_profile(self, profile: bytes) -> Sequence[Proactive]:
        """TERMINAL PROFILE (TS 102 223 §5.2): the terminal (re)starts; a session ends."""
        ...

    def envelope(self, data: bytes) -> EnvelopeAnswer | None:
        """ENVELOPE (TS 102 223 §7, TS 31.111 §7): MENU SELECTION, EVENT DOWNLOAD, CALL
        CONTROL ... as the raw BER-TLV.  None: not for this applet."""
        ...

    def terminal_response(self, response: TerminalResponse) -> Sequence[Proactive]:
        """TERMINAL RESPONSE (TS 102 223 §6.8) to this applet's outstanding command."""
        ...


@dataclass(frozen=True)
class _Queued:
    applet: CardApplet
    details: CommandDetails
    raw: bytes


class ToolkitDispatcher:
    """The toolkit of one card: routes the toolkit commands to ``applets`` and owns the
    proactive-command queue (TS 102 221 §11.2, TS 102 223 §6.3).

    A dispatcher without applets is a card without the toolkit: FETCH, TERMINAL RESPONSE and
    ENVELOPE answer 6D00 (INS not supported); TERMINAL PROFILE is accepted and kept.
    """

    def __init__(self, applets: Iterable[CardApplet] = ()) -> None:
        self.applets: list[CardApplet] = list(applets)
        self.terminal_profile_data = b""
        self._queue: deque[_Queued] = deque()
        self._outstanding: _Queued | None = None

    # --- the card's life ----------------------------------------------------------------------

    def reset(self) -> None:
        """Card reset: nothing pending, the terminal profile forgotten."""
        self.terminal_profile_data = b""
        self._queue.clear()
        self._outstanding = None

    def install(self, applet: CardApplet) -> None:
        """Add ``applet``; after a TERMINAL PROFILE it gets that profile at once, so what it
        queues (a SET UP MENU, TS 102 223 §6.4.7) shows with 91 xx after this command."""
        self.applets.append(applet)
        if self.terminal_profile_data:
            self._queue_all(applet, applet.terminal_profile(self.terminal_profile_data))

    def remove(self, applet: CardApplet) -> None:
        """Drop ``applet`` with its queued and outstanding commands."""
        self.applets = [a for a in self.applets if a is not applet]
        self._queue = deque(q for q in self._queue if q.applet is not applet)
        if self._outstanding is not None and self._outstanding.applet is applet:
            self._outstanding = None

    # --- status -------------------------------------------------------------------------------

    def pending_length(self) -> int:
        """Length of the proactive command FETCH would return (0: none)."""
        return len(self._queue[0].raw) if self._queue else 0

    def status_word(self) -> int:
        """``91 xx`` while a proactive command is pending, else ``90 00`` (TS 102 221
        §10.2.1.1): what a card answers after any successful command."""
        pending = self.pending_length()
        return SW_PROACTIVE_PENDING | min(pending, 0xFF) if pending else SW_OK

    @property
    def busy(self) -> bool:
        """A proactive command waits for FETCH or for its TERMINAL RESPONSE."""
        return bool(self._queue) or self._outstanding is not None

    # --- the four commands, by APDU -----------------------------------------------------------

    def command(self, ins: int, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        """One toolkit command (TS 102 221 §11.2.1-4): its response data, or
        :class:`AppletStatus`.  ``le`` None: no Le field; 256: Le = 00."""
        if ins not in TOOLKIT_INS:
            raise AppletStatus(SW_INS_NOT_SUPPORTED)
        if p1 or p2:
            raise AppletStatus(SW_WRONG_P1P2)
        if ins == FETCH:
            if data:
                raise AppletStatus(SW_WRONG_LENGTH)
            # Le must be the 91 xx length; checked before the command is handed over, so it
            # stays pending for the retry (TS 102 221 Table 7.1)
            length = self.pending_length()
            if 0 < length <= 256 and le not in (None, 256, length):
                raise AppletStatus(SW_WRONG_LE | length & 0xFF)
            return self.fetch()
        if not data:
            raise AppletStatus(SW_WRONG_LENGTH)
        if ins == TERMINAL_PROFILE:
            self.terminal_profile(data)
            return b""
        if ins == TERMINAL_RESPONSE:
            self.terminal_response(data)
            return b""
        return self.envelope(data)

    def terminal_profile(self, profile: bytes) -> None:
        """TERMINAL PROFILE: every applet starts again; what they queue waits for FETCH."""
        self.terminal_profile_data = bytes(profile)
        self._queue.clear()
        self._outstanding = None
        for applet in self.applets:
            self._queue_all(applet, applet.terminal_profile(self.terminal_profile_data))

    def fetch(self) -> bytes:
        """FETCH: the next queued proactive command (6F00 when there is none)."""
        self._require_applets()
        if not self._queue:
            raise AppletStatus(SW_TECHNICAL_PROBLEM, "FETCH with no proactive command pending")
        queued = self._outstanding = self._queue.popleft()
        return queued.raw

    def terminal_response(self, data: bytes) -> None:
        """TERMINAL RESPONSE: to the applet whose command it answers."""
        self._require_applets()
        try:
            response = TerminalResponse.decode(bytes(data))
        except DecodeError as exc:
            raise AppletStatus(SW_WRONG_DATA, f"malformed TERMINAL RESPONSE: {exc}") from None
        outstanding = self._outstanding
        if outstanding is None:
            raise AppletStatus(SW_CONDITIONS_NOT_SATISFIED,
                               "TERMINAL RESPONSE without a proactive command")
        if response.details.value() != outstanding.details.value():
            raise AppletStatus(SW_WRONG_DATA,
                               f"TERMINAL RESPONSE is for command #{response.number} "
                               f"{response.type_of_command:02X}, not #{outstanding.details.number}")
        self._outstanding = None
        applet = outstanding.applet
        self._queue_all(applet, applet.terminal_response(response))

    def envelope(self, data: bytes) -> bytes:
        """ENVELOPE: offered to the applets in turn; the first that takes it answers.  An
        envelope no applet takes is accepted with no data (TS 102 223 §7)."""
        self._require_applets()
        for applet in self.applets:
            answer = applet.envelope(bytes(data))
            if answer is not None:
                self._queue_all(applet, answer.commands)
                return bytes(answer.data)
        return b""

    # --- inside -------------------------------------------------------------------------------

    def _require_applets(self) -> None:
        if not self.applets:
            raise AppletStatus(SW_INS_NOT_SUPPORTED, "the card has no toolkit applet")

    def _queue_all(self, applet: CardApplet, commands: Iterable[Proactive]) -> None:
        for command in commands:
            raw = command if isinstance(command, bytes) else command.encode()
            details = command.details if isinstance(command, ProactiveCommand) \
                else peek_details(raw)
            if details is None:
                raise AppletStatus(SW_TECHNICAL_PROBLEM,
                                   "an applet queued a proactive command without details")
            self._queue.append(_Queued(applet, details, bytes(raw)))
