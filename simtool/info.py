"""``simtool info``: what a card is and holds, read without spending a PIN try.

Where each file is read comes from the card tree (:mod:`simtool.cardtree`) of the card's type
(the common tree for a card of no known type): EF.ICCID in the MF; EF.IMSI, EF.SPN and
EF.MSISDN in ADF.USIM on a card with a USIM, else in DF.GSM / DF.TELECOM.  A file the tree
does not have is not read (its field shows "-").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from simtool.card import Card
from simtool.cardtree import COMMON, CardTree
from simtool.cardtypes import identify
from simtool.ef import EfCodec, EfIccid, EfImsi, EfMsisdn, EfSpn
from simtool.errors import CardError, DataError, DecodeError, SecurityNotSatisfied
from simtool.pin import ADM1, PIN1, PIN2

#: The application whose files info reads on a card that has one.
USIM = "ADF.USIM"


def place(tree: CardTree, codec: type[EfCodec], *, usim: bool) -> tuple[int, ...] | None:
    """The path (from the MF, the ADF as 7FFF) where info reads ``codec``'s file: its place
    in ADF.USIM when ``usim``, else its place outside every ADF (MF, DF.GSM, DF.TELECOM);
    None when the tree has no such place."""
    for loc in tree.files():
        if loc.node.codec is codec and (
                loc.parent == USIM if usim else not loc.where.startswith("ADF.")):
            return loc.path
    return None


def _tree_of(card: Card, tree: CardTree | None) -> CardTree:
    if tree is not None:
        return tree
    ctype = identify(card.atr)
    return ctype.tree if ctype else COMMON


@dataclass(frozen=True)
class Counter:
    """A PIN/PUK/ADM retry counter; ``tries_left`` None = verified or disabled (9000)."""

    name: str
    key_reference: int
    tries_left: int | None

    def render(self) -> str:
        if self.tries_left is None:
            return "verified or disabled (no try needed)"
        return "BLOCKED" if self.tries_left == 0 else f"{self.tries_left} tries left"


@dataclass(frozen=True)
class ImsIdentities:
    """EF.IMPI, EF.IMPU (first record) and EF.DOMAIN of ADF.ISIM; None where unreadable."""

    impi: str | None
    impu: str | None
    domain: str | None


@dataclass(frozen=True)
class CardInfo:
    atr: bytes
    card_type: str | None
    iccid: str | None
    imsi: str | None
    msisdn: str | None
    spn: str | None
    counters: tuple[Counter, ...]
    notes: tuple[str, ...] = field(default=())
    #: ADF.ISIM's identities (TS 31.103 §4.2.2-§4.2.4), when the card has an ISIM
    ims: ImsIdentities | None = None

    def to_json(self) -> dict:
        return {
            "atr": self.atr.hex().upper(),
            "card_type": self.card_type,
            "iccid": self.iccid,
            "imsi": self.imsi,
            "msisdn": self.msisdn,
            "spn": self.spn,
            "tries_left": {c.name: c.tries_left for c in self.counters},
            "notes": list(self.notes),
            "ims": None if self.ims is None else {
                "impi": self.ims.impi, "impu": self.ims.impu, "domain": self.ims.domain},
        }

    def render(self) -> str:
        def show(v: str | None) -> str:
            return v if v is not None else "-"

        lines = [
            f"ATR        {self.atr.hex().upper()}",
            f"card type  {show(self.card_type) if self.card_type else 'unknown (not a known programmable card)'}",
            f"ICCID      {show(self.iccid)}",
            f"IMSI       {show(self.imsi)}",
            f"MSISDN     {show(self.msisdn)}",
            f"SPN        {show(self.spn)}",
        ]
        if self.ims is not None:
            lines += [f"IMPI       {show(self.ims.impi)}", f"IMPU       {show(self.ims.impu)}",
                      f"IMS domain {show(self.ims.domain)}"]
        lines += [f"{c.name:<10} {c.render()}" for c in self.counters]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def read_counters(card: Card) -> tuple[Counter, ...]:
    """PIN1, PIN2, ADM1 (VERIFY, no data) and PUK1, PUK2 (UNBLOCK, no data) counters."""
    out = [Counter(n, ref, card.pin_tries(ref)) for n, ref in (("PIN1", PIN1), ("PIN2", PIN2),
                                                               ("ADM1", ADM1))]
    out += [Counter(n, ref, card.puk_tries(ref)) for n, ref in (("PUK1", PIN1), ("PUK2", PIN2))]
    return tuple(out)


def read_card_info(card: Card, *, tree: CardTree | None = None) -> CardInfo:
    """What the card is and holds; ``tree`` (default: the card type's, by the ATR) says where
    each file is read."""
    notes: list[str] = []
    atr = card.atr
    ctype = identify(atr)
    tree = _tree_of(card, tree)

    def guarded(label: str, fn):
        try:
            return fn()
        except SecurityNotSatisfied:
            notes.append(f"{label} needs PIN1")
        except (CardError, DecodeError) as exc:
            notes.append(f"{label}: {exc}")
        return None

    def field_of(label: str, codec: type[EfCodec], usim: bool,
                 read: Callable[[tuple[int, ...]], str | None]) -> str | None:
        path = place(tree, codec, usim=usim)
        if path is None:
            return None  # this card type has no such file: nothing to read
        return guarded(label, lambda: read(path))

    iccid = field_of("ICCID", EfIccid, False,
                     lambda p: EfIccid.decode(card.read_transparent(p)).iccid.digits)
    # a 2G-only card (no USIM): DF.GSM and DF.TELECOM
    usim = guarded("USIM", card.select_usim) is not None
    imsi = field_of("IMSI", EfImsi, usim,
                    lambda p: EfImsi.decode(card.read_transparent(p)).imsi.digits)
    spn = field_of("SPN", EfSpn, usim, lambda p: EfSpn.decode(card.read_transparent(p)).name)
    msisdn = field_of("MSISDN", EfMsisdn, usim,
                      lambda p: _first_msisdn(card.read_records_of(p)))
    ims = _read_ims(card, notes, tree) if usim else None
    counters = read_counters(card)
    return CardInfo(atr, ctype.name if ctype else None, iccid, imsi, msisdn, spn, counters,
                    tuple(notes), ims)


def _read_ims(card: Card, notes: list[str], tree: CardTree) -> ImsIdentities | None:
    """ADF.ISIM's identities, places from the card tree; None when the card has no ISIM.
    ADF.USIM is made the current application again afterwards (PIN2 is its local PIN)."""
    from simtool.ef import ISIM_AID_PREFIX, EfDomain, EfImpi, EfImpu

    try:
        (impi_at,), (impu_at,), (domain_at,) = (tree.of(c) for c in (EfImpi, EfImpu, EfDomain))
    except DataError:
        return None        # this card type has no ISIM
    try:
        card.select_aid(ISIM_AID_PREFIX, fcp=False)
    except CardError:
        return None
    values: list[str | None] = [None, None, None]
    try:
        values = [EfImpi.decode(card.read_transparent(impi_at.path)).nai,
                  EfImpu.decode(card.read_records_of(impu_at.path)[0]).uri,
                  EfDomain.decode(card.read_transparent(domain_at.path)).domain]
    except SecurityNotSatisfied:
        notes.append("IMPI, IMPU and IMS domain need PIN1")
    except (CardError, DecodeError, IndexError) as exc:
        notes.append(f"ISIM: {exc}")
    try:
        card.select_usim()
    except CardError as exc:
        notes.append(f"USIM: {exc}")
    return ImsIdentities(*values)


def read_iccid(card: Card, *, tree: CardTree | None = None) -> str:
    """The card's ICCID (EF.ICCID is readable without PIN, TS 102 221 §13.2)."""
    path = place(_tree_of(card, tree), EfIccid, usim=False)
    if path is None:
        raise DataError("the card tree has no EF.ICCID")
    return EfIccid.decode(card.read_transparent(path, name="READ BINARY EF.ICCID")).iccid.digits


def read_msisdn(card: Card, *, tree: CardTree | None = None) -> str | None:
    """The card's own number (first non-empty EF.MSISDN record; ADF.USIM, else DF.TELECOM),
    or None when it has none or it cannot be read (PIN1 not verified, no such file)."""
    try:
        card.select_usim()
        usim = True
    except (CardError, DecodeError):
        usim = False
    path = place(_tree_of(card, tree), EfMsisdn, usim=usim)
    if path is None:
        return None
    try:
        return _first_msisdn(card.read_records_of(path))
    except (CardError, DecodeError):
        return None


def _first_msisdn(records: list[bytes]) -> str | None:
    for rec in records:
        value = EfMsisdn.decode(rec)
        if value.number:
            return value.number
    return None
