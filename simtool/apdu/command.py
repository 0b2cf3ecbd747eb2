"""Command and response APDUs (ISO/IEC 7816-3 §12.1, ISO/IEC 7816-4 §5.1, ETSI TS 102 221 §10.1).

Only short APDUs exist on SIM/UICC cards: Lc is one byte (1..255) and Le is one byte
(``00`` meaning 256).  The four cases are:

====  ===================  ==============================
case  bytes                 example
====  ===================  ==============================
1     CLA INS P1 P2         VERIFY counter query ``00 20 00 01``
2     CLA INS P1 P2 Le      READ BINARY ``00 B0 00 00 09``
3     CLA INS P1 P2 Lc data SELECT ``00 A4 00 04 02 3F 00``
4     ... Lc data Le        AUTHENTICATE ``00 88 00 81 22 … 00``
====  ===================  ==============================
"""

from __future__ import annotations

from dataclasses import dataclass

from simtool.errors import DecodeError, EncodeError

#: Largest Lc of a short APDU (ISO/IEC 7816-4 §5.1).
MAX_LC = 255
#: Largest Le of a short APDU; encoded as ``00``.
MAX_LE = 256


@dataclass(frozen=True, slots=True)
class CommandApdu:
    """A short command APDU.

    ``le`` is ``None`` when there is no Le field (cases 1 and 3), else 0..256; both 0 and 256
    are encoded as ``00`` (ISO/IEC 7816-4 §5.1: Le = ``00`` asks for up to 256 bytes), and
    decoding ``00`` gives 256.
    """

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    @property
    def case(self) -> int:
        """ISO/IEC 7816-3 §12.1.2 command case, 1..4."""
        if self.data:
            return 3 if self.le is None else 4
        return 1 if self.le is None else 2

    def to_bytes(self) -> bytes:
        """Encode as a short APDU; :class:`EncodeError` if a field does not fit."""
        try:
            out = bytes((self.cla, self.ins, self.p1, self.p2))
        except (ValueError, TypeError):
            raise EncodeError(
                f"CLA/INS/P1/P2 must be bytes 0..255, got "
                f"{self.cla!r} {self.ins!r} {self.p1!r} {self.p2!r}"
            ) from None
        data = self.data
        if data:
            n = len(data)
            if n > MAX_LC:
                raise EncodeError(
                    f"command data of {n} bytes exceeds the short-APDU limit of {MAX_LC} bytes "
                    "(extended APDUs are not supported)"
                )
            out += bytes((n,)) + bytes(data)
        le = self.le
        if le is not None:
            if type(le) is not int or not 0 <= le <= MAX_LE:
                raise EncodeError(f"Le {le!r} is outside the short-APDU range 0..{MAX_LE}")
            out += bytes((le & 0xFF,))
        return out

    @classmethod
    def from_bytes(cls, raw: bytes) -> CommandApdu:
        """Parse a short APDU of case 1, 2, 3 or 4.

        A 5-byte APDU is case 2 (P3 = Le).  Anything longer must be ``Lc`` data [``Le``] with
        Lc ≥ 1 and a total length of exactly 5 + Lc or 6 + Lc.
        """
        raw = bytes(raw)
        n = len(raw)
        if n < 4:
            raise DecodeError(f"a command APDU needs at least 4 bytes (CLA INS P1 P2), got {n}")
        cla, ins, p1, p2 = raw[0], raw[1], raw[2], raw[3]
        if n == 4:
            return cls(cla, ins, p1, p2)
        if n == 5:
            return cls(cla, ins, p1, p2, b"", raw[4] or 256)
        lc = raw[4]
        if lc == 0:
            raise DecodeError(
                f"Lc = 00 followed by {n - 5} more bytes: extended APDUs are not supported"
            )
        if n == 5 + lc:
            return cls(cla, ins, p1, p2, raw[5:], None)
        if n == 6 + lc:
            return cls(cla, ins, p1, p2, raw[5:-1], raw[-1] or 256)
        raise DecodeError(
            f"inconsistent APDU length: Lc = {lc} needs {5 + lc} or {6 + lc} bytes, got {n}"
        )

    def __str__(self) -> str:
        try:
            return self.to_bytes().hex(" ").upper()
        except EncodeError:
            return repr(self)


@dataclass(frozen=True, slots=True)
class ResponseApdu:
    """Response data and the status word SW1 SW2 (ISO/IEC 7816-4 §5.1)."""

    data: bytes
    sw: int

    @property
    def sw1(self) -> int:
        return self.sw >> 8

    @property
    def sw2(self) -> int:
        return self.sw & 0xFF

    @classmethod
    def from_bytes(cls, raw: bytes) -> ResponseApdu:
        """Split ``data + SW1 SW2``; :class:`DecodeError` when fewer than 2 bytes."""
        if len(raw) < 2:
            raise DecodeError(f"a response APDU needs at least 2 bytes (SW1 SW2), got {len(raw)}")
        return cls(bytes(raw[:-2]), (raw[-2] << 8) | raw[-1])

    def to_bytes(self) -> bytes:
        # an int or a member of the status word table (simtool.apdu.sw.SW), never a bool
        sw = self.sw
        if not isinstance(sw, int) or isinstance(sw, bool) or not 0 <= sw <= 0xFFFF:
            raise EncodeError(f"status word {self.sw!r} is not a 16-bit value")
        return bytes(self.data) + self.sw.to_bytes(2, "big")
