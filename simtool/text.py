"""Text on SIM cards: the GSM 7-bit default alphabet, SMS packing and the UCS2 alpha forms.

* GSM 7-bit default alphabet and its extension table: 3GPP TS 23.038 §6.2.1 / §6.2.1.1.  The
  character tables come from the ``gsm0338`` package (checked against §6.2.1 by the tests);
  the escape rules are applied here.
* SMS packing of septets into octets: 3GPP TS 23.038 §6.1.2.1, with the optional <CR> padding
  of §6.1.2.3.1 (USSD) / §6.1.2.2 (CBS).
* Alpha fields in EFs and the STK alpha identifier: ETSI TS 102 221 Annex A (GSM unpacked, or
  UCS2 in the 80 / 81 / 82 forms).
* STK TEXT STRING data objects: ETSI TS 102 223 §8.15, the data coding scheme of
  3GPP TS 23.038 §4 (SMS) or §5 (CBS, used by USSD strings).
"""

from __future__ import annotations

import enum

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

from simtool.errors import DecodeError, EncodeError

ESC = 0x1B
CR = 0x0D


def _build_tables() -> tuple[dict[int, str], dict[int, str]]:
    default: dict[int, str] = {}
    extension: dict[int, str] = {}
    for septet in range(0x80):
        if septet != ESC:
            default[septet] = bytes([septet]).decode("gsm03.38")
        try:
            extension[septet] = bytes([ESC, septet]).decode("gsm03.38")
        except UnicodeDecodeError:
            pass
    return default, extension


#: TS 23.038 §6.2.1 default alphabet (septet -> character; 1B is the escape, not a character).
GSM_DEFAULT: dict[int, str]
#: TS 23.038 §6.2.1.1 extension table (septet after 1B -> character).
GSM_EXTENSION: dict[int, str]
GSM_DEFAULT, GSM_EXTENSION = _build_tables()
_ENCODE: dict[str, bytes] = {ch: bytes([s]) for s, ch in GSM_DEFAULT.items()}
_ENCODE.update({ch: bytes([ESC, s]) for s, ch in GSM_EXTENSION.items() if ch not in _ENCODE})


# --- GSM 7-bit default alphabet (unpacked septets) ----------------------------------------


def is_gsm7(text: str) -> bool:
    """True when every character is in the default alphabet or its extension table."""
    return all(ch in _ENCODE for ch in text)


def encode_gsm7(text: str) -> bytes:
    """Text -> unpacked septets (one per byte, b8 = 0), extension characters as 1B xx.

    TS 23.038 §6.2.1; raises EncodeError naming the first character outside the alphabet."""
    out = bytearray()
    for ch in text:
        code = _ENCODE.get(ch)
        if code is None:
            raise EncodeError(f"character {ch!r} (U+{ord(ch):04X}) of {text!r} is not in the "
                              "GSM 7-bit default alphabet")
        out += code
    return bytes(out)


def decode_gsm7(septets: bytes) -> str:
    """Unpacked septets -> text (TS 23.038 §6.2.1, §6.2.1.1).

    An escape followed by a code the extension table does not define shows the default-table
    character (§6.2.1.1); 1B 1B and a trailing lone 1B show a space."""
    out: list[str] = []
    i = 0
    while i < len(septets):
        s = septets[i]
        if s > 0x7F:
            raise DecodeError(f"byte {s:02X} at offset {i} is not a GSM 7-bit septet")
        if s != ESC:
            out.append(GSM_DEFAULT[s])
            i += 1
            continue
        nxt = septets[i + 1] if i + 1 < len(septets) else None
        if nxt is None or nxt == ESC:
            out.append(" ")
        elif nxt > 0x7F:
            raise DecodeError(f"byte {nxt:02X} at offset {i + 1} is not a GSM 7-bit septet")
        else:
            out.append(GSM_EXTENSION.get(nxt, GSM_DEFAULT[nxt]))
        i += 2
    return "".join(out)


# --- SMS packing (TS 23.038 §6.1.2.1) ----------------------------------------------------


def gsm7_pack(septets: bytes, *, cr_padding: bool = False) -> bytes:
    """Pack septets into octets: septet i starts at bit 7*i, least significant bit first.

    ``cr_padding`` applies TS 23.038 §6.1.2.3.1 (USSD, as for CBS): when 7 spare bits would be
    left at the end, a <CR> fills them instead of zeros (which would read as '@'); when the text
    itself ends in <CR> on an octet boundary, a second <CR> is added."""
    if any(s > 0x7F for s in septets):
        raise EncodeError("septets must be 00..7F")
    if cr_padding:
        if len(septets) % 8 == 7:
            septets = septets + bytes([CR])
        elif septets and len(septets) % 8 == 0 and septets[-1] == CR:
            septets = septets + bytes([CR])
    acc = 0
    for i, s in enumerate(septets):
        acc |= s << (7 * i)
    return acc.to_bytes((7 * len(septets) + 7) // 8, "little")


def gsm7_unpack(data: bytes, count: int | None = None, *, cr_padding: bool = False) -> bytes:
    """Unpack ``count`` septets (default: as many as the octets hold) from packed octets.

    With ``cr_padding`` (TS 23.038 §6.1.2.3.1) a final <CR> that ends exactly on an octet
    boundary is padding and is removed."""
    capacity = len(data) * 8 // 7
    if count is None:
        count = capacity
    if count < 0 or count > capacity:
        raise DecodeError(f"{len(data)} packed octets hold at most {capacity} septets, "
                          f"not {count}")
    acc = int.from_bytes(data, "little")
    out = bytes((acc >> (7 * i)) & 0x7F for i in range(count))
    if cr_padding and out and out[-1] == CR and 7 * count == 8 * len(data):
        out = out[:-1]
    return out


# --- EF alpha fields: TS 102 221 Annex A ---------------------------------------------------


def _ucs2_units(text: str) -> list[int]:
    units = [ord(ch) for ch in text]
    for ch, u in zip(text, units):
        if u > 0xFFFF or 0xD800 <= u <= 0xDFFF or u == 0xFFFF:
            raise EncodeError(f"character {ch!r} of {text!r} cannot be coded in UCS2")
    return units


def _ucs2_decode(data: bytes) -> str:
    # big-endian 16-bit units; a surrogate pair some terminals send becomes one character, a
    # lone surrogate U+FFFD (it is no character: printing or encoding the text would fail)
    return data.decode("utf-16-be", errors="replace")


def _ucs2_80(units: list[int]) -> bytes:
    return b"\x80" + b"".join(u.to_bytes(2, "big") for u in units)


def _ucs2_offset_body(text: str, base: int) -> bytes | None:
    """One byte per character for the 81/82 forms: GSM default char, or 80 + (char - base)."""
    body = bytearray()
    for ch in text:
        septet = _ENCODE.get(ch)
        if septet is not None and len(septet) == 1:
            body += septet
        elif base <= ord(ch) < base + 0x80:
            body.append(0x80 | (ord(ch) - base))
        else:
            return None
    return bytes(body)


def _alpha_candidates(text: str) -> list[bytes]:
    units = _ucs2_units(text)
    candidates = [_ucs2_80(units)]
    outside = [u for ch, u in zip(text, units) if ch not in _ENCODE or len(_ENCODE[ch]) > 1]
    if outside and len(text) <= 0xFF:
        low, high = min(outside), max(outside)
        base81 = (low >> 7) << 7
        if high < base81 + 0x80 and base81 <= 0x7F80:
            body = _ucs2_offset_body(text, base81)
            if body is not None:
                candidates.append(bytes([0x81, len(text), base81 >> 7]) + body)
        if high - low < 0x80:
            # an aligned base when the window allows it (as in the worked examples), else low
            base82 = base81 if high < base81 + 0x80 else low
            body = _ucs2_offset_body(text, base82)
            if body is not None:
                candidates.append(bytes([0x82, len(text)]) + base82.to_bytes(2, "big") + body)
    return candidates


def _check_len(text: str, data: bytes, max_len: int | None) -> bytes:
    if max_len is not None and len(data) > max_len:
        raise EncodeError(f"text {text!r} needs {len(data)} bytes, more than the "
                          f"{max_len}-byte limit")
    return data


def encode_alpha(text: str, max_len: int | None = None) -> bytes:
    """Text -> EF alpha field / STK alpha identifier (TS 102 221 Annex A), unpadded.

    GSM default alphabet unpacked when every character fits (the spec requires it then);
    otherwise the shortest of the UCS2 forms 80, 81 and 82 (80 on a tie).  Polish letters
    (ą ć ę ł ń ś ź ż ...) are not in the GSM alphabet, so they always give UCS2.
    EncodeError names the text and the byte limit when the result exceeds ``max_len``."""
    if is_gsm7(text):
        return _check_len(text, encode_gsm7(text), max_len)
    best = min(_alpha_candidates(text), key=len)  # min() keeps the first (80) on ties
    return _check_len(text, best, max_len)


def encode_alpha_form(text: str, form: int) -> bytes:
    """Text in one chosen form: 0 (GSM unpacked), 0x80, 0x81 or 0x82; EncodeError if it cannot."""
    if form == 0:
        return encode_gsm7(text)
    if form == 0x80:
        return _ucs2_80(_ucs2_units(text))
    for cand in _alpha_candidates(text):
        if cand[0] == form:
            return cand
    if form in (0x81, 0x82):
        raise EncodeError(f"text {text!r} does not fit the UCS2 {form:02X} form")
    raise EncodeError(f"unknown alpha form {form:02X}")


def _decode_offset_body(body: bytes, base: int) -> str:
    out: list[str] = []
    run = bytearray()
    for b in body:
        if b & 0x80:
            if run:
                out.append(decode_gsm7(bytes(run)))
                run.clear()
            out.append(chr(base + (b & 0x7F)))
        else:
            run.append(b)
    if run:
        out.append(decode_gsm7(bytes(run)))
    return "".join(out)


def decode_alpha(data: bytes) -> str:
    """EF alpha field / STK alpha identifier -> text (TS 102 221 Annex A); FF padding ignored."""
    if not data or data[0] == 0xFF:
        return ""
    form = data[0]
    if form < 0x80:
        end = data.find(b"\xff")
        return decode_gsm7(data if end < 0 else data[:end])
    if form == 0x80:
        body = data[1:]
        end = len(body) - len(body) % 2
        for i in range(0, end, 2):
            if body[i : i + 2] == b"\xff\xff":
                end = i
                break
        return _ucs2_decode(body[:end])
    if form in (0x81, 0x82):
        header = 3 if form == 0x81 else 4
        if len(data) < header:
            raise DecodeError(f"UCS2 {form:02X} alpha field is {len(data)} bytes, header needs "
                              f"{header}")
        count = data[1]
        if len(data) < header + count:
            raise DecodeError(f"UCS2 {form:02X} alpha field announces {count} characters but "
                              f"holds {len(data) - header}")
        base = data[2] << 7 if form == 0x81 else int.from_bytes(data[2:4], "big")
        return _decode_offset_body(data[header : header + count], base)
    raise DecodeError(f"alpha field starts with {form:02X}: not GSM, 80, 81 or 82")


# --- STK TEXT STRING and data coding schemes (TS 102 223 §8.15, TS 23.038 §4/§5) ----------


class Alphabet(enum.Enum):
    GSM7_PACKED = "gsm7-packed"
    GSM8 = "gsm-8bit"  # GSM default alphabet, one septet per octet (DCS 04)
    UCS2 = "ucs2"


DCS_GSM7_PACKED = 0x00
DCS_GSM8 = 0x04
DCS_UCS2 = 0x08


def dcs_alphabet(dcs: int, *, cbs: bool = False) -> Alphabet:
    """The character set of a data coding scheme byte.

    SMS coding (TS 23.038 §4) by default; ``cbs=True`` for the CBS coding of §5, used by USSD
    strings (e.g. 0F = GSM 7-bit, language unspecified).  Reserved codings count as the GSM
    7-bit default alphabet, as both clauses require.  Compressed text (TS 23.042) raises
    DecodeError."""
    if not 0 <= dcs <= 0xFF:
        raise DecodeError(f"DCS {dcs} is not a byte")
    group = dcs >> 4
    general = {0b00: Alphabet.GSM7_PACKED, 0b01: Alphabet.GSM8, 0b10: Alphabet.UCS2,
               0b11: Alphabet.GSM7_PACKED}
    if cbs:
        if group == 0b0001 and dcs & 0x0F == 0x01:
            return Alphabet.UCS2
        if group in (0b0100, 0b0101, 0b0110, 0b0111, 0b1001):
            if dcs & 0x20 and group != 0b1001:
                raise DecodeError(f"DCS {dcs:02X}: compressed text is not supported")
            return general[(dcs >> 2) & 0b11]
        if group == 0b1111:
            return Alphabet.GSM8 if dcs & 0x04 else Alphabet.GSM7_PACKED
        return Alphabet.GSM7_PACKED
    if group <= 0b0111:
        if dcs & 0x20:
            raise DecodeError(f"DCS {dcs:02X}: compressed text is not supported")
        return general[(dcs >> 2) & 0b11]
    if group == 0b1110:
        return Alphabet.UCS2
    if group == 0b1111:
        return Alphabet.GSM8 if dcs & 0x04 else Alphabet.GSM7_PACKED
    return Alphabet.GSM7_PACKED  # 1000..1011 reserved, 1100/1101 message waiting (GSM 7-bit)


def encode_text_string(text: str, *, packed: bool = False,
                       max_len: int | None = None) -> tuple[int, bytes]:
    """Text -> (DCS, data) for an STK TEXT STRING (TS 102 223 §8.15).

    DCS 04 (GSM 8-bit, unpacked) when the text fits the GSM alphabet, DCS 00 (SMS-packed,
    with §6.1.2.3.1 <CR> padding) when ``packed``; otherwise DCS 08 (UCS2, no 80 prefix).
    ``max_len`` limits the data bytes (the DCS byte not counted)."""
    if is_gsm7(text):
        septets = encode_gsm7(text)
        if packed:
            return DCS_GSM7_PACKED, _check_len(text, gsm7_pack(septets, cr_padding=True), max_len)
        return DCS_GSM8, _check_len(text, septets, max_len)
    data = b"".join(u.to_bytes(2, "big") for u in _ucs2_units(text))
    return DCS_UCS2, _check_len(text, data, max_len)


def decode_text_string(dcs: int, data: bytes, *, cbs: bool = False) -> str:
    """(DCS, data) of a TEXT STRING or USSD string -> text.  See :func:`dcs_alphabet`.

    Packed GSM text drops a final <CR> that ends on an octet boundary (TS 23.038 §6.1.2.3.1).
    CBS DCS 10/11 carry a two-letter language before the text (§5); it is removed."""
    alphabet = dcs_alphabet(dcs, cbs=cbs)
    if alphabet is Alphabet.UCS2:
        if cbs and dcs == 0x11:
            data = data[2:]  # two packed GSM septets of ISO 639 language + 2 zero bits
        if len(data) % 2:
            raise DecodeError(f"UCS2 text of odd length {len(data)}")
        return _ucs2_decode(data)
    if alphabet is Alphabet.GSM8:
        return decode_gsm7(data)
    text = decode_gsm7(gsm7_unpack(data, cr_padding=True))
    if cbs and dcs == 0x10 and len(text) >= 3 and text[2] == "\r":
        text = text[3:]  # "xx<CR>" language indication
    return text
