"""Batch generation: a profile and a count in, a complete batch folder out.

:func:`generate_cards` is the sans-I/O core: it yields one :class:`CardRecord` per card, with
ICCID (E.118 + Luhn), IMSI, Ki, OPc, PINs/PUKs, ADM1, MSISDN, the printed barcode number and the
customer credentials, every ICCID/IMSI/MSISDN unique in the batch and outside ``exclude`` (the
values the journal says were already issued).  :func:`allocate_numbers` is its first half
(the identifiers alone), which a shared journal runs inside the transaction that reserves them
(:meth:`simtool.provision.journal.Journal.reserve_batch`).  :func:`generate_batch` reserves
(when given a journal), generates and writes the folder.

OPc: with the operator's OP (``op``), OPc = E_K(OP) ⊕ OP (3GPP TS 35.206 §4.1, via
:func:`simtool.milenage.opc`); without it every card gets an independent random OPc, which an
HSS accepts as it is (it never needs OP).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable, Collection, Container, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from simtool.errors import DataError, JournalError
from simtool.pin import AdmFormat, encode_adm
from simtool.provision import exports
from simtool.provision.batchdir import (BATCH_TOML, EXPORTS, RECORDS, BulkWriter, CardRecord,
                                        abort_staging, atomic_open, atomic_write,
                                        commit_staging, create_staging, record_to_json,
                                        staging_errors, write_batch_toml)
from simtool.provision.cardkeys import CardKeyFile
from simtool.provision.credentials import (PUK_LENGTH, CredentialDeriver, PrintedNumbers,
                                           RandomSource, SystemRandomSource, iccid_for_serial,
                                           random_code, random_digits)
from simtool.provision.crypto import encrypt_export, key_id
from simtool.provision.hashing import PEPPER_SCHEME, HashParams, HashReport, hash_secrets
from simtool.provision.ims import private_identity, public_identity
from simtool.provision.journal import Journal
from simtool.provision.labels import SHEETS, LabelSheet
from simtool.provision.profile import BarcodeScheme, CredentialKind, Profile
from simtool.provision.pysim import (ProgrammingTool, VendorPins, pysim_checks,
                                     vendor_pins_from)
from simtool.provision.sealed import Sealer, new_batch_key, sealed_open
from simtool.provision.validate import RecordsDigest
from simtool.secret import Secret

log = logging.getLogger(__name__)

MAX_COUNT = 10_000_000
LEGACY_WARNING = (
    "LEGACY BARCODE SCHEME: the number printed under the barcode is the ICCID, so anyone who "
    "reads the ICCID (any handset can, without a PIN) knows the panel password (its last 10 "
    "digits). Use [barcode] scheme = \"hmac\" for new batches.")
#: Exports that are sealed with the batch key unless asked for in plain (``plain_exports``).
PLAIN_EXPORTS = ("pysim", "printer", "panel")
PLAIN_EXPORT_WARNING = (
    "PLAIN EXPORT: {files} hold{s} card secrets in clear (mode 0600), as asked: hand them "
    "to their consumer and delete them (simtool batch purge), or seal them (simtool batch seal).")
PUK_PANEL_WARNING = (
    "PANEL IMPORT IS PUK-GRADE: the subscriber code is 6 of the 8 PUK1 digits, so an offline "
    "search of its Argon2id hash (about 12 core-hours per card at the floor) leaves ~100 PUK "
    "candidates. The panel import is sealed with the batch key like the card records; hand it "
    "to the panel over a protected channel, or use a pepper (--pepper-file).")
NO_TRANSPORT_KEY_WARNING = (
    "HSS imports (osmo-hlr.vty, open5gs-subscribers.js) were not written: they are only written "
    "encrypted, and no transport key was given (--transport-key-file).")


class IssuedValues(Protocol):
    """Values a new batch must not reuse (the journal's ``issued_values()`` fits)."""

    iccids: Container[str]
    imsis: Container[str]
    msisdns: Container[str]


@dataclass(frozen=True)
class Exclusions:
    iccids: Container[str] = frozenset()
    imsis: Container[str] = frozenset()
    msisdns: Container[str] = frozenset()


Progress = Callable[[str, int, int], None]  # (phase, done since last call, phase total)


def _msisdns(profile: Profile, exclude: Container[str]) -> Iterator[str]:
    for rng in profile.msisdn_pool:
        for n in range(rng.first, rng.last + 1):
            msisdn = f"{n:0{rng.digits}d}"
            if msisdn not in exclude:
                yield msisdn


def _opc_function(op: Secret[bytes] | None, rng: RandomSource) -> Callable[[bytes], bytes]:
    if op is None:
        return lambda _ki: rng.token_bytes(16)
    if len(op) != 16:
        raise DataError("the operator's OP must be 16 bytes (3GPP TS 35.206 §4.1)")
    from simtool.milenage import opc  # only needed when an OP is given

    op_bytes = op.reveal()
    return lambda ki: opc(ki, op_bytes)


@dataclass(frozen=True)
class CardNumbers:
    """The identifiers of one card: what a shared journal reserves for a batch."""

    iccid: str
    imsi: str
    msisdn: str


def allocate_numbers(profile: Profile, count: int, *, first_serial: int = 1,
                     exclude: IssuedValues = Exclusions(),
                     iccids: Sequence[str] | None = None) -> Iterator[CardNumbers]:
    """The ICCID, IMSI and MSISDN of each of ``count`` cards, in record order (sans I/O):
    from the serial ``first_serial`` on, skipping every value in ``exclude``; nothing twice.
    The arguments are checked at once (DataError); running out of serials or MSISDNs raises
    DataError while iterating.

    ``iccids``: the cards' own ICCIDs, in order (the vendor's card list), for card types whose
    factory ICCID must stay (sysmoISIM-SJA2: see simtool.cardtypes); one of them already in
    ``exclude`` is refused, never skipped.  Otherwise ICCIDs are made from the profile's issuer
    prefix and the serial."""
    if not 1 <= count <= MAX_COUNT:
        raise DataError(f"count must be 1..{MAX_COUNT}")
    if iccids is not None:
        _check_card_iccids(iccids, count, exclude)
    if first_serial < 0 or first_serial > profile.max_serial:
        raise DataError(f"first serial must be 0..{profile.max_serial} for this profile")
    if profile.msisdn_capacity < count:
        raise DataError(f"the MSISDN pool of profile {profile.name} holds "
                        f"{profile.msisdn_capacity} numbers, fewer than {count}")
    return _numbers(profile, count, first_serial, exclude, iccids)


def _numbers(profile: Profile, count: int, first_serial: int, exclude: IssuedValues,
             iccids: Sequence[str] | None) -> Iterator[CardNumbers]:
    msisdns = _msisdns(profile, exclude.msisdns)
    plmn = profile.mcc + profile.mnc + profile.msin_prefix
    msin_width = 15 - len(plmn)
    serial = first_serial
    for index in range(count):
        while True:
            if serial > profile.max_serial:
                raise DataError(f"serial space of profile {profile.name} exhausted after "
                                f"{index} cards (last serial {profile.max_serial})")
            iccid = (iccids[index] if iccids is not None
                     else iccid_for_serial(profile.iccid_prefix, serial, profile.iccid_length))
            imsi = f"{plmn}{serial:0{msin_width}d}"
            serial += 1
            if (iccids is not None or iccid not in exclude.iccids) and imsi not in exclude.imsis:
                break
        msisdn = next(msisdns, None)
        if msisdn is None:
            raise DataError(f"MSISDN pool of profile {profile.name} exhausted after {index} "
                            "cards (the rest is already issued)")
        yield CardNumbers(iccid, imsi, msisdn)


def generate_cards(profile: Profile, count: int, *, batch_id: str, first_serial: int = 1,
                   op: Secret[bytes] | None = None, exclude: IssuedValues = Exclusions(),
                   rng: RandomSource | None = None, batch_secret: Secret[bytes] | None = None,
                   iccids: Sequence[str] | None = None,
                   numbers: Sequence[CardNumbers] | None = None,
                   vendor_pins: Callable[[str], VendorPins] | None = None,
                   ) -> Iterator[CardRecord]:
    """Yield ``count`` card records (sans I/O).  DataError when the serial space or the MSISDN
    pool runs out; nothing is yielded twice and nothing in ``exclude`` is yielded.

    The cards' identifiers are ``numbers`` when given (what a journal reserved: ``count`` of
    them, in record order), else :func:`allocate_numbers` of ``first_serial``, ``exclude`` and
    ``iccids``.

    ``vendor_pins``: for a batch programmed by pySim-prog, which leaves PINs, PUKs and ADM1 as
    the vendor set them: the record of each card holds the vendor's values (from the card
    list; "" where unknown), and codes derived from the PUK use the vendor's PUK."""
    if numbers is None:
        numbers = allocate_numbers(profile, count, first_serial=first_serial, exclude=exclude,
                                   iccids=iccids)
    elif len(numbers) != count:
        raise DataError(f"{len(numbers)} reserved numbers for {count} cards")
    return _cards(profile, batch_id, numbers, op=op, rng=rng or SystemRandomSource(),
                  batch_secret=batch_secret, vendor_pins=vendor_pins)


def _cards(profile: Profile, batch_id: str, numbers: Iterable[CardNumbers], *,
           op: Secret[bytes] | None, rng: RandomSource, batch_secret: Secret[bytes] | None,
           vendor_pins: Callable[[str], VendorPins] | None) -> Iterator[CardRecord]:
    if batch_secret is None and profile.barcode is BarcodeScheme.HMAC:
        batch_secret = Secret(rng.token_bytes(32))
    printed_numbers = PrintedNumbers(profile.barcode, batch_secret)
    deriver = CredentialDeriver(profile.credentials,
                                numbers_per_account=profile.numbers_per_account,
                                account_prefix=f"{batch_id}-A", rng=rng,
                                reject_trivial=profile.pin.reject_trivial)
    make_opc = _opc_function(op, rng)
    pin_len, trivial = profile.pin.pin_length, profile.pin.reject_trivial
    serial_start = len(profile.iccid_prefix)
    for index, card in enumerate(numbers):
        iccid, imsi, msisdn = card.iccid, card.imsi, card.msisdn
        ki = rng.token_bytes(16)
        if vendor_pins is None:
            pins = VendorPins(
                pin1=Secret(random_code(rng, pin_len, reject_trivial=trivial)),
                puk1=Secret(random_code(rng, PUK_LENGTH, reject_trivial=trivial)),
                pin2=Secret(random_code(rng, pin_len, reject_trivial=trivial)),
                puk2=Secret(random_code(rng, PUK_LENGTH, reject_trivial=trivial)),
                adm1=Secret(random_digits(rng, 8) if profile.adm_format is AdmFormat.DECIMAL8
                            else rng.token_bytes(8).hex().upper()))
        else:
            pins = vendor_pins(iccid)
        printed = printed_numbers.allocate(iccid, iccid[serial_start:-1])
        account, creds = deriver.next_card(printed=printed, puk1=pins.puk1)
        ims = {}
        if profile.ims_domain is not None:   # TS 23.003 §13.3, §13.4
            ims = {"impi": private_identity(imsi, profile.ims_domain),
                   "impu": public_identity(msisdn, profile.ims_domain)}
        yield CardRecord(
            index=index, iccid=iccid, imsi=imsi, msisdn=msisdn, acc=1 << int(imsi[-1]),
            ki=Secret(ki), opc=Secret(make_opc(ki)), pin1=pins.pin1, puk1=pins.puk1,
            pin2=pins.pin2, puk2=pins.puk2, adm1=pins.adm1, barcode=printed, account=account,
            credentials=creds, **ims)


def _check_card_iccids(iccids: Sequence[str], count: int, exclude: IssuedValues) -> None:
    from stdnum import luhn

    if len(iccids) < count:
        raise DataError(f"the card list has {len(iccids)} ICCIDs, fewer than {count}")
    seen: set[str] = set()
    for n, iccid in enumerate(iccids[:count], 1):
        if not (iccid.isdigit() and 18 <= len(iccid) <= 20 and luhn.is_valid(iccid)):
            raise DataError(f"card {n}: {iccid!r} is not an ICCID with a valid Luhn digit")
        if iccid in seen or iccid in exclude.iccids:
            raise DataError(f"card {n}: ICCID {iccid} is listed twice or already issued")
        seen.add(iccid)


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    profile: str
    out_dir: Path
    count: int
    first_iccid: str
    last_iccid: str
    files: tuple[str, ...]
    warnings: tuple[str, ...]
    generation_seconds: float
    hashing: HashReport | None
    opc_source: str
    transport_key_id: str | None = None
    notes: tuple[str, ...] = field(default=())
    key_file: Path | None = None  # the new batch key in the key store (None: key given)

    @property
    def cards_per_second(self) -> float:
        return self.count / self.generation_seconds if self.generation_seconds else float("inf")

    def to_json(self) -> dict[str, Any]:
        """The summary: identifiers, counts and file names only, never a secret."""
        out: dict[str, Any] = {
            "batch_id": self.batch_id, "profile": self.profile, "out": str(self.out_dir),
            "count": self.count, "first_iccid": self.first_iccid, "last_iccid": self.last_iccid,
            "files": list(self.files), "warnings": list(self.warnings), "notes": list(self.notes),
            "opc_source": self.opc_source, "transport_key_id": self.transport_key_id,
            "key_file": str(self.key_file) if self.key_file else None,
            "generation_seconds": round(self.generation_seconds, 3),
            "cards_per_second": round(self.cards_per_second, 1),
        }
        if self.hashing:
            out["hashing"] = {"count": self.hashing.count, "workers": self.hashing.workers,
                              "seconds": round(self.hashing.seconds, 3),
                              "hashes_per_second": round(self.hashing.rate, 2)}
        return out


def new_batch_id(profile: Profile, now: datetime, rng: RandomSource) -> str:
    return f"{profile.name}-{now:%Y%m%dT%H%M%SZ}-{rng.token_bytes(3).hex()}"


def generate_batch(profile: Profile, count: int, out_dir: str | Path, *,
                   first_serial: int | None = None, op: Secret[bytes] | None = None,
                   transport_key: Secret[bytes] | None = None,
                   exclude: IssuedValues = Exclusions(), hash_params: HashParams | None = None,
                   workers: int | None = None, panel_import: bool = True,
                   rng: RandomSource | None = None, batch_secret: Secret[bytes] | None = None,
                   now: datetime | None = None, progress: Progress | None = None,
                   clock: Callable[[], float] = time.perf_counter,
                   iccids: Sequence[str] | None = None,
                   journal_url: str | None = None,
                   label_sheet: str | None = None, card_keys: CardKeyFile | None = None,
                   programmer: ProgrammingTool | str = ProgrammingTool.SIMTOOL,
                   seal_key: Secret[bytes] | None = None, plain_exports: Collection[str] = (),
                   pepper: Secret[bytes] | None = None) -> BatchResult:
    """Generate ``count`` cards and write the batch folder ``out_dir`` (refused if not empty).

    ``panel_import=False`` skips the Argon2id panel import (benchmarks).  ``label_sheet``
    names a layout of :data:`simtool.provision.labels.SHEETS` (default: the profile's).
    ``card_keys``: the vendor's card list; the batch takes its ICCIDs (unless ``iccids`` is
    given) and pysim.csv its ADM1 keys.  ``programmer="pysim"``: a batch for pySim-prog, whose
    records and letters keep the vendor's PINs and PUKs (see :class:`ProgrammingTool`).  The
    batch secret of the barcode scheme is random and never stored: the printed numbers and
    passwords it produced are in ``records.jsonl.enc``.

    The records, the pySim CSV and the printer's PIN/PUK list (and a panel import whose codes
    come from the PUK) are sealed with ``seal_key``, by default a new batch key stored in the
    key store (:mod:`simtool.provision.sealed`); ``plain_exports`` names the exports
    (``pysim``, ``printer``, ``panel``) to write in clear instead, with a warning.
    ``hash_params``: default the profile's ``[panel_hash]``; ``pepper``: see
    :mod:`simtool.provision.hashing`.

    ``journal_url``: a journal shared by every generator and station (as
    :func:`~simtool.provision.journal_open.open_journal` takes it; a relative SQLite path is
    relative to the parent of ``out_dir``).  The batch's ICCIDs, IMSIs and MSISDNs are then
    reserved in it (:meth:`~simtool.provision.journal.Journal.reserve_batch`: one serialised
    transaction that avoids whatever any batch there holds, and ``exclude``) before a single
    card is generated; when the generation fails, the reservation is discarded.  So the batch
    is both complete in ``out_dir`` and registered in the journal, or neither.
    """
    try:
        programmer = ProgrammingTool(programmer)
    except ValueError:
        raise DataError(f"unknown programmer {programmer!r} (simtool or pysim)") from None
    if card_keys is not None and iccids is None:
        iccids = list(card_keys.keys)
    if label_sheet is not None and label_sheet not in SHEETS:
        raise DataError(f"unknown label sheet {label_sheet!r} (known: {', '.join(SHEETS)})")
    unknown = set(plain_exports) - set(PLAIN_EXPORTS)
    if unknown:
        raise DataError(f"unknown plain export {sorted(unknown)[0]!r} (known: "
                        f"{', '.join(PLAIN_EXPORTS)})")
    rng = rng or SystemRandomSource()
    now = now or datetime.now(UTC)
    batch_id = new_batch_id(profile, now, rng)
    out_dir = Path(out_dir)
    first_serial = 1 if first_serial is None else first_serial
    staging = create_staging(out_dir)
    key_file = None
    try:
        with ExitStack() as stack, staging_errors(staging, out_dir):
            numbers = journal = None
            if journal_url is not None:
                from simtool.provision.journal_open import open_journal

                journal = stack.enter_context(open_journal(journal_url, out_dir.absolute().parent))
                numbers = _reserve(journal, batch_id, profile, count, first_serial=first_serial,
                                   exclude=exclude, iccids=iccids)
            try:
                if seal_key is None:
                    seal_key, key_file = new_batch_key(batch_id)
                result = _write(staging, out_dir, profile, count, batch_id=batch_id,
                                first_serial=first_serial, op=op, transport_key=transport_key,
                                exclude=exclude, hash_params=hash_params or profile.panel_hash,
                                workers=workers, panel_import=panel_import, rng=rng,
                                batch_secret=batch_secret, now=now, progress=progress,
                                clock=clock, iccids=iccids, numbers=numbers,
                                label_sheet=label_sheet, card_keys=card_keys,
                                programmer=programmer, sealer=Sealer(batch_id, seal_key),
                                plain=frozenset(plain_exports), pepper=pepper,
                                key_file=key_file)
                commit_staging(staging, out_dir)
            except BaseException:
                if journal is not None and staging.exists():  # no folder: give the numbers back
                    _give_back(journal, batch_id)
                raise
    except BaseException:
        abort_staging(staging)
        if key_file is not None:
            key_file.unlink(missing_ok=True)
        raise
    log.info("batch %s: %d cards in %.2f s", batch_id, count, result.generation_seconds)
    return result


class _AnyOf:
    """A container holding what any of its parts holds."""

    def __init__(self, *parts: Container[str]) -> None:
        self._parts = parts

    def __contains__(self, value: object) -> bool:
        return any(value in part for part in self._parts)


def _reserve(journal: Journal, batch_id: str, profile: Profile, count: int, *,
             first_serial: int, exclude: IssuedValues,
             iccids: Sequence[str] | None) -> list[CardNumbers]:
    def allocate(issued: IssuedValues) -> Iterator[tuple[str, str, str]]:
        avoid = Exclusions(_AnyOf(issued.iccids, exclude.iccids),
                           _AnyOf(issued.imsis, exclude.imsis),
                           _AnyOf(issued.msisdns, exclude.msisdns))
        for n in allocate_numbers(profile, count, first_serial=first_serial, exclude=avoid,
                                  iccids=iccids):
            yield n.iccid, n.imsi, n.msisdn

    rows = journal.reserve_batch(batch_id, allocate)
    return [CardNumbers(iccid, imsi, msisdn or "") for _, iccid, imsi, msisdn in rows]


def _give_back(journal: Journal, batch_id: str) -> None:
    """Discard a failed batch's reservation; if even that fails its numbers stay issued (never
    reused), which is safe, and the generation's own error is the one to report."""
    try:
        journal.discard_reservation("generation failed; no batch folder was made")
    except JournalError as exc:
        log.warning("batch %s: its reserved numbers stay issued in the journal: %s",
                    batch_id, exc)


def _write(staging: Path, out_dir: Path, profile: Profile, count: int, *, batch_id: str,
           first_serial: int, op: Secret[bytes] | None, transport_key: Secret[bytes] | None,
           exclude: IssuedValues, hash_params: HashParams, workers: int | None,
           panel_import: bool, rng: RandomSource, batch_secret: Secret[bytes] | None,
           now: datetime, progress: Progress | None, clock: Callable[[], float],
           iccids: Sequence[str] | None, numbers: Sequence[CardNumbers] | None,
           label_sheet: str | None, card_keys: CardKeyFile | None,
           programmer: ProgrammingTool, sealer: Sealer, plain: frozenset[str],
           pepper: Secret[bytes] | None, key_file: Path | None) -> BatchResult:
    exp = staging / EXPORTS
    printer = exp / "printer"
    barcodes = printer / "barcodes"
    for folder in (exp, printer, barcodes):
        folder.mkdir(mode=0o700)
    warnings: list[str] = []
    notes: list[str] = []
    if profile.barcode is BarcodeScheme.LEGACY_ICCID:
        warnings.append(LEGACY_WARNING)
    if transport_key is None:
        warnings.append(NO_TRANSPORT_KEY_WARNING)
    pysim_warnings, pysim_notes = pysim_checks(profile, card_keys, programmer, count, iccids)
    warnings += pysim_warnings
    notes += pysim_notes
    puk_grade = CredentialKind.SUBSCRIBER_CODE in profile.credentials and pepper is None
    if puk_grade and panel_import:
        warnings.append(PUK_PANEL_WARNING)
    if plain:
        named = [{"pysim": "exports/pysim.csv", "printer": "exports/printer/cards.csv",
                  "panel": "exports/panel.csv and panel.json"}[p] for p in sorted(plain)]
        warnings.append(PLAIN_EXPORT_WARNING.format(files=", ".join(named),
                                                    s="" if len(named) > 1 else "s"))

    def seal(export: str) -> Sealer | None:
        return None if export in plain else sealer

    if not profile.spn.isascii():
        notes.append("pysim.csv has no 'name' column: the SPN is not ASCII (simtool programs "
                     "EF.SPN itself)")

    hlr = [exports.osmo_hlr_header(batch_id, count)]
    o5gs = [exports.open5gs_header(batch_id, count)]
    panel_entries: list[exports.PanelEntry] = []
    panel_values: list[Secret[str]] = []
    subscribers: list[tuple[str, str, str]] = []
    first = last = None
    digest = RecordsDigest()  # in batch.toml: programming checks the records against it
    start = clock()
    with ExitStack() as stack:
        records = stack.enter_context(sealed_open(staging / RECORDS, sealer))
        pysim = exports.PysimCsv(
            stack.enter_context(sealed_open(exp / "pysim.csv", seal("pysim"), newline="")),
            profile, hex_adm=card_keys is not None and any(
                encode_adm(k).format is AdmFormat.HEX16 for k in card_keys.keys.values()))
        cards_csv = stack.enter_context(sealed_open(printer / "cards.csv", seal("printer")))
        labels = stack.enter_context(atomic_open(printer / "labels.html"))
        bulk = stack.enter_context(BulkWriter())
        cards_csv.write(exports.printer_header(profile))
        sheet = LabelSheet(profile, batch_id=batch_id, count=count,
                           layout=SHEETS[label_sheet] if label_sheet else None)
        labels.write(sheet.head())
        previous_account = None
        step = 0
        for rec in generate_cards(profile, count, batch_id=batch_id, first_serial=first_serial,
                                  op=op, exclude=exclude, rng=rng, batch_secret=batch_secret,
                                  iccids=iccids, numbers=numbers, vendor_pins=(
                                      vendor_pins_from(card_keys)
                                      if programmer is ProgrammingTool.PYSIM else None)):
            first = first or rec.iccid
            last = rec.iccid
            records.write(record_to_json(rec) + "\n")
            digest.add(rec)
            pysim.write(rec, card_keys.keys.get(rec.iccid) if card_keys else None)
            cards_csv.write(exports.printer_line(rec, profile))
            symbol = exports.code128_modules(rec.barcode.reveal())
            labels.write(sheet.label(rec, symbol=symbol))
            bulk.write(barcodes / f"{rec.iccid}.svg",
                       exports.barcode_svg(rec.barcode.reveal(), symbol).encode())
            if transport_key is not None:
                hlr.append(exports.osmo_hlr_lines(rec))
                o5gs.append(exports.open5gs_line(rec))
            if panel_import and rec.credentials:
                for entry, i in exports.panel_entries(rec, rec.account != previous_account):
                    panel_entries.append(entry)
                    panel_values.append(rec.credentials[i].value)
                subscribers.append((rec.panel_login, rec.iccid, rec.account))
            previous_account = rec.account
            step += 1
            if progress and step == 256:
                progress("generate", step, count)
                step = 0
        if progress and step:
            progress("generate", step, count)
        labels.write(sheet.tail())

    if transport_key is not None:
        o5gs.append(exports.open5gs_tail())
        for name, lines in (("osmo-hlr.vty", hlr), (exports.OPEN5GS_FILE, o5gs)):
            blob = encrypt_export("".join(lines).encode(), name=name, batch_id=batch_id,
                                  key=transport_key)
            atomic_write(exp / f"{name}.enc", blob)
        hlr.clear()
        o5gs.clear()
    generation_seconds = clock() - start

    report = None
    if panel_values:
        total = len(panel_values)
        hashes, report = hash_secrets(
            panel_values, hash_params, workers=workers,
            progress=(lambda n: progress("hash", n, total)) if progress else None, clock=clock,
            pepper=pepper)
        described: dict[str, Any] = hash_params.describe()
        if pepper is not None:
            described["pepper"] = {"scheme": PEPPER_SCHEME, "key_id": key_id(pepper)}
        panel_sealer = seal("panel") if puk_grade else None
        for name, text in (("panel.csv", exports.panel_csv(panel_entries, hashes)),
                           ("panel.json", exports.panel_json(
                               panel_entries, hashes, batch_id=batch_id, profile=profile,
                               subscribers=subscribers, hash_params=described))):
            if panel_sealer is None:
                atomic_write(exp / name, text)
            else:
                panel_sealer.write(exp / name, text)

    files = []
    for folder, subdirs, names in os.walk(staging):
        subdirs[:] = [d for d in subdirs if Path(folder, d) != barcodes]  # 1 file per card
        files += [os.path.relpath(os.path.join(folder, n), staging) for n in names]
    files.sort()
    files.append(f"{EXPORTS}/printer/barcodes/*.svg ({count} files)")
    info = _batch_info(profile, count, batch_id=batch_id, now=now, first=first, last=last,
                       first_serial=first_serial, op=op, transport_key=transport_key,
                       warnings=warnings, hashing=report, hash_params=hash_params,
                       card_list=iccids is not None, programmer=programmer)
    info["records_sha256"] = digest.hexdigest()
    info["records_key_id"] = key_id(sealer.key)  # the batch key (or given key) that seals
    info["sealed"] = [f for f in files if f.endswith(".enc")
                      and Path(f).name not in ("osmo-hlr.vty.enc", f"{exports.OPEN5GS_FILE}.enc")]
    info["plain_exports"] = sorted(plain)
    if pepper is not None:
        info["panel_pepper_id"] = key_id(pepper)
    write_batch_toml(staging / BATCH_TOML, info)
    files.insert(0, BATCH_TOML)
    return BatchResult(
        batch_id=batch_id, profile=profile.name, out_dir=out_dir.absolute(), count=count,
        first_iccid=first or "", last_iccid=last or "", files=tuple(files),
        warnings=tuple(warnings), notes=tuple(notes), generation_seconds=generation_seconds,
        hashing=report, opc_source="op-key-file" if op is not None else "random-per-card",
        transport_key_id=key_id(transport_key) if transport_key is not None else None,
        key_file=key_file)


def _batch_info(profile: Profile, count: int, *, batch_id: str, now: datetime, first: str | None,
                last: str | None, first_serial: int, op: Secret[bytes] | None,
                transport_key: Secret[bytes] | None, warnings: list[str],
                hashing: HashReport | None, hash_params: HashParams,
                card_list: bool, programmer: ProgrammingTool) -> dict[str, Any]:
    """batch.toml: what the batch is and how it was made; identifiers only, no secrets."""
    try:
        profile_sha = hashlib.sha256(Path(profile.source).read_bytes()).hexdigest()
    except OSError:
        profile_sha = ""
    card = {"mcc": profile.mcc, "mnc": profile.mnc, "spn": profile.spn,
            "spn_display_condition": profile.spn_display_condition,
            "pin1_enabled": profile.pin.pin1_enabled, "adm_format": profile.adm_format.value}
    for key, value in (("type", profile.card_type), ("menu", profile.menu),
                       ("services", profile.services), ("ims_domain", profile.ims_domain)):
        if value is not None:
            card[key] = value
    info: dict[str, Any] = {
        "format": 1, "batch_id": batch_id, "profile": profile.name,
        "profile_source": str(profile.source), "profile_sha256": profile_sha,
        "operator": profile.operator, "created": now.replace(microsecond=0), "count": count,
        "first_serial": first_serial, "first_iccid": first or "", "last_iccid": last or "",
        "barcode_scheme": profile.barcode.value,
        "credentials": [k.value for k in profile.credentials],
        "numbers_per_account": profile.numbers_per_account,
        "opc_source": "op-key-file" if op is not None else "random-per-card",
        "iccid_source": "card-list" if card_list else "profile-prefix",
        "programmer": programmer.value,
        "warnings": warnings, "card": card,
    }
    if op is not None:
        info["op_key_id"] = key_id(op)
    if transport_key is not None:
        info["transport_key_id"] = key_id(transport_key)
    if hashing is not None:
        info["panel_hash"] = {**hash_params.describe(), "count": hashing.count}
    return info


__all__ = ["BatchResult", "CardNumbers", "Exclusions", "IssuedValues", "ProgrammingTool",
           "VendorPins", "allocate_numbers",
           "generate_batch", "generate_cards", "new_batch_id"]
