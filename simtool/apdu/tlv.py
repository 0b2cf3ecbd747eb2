"""BER-TLV and COMPREHENSION-TLV coding.

* BER-TLV (ISO/IEC 7816-4 §5.2, ETSI TS 101 220 §7.1.2): FCP templates, the D0..DF toolkit
  wrappers.  Tags are one byte, or two when the first byte's b5..b1 are all 1.
* COMPREHENSION-TLV (ETSI TS 101 220 §7.1.1, ETSI TS 102 223 §8): the simple objects inside
  proactive commands, envelopes and terminal responses.  One tag byte with CR in b8, or the
  three-byte form ``7F`` + (CR bit + 15-bit tag).

Lengths (TS 101 220 §7.1.2, sim-facts §5.3): ``00``..``7F``; ``81 xx``; ``82 xx xx``.
Decoders accept a non-minimal length (``81 05``) and emit the minimal form.
All decoders raise :class:`~simtool.errors.DecodeError` on malformed input and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from simtool.errors import DecodeError, EncodeError

MAX_LENGTH = 0xFFFF


# --- lengths -------------------------------------------------------------------------------


def encode_length(n: int) -> bytes:
    """Minimal length field: ``0..127`` in one byte, ``81 xx``, ``82 xx xx``."""
    if type(n) is not int or n < 0:
        raise EncodeError(f"TLV length must be a non-negative int, got {n!r}")
    if n < 0x80:
        return bytes((n,))
    if n <= 0xFF:
        return bytes((0x81, n))
    if n <= MAX_LENGTH:
        return bytes((0x82, n >> 8, n & 0xFF))
    raise EncodeError(f"TLV length {n} exceeds the 3-byte length field limit of {MAX_LENGTH}")


def decode_length(data: bytes, offset: int) -> tuple[int, int]:
    """Read a length field at ``offset``; returns ``(length, offset after the field)``."""
    if offset >= len(data):
        raise DecodeError(f"TLV length field missing at offset {offset}")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    if first == 0x81:
        if offset + 2 > len(data):
            raise DecodeError(f"TLV length field 81 truncated at offset {offset}")
        return data[offset + 1], offset + 2
    if first == 0x82:
        if offset + 3 > len(data):
            raise DecodeError(f"TLV length field 82 truncated at offset {offset}")
        return (data[offset + 1] << 8) | data[offset + 2], offset + 3
    if first == 0x80:
        raise DecodeError(f"indefinite TLV length (80) at offset {offset} is not allowed")
    raise DecodeError(
        f"TLV length field {first:02X} at offset {offset}: only 1..3-byte lengths "
        "(up to 82 xx xx) are supported"
    )


def _value(data: bytes, start: int, length: int, what: str) -> tuple[bytes, int]:
    end = start + length
    if end > len(data):
        raise DecodeError(
            f"{what} value of {length} bytes at offset {start} runs past the end "
            f"({len(data) - start} bytes left)"
        )
    return bytes(data[start:end]), end


# --- BER-TLV -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tlv:
    """A BER-TLV object (ISO/IEC 7816-4 §5.2 / TS 101 220 §7.1.2).

    ``tag`` is the 1- or 2-byte tag as an int: ``0x62``, ``0x8A``, ``0x5F2D``, ``0xBF30``.
    """

    tag: int
    value: bytes

    def to_bytes(self) -> bytes:
        return ber_encode(self.tag, self.value)

    @property
    def constructed(self) -> bool:
        """b6 of the first tag byte: the value is itself BER-TLV (ISO/IEC 7816-4 §5.2.2.1)."""
        first = self.tag >> 8 if self.tag > 0xFF else self.tag
        return bool(first & 0x20)


def _tag_bytes(tag: int) -> bytes:
    if type(tag) is not int:
        raise EncodeError(f"BER-TLV tag must be an int, got {tag!r}")
    if 0 < tag <= 0xFF:
        if tag & 0x1F == 0x1F:
            raise EncodeError(
                f"BER-TLV tag {tag:02X} announces a second tag byte (b5..b1 = 11111)"
            )
        return bytes((tag,))
    if 0x100 <= tag <= 0xFFFF:
        hi, lo = tag >> 8, tag & 0xFF
        if hi & 0x1F != 0x1F or hi == 0xFF or lo & 0x80:
            raise EncodeError(
                f"BER-TLV tag {tag:04X} is not a valid 2-byte tag "
                "(first byte must end in 11111 and not be FF, second byte b8 = 0)"
            )
        return bytes((hi, lo))
    raise EncodeError(f"BER-TLV tag {tag!r} is not a 1- or 2-byte tag")


def ber_encode(tag: int, value: bytes) -> bytes:
    """Encode one BER-TLV object with a minimal length field."""
    return _tag_bytes(tag) + encode_length(len(value)) + bytes(value)


def _ber_decode_at(data: bytes, offset: int) -> tuple[Tlv, int]:
    n = len(data)
    first = data[offset]
    if first == 0x00 or first == 0xFF:
        raise DecodeError(f"BER-TLV tag {first:02X} at offset {offset} is padding, not a tag")
    if first & 0x1F == 0x1F:
        if offset + 1 >= n:
            raise DecodeError(f"BER-TLV 2-byte tag truncated at offset {offset}")
        second = data[offset + 1]
        if second & 0x80:
            raise DecodeError(
                f"BER-TLV tag {first:02X}{second:02X}.. at offset {offset} is longer than "
                "2 bytes (not supported)"
            )
        tag = (first << 8) | second
        pos = offset + 2
    else:
        tag = first
        pos = offset + 1
    length, pos = decode_length(data, pos)
    value, end = _value(data, pos, length, f"BER-TLV {tag:02X}")
    return Tlv(tag, value), end


def ber_decode(data: bytes) -> tuple[Tlv, bytes]:
    """Decode the first BER-TLV object of ``data``; returns it and the bytes after it."""
    if not data:
        raise DecodeError("BER-TLV: no data")
    obj, end = _ber_decode_at(data, 0)
    return obj, bytes(data[end:])


def ber_decode_all(data: bytes) -> list[Tlv]:
    """Decode a sequence of BER-TLV objects.

    ``00`` and ``FF`` bytes before, between or after objects are padding and are skipped
    (ISO/IEC 7816-4 §5.2.2: erased or unused space inside e.g. a record).
    """
    out: list[Tlv] = []
    offset, n = 0, len(data)
    while offset < n:
        if data[offset] in (0x00, 0xFF):
            offset += 1
            continue
        obj, offset = _ber_decode_at(data, offset)
        out.append(obj)
    return out


# --- COMPREHENSION-TLV -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComprehensionTlv:
    """A COMPREHENSION-TLV object (TS 101 220 §7.1.1 / TS 102 223 §8).

    ``tag`` is the tag value without the CR bit: 0x01..0x7E are sent in the single-byte form,
    0x7F..0x7FFF in the three-byte form.  ``cr`` is "comprehension required".
    """

    tag: int
    value: bytes
    cr: bool = False

    def to_bytes(self) -> bytes:
        return ctlv_encode(self)


def ctlv_encode(obj: ComprehensionTlv) -> bytes:
    """Encode one COMPREHENSION-TLV object, single-byte tag form whenever possible."""
    tag = obj.tag
    if type(tag) is not int or not 0 < tag <= 0x7FFF:
        raise EncodeError(f"COMPREHENSION-TLV tag {tag!r} is outside 0x01..0x7FFF")
    cr = 0x80 if obj.cr else 0
    if tag < 0x7F:
        head = bytes((cr | tag,))
    else:
        # TS 101 220 §7.1.1: '7F', then b16 = CR and b15..b1 = tag value
        head = bytes((0x7F, cr | tag >> 8, tag & 0xFF))
    return head + encode_length(len(obj.value)) + bytes(obj.value)


def _ctlv_decode_at(data: bytes, offset: int) -> tuple[ComprehensionTlv, int]:
    first = data[offset]
    if first in (0x00, 0x80, 0xFF):
        raise DecodeError(
            f"COMPREHENSION-TLV tag byte {first:02X} at offset {offset} is reserved"
        )
    if first == 0x7F:
        if offset + 3 > len(data):
            raise DecodeError(f"COMPREHENSION-TLV 3-byte tag truncated at offset {offset}")
        b1, b2 = data[offset + 1], data[offset + 2]
        cr = bool(b1 & 0x80)
        tag = ((b1 & 0x7F) << 8) | b2
        if tag == 0:
            raise DecodeError(f"COMPREHENSION-TLV tag value 0000 at offset {offset}")
        pos = offset + 3
    else:
        cr = bool(first & 0x80)
        tag = first & 0x7F
        pos = offset + 1
    length, pos = decode_length(data, pos)
    value, end = _value(data, pos, length, f"COMPREHENSION-TLV {tag:02X}")
    return ComprehensionTlv(tag, value, cr), end


def ctlv_decode(data: bytes) -> tuple[ComprehensionTlv, bytes]:
    """Decode the first COMPREHENSION-TLV object; returns it and the bytes after it."""
    if not data:
        raise DecodeError("COMPREHENSION-TLV: no data")
    obj, end = _ctlv_decode_at(data, 0)
    return obj, bytes(data[end:])


def ctlv_decode_all(data: bytes) -> list[ComprehensionTlv]:
    """Decode a sequence of COMPREHENSION-TLV objects (e.g. the value of a D0 command)."""
    out: list[ComprehensionTlv] = []
    offset, n = 0, len(data)
    while offset < n:
        obj, offset = _ctlv_decode_at(data, offset)
        out.append(obj)
    return out
