"""The virtual operator's subscriber register: records in a state file, one per card.

:class:`Hlr` is what ``simtool network`` and ``simtool stk`` open: it finds the card's record
by ICCID or IMSI (creating it on first contact, with the number given or the next free one of
the operator's pool, as seed 000's "AKTYWACJA KARTY" says), builds the operator's
:class:`~simtool.stk.network.VirtualNetwork` on it with the file's clock, and writes the file
back.  :class:`SavingNetwork` is a :class:`~simtool.stk.network.Network` that saves after every
request, so a handset session leaves the account as the network left it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from simtool.errors import DataError
from simtool.stk.network import SubscriberState, VirtualNetwork
from simtool.stk.services import load_operator, services_for_profile
from simtool.stk.state import (NetworkRecords, SubscriberRecord, default_state_path,
                               load_records, save_records)


@dataclass(frozen=True)
class CardIdentity:
    """How the network recognises a card: ICCID (EF.ICCID, readable without PIN) and/or IMSI."""

    iccid: str | None = None
    imsi: str | None = None

    def __post_init__(self) -> None:
        for name in ("iccid", "imsi"):
            value = getattr(self, name)
            if value is not None and not (value.isascii() and value.isdigit()
                                          and 6 <= len(value) <= 20):
                raise DataError(f"{name.upper()} {value!r} must be 6-20 digits")
        if not self.iccid and not self.imsi:
            raise DataError("the network needs the card's ICCID or IMSI")


def normalise_msisdn(number: str) -> str:
    digits = number.strip().lstrip("+")
    if digits.startswith("00"):
        digits = digits[2:]
    if not (digits.isascii() and digits.isdigit() and 8 <= len(digits) <= 15):
        raise DataError(f"{number!r} is not an international number (e.g. 48531234567)")
    return digits


class Hlr:
    """The records of one state file."""

    def __init__(self, path: Path, records: NetworkRecords, *, root: Path | None = None
                 ) -> None:
        self.path = Path(path)
        self.records = records
        self.root = root

    @classmethod
    def open(cls, path: str | Path | None = None, *, real: Callable[[], datetime] = datetime.now,
             root: Path | None = None) -> "Hlr":
        p = Path(path) if path else default_state_path()
        return cls(p, load_records(p, real=real), root=root)

    @property
    def clock(self):
        return self.records.clock

    def save(self) -> None:
        save_records(self.path, self.records)

    def find(self, card: CardIdentity) -> SubscriberRecord | None:
        return self.records.find(iccid=card.iccid, imsi=card.imsi)

    def subscriber(self, card: CardIdentity, operator: str, *, msisdn: str | None = None
                   ) -> SubscriberRecord:
        """The card's record; created on first contact (operator ``operator``, number
        ``msisdn`` or the next free one of the operator's profile pool)."""
        record = self.find(card)
        wanted = None if msisdn is None else normalise_msisdn(msisdn)
        if record is not None:
            if record.operator != operator:
                raise DataError(f"the card {record.key} is a {record.operator} subscriber, "
                                f"not {operator} (its record is in {self.path})")
            if wanted is not None and wanted != record.state.msisdn:
                raise DataError(f"the card {record.key} already has number "
                                f"+{record.state.msisdn}; a record keeps its number")
            # learn the other identity when it is first seen
            record.iccid = record.iccid or card.iccid
            record.imsi = record.imsi or card.imsi
            return record
        if wanted is not None:
            owner = self.records.by_msisdn(wanted)
            if owner is not None:
                raise DataError(f"number +{wanted} already belongs to {owner.key}")
        else:
            wanted = self._allot(operator)
        record = SubscriberRecord(operator, SubscriberState(msisdn=wanted), card.iccid, card.imsi)
        self.records.subscribers.append(record)
        return record

    def _allot(self, operator: str) -> str:
        from simtool.provision.profile import load_profile

        try:
            profile = load_profile(operator, self.root / "provisioning" if self.root else None)
        except DataError:
            raise DataError(f"no profile {operator!r} to allot a number from: give the "
                            "subscriber's number (--msisdn)") from None
        used = self.records.numbers_in_use()
        for r in profile.msisdn_pool:
            for n in range(r.first, r.last + 1):
                candidate = str(n).zfill(r.digits)
                if candidate not in used:
                    return candidate
        raise DataError(f"the {operator} number pool is exhausted")

    def network(self, record: SubscriberRecord) -> VirtualNetwork:
        services = load_operator(record.operator, self.root) if self.root else \
            services_for_profile(record.operator)
        return VirtualNetwork(services, record.state, self.records.clock)


class SavingNetwork:
    """A :class:`~simtool.stk.network.Network` writing the state file after each request."""

    def __init__(self, hlr: Hlr, network: VirtualNetwork) -> None:
        self.hlr = hlr
        self.network = network

    def _saved(self, call: Callable[[], str]) -> str:
        try:
            return call()
        finally:
            self.hlr.save()

    def send_ussd(self, ussd: str) -> str:
        return self._saved(lambda: self.network.send_ussd(ussd))

    def send_ss(self, ss: str) -> str:
        return self._saved(lambda: self.network.send_ss(ss))

    def call(self, number: str, seconds: int, *, direction: str = "out"):
        try:
            return self.network.call(number, seconds, direction=direction)
        finally:
            self.hlr.save()

    def __getattr__(self, name: str):
        return getattr(self.network, name)
