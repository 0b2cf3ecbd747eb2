"""REFRESH (ETSI TS 102 223 §6.4.7, structure §6.6.13) and its File List object (§8.18).

The card tells the terminal that files it may have cached changed.  The command qualifier
(§8.6) says what the terminal is to do; simtool's menu applet uses
:attr:`RefreshMode.FILE_CHANGE_NOTIFICATION` (01) with the file list holding EF.MENU, and the
terminal re-reads the listed files and answers (§8.12: 00, or 03 when it read more).

File List (§8.18): one byte, the number of files, then each file's full path, 2 bytes per
identifier, starting with the MF ``3F00`` (so a new path starts at every ``3F00``); ``7FFF``
stands for the current application's ADF.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

from simtool.cardtree import MF_FID as MF
from simtool.errors import DecodeError, EncodeError
from simtool.stk.dataobject import DataObject
from simtool.stk.proactive import CommandType, ProactiveCommand, Slot, register


class RefreshMode(enum.IntEnum):
    """The REFRESH command qualifier (TS 102 223 §8.6)."""

    NAA_INIT_FULL_FILE_CHANGE = 0x00
    FILE_CHANGE_NOTIFICATION = 0x01
    NAA_INIT_FILE_CHANGE = 0x02
    NAA_INIT = 0x03
    UICC_RESET = 0x04
    NAA_APPLICATION_RESET = 0x05
    NAA_SESSION_RESET = 0x06
    STEERING_OF_ROAMING = 0x07

    @property
    def lists_files(self) -> bool:
        """The modes with a file list (§6.4.7: file change notifications)."""
        return self in (RefreshMode.FILE_CHANGE_NOTIFICATION, RefreshMode.NAA_INIT_FILE_CHANGE)


@dataclass(frozen=True)
class FileList(DataObject):
    """File List (TS 102 223 §8.18): full paths from the MF, each a tuple of file IDs."""

    TAG = 0x12
    NAME = "file list"
    files: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", tuple(tuple(f) for f in self.files))
        if not 1 <= len(self.files) <= 0xFF:
            raise EncodeError(f"a file list holds 1..255 files, not {len(self.files)}")
        for path in self.files:
            if len(path) < 2 or path[0] != MF or MF in path[1:]:
                raise EncodeError(f"file path {_path_text(path)} must start at the MF 3F00")
            if any(not 0 <= fid <= 0xFFFF for fid in path):
                raise EncodeError(f"file path {_path_text(path)} has an identifier that is "
                                  "not 2 bytes")

    def value(self) -> bytes:
        return bytes((len(self.files),)) + b"".join(
            fid.to_bytes(2, "big") for path in self.files for fid in path)

    @classmethod
    def from_value(cls, value: bytes, *, cr: bool = True) -> Self:
        if len(value) < 1 or (len(value) - 1) % 2:
            raise DecodeError("file list: a count and 2-byte file identifiers expected")
        fids = [int.from_bytes(value[i:i + 2], "big") for i in range(1, len(value), 2)]
        paths: list[list[int]] = []
        for fid in fids:
            if fid == MF:
                paths.append([fid])
            elif not paths:
                raise DecodeError("file list: the first path does not start at the MF 3F00")
            else:
                paths[-1].append(fid)
        if len(paths) != value[0]:
            raise DecodeError(f"file list: says {value[0]} files, holds {len(paths)}")
        try:
            return cls(tuple(tuple(p) for p in paths), cr=cr)
        except EncodeError as exc:
            raise DecodeError(f"file list: {exc}") from None


def _path_text(path: Sequence[int]) -> str:
    return "/".join(f"{fid:04X}" for fid in path)


@register
@dataclass(frozen=True, kw_only=True)
class Refresh(ProactiveCommand):
    """REFRESH (TS 102 223 §6.6.13): qualifier :class:`RefreshMode`, the file list for the
    file change notification modes."""

    TYPE = CommandType.REFRESH
    SLOTS = (Slot("file_list", FileList),)
    file_list: FileList | None = None

    @classmethod
    def file_change(cls, *files: Sequence[int], init: bool = False, number: int = 1) -> Self:
        mode = RefreshMode.NAA_INIT_FILE_CHANGE if init else RefreshMode.FILE_CHANGE_NOTIFICATION
        return cls(number=number, qualifier=mode, file_list=FileList(tuple(map(tuple, files))))

    @property
    def mode(self) -> RefreshMode | None:
        try:
            return RefreshMode(self.qualifier)
        except ValueError:
            return None

    @property
    def files(self) -> tuple[tuple[int, ...], ...]:
        return () if self.file_list is None else self.file_list.files

    def _describe_body(self) -> str:
        mode = self.mode
        name = mode.name.replace("_", " ").lower() if mode else f"mode {self.qualifier:02X}"
        files = ", ".join(_path_text(p) for p in self.files)
        return f" {name}" + (f": {files}" if files else "")


#: (command or object, hex) pairs written from the clauses above (D0 L, 81 03 number 01
#: qualifier, 82 02 81 82 UICC → terminal, 92 L count paths): one test walks them both ways.
EXAMPLES: tuple[tuple[object, str], ...] = (
    (FileList(((0x3F00, 0x7FFF, 0xAF50),)), "92 07 01 3F 00 7F FF AF 50"),
    (FileList(((0x3F00, 0x2FE2), (0x3F00, 0x7F20, 0x6F07))), "92 0B 02 3F 00 2F E2 3F 00 7F 20 6F 07"),
    (Refresh.file_change((0x3F00, 0x7FFF, 0xAF50)),
     "D0 12 81 03 01 01 01 82 02 81 82 92 07 01 3F 00 7F FF AF 50"),
    (Refresh.file_change((0x3F00, 0x7FFF, 0xAF50), init=True, number=2),
     "D0 12 81 03 02 01 02 82 02 81 82 92 07 01 3F 00 7F FF AF 50"),
    (Refresh(qualifier=RefreshMode.UICC_RESET), "D0 09 81 03 01 01 04 82 02 81 82"),
)
