"""Programming and verifying cards from a batch: the loop over one :class:`~simtool.card.Card`.

For each inserted card :meth:`Programmer.program`

1. identifies the card type by its ATR (:mod:`simtool.cardtypes`) and by the files its driver
   expects, refusing unknown cards (:class:`~simtool.errors.UnknownCardType`);
2. reads EF.ICCID and the ADM1 retry counter — before any VERIFY — and refuses a card below
   the type's safe minimum (:class:`~simtool.errors.AdmTriesTooLow`);
3. claims the card's record in the journal (:meth:`Journal.claim_for_card`: a new record for
   a blank card, the same record again for a card pulled mid-write);
4. VERIFYs ADM1 once with the card's current key (the vendor's, or the batch's once the ADM1
   step is done); a wrong key marks the record failed and is never sent again;
5. runs the write steps not yet done, marking each in the journal (EF.ICCID first, so that from
   then on the card names its record); the ADM1 change is the last step;
6. reads back every file written and runs AUTHENTICATE with a random RAND, comparing RES, CK
   and IK with Milenage computed here → ``verified``; any mismatch → ``failed``.

A card pulled mid-way (:class:`~simtool.errors.CardRemoved`) leaves its record ``partial``
with the steps done; re-inserting it resumes.  Secrets travel as :class:`Secret` and every
exchange carrying one is sent with ``secret=True``.  No I/O here but the card and the journal.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from simtool import milenage
from simtool.card import Card, TrackedCard
from simtool.cardtree import COMMON, CardTree
from simtool.cardtypes import PROGRAMMABLE, identify
from simtool.ef import EfIccid, EfMsisdn, EfSpn
from simtool.errors import (AdmTriesTooLow, AuthenticationFailed, CardError, CardRemoved,
                            DataError, SafetyRefusal, TransportError, UnknownCardType, WrongPin)
from simtool.provision.batchdir import CardRecord
from simtool.provision.cardkeys import AdmSource, adm_for_card
from simtool.provision.journal import Journal, JournalError, RecordState
from simtool.provision.cardkeys import CardKeyFile, FixedAdm, read_card_keys
from simtool.provision.plan import (BatchCard, CardDriver, CardSecrets, FileWrite,
                                    VerificationFailed, check_file, plan_steps, restore_file,
                                    same_bytes, write_file)

__all__ = [  # the programming API in one place (some names live in .plan and .cardkeys)
    "ADM1_SENDING", "STEPS", "AdmSource", "BatchCard", "CardDriver", "CardKeyFile",
    "CardResult", "CardSecrets", "FixedAdm", "OpenBatch", "Outcome", "Programmer",
    "VerificationFailed", "adm_for_card", "default_drivers", "open_batch", "read_card_keys",
]

#: The write steps, in order.  ``start`` writes nothing: it moves the record to ``writing``
#: so that a card pulled while its EF.ICCID changes is still recognised.  ADM1 goes last.
STEPS = ("start", "iccid", "imsi", "ki_opc", "spn", "msisdn", "ad", "acc", "plmn", "isim",
         "pins", "adm1")
#: Marked just before the EF.ADM1 update: with it and without ``adm1`` the update's answer
#: was lost, and which ADM1 the card holds is not known.
ADM1_SENDING = "adm1:sending"
#: How a failed ADM1 VERIFY is recorded in the journal (and found again at start-up).
ADM1_REFUSED = "ADM1 refused by the card"
#: Steps whose files only ADM1 may update (TS 31.102 §4.2: EF.IMSI, EF.SPN, EF.AD, EF.ACC),
#: read back before any VERIFY to tell a card this batch wrote to (_check_unrecorded).
_EVIDENCE_STEPS = ("imsi", "spn", "ad", "acc")
#: AMF of the verification AUTHENTICATE: separation bit set, as for E-UTRAN (TS 33.401 §6.1.1).
AMF = b"\x80\x00"


class Outcome(StrEnum):
    VERIFIED = "verified"
    PARTIAL = "partial"  # card pulled: re-insert it to finish
    FAILED = "failed"  # record given up; the card must not be used
    REFUSED = "refused"  # card not touched (unknown type, ADM tries, journal refusal ...)
    REMOVED = "removed"  # card gone (or reset by another program) before anything was done
    NO_RECORD = "no-record"  # the batch has no pending record left


def default_drivers() -> tuple[CardDriver, ...]:
    from simtool.provision.sja2 import Sja2Driver

    return (Sja2Driver(),)


@dataclass(frozen=True)
class OpenBatch:
    """A batch folder opened for programming: its records and its journal (loaded)."""

    batch_id: str
    card: BatchCard
    records: Mapping[int, CardRecord] = field(repr=False)
    journal: Journal
    factory_iccids: bool = False  # the records carry the cards' own ICCIDs (a card list)


def open_batch(batch_dir: Any, journal_url: str | None = None, *,
               records_key: Any = None) -> OpenBatch:
    """Read and check ``batch.toml`` and the records of ``batch_dir`` (sealed records are
    decrypted in memory with ``records_key``, else the key store's batch key;
    :func:`~simtool.provision.batchdir.read_batch`: nothing is opened when a check fails) and
    open its journal (``journal_url`` as :func:`~simtool.provision.journal_open.open_journal`
    takes it), loading the batch's records into it (idempotent: a second station loads the
    same rows)."""
    from simtool.provision.batchdir import read_batch
    from simtool.provision.journal_open import open_journal

    info, records = read_batch(batch_dir, key=records_key)
    if info.programmer != "simtool":
        # its records hold the vendor's PINs (or none): nothing for simtool to write
        raise SafetyRefusal(f"batch {info.batch_id} was made for pySim-prog (programmer = "
                            f"{info.programmer!r}): program it with pySim-prog from "
                            "exports/pysim.csv")
    journal = open_journal(journal_url, batch_dir, batch_id=info.batch_id)
    try:
        journal.load_batch(info.batch_id, [(r.index, r.iccid, r.imsi, r.msisdn)
                                           for r in records.values()])
    except BaseException:
        journal.close()
        raise
    return OpenBatch(info.batch_id, info.card, records, journal, info.factory_iccids)


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardResult:
    """What happened to one inserted card; identifiers only, never a secret."""

    outcome: Outcome
    card_iccid: str | None = None  # the ICCID the card carried when inserted
    card_type: str | None = None
    index: int | None = None
    iccid: str | None = None
    imsi: str | None = None
    msisdn: str | None = None
    resumed: bool = False
    steps: tuple[str, ...] = ()  # steps written in this session
    step: str | None = None  # where it stopped
    reason: str | None = None
    seconds: float = 0.0
    # what the CLI exits with for this card (simtool.errors): 0 verified / to be resumed /
    # no record left, 1 the card failed, else the refusal's (4 bad data, 5 safety refusal)
    exit_code: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"outcome": self.outcome.value, "card_iccid": self.card_iccid,
                "card_type": self.card_type, "index": self.index, "iccid": self.iccid,
                "imsi": self.imsi, "msisdn": self.msisdn, "resumed": self.resumed,
                "steps": list(self.steps), "step": self.step, "reason": self.reason,
                "seconds": round(self.seconds, 3)}

    def render(self) -> str:
        who = f"record {self.index} ICCID {self.iccid}" if self.index is not None else \
            f"card {self.card_iccid or '(unread)'}"
        text = f"{self.outcome.value.upper():9} {who}"
        if self.outcome is Outcome.VERIFIED:
            text += f" IMSI {self.imsi}" + (" (resumed)" if self.resumed else "")
        if self.reason:
            text += f": {self.reason}"
        return f"{text} [{self.seconds:.2f} s]"


class _Stop(Exception):
    """Internal: end this card with ``outcome`` after the journal was updated."""

    def __init__(self, outcome: Outcome, reason: str, exit_code: int = 1) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.exit_code = exit_code


# --- the programming loop -------------------------------------------------------------------------


class Programmer:
    """Program cards with the records of one batch, one :meth:`program` call per card."""

    def __init__(self, journal: Journal, records: Mapping[int, CardRecord], batch: BatchCard,
                 adm_source: AdmSource, *, station: str,
                 drivers: Sequence[CardDriver] | None = None,
                 token_bytes: Callable[[int], bytes] = secrets.token_bytes,
                 progress: Callable[[str], None] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 allow_iccid_change: bool = False, factory_iccids: bool = False) -> None:
        self.journal = journal
        # the records carry the cards' own ICCIDs (a batch made from the vendor's card list):
        # then a card showing a record's ICCID may be blank (see _check_unrecorded)
        self.factory_iccids = factory_iccids
        self._by_iccid = {rec.iccid: rec for rec in records.values()}
        # see CardType.factory_iccid_bound: rewriting such a card's ICCID needs this flag
        self.allow_iccid_change = allow_iccid_change
        self.records = records
        self.batch = batch
        self.adm_source = adm_source
        self.station = station
        self.drivers = tuple(default_drivers() if drivers is None else drivers)
        self._token_bytes = token_bytes
        self._progress = progress or (lambda _step: None)
        self._clock = clock
        # factory ICCIDs of cards that refused an ADM1: never VERIFY them again
        self._wrong_adm: set[str] = _adm_refused_cards(journal)

    # --- preflight --------------------------------------------------------------------------

    def check_records(self) -> None:
        """Encode every record once before any card is touched: a bad value stops the batch
        here, not half-way through a card.  Raises DataError naming the record."""
        driver = self._driver_for_batch()
        for rec in self.records.values():
            sec = CardSecrets.from_record(rec, driver.card_type)
            try:
                plan_steps(driver, self.batch, rec, sec)
                EfSpn(self.batch.spn, self.batch.spn_display_condition).encode()
                EfMsisdn("+" + rec.msisdn.lstrip("+")).encode(34)
            except DataError as exc:
                raise DataError(str(exc), where=f"record {rec.index}") from None

    def _driver_for_batch(self) -> CardDriver:
        for d in self.drivers:
            if self.batch.card_type in (None, d.card_type.name):
                return d
        raise UnknownCardType(f"the batch is for {self.batch.card_type}, which simtool "
                              "cannot program")

    # --- one card ---------------------------------------------------------------------------

    def program(self, card: Card) -> CardResult:
        start = self._clock()
        info: dict[str, Any] = {}

        def result(outcome: Outcome, reason: str | None = None, **kw: Any) -> CardResult:
            return CardResult(outcome, reason=reason, seconds=self._clock() - start,
                              **{**info, **kw})

        card = TrackedCard.of(card)  # this loop owns the card: no SELECT of a current file twice
        try:
            self._progress("identify")
            driver = self._identify(card)
            info["card_type"] = driver.card_type.name
            card_iccid = _read_iccid(card, driver.card_type.tree)
            info["card_iccid"] = card_iccid
            if card_iccid in self._wrong_adm:
                raise SafetyRefusal("this card refused its ADM1 earlier: not sending it again")
            min_tries = driver.card_type.adm_min_tries
            # read once: _verify_adm sends VERIFY with no command to the card in between
            tries = card.pin_tries(driver.card_type.adm_key_ref)
            if tries is not None and tries < min_tries:
                raise AdmTriesTooLow(tries, min_tries)
            self._progress("claim")
            self._check_unrecorded(card, driver, card_iccid)
            claim = self.journal.claim_for_card(self.station, card_iccid)
        except CardRemoved as exc:
            return result(Outcome.REMOVED, f"card gone before programming started ({exc})")
        except (SafetyRefusal, JournalError, DataError, CardError) as exc:
            return result(Outcome.REFUSED, str(exc), exit_code=exc.exit_code)
        if claim is None:
            return result(Outcome.NO_RECORD, "no pending record left in the batch")
        rec = self.records.get(claim.index)
        info.update(index=claim.index, iccid=claim.iccid, imsi=claim.imsi, msisdn=claim.msisdn,
                    resumed=claim.resumed)
        if rec is None or rec.iccid != claim.iccid:
            raise JournalError(f"journal record {claim.index} is not in this batch folder")
        if (driver.card_type.factory_iccid_bound and not self.allow_iccid_change
                and claim.iccid != card_iccid and "iccid" not in claim.steps_done):
            if claim.state is RecordState.CLAIMED:
                self.journal.release(claim.index)
            return result(Outcome.REFUSED, exit_code=SafetyRefusal.exit_code, reason=
                          f"{driver.card_type.name}: the vendor ties the card's licence to its "
                          f"factory ICCID {card_iccid}; not writing {claim.iccid} without "
                          "--allow-iccid-change")
        done = list(claim.steps_done)
        written: list[str] = []
        step = "verify ADM1"
        try:
            factory = self.journal.record(claim.index).card_iccid or card_iccid
            sec = CardSecrets.from_record(rec, driver.card_type)
            self._verify_adm(card, driver, claim.index, done, factory, sec, tries)
            plan = plan_steps(driver, self.batch, rec, sec)
            if card_iccid == rec.iccid:  # the card keeps its ICCID: EF.ICCID read, nothing to write
                plan["iccid"] = []
            short_ids = getattr(driver, "short_file_ids", {})
            checked: set[int] = set()
            for step in STEPS:
                if step in done:
                    continue
                self._progress(step)
                # each file is read back right after its write, while it is still the current
                # file; EF.ADM1 once the journal knows the card has the batch's ADM1
                if step == "adm1":
                    self._change_adm(card, plan[step], claim.index)
                    _read_back_now(card, plan[step], checked)
                else:
                    for fw in plan[step]:
                        write_file(card, fw)
                        _read_back_now(card, [fw], checked)
                    self.journal.mark_step(claim.index, step)
                written.append(step)
            step = "verify"
            self.journal.mark_written(claim.index)
            self._progress("read back")
            # what is left: files written in an earlier session, and the linked files, read
            # through their other path; the ones read by SFI last, once their DF is current
            rest = [fw for name in STEPS for fw in plan[name] if id(fw) not in checked]
            rest.sort(key=lambda fw: any(p in short_ids for p in fw.also_check))
            for fw in rest:
                check_file(card, fw, short_ids)
            self._progress("authenticate")
            step = "authenticate"
            self._authenticate(card, driver, sec)
            self.journal.mark_verified(claim.index)
            return result(Outcome.VERIFIED, steps=tuple(written))
        except CardRemoved:
            reason = f"card removed during {step}"
            self.journal.mark_partial(claim.index, reason)
            return result(Outcome.PARTIAL, reason + ": re-insert it to finish", step=step,
                          steps=tuple(written))
        except TransportError as exc:  # the reader or PC/SC failed: resumable, then raised
            self.journal.mark_partial(claim.index, f"{type(exc).__name__} during {step}")
            raise
        except KeyboardInterrupt:
            self.journal.mark_partial(claim.index, f"interrupted during {step}")
            raise
        except _Stop as stop:
            return result(stop.outcome, str(stop), step=step, steps=tuple(written),
                          exit_code=stop.exit_code)
        except (VerificationFailed, CardError, DataError, SafetyRefusal) as exc:
            self.journal.mark_failed(claim.index, f"{step}: {exc}")
            return result(Outcome.FAILED, f"{step}: {exc}", step=step, steps=tuple(written),
                          exit_code=exc.exit_code)

    def _check_unrecorded(self, card: Card, driver: CardDriver, card_iccid: str) -> None:
        """Refuse, before any VERIFY, a card this batch wrote to that the journal has no trace
        of (a journal lost or replaced): its ADM1 may be the batch's new one, and sending the
        vendor's would cost a try.

        Only a card showing one of the batch's ICCIDs whose record the journal has as
        ``pending`` is looked at.  Files the batch writes before the ADM1 step (the ADM1 goes
        last) and that only ADM1 may update are read without any PIN where the card allows:
        EF.IMSI, EF.SPN, EF.AD, EF.ACC.  One that differs from the record: the batch never
        got to the ADM1 step, so the card still has its vendor ADM1 → go on.  EF.IMSI equal to
        the record's: the batch programmed it → refused.  Nothing tells (EF.IMSI behind
        PIN1): refused when the ICCID was written by this batch (it is not the card's own, by
        the batch and the vendor list), else taken for the blank card it looks like.
        """
        rec = self._by_iccid.get(card_iccid)
        if rec is None or self.journal.record(rec.index).state is not RecordState.PENDING:
            return
        sec = CardSecrets.from_record(rec, driver.card_type)
        plan = plan_steps(driver, self.batch, rec, sec)
        own = self.factory_iccids or self.adm_source.lists(card_iccid)
        seen: dict[str, bool] = {}
        # the card's own ICCID: only EF.IMSI decides (equal → refused, else go on), so the
        # other files are not read
        for step in ("imsi",) if own else _EVIDENCE_STEPS:
            for fw in plan[step]:
                try:
                    check_file(card, fw)
                except VerificationFailed:
                    return  # the batch did not write it: nor, then, its ADM1
                except CardError:
                    continue  # behind PIN1 (or absent): tells nothing
                seen[fw.name] = True
        if not seen.get("EF.IMSI") and own:
            return
        shown = ", ".join(sorted(seen)) or "nothing else readable without PIN1"
        raise SafetyRefusal(
            f"card {card_iccid} already holds record {rec.index} of this batch (ICCID; {shown}) "
            "but the journal has no trace of it: its ADM1 may be the batch's or the vendor's, "
            "so neither is sent (use the journal the card was programmed with)")

    def _identify(self, card: Card) -> CardDriver:
        atr = card.atr
        card_type = identify(atr)
        if card_type is None:
            known = ", ".join(t.name for t in PROGRAMMABLE)
            raise UnknownCardType(f"unknown card (ATR {atr.hex().upper()}): simtool programs "
                                  f"{known} only")
        for driver in self.drivers:
            if driver.card_type == card_type:
                break
        else:
            raise UnknownCardType(f"{card_type.name} is recognised but simtool cannot program "
                                  "it (no driver for its key files)")
        if self.batch.card_type not in (None, card_type.name):
            raise UnknownCardType(f"this is a {card_type.name}; the batch is for "
                                  f"{self.batch.card_type}")
        driver.probe(card)
        return driver

    def _verify_adm(self, card: Card, driver: CardDriver, index: int, done: list[str],
                    factory: str, sec: CardSecrets, tries: int | None) -> None:
        """VERIFY ADM1 once, with the batch's key when the ADM1 step is done, else with the
        vendor's.  When the EF.ADM1 update's answer was lost (``adm1:sending`` without
        ``adm1``) the update most likely never reached the card (a pull interrupts the
        exchange), so the vendor's key is tried — once, like any ADM1."""
        ambiguous = ADM1_SENDING in done and "adm1" not in done
        try:
            if "adm1" in done:
                key = sec.adm1
            else:
                vendor = self.adm_source.current_adm(factory)
                key = adm_for_card(vendor, driver.card_type, what="the card's current ADM1")
        except (DataError, SafetyRefusal) as exc:
            self._give_back(index, done, f"no usable ADM1: {exc}")
            raise _Stop(Outcome.REFUSED, str(exc), exc.exit_code) from None
        try:
            card.verify_adm(driver.card_type.adm_key_ref, key,
                            min_tries=driver.card_type.adm_min_tries, tries=tries)
        except WrongPin as exc:
            self._wrong_adm.add(factory)
            reason = (f"{ADM1_REFUSED} ({exc.tries_left} tries left); simtool will not send "
                      "it again")
            if ambiguous:
                reason += (": the card was pulled while its ADM1 was being changed, so it may "
                           "hold the batch's new ADM1")
            self.journal.mark_failed(index, reason)
            raise _Stop(Outcome.FAILED, reason, exc.exit_code) from None
        except AdmTriesTooLow as exc:
            self._give_back(index, done, str(exc))
            raise _Stop(Outcome.REFUSED, str(exc), exc.exit_code) from None

    def _change_adm(self, card: Card, writes: list[FileWrite], index: int) -> None:
        """Write the batch's ADM1 between two journal marks.  When the second mark fails (the
        journal is unreachable) the card is given its old ADM1 back, so that what the journal
        says (``adm1:sending`` without ``adm1``: the vendor's key) stays true for the rerun."""
        self.journal.mark_step(index, ADM1_SENDING)
        previous = [(fw, write_file(card, fw)) for fw in writes]
        try:
            self.journal.mark_step(index, "adm1")
        except JournalError:
            for fw, old in previous:
                if old is not None:
                    restore_file(card, fw, old)
            raise

    def _give_back(self, index: int, done: list[str], reason: str) -> None:
        """The card was refused before anything was written: a fresh claim goes back to
        ``pending``; a record the card had started stays resumable (``partial``)."""
        if not done and self.journal.record(index).state is RecordState.CLAIMED:
            self.journal.release(index)
        else:
            self.journal.mark_partial(index, reason)

    def _authenticate(self, card: Card, driver: CardDriver, sec: CardSecrets) -> None:
        """AUTHENTICATE (3G context, TS 31.102 §7.1.2.1) with a random RAND and an AUTN built
        here; a synchronisation failure is answered once, as the network does: check MAC-S,
        take SQN_MS from AUTS and retry one SEQ above it (TS 33.102 §6.3.5)."""
        ki, opc = sec.ki.reveal(), sec.opc.reveal()
        sqn, ind_len = driver.start_sqn(card)
        card.select_usim()
        m = milenage.Milenage(ki, opc)
        for attempt in (1, 2):
            rand = self._token_bytes(16)
            autn = milenage.autn(ki, opc, rand, sqn.to_bytes(6, "big"), AMF)
            try:
                got = card.authenticate(rand, autn)
            except AuthenticationFailed:
                raise VerificationFailed("the card rejected the network's MAC-A (98 62): its "
                                         "Ki/OPc differ from the record") from None
            if got.sync_failure:
                if attempt == 2 or got.auts is None or len(got.auts) != 14:
                    raise VerificationFailed("AUTHENTICATE: synchronisation failure after resync")
                ak_star = m.f5star(rand)
                sqn_ms = bytes(a ^ b for a, b in zip(got.auts[:6], ak_star))
                if not same_bytes(milenage.auts(ki, opc, rand, sqn_ms), got.auts):
                    raise VerificationFailed("AUTHENTICATE: the card's AUTS has a wrong MAC-S: "
                                             "its Ki/OPc differ from the record")
                sqn = (((int.from_bytes(sqn_ms, "big") >> ind_len) + 1) << ind_len) \
                    & 0xFFFFFFFFFFFF
                continue
            res, ck, ik, _ak = m.f2345(rand)
            for name, want, have in (("RES", res, got.res), ("CK", ck, got.ck),
                                     ("IK", ik, got.ik)):
                if have is None or not same_bytes(want, have.reveal()):
                    raise VerificationFailed(f"AUTHENTICATE: the card's {name} differs from "
                                             "Milenage with the record's Ki/OPc")
            if got.kc is not None and not same_bytes(milenage.gsm_kc(ck, ik), got.kc.reveal()):
                raise VerificationFailed("AUTHENTICATE: the card's Kc differs from c3(CK, IK)")
            return


def _adm_refused_cards(journal: Journal) -> set[str]:
    """The cards (by the ICCID they came with) whose ADM1 VERIFY failed in earlier sessions."""
    out: set[str] = set()
    for event in journal.events():
        if (event.event == "failed" and event.index is not None
                and (event.detail or "").startswith(ADM1_REFUSED)):
            card_iccid = journal.record(event.index).card_iccid
            if card_iccid:
                out.add(card_iccid)
    return out


# --- card I/O --------------------------------------------------------------------------------


def _read_back_now(card: Card, writes: Sequence[FileWrite], checked: set[int]) -> None:
    """Read back the files just written that have no linked path (those are read through the
    link at the end, see check_file); remember which were checked."""
    for fw in writes:
        if not fw.also_check:
            check_file(card, fw)
            checked.add(id(fw))


def _read_iccid(card: Card, tree: CardTree = COMMON) -> str:
    data = card.read_transparent(tree.of(EfIccid)[0].path, name="READ BINARY EF.ICCID")
    try:
        return EfIccid.decode(data).iccid.digits
    except DataError:
        raise DataError("the card's EF.ICCID is empty or malformed: cannot tell the card "
                        "apart in the journal") from None
