"""The SJA2's proprietary files that show state the virtual card keeps elsewhere, the way the
PIN files of :mod:`.pinfiles` show the PINs: reading encodes the state in the SJA2's layout,
an update decodes the new bytes into it (and the image keeps it in its own section).  Bytes the
state cannot hold are refused with 6A80 and change nothing.

* EF.0348_KEY (DF.SYSTEM, records): the OTA key sets (image ``ota``; security domain FE, key
  set version = the KIc/KID key index; KIc, KID) and the ISD's key sets (image ``gp``; domain
  00, the key version number; ENC, MAC, DEK as KIc, KID, KIK);
* EF.0348_COUNT (DF.SYSTEM, records): the OTA key sets' counters (FE, index, 5 bytes);
* EF.GP_COUNT (DF.SYSTEM, records): the ISD's SCP02 sequence counter, one record per SCP02 key
  set (00, version, 2 bytes, RFU 00);
* EF.USIM_SQN (ADF.USIM) and EF.ISIM_SQN (ADF.ISIM): the AKA state of :mod:`.auth`, the highest
  SQN accepted and the optional window, as flag1 b5 (SQN check) + b7 (delta check, delta = the
  window), IND length 0 (the card compares whole SQNs), flag2 03 (SQN concealed in AUTN and
  AUTS), freshness[0] = the SQN.

The record layouts are those of a real sysmoISIM-SJA2 as osmocom pySim decodes them; which key
sets a real card lists under security domain 00 and FE is taken from one card's export (a
single source).  Key bytes are secrets: nothing here logs or prints them.

File facts (FID, record length and count, access) come from the card tree
(:data:`simtool.cardtypes.SJA2_FILES`): :func:`.layout.build` makes a store's content with the
maker :func:`view_stores` gives for the ``store`` a node names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from simtool.cardtree import EfNode
from simtool.cardtypes import GP_COUNTERS, OTA_COUNTERS, OTA_KEYS, SQN_STATE

from . import status as st
from .auth import Authenticator
from .fs import Content
from .gpstate import GpState, KeySet
from .ota import OtaKeysetState, OtaState
from .status import CardStatus

OTA_DOMAIN, ISD_DOMAIN = 0xFE, 0x00
KIC, KID, KIK = 0, 1, 2
AES = 0x40
UNUSED = 0xFF

# EF.USIM_SQN flags (pySim's EF_USIM_SQN layout)
SQN_CHECK, AGE_CHECK, DELTA_CHECK, SKIP_NEXT = 0x10, 0x20, 0x40, 0x80
CONCEALED = 0x03                      # flag2: SQN concealed in AUTN and in AUTS
SQN_FIXED = 14                        # flags (2), delta (6), age limit (6)


def _wrong() -> CardStatus:
    return CardStatus(st.WRONG_DATA)


class RecordView:
    """The records of a view: a list the file commands index and assign; ``encode()`` gives
    the records, ``store(index, record)`` writes one back into the state (or raises 6A80)."""

    __slots__ = ("_encode", "_store", "_count")

    def __init__(self, count: int, encode: Callable[[], list[bytes]],
                 store: Callable[[int, bytes], None]) -> None:
        self._count, self._encode, self._store = count, encode, store

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> bytes:
        return self._encode()[index]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._encode())

    def __setitem__(self, index: int, record: bytes) -> None:
        if record != self._encode()[index]:
            self._store(index, record)

    def __repr__(self) -> str:
        return f"RecordView({self._count} records)"


class RecordViewContent(Content):
    """A linear fixed EF whose records are a :class:`RecordView`."""

    __slots__ = ()

    def __init__(self, key: str, view: RecordView, record_len: int) -> None:
        # Content.__init__ would keep bytes; this content has none of its own
        self.key, self.persistent, self.data = key, False, None
        self.records, self.record_len = view, record_len


class SqnContent(Content):
    """EF.USIM_SQN / EF.ISIM_SQN as a view of the Authenticator's SQN and window."""

    __slots__ = ("_auth", "size_")

    def __init__(self, key: str, auth: Callable[[], Authenticator], size: int) -> None:
        self.key, self.persistent, self.records, self.record_len = key, False, None, 0
        self._auth, self.size_ = auth, size

    @property
    def auth(self) -> Authenticator:
        return self._auth()

    @property
    def data(self) -> bytes:
        auth = self.auth
        window = auth.window
        flag1 = SQN_CHECK | (DELTA_CHECK if window is not None else 0)   # IND length 0
        fresh = auth.sqn.to_bytes(6, "big")
        out = (bytes((flag1, CONCEALED)) + (window or 0).to_bytes(6, "big") + bytes(6)
               + fresh)
        return out.ljust(self.size_, b"\x00")

    @data.setter
    def data(self, value: bytes) -> None:
        if len(value) != self.size_:
            raise CardStatus(st.WRONG_LENGTH)
        flag1, flag2 = value[0], value[1]
        delta = int.from_bytes(value[2:8], "big")
        rest = value[SQN_FIXED + 6:]
        # the card checks every SQN, compares whole SQNs (IND length 0), conceals SQN in AUTN
        # and AUTS and has no age limit: other settings it cannot follow
        if (flag1 & (SKIP_NEXT | AGE_CHECK | 0x0F) or not flag1 & SQN_CHECK
                or flag2 != CONCEALED or any(rest)):
            raise _wrong()
        window = None
        if flag1 & DELTA_CHECK:
            if not 0 < delta < 1 << 48:
                raise _wrong()
            window = delta
        auth = self.auth
        auth.sqn = int.from_bytes(value[SQN_FIXED:SQN_FIXED + 6], "big")
        auth.window = window

    @property
    def size(self) -> int:
        return self.size_


# --- EF.0348_KEY -----------------------------------------------------------------------------

def _key_type(algorithm_aes: bool, key: bytes, usage: int) -> int:
    """b8 MAC length 8 (0), b7 AES, b6..b4 key length / 8, b2..b1 KIc / KID / KIK."""
    return (AES if algorithm_aes else 0) | (len(key) // 8) << 3 | usage


def _key_record(domain: int, version: int, aes: bool, key: bytes, usage: int,
                length: int) -> bytes:
    return (bytes((domain, version, _key_type(aes, key, usage))) + key).ljust(length, b"\xff")


class KeyFile:
    """EF.0348_KEY's records: the ISD's key sets (ENC, MAC, DEK), then the OTA key sets
    (KIc, KID), then unused records (FF).  A key set that does not fit is not shown."""

    def __init__(self, gp: Callable[[], GpState], ota: Callable[[], OtaState], count: int,
                 length: int) -> None:
        self.gp, self.ota, self.count, self.length = gp, ota, count, length

    def _slots(self) -> list[tuple[object, str, int, int, bool, int]]:
        """(key set, attribute, domain, version, aes, usage) for each record in use."""
        slots: list[tuple[object, str, int, int, bool, int]] = []
        for ks in self.gp().keys:
            for attr, usage in (("enc", KIC), ("mac", KID), ("dek", KIK)):
                slots.append((ks, attr, ISD_DOMAIN, ks.kvn, ks.scp == 3, usage))
        for ks in self.ota().keysets:
            for attr, usage in (("kic", KIC), ("kid", KID)):
                slots.append((ks, attr, OTA_DOMAIN, ks.index, ks.algorithm == "aes", usage))
        return slots[:self.count]

    def encode(self) -> list[bytes]:
        out = [_key_record(domain, version, aes, getattr(ks, attr), usage, self.length)
               for ks, attr, domain, version, aes, usage in self._slots()]
        return out + [b"\xff" * self.length] * (self.count - len(out))

    def store(self, index: int, record: bytes) -> None:
        """A new key for the key set the record shows: same domain, version, algorithm,
        length and use (a record cannot add, drop or re-type a key set)."""
        slots = self._slots()
        if index >= len(slots):
            raise _wrong()
        ks, attr, domain, version, aes, usage = slots[index]
        old = getattr(ks, attr)
        key = record[3:3 + len(old)]
        if record != _key_record(domain, version, aes, key, usage, self.length):
            raise _wrong()
        assert isinstance(ks, (KeySet, OtaKeysetState))
        setattr(ks, attr, bytes(key))


# --- EF.0348_COUNT / EF.GP_COUNT -------------------------------------------------------------

class OtaCounterFile:
    def __init__(self, ota: Callable[[], OtaState], count: int, length: int) -> None:
        self.ota, self.count, self.length = ota, count, length

    def encode(self) -> list[bytes]:
        out = [bytes((OTA_DOMAIN, ks.index)) + ks.counter.to_bytes(5, "big")
               for ks in self.ota().keysets[:self.count]]
        return out + [b"\xff" * self.length] * (self.count - len(out))

    def store(self, index: int, record: bytes) -> None:
        sets = self.ota().keysets[:self.count]
        if index >= len(sets) or record[:2] != bytes((OTA_DOMAIN, sets[index].index)):
            raise _wrong()
        sets[index].counter = int.from_bytes(record[2:7], "big")


class GpCounterFile:
    def __init__(self, gp: Callable[[], GpState], count: int, length: int) -> None:
        self.gp, self.count, self.length = gp, count, length

    def _sets(self) -> list[KeySet]:
        return [ks for ks in self.gp().keys if ks.scp == 2][:self.count]

    def encode(self) -> list[bytes]:
        counter = self.gp().sequence_counter.to_bytes(2, "big")
        out = [bytes((ISD_DOMAIN, ks.kvn)) + counter + b"\x00" for ks in self._sets()]
        return out + [b"\xff" * self.length] * (self.count - len(out))

    def store(self, index: int, record: bytes) -> None:
        sets = self._sets()
        if index >= len(sets) or record[:2] != bytes((ISD_DOMAIN, sets[index].kvn)) \
                or record[4] != 0:
            raise _wrong()
        self.gp().sequence_counter = int.from_bytes(record[2:4], "big")


# --- the stores ------------------------------------------------------------------------------

#: Makes a store's content from its name and the tree node naming it (:func:`.layout.build`).
StoreMaker = Callable[[str, "EfNode | None"], Content]


def view_stores(gp: Callable[[], GpState], ota: Callable[[], OtaState],
                auth: Callable[[], Authenticator]) -> dict[str, StoreMaker]:
    """The makers of the stores this module shows, for :func:`.layout.build`.  ``gp``, ``ota``
    and ``auth`` give the current state when a file is read or written (their owners replace
    or create it after the file system is built)."""
    def records(source: Callable[[EfNode], KeyFile | OtaCounterFile | GpCounterFile]
                ) -> StoreMaker:
        def make(name: str, node: EfNode | None) -> Content:
            assert node is not None
            view = source(node)
            return RecordViewContent(name, RecordView(node.records, view.encode, view.store),
                                     node.size)
        return make

    def sqn(name: str, node: EfNode | None) -> Content:
        assert node is not None
        return SqnContent(name, auth, node.size)

    return {
        OTA_KEYS: records(lambda node: KeyFile(gp, ota, node.records, node.size)),
        OTA_COUNTERS: records(lambda node: OtaCounterFile(ota, node.records, node.size)),
        GP_COUNTERS: records(lambda node: GpCounterFile(gp, node.records, node.size)),
        SQN_STATE: sqn,
    }
