"""The card's file system: DFs, ADFs and EFs with their FCP (ETSI TS 102 221 §11.1.1.3) and
GSM SELECT response (3GPP TS 51.011 §9.2.1), and the access rules (TS 102 221 §9.2.4).

Every EF has a read and an update access condition.  The same conditions appear in the FCP as
a reference (tag 8B) to a record of EF.ARR, and :func:`arr_record` encodes that record in the
expanded format, so what the card enforces and what it reports agree.  A PIN1/PIN2 condition
is 'PIN or ADM1' (an OR template, TS 102 221 §9.2.4): provisioning with ADM1 alone can read
and write what a subscriber can.

Contents live in :class:`Content` objects; two EFs in different DFs may share one (a link,
as the sysmoISIM-SJA2 does for EF.IMSI in DF.GSM and ADF.USIM).
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from simtool.errors import DataError
from simtool.pin import KeyReference


class Ac(enum.IntEnum):
    """Access condition; the value is the TS 51.011 §9.3 nibble (ADM1 shown as level A)."""

    ALW = 0x0
    PIN1 = 0x1
    PIN2 = 0x2
    ADM1 = 0xA
    NEV = 0xF


# TS 102 221 §9.5.1 Table 9.3 key references of the condition, for the ARR and C6 template.
KEY_REF = {Ac.PIN1: KeyReference.PIN1, Ac.PIN2: KeyReference.PIN2, Ac.ADM1: KeyReference.ADM1}


class Rule(NamedTuple):
    read: Ac
    update: Ac


ALW_ADM = Rule(Ac.ALW, Ac.ADM1)
ALW_PIN = Rule(Ac.ALW, Ac.PIN1)
PIN_ADM = Rule(Ac.PIN1, Ac.ADM1)
PIN_PIN = Rule(Ac.PIN1, Ac.PIN1)
PIN_PIN2 = Rule(Ac.PIN1, Ac.PIN2)
ADM_ADM = Rule(Ac.ADM1, Ac.ADM1)
ADM_NEV = Rule(Ac.ADM1, Ac.NEV)

# Record n of EF.ARR holds RULES[n - 1]; DFs reference record 1.
RULES: tuple[Rule, ...] = (ALW_ADM, ALW_PIN, PIN_ADM, PIN_PIN, PIN_PIN2, ADM_ADM, ADM_NEV)


def tlv(tag: int, value: bytes) -> bytes:
    """BER-TLV with a one-byte tag and a short or 81 xx length (TS 102 221 §11.1.1.3.0)."""
    n = len(value)
    if n < 0x80:
        return bytes((tag, n)) + value
    if n < 0x100:
        return bytes((tag, 0x81, n)) + value
    raise DataError(f"TLV value too long ({n} bytes)")


def _crt(key_ref: int) -> bytes:
    # Control reference template: key reference + usage qualifier 08 (user authentication).
    return tlv(0xA4, tlv(0x83, bytes((key_ref,))) + tlv(0x95, b"\x08"))


def _security_condition(ac: Ac) -> bytes:
    """SC_DO of TS 102 221 §9.2.4: 90 always, 97 never, A4 one key, A0 'one of'."""
    if ac is Ac.ALW:
        return b"\x90\x00"
    if ac is Ac.NEV:
        return b"\x97\x00"
    if ac is Ac.ADM1:
        return _crt(KEY_REF[Ac.ADM1])
    return tlv(0xA0, _crt(KEY_REF[ac]) + _crt(KEY_REF[Ac.ADM1]))


def arr_record(rule: Rule) -> bytes:
    """Expanded-format access rule (AM_DO 80 + SC_DO pairs, TS 102 221 §9.2.4)."""
    if rule.read == rule.update:
        body = b"\x80\x01\x03" + _security_condition(rule.read)   # READ + UPDATE
    else:
        body = (b"\x80\x01\x01" + _security_condition(rule.read)
                + b"\x80\x01\x02" + _security_condition(rule.update))
    return body + b"\x80\x01\x18" + _security_condition(Ac.ADM1)  # (DE)ACTIVATE


def arr_record_number(rule: Rule) -> int:
    return RULES.index(rule) + 1


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
    __slots__ = ("fid", "name", "parent", "_fcp")

    def __init__(self, fid: int | None, name: str) -> None:
        self.fid = fid
        self.name = name
        self.parent: DF | None = None
        self._fcp: bytes | None = None


class EF(Node):
    __slots__ = ("content", "sfi", "rule", "arr_fid")

    def __init__(self, fid: int, name: str, content: Content, rule: Rule,
                 sfi: int | None = None) -> None:
        super().__init__(fid, name)
        self.content = content
        self.sfi = sfi
        self.rule = rule
        self.arr_fid = 0x2F06

    @property
    def is_transparent(self) -> bool:
        return self.content.records is None

    def fcp(self) -> bytes:
        """TS 102 221 §11.1.1.3.2: 82 descriptor, 83 FID, 8A LCSI, 8B ARR, 80 size, 88 SFI."""
        if self._fcp is None:
            c = self.content
            if c.records is None:
                descriptor = b"\x41\x21"                     # shareable working EF, transparent
            else:
                descriptor = (b"\x42\x21" + c.record_len.to_bytes(2, "big")
                              + bytes((len(c.records),)))      # linear fixed
            sfi = bytes((self.sfi << 3,)) if self.sfi is not None else b""
            self._fcp = tlv(0x62, tlv(0x82, descriptor) + tlv(0x83, self.fid.to_bytes(2, "big"))
                            + tlv(0x8A, b"\x05")               # operational, activated
                            + tlv(0x8B, self.arr_fid.to_bytes(2, "big")
                                  + bytes((arr_record_number(self.rule),)))
                            + tlv(0x80, c.size.to_bytes(2, "big")) + tlv(0x88, sfi))
        return self._fcp

    def gsm_response(self) -> bytes:
        """TS 51.011 §9.2.1 EF response: size, FID, type 04, access conditions, structure."""
        c = self.content
        structure, rec_len = (0x00, 0) if c.records is None else (0x01, c.record_len)
        return (b"\x00\x00" + c.size.to_bytes(2, "big") + self.fid.to_bytes(2, "big")
                + bytes((0x04, 0x00, (self.rule.read << 4) | self.rule.update,
                         0xF0,                # INCREASE: never
                         0xAA,                # REHABILITATE / INVALIDATE: ADM
                         0x01,                # not invalidated
                         0x02, structure, rec_len)))


class DF(Node):
    """MF, DF or ADF (an ADF has an AID and no FID of its own)."""

    __slots__ = ("children", "by_sfi", "aid", "_fcp_cache")

    def __init__(self, fid: int | None, name: str, aid: bytes | None = None) -> None:
        super().__init__(fid, name)
        self.children: dict[int, Node] = {}
        self.by_sfi: dict[int, EF] = {}
        self.aid = aid
        self._fcp_cache: dict[int, bytes] = {}

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

    def fcp(self, ps_do: int) -> bytes:
        """TS 102 221 §11.1.1.3.1; ``ps_do`` is the PIN status bitmap of the C6 template."""
        fcp = self._fcp_cache.get(ps_do)
        if fcp is None:
            body = tlv(0x82, b"\x78\x21")                   # DF, shareable
            if self.aid is None:
                body += tlv(0x83, self.fid.to_bytes(2, "big"))
            else:
                body += tlv(0x84, self.aid)
            body += tlv(0xA5, tlv(0x80, b"\x71") + tlv(0x83, (0x8000).to_bytes(4, "big")))
            body += tlv(0x8A, b"\x05")
            arr = 0x6F06 if self.aid is not None else 0x2F06
            body += tlv(0x8B, arr.to_bytes(2, "big") + b"\x01")
            refs = b"".join(tlv(0x83, bytes((KEY_REF[a],))) for a in (Ac.PIN1, Ac.PIN2, Ac.ADM1))
            body += tlv(0xC6, tlv(0x90, bytes((ps_do,))) + refs)
            fcp = self._fcp_cache[ps_do] = tlv(0x62, body)
        return fcp

    def gsm_response(self, chv_status: bytes, chv1_disabled: bool) -> bytes:
        """TS 51.011 §9.2.1 MF/DF response; ``chv_status`` = bytes 19..22 (CHV1, UNBLOCK
        CHV1, CHV2, UNBLOCK CHV2: b8 initialised, b4..b1 tries left)."""
        n_df = sum(1 for c in self.children.values() if isinstance(c, DF))
        n_ef = len(self.children) - n_df
        kind = 0x01 if self.parent is None else 0x02
        characteristics = 0x13 | (0x80 if chv1_disabled else 0x00)
        fid = 0x7FFF if self.fid is None else self.fid      # an ADF reached from CLA 00
        return (b"\x00\x00" + (0x8000).to_bytes(2, "big") + fid.to_bytes(2, "big")
                + bytes((kind, 0, 0, 0, 0, 0, 0x09, characteristics, n_df, n_ef, 4, 0))
                + chv_status)

    def is_within(self, ancestor: DF) -> bool:
        node: DF | None = self
        while node is not None:
            if node is ancestor:
                return True
            node = node.parent
        return False
