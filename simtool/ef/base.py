"""What every EF codec has: its spec name, FID, structure, default size and worked examples."""

from __future__ import annotations

import enum
from typing import Any, ClassVar

from simtool.errors import DecodeError, EncodeError


class Structure(enum.Enum):
    """File structure (ETSI TS 102 221 §8.1 / §11.1.1.4.3)."""

    TRANSPARENT = "transparent"
    LINEAR_FIXED = "linear fixed"
    CYCLIC = "cyclic"
    BER_TLV = "BER-TLV"
    DF = "DF"


class EfCodec:
    """Base of the EF classes.  Subclasses are frozen dataclasses with

    * ``decode(data)`` (classmethod): the bytes read from the card (a whole transparent file
      or one record, padding included) -> value;  DecodeError when malformed;
    * ``encode(size=None)``: value -> bytes, padded to ``size`` (the file size / record
      length) when given;  EncodeError when the value does not fit.

    ``EXAMPLES`` holds ``(value, hex)`` worked examples, walked both ways by one test.
    """

    NAME: ClassVar[str]
    FID: ClassVar[int]
    SFI: ClassVar[int | None] = None
    STRUCTURE: ClassVar[Structure] = Structure.TRANSPARENT
    #: default file size (transparent) or record length (linear fixed)
    SIZE: ClassVar[int]
    CLAUSE: ClassVar[str] = ""
    EXAMPLES: ClassVar[tuple[tuple[Any, str], ...]] = ()
    #: byte used to pad the encoding up to the file size
    FILL: ClassVar[int] = 0xFF

    @classmethod
    def _fit(cls, data: bytes, size: int | None, fill: int | None = None) -> bytes:
        if size is None:
            return data
        if len(data) > size:
            raise EncodeError(f"{cls.NAME} needs {len(data)} bytes, the file holds {size}")
        return data + bytes([cls.FILL if fill is None else fill]) * (size - len(data))

    @classmethod
    def _need(cls, data: bytes, length: int) -> None:
        if len(data) < length:
            raise DecodeError(f"{cls.NAME} is {len(data)} bytes, at least {length} expected")


def fid_text(fid: int) -> str:
    return f"{fid:04X}"
