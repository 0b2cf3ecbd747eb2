"""Logical channels of the virtual card (ISO/IEC 7816-4 §5.1.1.2, §7.1.2; ETSI TS 102 221
§8.7, §10.1.1 Table 10.3, §11.1.17).

How many channels the card has is what its ATR says: the card capabilities data object of the
historical bytes (COMPACT-TLV tag 7, ISO/IEC 7816-4 §8.1.1.2.7), third software function table
byte: b5 = the card assigns channel numbers, b4 = the terminal may name one, b3..b1 = the maximum
number of logical channels minus one (111: eight or more).  The sysmoISIM-SJA2's ATR carries
``73 FE 21 1B``: both kinds of assignment and four channels, the basic channel 0 and 1..3.  An
ATR without that object has only the basic channel (TS 102 221 §10.1.1).

Each channel has its own current DF, current EF, record pointer and current application (ADF,
the one ``7FFF`` names).  A channel is named by b2..b1 of CLA 0X / 8X (TS 102 221 Table 10.3,
the 80-class commands too); a command on a channel that is not open, or beyond the card's, is
answered 6881.  MANAGE CHANNEL (INS 70):

* open, P1 00: P2 00 = the card picks the lowest free channel and answers its number (Le 01);
  P2 01..03 = the terminal's choice.  From the basic channel the new channel starts at the MF
  with no current application; from another channel it starts where that channel is (TS 102
  221 §8.7, Table 8.3).  No free channel, or the one asked for already open: 6A81 (function not
  supported); a channel number the card does not have: 6881; P2 above 13 (19): 6A86.
* close, P1 80: P2 = the channel to close (01..03); closing the basic channel is 6A86, a
  channel that is not open 6881.

Security state (TS 102 221 §9.4, §9.5.1): a PIN on a global key reference (PIN1 01, ADM 0A..)
is verified for the whole card, whatever channel it was verified on.  A PIN on a local key
reference (PIN2, 81) belongs to the application: verifying it in ADF.USIM does not open the
ISIM's PIN2-protected files, on any channel; the USIM's state is the same on every channel where
the USIM is the current application.  Outside any application (a GSM session, or before an ADF
is selected) the local PIN is the first application's (EF.DIR's first entry: the USIM).
:class:`Channels` keeps that per-application state and swaps it into the card's
:class:`~tests.virtual_card.pins.Pin` objects when the application in use changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import NamedTuple

from . import status as st
from .fs import DF, EF
from .pins import Pin
from .status import CardStatus

INS_MANAGE_CHANNEL = 0x70
OPEN, CLOSE = 0x00, 0x80
CHANNEL_NOT_SUPPORTED = (0x6881, 0x6881)
FUNCTION_NOT_SUPPORTED = (0x6A81, 0x6A81)
#: TS 102 221 §11.1.17: the highest channel number MANAGE CHANNEL can name (CLA 4X/6X).
MAX_CHANNEL_NUMBER = 19


class ChannelCapabilities(NamedTuple):
    """What an ATR says about logical channels."""

    count: int              # the basic channel included
    by_card: bool           # MANAGE CHANNEL with P2 00: the card picks the number
    by_terminal: bool       # MANAGE CHANNEL with P2 01..: the terminal names it


BASIC_ONLY = ChannelCapabilities(1, False, False)


def historical_bytes(atr: bytes) -> bytes:
    """The historical bytes of an ATR (ISO/IEC 7816-3 §8.2): T0's low nibble counts them; the
    interface bytes before them are announced by the Y nibbles of T0 and each TDi."""
    if len(atr) < 2:
        return b""
    count = atr[1] & 0x0F
    pos, y = 2, atr[1] >> 4
    while True:
        present = bin(y & 0x0F).count("1")
        td = pos + present - 1 if y & 0x8 else None
        pos += present
        if td is None or td >= len(atr):
            break
        y = atr[td] >> 4
    return atr[pos:pos + count]


def channel_capabilities(atr: bytes) -> ChannelCapabilities:
    """What the ATR's card capabilities say about logical channels (ISO/IEC 7816-4
    §8.1.1.2.7, third software function table); only the basic channel when it says nothing."""
    hist = historical_bytes(atr)
    if not hist or hist[0] != 0x80:          # category 80: COMPACT-TLV objects follow
        return BASIC_ONLY
    pos = 1
    while pos < len(hist):
        tag, length = hist[pos] >> 4, hist[pos] & 0x0F
        value = hist[pos + 1:pos + 1 + length]
        pos += 1 + length
        if tag == 0x7 and len(value) >= 3:
            third = value[2]
            by_card, by_terminal = bool(third & 0x10), bool(third & 0x08)
            if not (by_card or by_terminal):
                return BASIC_ONLY
            n = third & 0x07
            return ChannelCapabilities(8 if n == 0x07 else n + 1, by_card, by_terminal)
    return BASIC_ONLY


class Channel:
    """One logical channel's selection: current DF and EF, record pointer, application."""

    __slots__ = ("number", "df", "ef", "adf", "record")

    def __init__(self, number: int, df: DF, adf: DF | None = None) -> None:
        self.number = number
        self.df: DF = df
        self.ef: EF | None = None
        self.adf: DF | None = adf
        self.record = 0

    def __repr__(self) -> str:
        adf = self.adf.name if self.adf is not None else None
        return f"Channel({self.number}, df={self.df.name}, adf={adf})"


class Channels:
    """The card's open channels, the one the current command runs on, and the security state
    of the local PINs per application.  ``applications`` are the card's ADFs in EF.DIR order."""

    def __init__(self, capabilities: ChannelCapabilities, mf: DF, applications: Sequence[DF],
                 local_pins: Sequence[Pin]) -> None:
        self.capabilities = capabilities
        self._mf = mf
        self.applications: list[DF] = list(applications)
        self._local_pins = tuple(local_pins)
        self._open: dict[int, Channel] = {}
        self._verified: dict[tuple[DF | None, str], bool] = {}   # (application, PIN name)
        self._isolated: Channel | None = None
        self.current: Channel = Channel(0, mf)
        #: the channel on which the ISD is selected, if it is
        self.isd_channel: int | None = None
        self.reset()

    def reset(self) -> None:
        """ATR: only the basic channel, at the MF, no application; no PIN verified."""
        self.current = Channel(0, self._mf)
        self._open = {0: self.current}
        self._verified.clear()
        self.isd_channel = None
        for pin in self._local_pins:
            pin.verified = False

    def is_open(self, number: int) -> bool:
        return number in self._open

    # --- which channel a command runs on -------------------------------------------------

    def route(self, cla: int) -> Channel:
        """The channel CLA names (b2..b1 of 0X/8X; CLA A0 is the basic channel), made current;
        CardStatus 6881 when it is not open."""
        number = 0 if cla == 0xA0 else cla & 0x03
        if self._isolated is not None and number == 0:
            channel = self._isolated
        else:
            channel = self._open.get(number)
            if channel is None:
                raise CardStatus(CHANNEL_NOT_SUPPORTED)
        self._switch(channel)
        return channel

    @contextmanager
    def isolated(self, df: DF, adf: DF | None) -> Iterator[Channel]:
        """A selection of its own for work the card does for itself (an OTA RFM script): the
        basic channel's commands run on it, the terminal's channels stay as they were."""
        saved, previous = self.current, self._isolated
        scratch = Channel(0, df, adf)
        self._isolated = scratch
        self._switch(scratch)
        try:
            yield scratch
        finally:
            self._isolated = previous
            self._switch(saved)

    # --- the local PINs' state follows the application in use ----------------------------

    def _context(self, channel: Channel) -> DF | None:
        """The application whose local PINs apply on ``channel``."""
        adf = channel.adf
        if adf is None and self.applications:
            adf = self.applications[0]
        return adf

    def _save(self) -> None:
        key = self._context(self.current)
        for pin in self._local_pins:
            self._verified[(key, pin.name)] = pin.verified

    def _load(self) -> None:
        key = self._context(self.current)
        for pin in self._local_pins:
            pin.verified = self._verified.get((key, pin.name), False)

    def _switch(self, channel: Channel) -> None:
        if channel is not self.current:
            self._save()
            self.current = channel
            self._load()

    def set_application(self, adf: DF | None) -> None:
        """Make ``adf`` the current channel's application (its local PINs' state with it)."""
        channel = self.current
        if adf is not channel.adf:
            self._save()
            channel.adf = adf
            self._load()

    # --- MANAGE CHANNEL (TS 102 221 §11.1.17) ------------------------------------------

    def manage(self, p1: int, p2: int, data: bytes, le: int | None) -> bytes:
        if data:
            raise CardStatus(st.WRONG_LENGTH)
        if self.capabilities.count < 2:
            raise CardStatus(CHANNEL_NOT_SUPPORTED)
        if p1 == OPEN:
            return self._open_channel(p2, le)
        if p1 == CLOSE:
            self._close_channel(p2, le)
            return b""
        raise CardStatus(st.WRONG_P1P2)

    def _open_channel(self, p2: int, le: int | None) -> bytes:
        caps = self.capabilities
        if p2 == 0:
            if not caps.by_card:
                raise CardStatus(FUNCTION_NOT_SUPPORTED)
            if le is not None and le not in (1, 256):
                raise CardStatus((0x6C01, 0x6C01))
            free = [n for n in range(1, caps.count) if n not in self._open]
            if not free:
                raise CardStatus(FUNCTION_NOT_SUPPORTED)
            number = free[0]
        else:
            if p2 > MAX_CHANNEL_NUMBER:
                raise CardStatus(st.WRONG_P1P2)
            if p2 >= caps.count:
                raise CardStatus(CHANNEL_NOT_SUPPORTED)
            if not caps.by_terminal or p2 in self._open:
                raise CardStatus(FUNCTION_NOT_SUPPORTED)
            if le not in (None, 256):         # T=0 sends a case 1 command with P3 = 00
                raise CardStatus(st.WRONG_LENGTH)
            number = p2
        origin = self.current
        if origin.number == 0:                 # Table 8.3: the MF, no application
            channel = Channel(number, self._mf)
        else:                                  # where the origin channel is
            channel = Channel(number, origin.df, origin.adf)
        self._open[number] = channel
        if channel.adf is not None:            # the same application: its PIN state is shared
            for pin in self._local_pins:
                self._verified[(channel.adf, pin.name)] = pin.verified
        return bytes((number,)) if p2 == 0 else b""

    def _close_channel(self, p2: int, le: int | None) -> None:
        if le not in (None, 256):             # T=0 sends a case 1 command with P3 = 00
            raise CardStatus(st.WRONG_LENGTH)
        if p2 == 0 or p2 > MAX_CHANNEL_NUMBER:
            raise CardStatus(st.WRONG_P1P2)
        channel = self._open.get(p2)
        if channel is None:
            raise CardStatus(CHANNEL_NOT_SUPPORTED)
        if channel is self.current:            # the state it had goes with it
            self._save()
        del self._open[p2]
        if self.isd_channel == p2:
            self.isd_channel = None

    # --- selecting an application by its AID (TS 102 221 §11.1.1.2, §8.5) ---------------

    def find_application(self, aid: bytes, next_occurrence: bool) -> DF:
        """The ADF whose AID starts with ``aid`` (a right-truncated AID selects too): the first
        in EF.DIR order, or with ``next_occurrence`` the next one after the channel's current
        application (which must match); CardStatus 6A82 when there is none."""
        matches = [adf for adf in self.applications if adf.aid.startswith(aid)]
        if next_occurrence:
            current = self.current.adf
            if current not in matches:
                raise CardStatus(st.FILE_NOT_FOUND)
            later = matches[matches.index(current) + 1:]
            if not later:
                raise CardStatus(st.FILE_NOT_FOUND)
            return later[0]
        if not matches:
            raise CardStatus(st.FILE_NOT_FOUND)
        return matches[0]


class ChannelSelection:
    """Mixin for :class:`~tests.virtual_card.uicc.VirtualUicc`: ``_df``, ``_ef``, ``_adf``
    and ``_record`` are the current channel's, and ``_manage_channel`` is MANAGE CHANNEL."""

    channels: Channels

    @property
    def _df(self) -> DF:
        return self.channels.current.df

    @_df.setter
    def _df(self, value: DF) -> None:
        self.channels.current.df = value

    @property
    def _ef(self) -> EF | None:
        return self.channels.current.ef

    @_ef.setter
    def _ef(self, value: EF | None) -> None:
        self.channels.current.ef = value

    @property
    def _adf(self) -> DF | None:
        return self.channels.current.adf

    @_adf.setter
    def _adf(self, value: DF | None) -> None:
        self.channels.set_application(value)

    @property
    def _record(self) -> int:
        return self.channels.current.record

    @_record.setter
    def _record(self, value: int) -> None:
        self.channels.current.record = value

    def _manage_channel(self, p1: int, p2: int, data: bytes, le: int | None,
                        gsm: bool) -> bytes:
        out = self.channels.manage(p1, p2, data, le)
        if p1 == CLOSE and self.channels.isd_channel is None and self.isd.selected:
            self.isd.deselect()              # the ISD's channel went away
        return out

    def _isd_here(self) -> bool:
        """The ISD is selected on the channel of the current command."""
        return self.isd.selected and self.channels.isd_channel == self.channels.current.number
