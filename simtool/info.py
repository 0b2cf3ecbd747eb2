"""``simtool info``: what a card is and holds, read without spending a PIN try."""

from __future__ import annotations

from dataclasses import dataclass, field

from simtool.card import ADM1, PIN1, PIN2, Card
from simtool.cardtypes import identify
from simtool.errors import CardError, DecodeError, SecurityNotSatisfied

EF_ICCID = 0x2FE2
EF_IMSI, EF_SPN, EF_MSISDN = 0x6F07, 0x6F46, 0x6F40
DF_TELECOM, DF_GSM = 0x7F10, 0x7F20


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


def read_card_info(card: Card) -> CardInfo:
    from simtool.ef import EfIccid, EfImsi, EfSpn

    notes: list[str] = []
    atr = card.atr
    ctype = identify(atr)

    def guarded(label: str, fn):
        try:
            return fn()
        except SecurityNotSatisfied:
            notes.append(f"{label} needs PIN1")
        except (CardError, DecodeError) as exc:
            notes.append(f"{label}: {exc}")
        return None

    iccid = guarded("ICCID", lambda: EfIccid.decode(card.read_transparent([EF_ICCID])).iccid.digits)
    usim = guarded("USIM", card.select_usim)
    if usim is not None:
        imsi = guarded("IMSI", lambda: EfImsi.decode(card.read_transparent([0x7FFF, EF_IMSI])).imsi.digits)
        spn = guarded("SPN", lambda: EfSpn.decode(card.read_transparent([0x7FFF, EF_SPN])).name)
        msisdn_path = [0x7FFF, EF_MSISDN]
    else:  # a 2G-only card: DF.GSM and DF.TELECOM
        imsi = guarded("IMSI", lambda: EfImsi.decode(card.read_transparent([DF_GSM, EF_IMSI])).imsi.digits)
        spn = guarded("SPN", lambda: EfSpn.decode(card.read_transparent([DF_GSM, EF_SPN])).name)
        msisdn_path = [DF_TELECOM, EF_MSISDN]
    msisdn = guarded("MSISDN", lambda: _first_msisdn(card.read_records_of(msisdn_path)))
    ims = _read_ims(card, notes) if usim is not None else None
    counters = read_counters(card)
    return CardInfo(atr, ctype.name if ctype else None, iccid, imsi, msisdn, spn, counters,
                    tuple(notes), ims)


def _read_ims(card: Card, notes: list[str]) -> ImsIdentities | None:
    """ADF.ISIM's identities, places from the card tree; None when the card has no ISIM.
    ADF.USIM is made the current application again afterwards (PIN2 is its local PIN)."""
    from simtool.cardtree import COMMON
    from simtool.ef import ISIM_AID_PREFIX, EfDomain, EfImpi, EfImpu

    try:
        card.select_aid(ISIM_AID_PREFIX, fcp=False)
    except CardError:
        return None
    (impi_at,), (impu_at,), (domain_at,) = (COMMON.of(c) for c in (EfImpi, EfImpu, EfDomain))
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


def read_msisdn(card: Card) -> str | None:
    """The card's own number (first non-empty EF.MSISDN record; ADF.USIM, else DF.TELECOM),
    or None when it has none or it cannot be read (PIN1 not verified, no such file)."""
    try:
        card.select_usim()
        path = [0x7FFF, EF_MSISDN]
    except (CardError, DecodeError):
        path = [DF_TELECOM, EF_MSISDN]
    try:
        return _first_msisdn(card.read_records_of(path))
    except (CardError, DecodeError):
        return None


def _first_msisdn(records: list[bytes]) -> str | None:
    from simtool.ef import EfMsisdn

    for rec in records:
        value = EfMsisdn.decode(rec)
        if value.number:
            return value.number
    return None
