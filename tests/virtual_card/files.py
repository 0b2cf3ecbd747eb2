"""READ / UPDATE BINARY, READ / UPDATE / SEARCH RECORD (ETSI TS 102 221 §11.1.3-§11.1.7,
3GPP TS 51.011 §9.2.3-§9.2.6) over the current EF, or over an EF named by its SFI.

Short file identifiers exist only under CLA 0X/8X: TS 51.011 has none, so under CLA A0 P1 of
READ / UPDATE BINARY is the offset's high byte and P2 of READ / UPDATE RECORD is the mode
alone (02 next, 03 previous, 04 absolute / current).  A P1 with b8 set (an offset of 32 KiB
or more, which ISO/IEC 7816-4 reserves for SFI addressing) and a P2 with SFI bits are
incorrect parameters there: 6B00 (TS 51.011 §9.4.6).

A mixin of :class:`.uicc.VirtualUicc`, which provides the selection state (``_df``, ``_ef``,
``_record``), ``_require(access condition)`` and ``_commit(undo)``.
"""

from __future__ import annotations

from simtool.apdu.sw import SW
from simtool.ef.base import Structure

from . import status as st
from .fs import EF
from .status import CardStatus


class FileCommands:
    _df: object
    _ef: EF | None
    _record: int

    # --- transparent EFs (TS 102 221 §11.1.3, §11.1.4) -----------------------------------

    def _binary_target(self, p1: int, p2: int, gsm: bool) -> tuple[EF, int]:
        if p1 & 0x80:                         # b8 = 1: SFI in b5..b1, offset in P2
            if gsm or p1 & 0x60:              # no SFI under CLA A0
                raise CardStatus(st.WRONG_P1P2)
            ef = self._df.by_sfi.get(p1 & 0x1F)
            if ef is None:
                raise CardStatus(st.FILE_NOT_FOUND)
            if ef is not self._ef:
                self._ef, self._record = ef, 0
            offset = p2
        else:
            ef = self._ef
            if ef is None:
                raise CardStatus(st.NO_EF_SELECTED)
            offset = (p1 << 8) | p2
        if ef.content.records is not None:
            raise CardStatus(st.INCOMPATIBLE_FILE)
        return ef, offset

    def _read_binary(self, p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
        if data:
            raise CardStatus(st.WRONG_LENGTH)
        ef, offset = self._binary_target(p1, p2, gsm)
        self._require(ef.access.read)
        content = ef.content.data
        available = len(content) - offset
        if available <= 0:
            raise CardStatus(st.WRONG_OFFSET)
        if le is None or le == 256:           # '00': all there is, up to 256 bytes
            return content[offset:offset + 256]
        if le > available:
            raise CardStatus(st.wrong_le(available))
        return content[offset:offset + le]

    def _update_binary(self, p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
        if not data:
            raise CardStatus(st.WRONG_LENGTH)
        ef, offset = self._binary_target(p1, p2, gsm)
        self._require(ef.access.update)
        content = ef.content
        old = content.data
        if offset >= len(old):
            raise CardStatus(st.WRONG_OFFSET)
        if offset + len(data) > len(old):
            raise CardStatus(st.WRONG_LENGTH)
        new = old[:offset] + data + old[offset + len(data):]
        if new != old:
            content.data = new
            self._commit(lambda: setattr(content, "data", old))
        return b""

    # --- record EFs (TS 102 221 §11.1.5-§11.1.7) -----------------------------------------

    def _record_target(self, p2: int, gsm: bool) -> EF:
        sfi = p2 >> 3
        if sfi:
            if gsm or sfi == 0x1F:            # no SFI under CLA A0
                raise CardStatus(st.WRONG_P1P2)
            ef = self._df.by_sfi.get(sfi)
            if ef is None:
                raise CardStatus(st.FILE_NOT_FOUND)
            if ef is not self._ef:
                self._ef, self._record = ef, 0
        else:
            ef = self._ef
            if ef is None:
                raise CardStatus(st.NO_EF_SELECTED)
        if ef.content.records is None:
            raise CardStatus(st.INCOMPATIBLE_FILE)
        return ef

    def _record_number(self, p1: int, mode: int, count: int, cyclic: bool = False) -> int:
        """Absolute/current (04), next (02), previous (03); next/previous move the pointer
        (round the ring of a cyclic EF, ISO/IEC 7816-4 §7.3.1)."""
        if mode == 0x04:
            number = p1 or self._record
            if not 1 <= number <= count:
                raise CardStatus(st.RECORD_NOT_FOUND)
            return number
        if mode not in (0x02, 0x03) or p1:
            raise CardStatus(st.WRONG_P1P2)
        current = self._record
        if mode == 0x02:
            number = 1 if current == 0 else current + 1
        else:
            number = count if current == 0 else current - 1
        if cyclic and current:
            number = (number - 1) % count + 1
        if not 1 <= number <= count:
            raise CardStatus(st.RECORD_NOT_FOUND)
        self._record = number
        return number

    def _read_record(self, p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
        if data:
            raise CardStatus(st.WRONG_LENGTH)
        ef = self._record_target(p2, gsm)
        self._require(ef.access.read)
        records = ef.content.records
        cyclic = ef.structure is Structure.CYCLIC
        record = records[self._record_number(p1, p2 & 0x07, len(records), cyclic) - 1]
        if le is not None and le != 256 and le != len(record):
            raise CardStatus(st.wrong_le(len(record)))
        return record

    def _update_record(self, p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
        ef = self._record_target(p2, gsm)
        self._require(ef.access.update)
        records = ef.content.records
        if len(data) != ef.content.record_len:
            raise CardStatus(st.WRONG_LENGTH)
        if ef.structure is Structure.CYCLIC:
            # TS 102 221 §11.1.6: PREVIOUS only; the oldest record is overwritten and becomes
            # record 1 (and the current record)
            if p1 or p2 & 0x07 != 0x03:
                raise CardStatus(st.WRONG_P1P2)
            old_records = list(records)
            records[:] = [data, *records[:-1]]
            self._record = 1
            self._commit(lambda: records.__setitem__(slice(None), old_records))
            return b""
        index = self._record_number(p1, p2 & 0x07, len(records)) - 1
        old = records[index]
        if old != data:
            records[index] = data
            self._commit(lambda: records.__setitem__(index, old))
        return b""

    def _search_record(self, p1: int, p2: int, data: bytes, le: int | None, gsm: bool) -> bytes:
        """Simple SEARCH RECORD: P2 b3..b1 = 4 forward from record P1, 5 backward; the result
        lists the records that start with the pattern (62 82 when none does)."""
        ef = self._record_target(p2, gsm)
        self._require(ef.access.read)
        records = ef.content.records
        mode = p2 & 0x07
        if mode not in (0x04, 0x05):
            raise CardStatus(st.WRONG_P1P2)
        if not 1 <= len(data) <= ef.content.record_len:
            raise CardStatus(st.WRONG_LENGTH)
        start = p1 or self._record or (1 if mode == 0x04 else len(records))
        if not 1 <= start <= len(records):
            raise CardStatus(st.RECORD_NOT_FOUND)
        order = range(start, len(records) + 1) if mode == 0x04 else range(start, 0, -1)
        found = bytes(n for n in order if records[n - 1].startswith(data))
        if not found:
            raise CardStatus((SW.END_OF_FILE, SW.GSM_FILE_NOT_FOUND))
        self._record = found[0]
        return found
