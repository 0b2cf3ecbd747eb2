"""Batches for osmocom's pySim-prog: what it needs in pysim.csv and what it leaves on a card.

pySim-prog (``--source csv``) uses the row's ``pin_adm`` / ``pin_adm_hex`` only to VERIFY the
card's *current* ADM1; it never writes an ADM1, PIN or PUK.  It writes IMSI, Ki/OPc, SPN
(``name``), MSISDN, ACC and the PLMN lists, and on a sysmoISIM-SJA2/SJA5 not the ICCID, which
it uses (``--read-iccid``) to find the card's row.  So a batch for pySim-prog keeps the vendor's
PINs, PUKs and ADM1 in its records and letters (:class:`ProgrammingTool`), and every batch's
pysim.csv carries the vendor's ADM1, empty where unknown (:class:`exports.PysimCsv`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from simtool.cardtypes import KNOWN_TYPES
from simtool.errors import DataError
from simtool.provision.cardkeys import CardKeyFile
from simtool.provision.profile import CredentialKind, Profile
from simtool.secret import Secret


@dataclass(frozen=True)
class VendorPins:
    """A card's PINs, PUKs and ADM1: new ones for simtool's programmer, or the ones the card
    keeps (the vendor's, "" when the card list does not give them) for pySim-prog."""

    pin1: Secret[str]
    puk1: Secret[str]
    pin2: Secret[str]
    puk2: Secret[str]
    adm1: Secret[str]


class ProgrammingTool(StrEnum):
    """Which tool writes the batch onto the cards, and so what the records and letters say."""

    SIMTOOL = "simtool"  # simtool batch program: new PINs, PUKs and ADM1 from the records
    PYSIM = "pysim"  # pySim-prog from pysim.csv: IMSI, Ki/OPc, SPN, MSISDN, ACC, PLMN lists;
    # PINs, PUKs and ADM1 stay the vendor's


def vendor_pins_from(card_keys: CardKeyFile | None) -> Callable[[str], VendorPins]:
    def pins(iccid: str) -> VendorPins:
        known = card_keys.pins.get(iccid, {}) if card_keys else {}
        adm = card_keys.keys.get(iccid) if card_keys else None
        return VendorPins(*(known.get(n, Secret("")) for n in ("pin1", "puk1", "pin2", "puk2")),
                          adm1=adm if adm is not None else Secret(""))
    return pins


def pysim_no_adm_warning(missing: int, count: int) -> str:
    return (f"pysim.csv: the current ADM1 of {missing} of {count} cards is unknown (no "
            "--card-keys, or the card list lacks it), so their pin_adm is empty. pySim-prog "
            "only VERIFYs the ADM1 a card has now and never sets a new one: fill in the "
            "vendor's ADM1 (a wrong one costs a try) or generate with --card-keys.")


def pysim_no_row_warning(card_type: str) -> str:
    return (f"{card_type} cards keep their factory ICCID (and IMSI until programmed), and this "
            "batch's ICCIDs are simtool's: pySim-prog (--read-iccid / --read-imsi) will find no "
            "row of pysim.csv for them. Generate the batch with --card-keys (the vendor's card "
            "list).")


PYSIM_PUK_REFUSAL = ("a batch for pySim-prog keeps the vendor's PUK1, and this profile derives "
                     "the subscriber code from it: the card list (--card-keys) must give every "
                     "card's puk1")


def pysim_checks(profile: Profile, card_keys: CardKeyFile | None,
                  programmer: ProgrammingTool, count: int, iccids: Sequence[str] | None,
                  ) -> tuple[list[str], list[str]]:
    """(warnings, notes) about pysim.csv; DataError for a pySim batch that cannot be right.
    An empty ADM1 column is a warning in a batch for pySim-prog, a note in one for simtool."""
    out: list[str] = []
    notes: list[str] = []
    listed = list(iccids[:count]) if iccids is not None else []
    missing = count if card_keys is None else sum(1 for i in listed if i not in card_keys.keys)
    if missing:
        (out if programmer is ProgrammingTool.PYSIM else notes).append(
            pysim_no_adm_warning(missing, count))
    bound = [t for t in KNOWN_TYPES if t.factory_iccid_bound and profile.card_type
             and t.name.lower() == profile.card_type.lower()]
    if bound and iccids is None:
        out.append(pysim_no_row_warning(bound[0].name))
    if (programmer is ProgrammingTool.PYSIM
            and CredentialKind.SUBSCRIBER_CODE in profile.credentials and (card_keys is None
                 or any("puk1" not in card_keys.pins.get(i, {}) for i in listed))):
        raise DataError(PYSIM_PUK_REFUSAL)
    return out, notes
