"""PC/SC readers through pyscard — the only module that imports it.

pyscard is imported inside the functions (``_load_scard``), so ``import simtool.apdu`` works on
a machine without pcscd or pyscard.  We use pyscard's thin ``smartcard.scard`` layer, whose
calls return the PC/SC result code; every code is mapped here to simtool's transport errors:

* service down (``SCARD_E_NO_SERVICE``, ``SCARD_E_SERVICE_STOPPED``) → :class:`PcscUnavailable`
* no card when connecting → :class:`NoCard`; unknown reader → :class:`NoReader`
* card pulled, reader unplugged, card reset by another program → :class:`CardRemoved`
"""

from __future__ import annotations

from typing import Any

from simtool.errors import CardRemoved, NoCard, NoReader, PcscUnavailable, TransportError


class CardInUse(TransportError):
    """SCARD_E_SHARING_VIOLATION: another client holds the card (or we asked for it alone)."""

PCSCD_HINT = "is pcscd running? start it with `pcscd` or `systemctl start pcscd`"


def _load_scard() -> Any:
    try:
        from smartcard import scard
    except ImportError as exc:  # pragma: no cover - pyscard is a dependency
        raise PcscUnavailable(f"pyscard is not installed ({exc}): pip install pyscard") from exc
    return scard


def _code(scard: Any, name: str) -> int:
    return getattr(scard, name) & 0xFFFFFFFF


def _describe(scard: Any, hr: int) -> str:
    try:
        text = scard.SCardGetErrorMessage(hr)
    except Exception:  # noqa: BLE001 - only used to word an error
        text = "PC/SC error"
    return f"{text} (0x{hr & 0xFFFFFFFF:08X})"


def _is(scard: Any, hr: int, *names: str) -> bool:
    hr &= 0xFFFFFFFF
    return any(hr == _code(scard, n) for n in names)


def _service_error(scard: Any, hr: int) -> PcscUnavailable | None:
    if _is(scard, hr, "SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED"):
        return PcscUnavailable(f"PC/SC service not available: {PCSCD_HINT}")
    return None


def _establish(scard: Any) -> Any:
    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        raise _service_error(scard, hr) or PcscUnavailable(
            f"cannot open a PC/SC context: {_describe(scard, hr)}; {PCSCD_HINT}"
        )
    return context


def _release(scard: Any, context: Any) -> None:
    try:
        scard.SCardReleaseContext(context)
    except Exception:  # noqa: BLE001 - releasing is best effort
        pass


def _list(scard: Any, context: Any) -> list[str]:
    hr, readers = scard.SCardListReaders(context, [])
    if _is(scard, hr, "SCARD_E_NO_READERS_AVAILABLE"):
        return []
    if hr != scard.SCARD_S_SUCCESS:
        raise _service_error(scard, hr) or TransportError(
            f"cannot list PC/SC readers: {_describe(scard, hr)}"
        )
    return [str(r) for r in readers]


def list_readers() -> list[str]:
    """Names of the PC/SC readers (empty when none is plugged in)."""
    scard = _load_scard()
    context = _establish(scard)
    try:
        return _list(scard, context)
    finally:
        _release(scard, context)


def reader_atrs() -> list[tuple[str, bytes | None]]:
    """Each reader with the ATR of its card (None when empty), as pcscd reports them
    (SCardGetStatusChange): nothing is sent to a card and no card is reset."""
    scard = _load_scard()
    context = _establish(scard)
    try:
        out: list[tuple[str, bytes | None]] = []
        for name in _list(scard, context):
            hr, states = scard.SCardGetStatusChange(context, 0,
                                                    [(name, scard.SCARD_STATE_UNAWARE)])
            present = (hr == scard.SCARD_S_SUCCESS and states
                       and states[0][1] & scard.SCARD_STATE_PRESENT)
            out.append((name, bytes(states[0][2]) if present else None))
        return out
    finally:
        _release(scard, context)


def _available(readers: list[str]) -> str:
    if not readers:
        return "no readers are connected"
    return "available readers: " + ", ".join(f"{i}: {r}" for i, r in enumerate(readers))


def select_reader(spec: str | int | None) -> str:
    """Resolve a reader by index (``1``, ``"1"``) or by a case-insensitive name substring.

    None picks the first reader with a card in it (else the first reader).  :class:`NoReader`
    names the available readers when nothing (or more than one reader) matches.
    """
    if spec is None:
        states = reader_atrs()
        if not states:
            raise NoReader("no PC/SC reader found: plug one in (or start the virtual card)")
        return next((name for name, atr in states if atr is not None), states[0][0])
    readers = list_readers()
    if not readers:
        raise NoReader("no PC/SC reader found: plug one in (or start the virtual card)")
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        if 0 <= index < len(readers):
            return readers[index]
        raise NoReader(f"no reader number {index}; {_available(readers)}")
    wanted = str(spec).strip().lower()
    exact = [r for r in readers if r.lower() == wanted]
    if exact:
        return exact[0]
    matches = [r for r in readers if wanted in r.lower()]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NoReader(f"no reader matches {spec!r}; {_available(readers)}")
    raise NoReader(
        f"{spec!r} matches {len(matches)} readers ({', '.join(matches)}): give its number; "
        f"{_available(readers)}"
    )


def select_readers(spec: str | int | None) -> list[str]:
    """Several readers for a desk: ``all`` (every reader pcscd lists), a comma-separated list
    of indexes or name substrings (each resolved by :func:`select_reader`), else one."""
    if isinstance(spec, str) and spec.strip().lower() == "all":
        readers = list_readers()
        if not readers:
            raise NoReader("no PC/SC reader found: plug one in (or start the virtual card)")
        return readers
    if isinstance(spec, str) and "," in spec:
        chosen = [select_reader(part) for part in spec.split(",") if part.strip()]
        if len(set(chosen)) != len(chosen):
            raise NoReader(f"{spec!r} names a reader twice")
        return chosen
    return [select_reader(spec)]


def _wait_for_card(scard: Any, context: Any, reader: str, timeout: float) -> None:
    """Block until ``reader`` holds a card or ``timeout`` seconds pass (SCardGetStatusChange)."""
    import time

    deadline = time.monotonic() + timeout
    state = scard.SCARD_STATE_UNAWARE
    while True:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        hr, states = scard.SCardGetStatusChange(context, remaining_ms, [(reader, state)])
        if _is(scard, hr, "SCARD_E_TIMEOUT"):
            return
        if _is(scard, hr, "SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE"):
            raise NoReader(f"reader {reader!r} is not known to pcscd")
        if hr != scard.SCARD_S_SUCCESS:
            raise _service_error(scard, hr) or TransportError(
                f"cannot watch reader {reader}: {_describe(scard, hr)}"
            )
        event = states[0][1]
        if event & scard.SCARD_STATE_UNKNOWN:
            raise NoReader(f"reader {reader!r} is not known to pcscd")
        if event & scard.SCARD_STATE_PRESENT:
            return
        if remaining_ms == 0:
            return
        state = event & ~scard.SCARD_STATE_CHANGED


class PcscTransport:
    """A card in a PC/SC reader; T=0 or T=1, whichever the reader negotiated."""

    def __init__(self, scard: Any, context: Any, card: Any, protocol: int, reader: str,
                 share: int | None = None) -> None:
        self._scard = scard
        self._context = context
        self._card = card
        self._protocol = protocol
        self._share = scard.SCARD_SHARE_SHARED if share is None else share
        self.reader = reader

    @classmethod
    def connect(cls, reader: str, timeout: float = 0, *, exclusive: bool = False) -> PcscTransport:
        """Connect to the card in ``reader``; with ``timeout`` > 0 wait that many seconds for a
        card to be inserted.  :class:`NoCard` when there is none.

        ``exclusive``: SCARD_SHARE_EXCLUSIVE, held until :meth:`close` (also across
        :meth:`reset`): no other PC/SC client can connect meanwhile, so none can send APDUs
        that inherit a verified PIN/ADM state (PC/SC part 5, SCardConnect dwShareMode).
        Refused with :class:`CardInUse` while another client is connected."""
        scard = _load_scard()
        context = _establish(scard)
        share = scard.SCARD_SHARE_EXCLUSIVE if exclusive else scard.SCARD_SHARE_SHARED
        try:
            if timeout > 0:
                _wait_for_card(scard, context, reader, timeout)
            hr, card, protocol = scard.SCardConnect(
                context, reader, share, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1,
            )
            if hr != scard.SCARD_S_SUCCESS:
                raise _connect_error(scard, hr, reader, timeout)
        except BaseException:
            _release(scard, context)
            raise
        return cls(scard, context, card, protocol, reader, share)

    @property
    def exclusive(self) -> bool:
        return self._share == self._scard.SCARD_SHARE_EXCLUSIVE

    @property
    def protocol(self) -> str:
        """``"T=0"`` or ``"T=1"``."""
        return "T=0" if self._protocol == self._scard.SCARD_PROTOCOL_T0 else "T=1"

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        if self._card is None:
            raise CardRemoved("card connection already closed")
        hr, response = self._scard.SCardTransmit(self._card, self._protocol, list(apdu))
        if hr != self._scard.SCARD_S_SUCCESS:
            raise self._error(hr, "transmit")
        if len(response) < 2:
            # a card that dies mid-command can leave transmit "successful" with no status
            # word (seen with vpcd when the card process is killed)
            raise CardRemoved(f"the card in {self.reader} stopped answering (no status word)")
        return bytes(response)

    def atr(self) -> bytes:
        if self._card is None:
            raise CardRemoved("card connection already closed")
        result = self._scard.SCardStatus(self._card)
        if result[0] != self._scard.SCARD_S_SUCCESS:
            raise self._error(result[0], "reading the ATR")
        return bytes(result[-1])

    def reset(self) -> bytes:
        """Warm reset (SCardReconnect with SCARD_RESET_CARD); returns the new ATR."""
        if self._card is None:
            raise CardRemoved("card connection already closed")
        s = self._scard
        hr, protocol = s.SCardReconnect(
            self._card, self._share, s.SCARD_PROTOCOL_T0 | s.SCARD_PROTOCOL_T1,
            s.SCARD_RESET_CARD,
        )
        if hr != s.SCARD_S_SUCCESS:
            raise self._error(hr, "reset")
        self._protocol = protocol
        return self.atr()

    def close(self) -> None:
        """Disconnect, resetting the card so no PIN/ADM verification outlives the session."""
        s = self._scard
        if self._card is not None:
            card, self._card = self._card, None
            try:
                s.SCardDisconnect(card, s.SCARD_RESET_CARD)
            except Exception:  # noqa: BLE001 - the card may already be gone
                pass
        if self._context is not None:
            context, self._context = self._context, None
            _release(s, context)

    def __enter__(self) -> PcscTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, hr: int, doing: str) -> TransportError:
        s = self._scard
        if _is(s, hr, "SCARD_W_REMOVED_CARD", "SCARD_E_NO_SMARTCARD"):
            return CardRemoved(f"card removed from {self.reader}")
        if _is(s, hr, "SCARD_E_READER_UNAVAILABLE", "SCARD_E_UNKNOWN_READER"):
            return CardRemoved(f"reader {self.reader} disconnected")
        if _is(s, hr, "SCARD_W_RESET_CARD"):
            return CardRemoved(f"card in {self.reader} was reset by another program")
        if _is(s, hr, "SCARD_W_UNPOWERED_CARD", "SCARD_W_UNRESPONSIVE_CARD",
               "SCARD_E_INVALID_HANDLE", "SCARD_E_NOT_TRANSACTED"):
            # NOT_TRANSACTED: "transaction failed", what a card dying mid-APDU gives
            return CardRemoved(f"card in {self.reader} stopped answering ({_describe(s, hr)})")
        return _service_error(s, hr) or TransportError(
            f"PC/SC error during {doing} on {self.reader}: {_describe(s, hr)}"
        )


def _connect_error(scard: Any, hr: int, reader: str, timeout: float) -> TransportError:
    if _is(scard, hr, "SCARD_E_NO_SMARTCARD", "SCARD_W_REMOVED_CARD"):
        waited = f" (waited {timeout:g} s)" if timeout > 0 else ""
        return NoCard(f"no card in reader {reader}: insert one{waited}")
    if _is(scard, hr, "SCARD_W_UNRESPONSIVE_CARD", "SCARD_W_UNPOWERED_CARD"):
        return NoCard(f"the card in reader {reader} does not answer: is it inserted the right way?")
    if _is(scard, hr, "SCARD_E_UNKNOWN_READER", "SCARD_E_READER_UNAVAILABLE"):
        try:
            readers = _available(list_readers())
        except TransportError:
            readers = "cannot list readers"
        return NoReader(f"reader {reader!r} is not available; {readers}")
    if _is(scard, hr, "SCARD_E_SHARING_VIOLATION"):
        return CardInUse(f"the card in reader {reader} is in use by another program "
                         "(exclusively, or this program asked for exclusive use): close it first")
    return _service_error(scard, hr) or TransportError(
        f"cannot connect to the card in {reader}: {_describe(scard, hr)}"
    )
