"""What SELECT returns: the UICC FCP template (tag 62) and the GSM SIM GET RESPONSE layout.

* FCP template: ETSI TS 102 221 §11.1.1.3 (data objects §11.1.1.4).
* GSM response to SELECT / GET RESPONSE: 3GPP TS 51.011 §9.2.1.

Both decode to :class:`Fcp`, which the card model uses for sizes and PIN states and the
virtual card encodes back into an FCP template.
"""

from __future__ import annotations

from dataclasses import dataclass

from simtool.apdu.tlv import Tlv, ber_decode, ber_decode_all, ber_encode
from simtool.ef.base import Structure, fid_text
from simtool.errors import DecodeError, EncodeError

TAG_FCP = 0x62
TAG_SIZE = 0x80
TAG_TOTAL_SIZE = 0x81
TAG_DESCRIPTOR = 0x82
TAG_FID = 0x83
TAG_DF_NAME = 0x84
TAG_PROPRIETARY = 0xA5
TAG_LIFE_CYCLE = 0x8A
TAG_SEC_REFERENCED = 0x8B
TAG_SEC_COMPACT = 0x8C
TAG_SEC_EXPANDED = 0xAB
TAG_PIN_STATUS = 0xC6
TAG_SFI = 0x88
TAG_PS_DO = 0x90
TAG_USAGE_QUALIFIER = 0x95
TAG_KEY_REFERENCE = 0x83

#: File descriptor bytes (TS 102 221 §11.1.1.4.3): b7 = shareable, b6..b4 file type,
#: b3..b1 structure; 39 (+ shareable) = BER-TLV EF.
FD_TRANSPARENT = 0x41
FD_LINEAR_FIXED = 0x42
FD_CYCLIC = 0x46
FD_DF = 0x78
DATA_CODING = 0x21

#: Life cycle status integer (TS 102 221 §11.1.1.4.9).
LCSI_OPERATIONAL_ACTIVATED = 0x05
LCSI_OPERATIONAL_DEACTIVATED = 0x04


@dataclass(frozen=True)
class PinStatus:
    """One key reference of a PIN status template DO (tag C6, TS 102 221 §9.5.2 /
    §11.1.1.4.10): whether verification of that PIN is enabled."""

    key_reference: int
    enabled: bool
    usage_qualifier: int | None = None


@dataclass(frozen=True)
class GsmChvStatus:
    """Tries left of CHV1, UNBLOCK CHV1, CHV2, UNBLOCK CHV2 from a GSM DF response
    (TS 51.011 §9.2.1 bytes 19-22; b8 = initialised, b4..b1 = tries); None = not initialised."""

    chv1: int | None
    unblock_chv1: int | None
    chv2: int | None
    unblock_chv2: int | None


@dataclass(frozen=True)
class Fcp:
    """File control parameters (ETSI TS 102 221 §11.1.1.3).

    ``short_file_id`` is the raw value of tag 88: None when absent (the SFI is then the five
    low bits of the FID), b"" when the file has no SFI; see :attr:`sfi`."""

    file_descriptor: int = FD_TRANSPARENT
    record_length: int | None = None
    record_count: int | None = None
    fid: int | None = None
    df_name: bytes | None = None
    proprietary: bytes | None = None
    life_cycle: int | None = None
    security_referenced: bytes | None = None
    security_compact: bytes | None = None
    security_expanded: bytes | None = None
    pin_status: tuple[PinStatus, ...] | None = None
    size: int | None = None
    total_size: int | None = None
    short_file_id: bytes | None = None
    other: tuple[Tlv, ...] = ()
    data_coding: int = DATA_CODING
    gsm_chv: GsmChvStatus | None = None

    # --- derived values --------------------------------------------------------------------

    @property
    def structure(self) -> Structure | None:
        fd = self.file_descriptor
        if fd & 0x3F == 0x39:
            return Structure.BER_TLV
        if (fd >> 3) & 0x07 == 0x07:
            return Structure.DF
        return {1: Structure.TRANSPARENT, 2: Structure.LINEAR_FIXED,
                6: Structure.CYCLIC}.get(fd & 0x07)

    @property
    def is_df(self) -> bool:
        return self.structure is Structure.DF

    @property
    def shareable(self) -> bool:
        return bool(self.file_descriptor & 0x40)

    @property
    def fid_text(self) -> str:
        return fid_text(self.fid) if self.fid is not None else "(no FID)"

    @property
    def sfi(self) -> int | None:
        """Short file identifier (TS 102 221 §11.1.1.4.8), None when the file has none."""
        if self.short_file_id is None:
            return None if self.is_df or self.fid is None else self.fid & 0x1F
        if not self.short_file_id:
            return None
        return self.short_file_id[0] >> 3

    @property
    def enabled_pins(self) -> frozenset[int]:
        """Key references whose verification is enabled (PIN status template, tag C6)."""
        return frozenset(p.key_reference for p in self.pin_status or () if p.enabled)

    # --- coding ------------------------------------------------------------------------------

    @classmethod
    def decode(cls, data: bytes) -> Fcp:
        """Decode an FCP template ``62 L ...`` (the response data of SELECT with P2 = 04)."""
        outer, _rest = ber_decode(data)
        if outer.tag != TAG_FCP:
            raise DecodeError(f"FCP template must start with tag 62, not {outer.tag:02X}")
        fields: dict = {}
        other: list[Tlv] = []
        for obj in ber_decode_all(outer.value):
            v = obj.value
            if obj.tag == TAG_DESCRIPTOR:
                fields.update(_decode_descriptor(v))
            elif obj.tag == TAG_FID:
                if len(v) != 2:
                    raise DecodeError(f"FCP tag 83 (FID) is {len(v)} bytes, not 2")
                fields["fid"] = int.from_bytes(v, "big")
            elif obj.tag == TAG_DF_NAME:
                fields["df_name"] = v
            elif obj.tag == TAG_PROPRIETARY:
                fields["proprietary"] = v
            elif obj.tag == TAG_LIFE_CYCLE:
                if len(v) != 1:
                    raise DecodeError(f"FCP tag 8A (life cycle) is {len(v)} bytes, not 1")
                fields["life_cycle"] = v[0]
            elif obj.tag == TAG_SEC_REFERENCED:
                fields["security_referenced"] = v
            elif obj.tag == TAG_SEC_COMPACT:
                fields["security_compact"] = v
            elif obj.tag == TAG_SEC_EXPANDED:
                fields["security_expanded"] = v
            elif obj.tag == TAG_PIN_STATUS:
                fields["pin_status"] = _decode_pin_status(v)
            elif obj.tag in (TAG_SIZE, TAG_TOTAL_SIZE):
                if not v:
                    raise DecodeError(f"FCP tag {obj.tag:02X} (size) is empty")
                fields["size" if obj.tag == TAG_SIZE else "total_size"] = int.from_bytes(v, "big")
            elif obj.tag == TAG_SFI:
                if len(v) > 1:
                    raise DecodeError(f"FCP tag 88 (SFI) is {len(v)} bytes, not 0 or 1")
                fields["short_file_id"] = v
            else:
                other.append(obj)
        if "file_descriptor" not in fields:
            raise DecodeError("FCP template has no file descriptor (tag 82)")
        return cls(**fields, other=tuple(other))

    def encode(self) -> bytes:
        """The FCP template, data objects in the order of TS 102 221 §11.1.1.3."""
        parts = [ber_encode(TAG_DESCRIPTOR, self._descriptor())]
        if self.fid is not None:
            parts.append(ber_encode(TAG_FID, _int(self.fid, 2, "FID")))
        for tag, value in ((TAG_DF_NAME, self.df_name), (TAG_PROPRIETARY, self.proprietary)):
            if value is not None:
                parts.append(ber_encode(tag, value))
        if self.life_cycle is not None:
            parts.append(ber_encode(TAG_LIFE_CYCLE, _int(self.life_cycle, 1, "life cycle")))
        for tag, value in ((TAG_SEC_REFERENCED, self.security_referenced),
                           (TAG_SEC_COMPACT, self.security_compact),
                           (TAG_SEC_EXPANDED, self.security_expanded)):
            if value is not None:
                parts.append(ber_encode(tag, value))
        if self.pin_status is not None:
            parts.append(ber_encode(TAG_PIN_STATUS, _encode_pin_status(self.pin_status)))
        for tag, value in ((TAG_SIZE, self.size), (TAG_TOTAL_SIZE, self.total_size)):
            if value is not None:
                parts.append(ber_encode(tag, _int(value, max(2, (value.bit_length() + 7) // 8),
                                                  "file size")))
        if self.short_file_id is not None:
            parts.append(ber_encode(TAG_SFI, self.short_file_id))
        parts += [obj.to_bytes() for obj in self.other]
        return ber_encode(TAG_FCP, b"".join(parts))

    def _descriptor(self) -> bytes:
        out = _int(self.file_descriptor, 1, "file descriptor") + _int(self.data_coding, 1,
                                                                       "data coding byte")
        if self.record_length is not None:
            out += _int(self.record_length, 2, "record length")
            if self.record_count is not None:
                out += _int(self.record_count, 1, "number of records")
        elif self.record_count is not None:
            raise EncodeError("FCP: a number of records needs a record length")
        return out


def _int(value: int, length: int, what: str) -> bytes:
    if not 0 <= value < 1 << (8 * length):
        raise EncodeError(f"FCP {what} {value} does not fit {length} byte(s)")
    return value.to_bytes(length, "big")


def _decode_descriptor(v: bytes) -> dict:
    """Tag 82 (TS 102 221 §11.1.1.4.3): descriptor byte, data coding byte [, record length
    (2 bytes), number of records (1 byte)]."""
    if len(v) < 2:
        raise DecodeError(f"FCP file descriptor (tag 82) is {len(v)} bytes, at least 2 expected")
    out = {"file_descriptor": v[0], "data_coding": v[1]}
    if len(v) == 3:
        out["record_length"] = v[2]
    elif len(v) >= 4:
        out["record_length"] = int.from_bytes(v[2:4], "big")
        if len(v) >= 5:
            out["record_count"] = v[4]
    return out


def _decode_pin_status(v: bytes) -> tuple[PinStatus, ...]:
    """C6: PS_DO (tag 90, bitmap, b8 of byte 1 = first key reference), then per PIN an
    optional usage qualifier (95) and its key reference (83)."""
    ps_do = b""
    refs: list[tuple[int, int | None]] = []
    qualifier: int | None = None
    for obj in ber_decode_all(v):
        if obj.tag == TAG_PS_DO:
            ps_do = obj.value
        elif obj.tag == TAG_USAGE_QUALIFIER:
            qualifier = obj.value[0] if obj.value else None
        elif obj.tag == TAG_KEY_REFERENCE:
            if len(obj.value) != 1:
                raise DecodeError(f"PIN status key reference is {len(obj.value)} bytes, not 1")
            refs.append((obj.value[0], qualifier))
            qualifier = None
    bits = int.from_bytes(ps_do, "big")
    width = 8 * len(ps_do)
    return tuple(PinStatus(ref, i < width and bool(bits >> (width - 1 - i) & 1), uq)
                 for i, (ref, uq) in enumerate(refs))


def _encode_pin_status(entries: tuple[PinStatus, ...]) -> bytes:
    width = max(1, (len(entries) + 7) // 8) * 8
    bits = sum(1 << (width - 1 - i) for i, p in enumerate(entries) if p.enabled)
    out = ber_encode(TAG_PS_DO, bits.to_bytes(width // 8, "big"))
    for p in entries:
        if p.usage_qualifier is not None:
            out += ber_encode(TAG_USAGE_QUALIFIER, _int(p.usage_qualifier, 1, "usage qualifier"))
        out += ber_encode(TAG_KEY_REFERENCE, _int(p.key_reference, 1, "key reference"))
    return out


# --- GSM SIM (TS 51.011 §9.2.1) ---------------------------------------------------------------

_GSM_STRUCTURE = {0x00: FD_TRANSPARENT & 0x3F, 0x01: FD_LINEAR_FIXED & 0x3F,
                  0x03: FD_CYCLIC & 0x3F}
GSM_TYPE_MF, GSM_TYPE_DF, GSM_TYPE_EF = 0x01, 0x02, 0x04


def _chv_tries(status: int) -> int | None:
    return status & 0x0F if status & 0x80 else None


def decode_gsm_response(data: bytes) -> Fcp:
    """A GSM SIM's SELECT / GET RESPONSE data (TS 51.011 §9.2.1) as an :class:`Fcp`.

    EF: bytes 3-4 size, 5-6 FID, 7 type (04), 12 file status (b1 = 1: not invalidated →
    life cycle 05, else 04), 14 structure (00 transparent, 01 linear fixed, 03 cyclic),
    15 record length.  MF/DF: byte 14 b8 = 1 → CHV1 disabled; bytes 19-22 CHV counters."""
    if len(data) < 14:
        raise DecodeError(f"GSM SELECT response is {len(data)} bytes, at least 14 expected")
    fid = int.from_bytes(data[4:6], "big")
    kind = data[6]
    if kind in (GSM_TYPE_MF, GSM_TYPE_DF):
        chv1_enabled = not data[13] & 0x80
        chv = None
        pins = (PinStatus(0x01, chv1_enabled),)
        if len(data) >= 22:
            chv = GsmChvStatus(*(_chv_tries(b) for b in data[18:22]))
            if chv.chv2 is not None:
                pins += (PinStatus(0x02, True),)
        return Fcp(file_descriptor=FD_DF, fid=fid, pin_status=pins, gsm_chv=chv)
    if kind != GSM_TYPE_EF:
        raise DecodeError(f"GSM SELECT response: type of file {kind:02X} is not MF, DF or EF")
    structure = data[13]
    if structure not in _GSM_STRUCTURE:
        raise DecodeError(f"GSM SELECT response: EF structure {structure:02X} is unknown")
    size = int.from_bytes(data[2:4], "big")
    life = LCSI_OPERATIONAL_ACTIVATED if data[11] & 0x01 else LCSI_OPERATIONAL_DEACTIVATED
    fd = 0x40 | _GSM_STRUCTURE[structure]
    if structure == 0x00:
        return Fcp(file_descriptor=fd, fid=fid, size=size, life_cycle=life)
    if len(data) < 15 or data[14] == 0:
        raise DecodeError("GSM SELECT response of a record EF has no record length (byte 15)")
    rec = data[14]
    return Fcp(file_descriptor=fd, fid=fid, size=size, life_cycle=life, record_length=rec,
               record_count=size // rec)


def decode_select_response(data: bytes, *, gsm: bool = False) -> Fcp:
    """SELECT response data -> Fcp: an FCP template (UICC), or with ``gsm`` the TS 51.011
    §9.2.1 layout (CLA A0 cards)."""
    return decode_gsm_response(data) if gsm else Fcp.decode(data)


_ARR_6F06 = bytes.fromhex("6F06")
FCP_EXAMPLES: tuple[tuple[Fcp, str], ...] = (
    # pySim test_decode_select_resp (a sysmoISIM): MF, ADF.USIM, ADF.ISIM, EF.IMSI, EF.ECC
    (Fcp(FD_DF, fid=0x3F00, proprietary=bytes.fromhex("80017183040003A738870101"),
         life_cycle=5, security_referenced=bytes.fromhex("2F0601"),
         pin_status=(PinStatus(0x01, False), PinStatus(0x0A, True), PinStatus(0x0B, True))),
     "622C8202782183023F00A50C80017183040003A7388701018A01058B032F0601"
     "C60C90016083010183010A83010B"),
    (Fcp(FD_DF, fid=0x7FD0, df_name=bytes.fromhex("A0000000871002FF49FF0589"),
         proprietary=bytes.fromhex("80017183040003A738870101"), life_cycle=5,
         security_referenced=bytes.fromhex("2F0601"),
         pin_status=(PinStatus(0x01, False), PinStatus(0x81, True), PinStatus(0x0A, True),
                     PinStatus(0x0B, True))),
     "623D8202782183027FD0840CA0000000871002FF49FF0589A50C80017183040003A738870101"
     "8A01058B032F0601C60F90017083010183018183010A83010B"),
    (Fcp(FD_TRANSPARENT, fid=0x6F07, life_cycle=5, security_referenced=_ARR_6F06 + b"\x0a",
         size=9, short_file_id=b"\x38"),
     "62178202412183026F078A01058B036F060A80020009880138"),
    (Fcp(FD_LINEAR_FIXED, record_length=14, record_count=2, fid=0x6FB7, life_cycle=5,
         security_referenced=_ARR_6F06 + b"\x08", size=28, short_file_id=b"\x08"),
     "621A82054221000E0283026FB78A01058B036F06088002001C880108"),
    # pySim FileDescriptor vectors inside minimal templates: BER-TLV EF, linear fixed 110 x 5
    (Fcp(0x79), "620482027921"),
    (Fcp(FD_LINEAR_FIXED, record_length=110, record_count=5), "620782054221006E05"),
)

GSM_RESPONSE_EXAMPLES: tuple[tuple[Fcp, str], ...] = (
    # pySim test_decode_select_resp, CardProfileSIM: MF, EF.MSISDN, EF.ICCID
    (Fcp(FD_DF, fid=0x3F00, pin_status=(PinStatus(0x01, False), PinStatus(0x02, True)),
         gsm_chv=GsmChvStatus(3, 10, 3, 10)),
     "000000003F000100000000000981020C0400838A838A"),
    (Fcp(FD_LINEAR_FIXED, fid=0x6F40, size=52, life_cycle=5, record_length=26, record_count=2),
     "000000346F40040011FFFF0102011A"),
    (Fcp(FD_TRANSPARENT, fid=0x2FE2, size=10, life_cycle=5), "0000000A2FE204000CFFFF01020000"),
)
