"""EF.DIR: the applications on a UICC (ETSI TS 102 221 §13.1)."""

from __future__ import annotations

from dataclasses import dataclass

from simtool.apdu.tlv import ber_decode_all, ber_encode
from simtool.ef.base import EfCodec, Structure
from simtool.errors import DecodeError, EncodeError
from simtool.text import decode_alpha, encode_alpha

TAG_APPLICATION_TEMPLATE = 0x61
TAG_AID = 0x4F
TAG_LABEL = 0x50

#: RID 'A000000087' (3GPP) + application code 1002 = USIM, 1004 = ISIM (TS 101 220 Annex E).
USIM_AID_PREFIX = bytes.fromhex("A0000000871002")
ISIM_AID_PREFIX = bytes.fromhex("A0000000871004")


@dataclass(frozen=True)
class EfDir(EfCodec):
    """One EF.DIR record (2F00, linear fixed): application template 61 holding the AID (4F,
    5..16 bytes), an optional application label (50, alpha coding of TS 102 221 Annex A) and
    further data objects kept as raw bytes in ``other``; FF padding after the template
    (ETSI TS 102 221 §13.1)."""

    NAME = "EF.DIR"
    FID = 0x2F00
    SFI = 0x1E
    STRUCTURE = Structure.LINEAR_FIXED
    SIZE = 48
    CLAUSE = "ETSI TS 102 221 §13.1"

    aid: bytes
    label: str | None = None
    other: bytes = b""

    @property
    def is_usim(self) -> bool:
        return self.aid.startswith(USIM_AID_PREFIX)

    @property
    def is_isim(self) -> bool:
        return self.aid.startswith(ISIM_AID_PREFIX)

    @staticmethod
    def is_empty_record(data: bytes) -> bool:
        return all(b == 0xFF for b in data)

    @classmethod
    def decode(cls, data: bytes) -> EfDir:
        objs = ber_decode_all(data)
        if not objs:
            raise DecodeError(f"{cls.NAME} record is empty")
        if objs[0].tag != TAG_APPLICATION_TEMPLATE:
            raise DecodeError(f"{cls.NAME} record starts with tag {objs[0].tag:02X}, not 61")
        aid, label, other = None, None, b""
        for obj in ber_decode_all(objs[0].value):
            if obj.tag == TAG_AID and aid is None:
                aid = obj.value
            elif obj.tag == TAG_LABEL and label is None:
                label = decode_alpha(obj.value)
            else:
                other += obj.to_bytes()
        if aid is None:
            raise DecodeError(f"{cls.NAME} application template has no AID (tag 4F)")
        if not 1 <= len(aid) <= 16:
            raise DecodeError(f"{cls.NAME}: an AID is 1 to 16 bytes, not {len(aid)}")
        return cls(aid, label, other)

    def encode(self, size: int | None = None) -> bytes:
        if not 1 <= len(self.aid) <= 16:
            raise EncodeError(f"{self.NAME}: an AID is 1 to 16 bytes, not {len(self.aid)}")
        body = ber_encode(TAG_AID, self.aid)
        if self.label is not None:
            body += ber_encode(TAG_LABEL, encode_alpha(self.label))
        return self._fit(ber_encode(TAG_APPLICATION_TEMPLATE, body + self.other), size)


EfDir.EXAMPLES = (
    # pySim ts_102_221 EF.DIR vectors (sysmoISIM-SJA2)
    (EfDir(bytes.fromhex("A0000000871002FFFFFFFF8907090000"), "USim1",
           bytes.fromhex("730EA00C80011781025F608203454150")),
     "61294F10A0000000871002FFFFFFFF890709000050055553696D31730EA00C80011781025F608203454150"),
    (EfDir(bytes.fromhex("A0000000871004FFFFFFFF8907090000"), "ISim1"),
     "61194F10A0000000871004FFFFFFFF890709000050054953696D31"),
    (EfDir(bytes.fromhex("A0000000871002"), "USIM"),
     "610F" "4F07A0000000871002" "50045553494D" "FFFFFFFF"),  # padded record
)
