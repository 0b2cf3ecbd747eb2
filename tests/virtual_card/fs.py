"""The card's file system: DFs, ADFs and EFs with their FCP (ETSI TS 102 221 §11.1.1.3) and
GSM SELECT response (3GPP TS 51.011 §9.2.1), and the access rules (TS 102 221 §9.2.4).

The nodes are built from the card tree (:mod:`simtool.cardtree`, see :mod:`.layout`): every EF
carries its tree node's :class:`~simtool.cardtree.Access`, and the FCP references that rule as
a record of EF.ARR (tag 8B, record n = ``ARR_RULES[n - 1]``); :func:`arr_record` encodes the
record in the expanded format, so what the card enforces and what it reports agree.  A PIN1 /
PIN2 condition is 'PIN or ADM1' (an OR template, TS 102 221 §9.2.4): provisioning with ADM1
alone can read and write what a subscriber can.  FCPs are :class:`simtool.ef.fcp.Fcp` objects,
encoded by the library.

Contents live in :class:`Content` objects; two EFs in different DFs may share one (a link,
as the sysmoISIM-SJA2 does for EF.IMSI in DF.GSM and ADF.USIM).
"""

from __future__ import annotations

from simtool.apdu.tlv import ber_encode
from simtool.cardtree import ADF_FID, ARR_RULES, Acc, Access
from simtool.ef.base import Structure
from simtool.ef.fcp import (FD_CYCLIC, FD_DF, FD_LINEAR_FIXED, FD_TRANSPARENT,
                            LCSI_OPERATIONAL_ACTIVATED, Fcp, PinStatus)
from simtool.errors import DataError
from simtool.pin import KeyReference

#: TS 102 221 §9.2.4: AM_DO access mode bits (READ/SEARCH b1, UPDATE b2, DEACTIVATE b4,
#: ACTIVATE b5) and the command header DO of INCREASE (AM_DO tag 84 with its INS).
AM_READ, AM_UPDATE, AM_READ_UPDATE, AM_ACTIVATION = 0x01, 0x02, 0x03, 0x18
INS_INCREASE = 0x32
#: TS 102 221 §11.1.1.4.6: the proprietary A5 template of a DF (UICC characteristics 71:
#: clock stop allowed, 3 V and 1.8 V) and its available memory.
DF_CHARACTERISTICS = 0x71
DF_MEMORY = 0x8000
_STRUCTURE_FD = {Structure.TRANSPARENT: FD_TRANSPARENT, Structure.LINEAR_FIXED: FD_LINEAR_FIXED,
                 Structure.CYCLIC: FD_CYCLIC}
#: TS 51.011 §9.2.1 byte 14: EF structure.
_GSM_STRUCTURE = {Structure.TRANSPARENT: 0x00, Structure.LINEAR_FIXED: 0x01,
                  Structure.CYCLIC: 0x03}


def key_reference(acc: Acc) -> int:
    """The key reference of a PIN / ADM condition (TS 102 221 §9.5.1 Table 9.3)."""
    return KeyReference[acc.name]


def _crt(key_ref: int) -> bytes:
    # Control reference template: key reference + usage qualifier 08 (user authentication).
    return ber_encode(0xA4, ber_encode(0x83, bytes((key_ref,))) + ber_encode(0x95, b"\x08"))


def _security_condition(acc: Acc) -> bytes:
    """SC_DO of TS 102 221 §9.2.4: 90 always, 97 never, A4 one key, A0 'PIN or ADM1'."""
    if acc is Acc.ALW:
        return ber_encode(0x90, b"")
    if acc is Acc.NEV:
        return ber_encode(0x97, b"")
    if acc.name.startswith("ADM"):
        return _crt(key_reference(acc))
    return ber_encode(0xA0, _crt(key_reference(acc)) + _crt(key_reference(Acc.ADM1)))


def _am(mode: int) -> bytes:
    return ber_encode(0x80, bytes((mode,)))


def arr_record(access: Access) -> bytes:
    """Expanded-format access rule (AM_DO + SC_DO pairs, TS 102 221 §9.2.4)."""
    if access.read == access.update:
        body = _am(AM_READ_UPDATE) + _security_condition(access.read)
    else:
        body = (_am(AM_READ) + _security_condition(access.read)
                + _am(AM_UPDATE) + _security_condition(access.update))
    if access.increase is not Acc.NEV:
        body += ber_encode(0x84, bytes((INS_INCREASE,))) + _security_condition(access.increase)
    return body + _am(AM_ACTIVATION) + _security_condition(access.deactivate)


def arr_record_number(access: Access, where: str = "") -> int:
    """The EF.ARR record that holds ``access``; an error naming the file when none does."""
    try:
        return ARR_RULES.index(access) + 1
    except ValueError:
        raise DataError(f"access {access} is no record of EF.ARR (cardtree.ARR_RULES)",
                        where=where) from None


class Content:
    """The bytes of one EF, shared by every link to it.

    ``key`` names it in the card image; ``records`` is None for a transparent EF.
    """

    __slots__ = ("key", "data", "records", "record_len", "persistent")

    def __init__(self, key: str, *, data: bytes | None = None,
                 records: list[bytes] | None = None, persistent: bool = True) -> None:
        self.key = key
        self.persistent = persistent
        self.data = data
        self.records = records
        if records is not None:
            if not records or len({len(r) for r in records}) != 1 or not 0 < len(records[0]) < 256:
                raise DataError("records must be 1..255 bytes, all the same length", where=key)
            if len(records) > 254:
                raise DataError("at most 254 records", where=key)
            self.record_len = len(records[0])
        elif data is None or not 0 < len(data) <= 0x7FFF:
            raise DataError("a transparent EF needs 1..32767 bytes", where=key)
        else:
            self.record_len = 0

    @property
    def size(self) -> int:
        return len(self.data) if self.records is None else self.record_len * len(self.records)


class Node:
    __slots__ = ("fid", "name", "parent", "arr_fid", "_fcp")

    def __init__(self, fid: int | None, name: str) -> None:
        self.fid = fid
        self.name = name
        self.parent: DF | None = None
        #: the FID of the EF.ARR the FCP's tag 8B references (set by the builder)
        self.arr_fid = 0
        self._fcp: bytes | None = None


class EF(Node):
    """One EF at its place: ``access`` is its tree node's, ``content`` maybe shared."""

    __slots__ = ("content", "sfi", "access", "structure", "where")

    def __init__(self, fid: int, name: str, content: Content, access: Access,
                 sfi: int | None = None, structure: Structure | None = None,
                 where: str = "") -> None:
        super().__init__(fid, name)
        self.content = content
        self.sfi = sfi
        self.access = access
        if structure is None:
            structure = Structure.TRANSPARENT if content.records is None else \
                Structure.LINEAR_FIXED
        self.structure = structure
        self.where = where or name

    @property
    def rule(self) -> Access:
        """The access conditions (older name of :attr:`access`)."""
        return self.access

    @property
    def is_transparent(self) -> bool:
        return self.content.records is None

    def fcp(self) -> bytes:
        """TS 102 221 §11.1.1.3.2: 82 descriptor, 83 FID, 8A LCSI, 8B ARR, 80 size, 88 SFI."""
        if self._fcp is None:
            c = self.content
            records = {} if c.records is None else {"record_length": c.record_len,
                                                    "record_count": len(c.records)}
            self._fcp = Fcp(
                _STRUCTURE_FD[self.structure], **records, fid=self.fid,
                life_cycle=LCSI_OPERATIONAL_ACTIVATED,
                security_referenced=self.arr_fid.to_bytes(2, "big")
                + bytes((arr_record_number(self.access, self.where),)),
                size=c.size,
                short_file_id=b"" if self.sfi is None else bytes((self.sfi << 3,)),
            ).encode()
        return self._fcp

    def gsm_response(self) -> bytes:
        """TS 51.011 §9.2.1 EF response: size, FID, type 04, access conditions, structure."""
        c = self.content
        a = self.access
        rec_len = 0 if c.records is None else c.record_len
        return (b"\x00\x00" + c.size.to_bytes(2, "big") + self.fid.to_bytes(2, "big")
                + bytes((0x04, 0x00, (a.read << 4) | a.update,
                         (a.increase << 4) | 0x0,   # INCREASE | RFU
                         (a.deactivate << 4) | a.deactivate,   # REHABILITATE | INVALIDATE
                         0x01,                # not invalidated
                         0x02, _GSM_STRUCTURE[self.structure], rec_len)))


class DF(Node):
    """MF, DF or ADF (an ADF has an AID and no FID of its own)."""

    __slots__ = ("children", "by_sfi", "aid", "_fcp_cache")

    def __init__(self, fid: int | None, name: str, aid: bytes | None = None) -> None:
        super().__init__(fid, name)
        self.children: dict[int, Node] = {}
        self.by_sfi: dict[int, EF] = {}
        self.aid = aid
        self._fcp_cache: dict[tuple[PinStatus, ...], bytes] = {}

    def add(self, node: Node) -> Node:
        if node.fid in self.children:
            raise DataError(f"duplicate FID {node.fid:04X} in {self.name}")
        node.parent = self
        self.children[node.fid] = node
        if isinstance(node, EF) and node.sfi is not None:
            if node.sfi in self.by_sfi or not 0 < node.sfi < 0x1F:
                raise DataError(f"bad or duplicate SFI {node.sfi:02X} in {self.name}")
            self.by_sfi[node.sfi] = node
        return node

    def fcp(self, pin_status: tuple[PinStatus, ...]) -> bytes:
        """TS 102 221 §11.1.1.3.1; ``pin_status`` is the C6 template's content."""
        fcp = self._fcp_cache.get(pin_status)
        if fcp is None:
            proprietary = (ber_encode(0x80, bytes((DF_CHARACTERISTICS,)))
                           + ber_encode(0x83, DF_MEMORY.to_bytes(4, "big")))
            fcp = self._fcp_cache[pin_status] = Fcp(
                FD_DF, fid=self.fid if self.aid is None else None, df_name=self.aid,
                proprietary=proprietary, life_cycle=LCSI_OPERATIONAL_ACTIVATED,
                security_referenced=self.arr_fid.to_bytes(2, "big") + b"\x01",
                pin_status=pin_status,
            ).encode()
        return fcp

    def gsm_response(self, chv_status: bytes, chv1_disabled: bool) -> bytes:
        """TS 51.011 §9.2.1 MF/DF response; ``chv_status`` = bytes 19..22 (CHV1, UNBLOCK
        CHV1, CHV2, UNBLOCK CHV2: b8 initialised, b4..b1 tries left)."""
        n_df = sum(1 for c in self.children.values() if isinstance(c, DF))
        n_ef = len(self.children) - n_df
        kind = 0x01 if self.parent is None else 0x02
        characteristics = 0x13 | (0x80 if chv1_disabled else 0x00)
        fid = ADF_FID if self.fid is None else self.fid      # an ADF reached from CLA 00
        return (b"\x00\x00" + DF_MEMORY.to_bytes(2, "big") + fid.to_bytes(2, "big")
                + bytes((kind, 0, 0, 0, 0, 0, 0x09, characteristics, n_df, n_ef, 4, 0))
                + chv_status)

    def is_within(self, ancestor: DF) -> bool:
        node: DF | None = self
        while node is not None:
            if node is ancestor:
                return True
            node = node.parent
        return False
