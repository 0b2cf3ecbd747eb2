"""What programming writes on a card, as data: one :class:`FileWrite` per EF (where, what,
secret or not), grouped by the journal's steps; and the few card operations that select,
write, read back and compare them.  The standard EFs are encoded with :mod:`simtool.ef`
(clauses there) and found in the card type's tree (:mod:`simtool.cardtree`) by their codec
class: each is written at its plain files and read back through the links that show them
(:func:`places`); the card type's own files come from its driver (:class:`CardDriver`).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from simtool.card import Card, TrackedCard
from simtool.cardtree import CardTree, Located
from simtool.cardtypes import CardType
from simtool.ef import (USIM_AID_PREFIX, EfAcc, EfAd, EfCodec, EfDomain, EfEhplmn, EfHplmnwAct,
                        EfIccid, EfImpi, EfImpu, EfImsi, EfMsisdn, EfOplmnwAct, EfPlmnSel,
                        EfPlmnwAct, EfSpn, Fcp, Iccid, Imsi, OperationMode, Plmn, PlmnWithAct,
                        Structure)
from simtool.errors import DataError, SafetyRefusal, SimtoolError
from simtool.pin import encode_pin, encode_puk
from simtool.provision.batchdir import CardRecord
from simtool.provision.cardkeys import adm_for_card
from simtool.secret import Secret

#: Access technologies put next to the home PLMN: UTRAN, E-UTRAN, GSM (TS 31.102 §4.2.5).
HOME_ACT = frozenset({"UTRAN", "E-UTRAN", "GSM"})


class VerificationFailed(SimtoolError):
    """A file read back different from what was written, or AUTHENTICATE disagreed."""


@dataclass(frozen=True)
class FileWrite:
    """One EF to write: selected by ``path`` from the MF (7FFF = the application ``app``
    names, a right-truncated AID; None: ADF.USIM), its new content computed from the FCP and,
    with ``read_first``, the current content.  Verification reads ``path`` and every
    ``also_check`` path back and compares with ``content(fcp, current)``."""

    name: str
    path: tuple[int, ...]
    content: Callable[[Fcp, bytes | None], bytes]
    record: int | None = None
    secret: bool = False
    read_first: bool = False
    also_check: tuple[tuple[int, ...], ...] = ()
    app: bytes | None = None


@dataclass(frozen=True)
class CardSecrets:
    """A record's secrets coded for the card (PINs/PUKs TS 102 221 §9.5.2, ADM sim-facts §9.4)."""

    ki: Secret[bytes]
    opc: Secret[bytes]
    pin1: Secret[bytes]
    puk1: Secret[bytes]
    pin2: Secret[bytes]
    puk2: Secret[bytes]
    adm1: Secret[bytes]

    @classmethod
    def from_record(cls, rec: CardRecord, card_type: CardType) -> CardSecrets:
        where = f"record {rec.index}"
        try:
            return cls(rec.ki, rec.opc, encode_pin(rec.pin1), encode_puk(rec.puk1),
                       encode_pin(rec.pin2), encode_puk(rec.puk2),
                       adm_for_card(rec.adm1, card_type, what=f"the new ADM1 of {where}"))
        except SafetyRefusal as exc:
            raise DataError(str(exc), where=where) from None
        except DataError as exc:
            raise DataError(str(exc), where=exc.where or where) from None


@dataclass(frozen=True)
class Place:
    """Where a codec's file is written (``path``, a plain file of the tree) and the further
    paths that must read back the same (``also_check``: the tree's links to that file)."""

    name: str
    path: tuple[int, ...]
    also_check: tuple[tuple[int, ...], ...] = ()


def places(tree: CardTree, codec: type[EfCodec]) -> tuple[Place, ...]:
    """Every plain file of ``tree`` holding ``codec``'s content, in tree order, each with the
    links that show it.  DataError naming the codec when the tree has none: a write the plan
    asks for is never skipped in silence.  A second plain file of the same codec (EF.AD in
    DF.GSM and in ADF.USIM) is named after its DF: "EF.AD (ADF.USIM)"."""
    shown: dict[str, tuple[Located, list[Located]]] = {}
    for loc in tree.of(codec):
        target = tree.target(loc)
        _plain, links = shown.setdefault(target.where, (target, []))
        if target.where != loc.where:
            links.append(loc)
    return tuple(
        Place(codec.NAME if i == 0 else f"{codec.NAME} ({plain.parent or 'MF'})", plain.path,
              tuple(link.path for link in links))
        for i, (plain, links) in enumerate(shown.values()))


class CardDriver(Protocol):
    """What a programmable card type provides (see :class:`~simtool.provision.sja2.Sja2Driver`)."""

    card_type: CardType

    def probe(self, card: Card) -> None: ...
    #: where the file of a codec is written and read back (:func:`places` of its tree)
    def locations(self, codec: type[EfCodec]) -> tuple[Place, ...]: ...
    #: read-back paths that can be read by short file identifier: path -> SFI
    short_file_ids: Mapping[tuple[int, ...], int]
    def key_writes(self, secrets: CardSecrets) -> list[FileWrite]: ...
    def pin_writes(self, secrets: CardSecrets, *, pin1_enabled: bool) -> list[FileWrite]: ...
    def adm_write(self, adm1: Secret[bytes]) -> FileWrite | None: ...
    def start_sqn(self, card: Card) -> tuple[int, int]: ...



# --- what the batch says about its cards --------------------------------------------------


@dataclass(frozen=True)
class BatchCard:
    """The card parameters of a batch (``batch.toml`` [card])."""

    mcc: str
    mnc: str
    spn: str
    spn_display_condition: int = 0
    pin1_enabled: bool = True
    card_type: str | None = None
    #: the IMS home network domain: the ISIM gets it with each record's IMPI and IMPU
    ims_domain: str | None = None

    @classmethod
    def from_batch_info(cls, info: Mapping[str, Any]) -> BatchCard:
        card = info.get("card")
        try:
            return cls(str(card["mcc"]), str(card["mnc"]), str(card["spn"]),
                       int(card.get("spn_display_condition", 0)),
                       bool(card.get("pin1_enabled", True)), card.get("type"),
                       card.get("ims_domain"))
        except (TypeError, KeyError, ValueError) as exc:
            raise DataError(f"batch.toml [card] is incomplete ({exc})") from None

    @property
    def home(self) -> Plmn:
        return Plmn(self.mcc, self.mnc)


def _sized(value: EfCodec) -> Callable[[Fcp, bytes | None], bytes]:
    """The content of ``value``'s file, padded to the size the card's FCP gives (the record
    length for a record file)."""
    record = type(value).STRUCTURE is not Structure.TRANSPARENT
    return lambda fcp, _current: value.encode(fcp.record_length if record else fcp.size)


def plan_steps(driver: CardDriver, batch: BatchCard, rec: CardRecord,
               sec: CardSecrets) -> dict[str, list[FileWrite]]:
    """The files each step writes for ``rec`` (codecs of simtool.ef; clauses there), at the
    places the driver's card tree has for each codec."""

    def std(value: EfCodec, *, record: int | None = None) -> list[FileWrite]:
        content = _sized(value)
        return [FileWrite(p.name, p.path, content, record=record, also_check=p.also_check)
                for p in driver.locations(type(value))]

    home = batch.home
    act = (PlmnWithAct(home, HOME_ACT),)
    return {
        "start": [],
        "iccid": std(EfIccid(Iccid(rec.iccid))),
        "imsi": std(EfImsi(Imsi(rec.imsi))),
        "ki_opc": driver.key_writes(sec),
        "spn": std(EfSpn(batch.spn, batch.spn_display_condition)),
        "msisdn": std(EfMsisdn("+" + rec.msisdn.lstrip("+")), record=1),
        "ad": std(EfAd(OperationMode.NORMAL, 0, len(batch.mnc))),
        "acc": std(EfAcc(frozenset(c for c in range(16) if rec.acc >> c & 1))),
        "plmn": (std(EfPlmnwAct(act)) + std(EfOplmnwAct(act)) + std(EfHplmnwAct(act))
                 + std(EfPlmnSel((home,))) + std(EfEhplmn((home,)))),
        "isim": isim_writes(driver.card_type, batch, rec),
        "pins": driver.pin_writes(sec, pin1_enabled=batch.pin1_enabled),
        "adm1": [w for w in (driver.adm_write(sec.adm1),) if w is not None],
    }


def isim_writes(card_type: CardType, batch: BatchCard, rec: CardRecord) -> list[FileWrite]:
    """ADF.ISIM's EF.IMPI, EF.IMPU (record 1) and EF.DOMAIN (TS 31.103 §4.2.2-§4.2.4) when the
    batch names an IMS domain; the places come from the card type's tree (:meth:`CardTree.of`),
    the application is selected by its AID up to the application code (TS 101 220 Annex E)."""
    if batch.ims_domain is None:
        return []
    if rec.impi is None or rec.impu is None:
        raise DataError(f"the batch's IMS domain is {batch.ims_domain}, but the record has no "
                        "IMPI/IMPU", where=f"record {rec.index}")
    tree = card_type.tree
    app_code_end = 7            # RID (5 bytes) + application code (2), TS 101 220 Annex E
    out: list[FileWrite] = []
    for codec, value, record in ((EfImpi, EfImpi(rec.impi), False),
                                 (EfImpu, EfImpu(rec.impu), True),
                                 (EfDomain, EfDomain(batch.ims_domain), False)):
        for loc in tree.of(codec):
            aid = tree.get(loc.adf).node.aid if loc.adf else None
            out.append(FileWrite(codec.NAME, loc.path, _sized(value),
                                 record=1 if record else None,
                                 app=aid[:app_code_end] if aid else None))
    return out


# --- card I/O --------------------------------------------------------------------------------


def _enter_application(card: Card, fw: FileWrite) -> None:
    """Make the application ``fw``'s 7FFF paths mean the current one (TS 102 221 §8.4.2):
    select it by AID unless the tracked card knows it already is; for ADF.USIM (``app`` None)
    only when the tracked card knows another application is."""
    if not any(p[:1] == (0x7FFF,) for p in (fw.path, *fw.also_check)):
        return
    current = card.application if isinstance(card, TrackedCard) else None
    if fw.app is None:
        if current is not None and not current.startswith(USIM_AID_PREFIX):
            card.select_usim()
    elif current is None or not current.startswith(fw.app):
        card.select_aid(fw.app, fcp=False)

def same_bytes(a: bytes, b: bytes) -> bool:
    return len(a) == len(b) and hmac.compare_digest(a, b)


def _select(card: Card, path: tuple[int, ...], name: str) -> Fcp:
    fcp = card.file_info(card.select_path(path))
    if fcp.structure not in (Structure.TRANSPARENT, Structure.LINEAR_FIXED):
        raise DataError(f"{name} at {'/'.join(f'{p:04X}' for p in path)} is not an EF")
    return fcp


def _read(card: Card, fcp: Fcp, fw: FileWrite) -> bytes:
    if fw.record is not None:
        return card.read_record(fw.record, fcp.record_length or 0,
                                name=f"READ RECORD {fw.name}")
    return card.read_binary(fcp.size or 0, name=f"READ BINARY {fw.name}", secret=fw.secret)


def write_file(card: Card, fw: FileWrite) -> bytes | None:
    """Select the EF, read it first when the new content depends on it, and update it.
    Returns the content it had when it was read first (else None)."""
    _enter_application(card, fw)
    fcp = _select(card, fw.path, fw.name)
    current = _read(card, fcp, fw) if fw.read_first else None
    data = fw.content(fcp, current)
    if fw.record is not None:
        card.update_record(fw.record, data, name=f"UPDATE RECORD {fw.name}")
    else:
        card.update_binary(data, name=f"UPDATE BINARY {fw.name}", secret=fw.secret)
    return current


def restore_file(card: Card, fw: FileWrite, old: bytes) -> None:
    """Put back the transparent content ``write_file`` returned."""
    _enter_application(card, fw)
    _select(card, fw.path, fw.name)
    card.update_binary(old, name=f"UPDATE BINARY {fw.name} (restore)", secret=fw.secret)


def check_file(card: Card, fw: FileWrite,
               short_ids: Mapping[tuple[int, ...], int] | None = None) -> None:
    """Read the written file back and compare; VerificationFailed on a difference.

    A file with ``also_check`` paths (the same file reached through a link, e.g. DF.GSM's
    EF.IMSI under ADF.USIM) is read back through those paths only: a write through one path
    that reads back the same through the other proves both the write and the link.  An alias
    with a short file identifier (``short_ids``) is read by SFI, without a SELECT, when the
    card remembers the written file's FCP (:class:`~simtool.card.TrackedCard`)."""
    _enter_application(card, fw)
    for path in fw.also_check or (fw.path,):
        sfi = (short_ids or {}).get(path)
        known = card.cached_fcp(fw.path) if isinstance(card, TrackedCard) else None
        if sfi is not None and known is not None and fw.record is None:
            fcp = card.file_info(known)
            have = card.read_binary_sfi(path[:-1], sfi, fcp.size or 0,
                                       name=f"READ BINARY {fw.name}", secret=fw.secret)
        else:
            fcp = _select(card, path, fw.name)
            have = _read(card, fcp, fw)
        want = fw.content(fcp, have)
        if not same_bytes(have[: len(want)], want):
            where = "/".join(f"{p:04X}" for p in path)
            if path != fw.path:
                where = f"written at {'/'.join(f'{p:04X}' for p in fw.path)}, read at {where}"
            detail = "" if fw.secret else f": wrote {want.hex().upper()}, read {have.hex().upper()}"
            raise VerificationFailed(f"{fw.name} ({where}) reads back different{detail}")
