"""Programming cards from a batch, in process: the library against the virtual SJA2 object.

Expected card contents are computed with the emulator's own encoders (tests/virtual_card),
not simtool's codecs, and the card is authenticated independently with simtool.milenage.
Fault injection pulls the card at every APDU of a programming run — before the card sees the
command, and after it executed it but before the answer arrived — then re-inserts it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from simtool import milenage
from simtool.apdu.channel import Channel
from simtool.apdu.transport import InProcessTransport, TracingTransport
from simtool.card import Card
from simtool.cardtypes import SYSMO_ISIM_SJA2
from simtool.errors import CardRemoved, DataError, SafetyRefusal
from simtool.provision.generate import generate_batch
from simtool.provision.journal import JournalError, RecordState
from simtool.provision.profile import load_profile, parse_profile
from simtool.provision.cardkeys import CardKeyFile, FixedAdm, adm_for_card, read_card_keys
from simtool.provision.plan import CardSecrets, VerificationFailed
from simtool.provision.program import ADM1_SENDING, STEPS, Outcome, Programmer, open_batch
from simtool.provision.sja2 import (CFG_MILENAGE_OPC, AuthKeyFile, PinFile, PinState, PukPart,
                                    Sja2Driver, UsimSqnFile)
from simtool.secret import Secret
from tests.virtual_card import VirtualUicc, defaults
from tests.virtual_card.defaults import ICCID as FACTORY_ICCID
from tests.virtual_card.defaults import imsi_bytes, number_record, plmn, swapped_bcd
from tests.virtual_card.image import default_state
from tests.virtual_card.layout import AUTH_GSM, AUTH_USIM
from tests.virtual_card.pins import pin_block
from tests.conftest import SeededRandom

VENDOR_ADM = "11223344"  # the emulator's default image


class Wire:
    """A transport to a virtual card object that logs every command and can pull the card at
    APDU number ``pull_at`` (1-based): before the card sees it, or (``executed``) after the
    card executed it but before its answer came back."""

    def __init__(self, card: VirtualUicc, pull_at: int | None = None, *,
                 executed: bool = False) -> None:
        self.card = card
        self.pull_at = pull_at
        self.executed = executed
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        if self.pull_at is not None and len(self.sent) + 1 >= self.pull_at:
            if len(self.sent) + 1 == self.pull_at and self.executed:
                self.card.process(apdu)
                self.sent.append(apdu)
            raise CardRemoved("card pulled")
        self.sent.append(apdu)
        return self.card.process(apdu)

    def atr(self) -> bytes:
        return self.card.atr

    def reset(self) -> bytes:
        return self.card.reset()

    def close(self) -> None:
        pass

    def adm_verifies(self) -> int:
        """VERIFY ADM1 commands that carried a key (counter queries have no data)."""
        return sum(1 for a in self.sent if a[1] == 0x20 and a[3] == 0x0A and len(a) > 5)

    def updates(self) -> int:
        return sum(1 for a in self.sent if a[1] in (0xD6, 0xDC))


def blank_card(serial: int) -> VirtualUicc:
    """A blank card with its own factory ICCID (the default image's ICCID, other serial)."""
    state = default_state()
    state.files["3F00/2FE2"] = swapped_bcd(f"8948011234{serial:08d}0", 10)
    return VirtualUicc(state)


def insert(card: VirtualUicc, **kw) -> tuple[Card, Wire]:
    """Insert the card (power it up afresh) and give a Card over a logging wire."""
    card.reset()
    wire = Wire(card, **kw)
    return Card(Channel(wire)), wire


@pytest.fixture(scope="module")
def fast_dir():
    """Batch folders for tests that program many cards: tmpfs when there is one, so the
    journal's fsyncs do not dominate."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    path = Path(tempfile.mkdtemp(prefix="simtool-program-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def make_batch(folder: Path, count: int, *, profile=None, seed: int = 1):
    generate_batch(profile or load_profile("milo"), count, folder, panel_import=False,
                   rng=SeededRandom(seed))
    return open_batch(folder)


def programmer(batch, adm: str = VENDOR_ADM, **kw) -> Programmer:
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(adm)),
                   station="test-station", token_bytes=random.Random(7).randbytes,
                   allow_iccid_change=True, factory_iccids=batch.factory_iccids, **kw)
    p.check_records()
    return p


@pytest.fixture
def batch(tmp_path):
    b = make_batch(tmp_path / "batch", 4)
    yield b
    b.journal.close()


# --- a card programmed and verified ------------------------------------------------------------

def test_programs_and_verifies_a_blank_card(batch):
    vc = VirtualUicc.from_image(None)
    card, wire = insert(vc)
    result = programmer(batch).program(card)
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert (result.index, result.card_iccid, result.card_type) == (0, FACTORY_ICCID,
                                                                    "sysmoISIM-SJA2")
    rec = batch.records[0]
    state = vc.image_state()
    files = state.files
    assert files["3F00/2FE2"] == swapped_bcd(rec.iccid, 10)
    assert files["3F00/7F20/6F07"] == imsi_bytes(rec.imsi)
    assert files["3F00/7F10/6F40"][0] == number_record(rec.msisdn, 20)
    assert files["3F00/7F20/6F46"] == b"\x01" + b"Milo Telecom".ljust(16, b"\xff")
    assert files["3F00/7F20/6F78"] == rec.acc.to_bytes(2, "big")
    assert files["3F00/7F20/6FAD"] == files["3F00/7FFF/6FAD"] == bytes.fromhex("00000002")
    home = plmn("260", "97")
    for fid in ("6F60", "6F61", "6F62"):
        assert files[f"3F00/7F20/{fid}"] == home + b"\xc0\x80" + b"\xff\xff\xff\x00\x00" * 11
    assert files["3F00/7F20/6F30"] == home.ljust(60, b"\xff")
    assert files["3F00/7FFF/6FD9"] == home.ljust(12, b"\xff")
    key = bytes((CFG_MILENAGE_OPC,)) + rec.ki.reveal() + rec.opc.reveal()
    assert state.auth[AUTH_USIM] == state.auth[AUTH_GSM] == key
    pins = state.pins
    assert pins["PIN1"].value == Secret(pin_block(rec.pin1.reveal()))
    assert pins["PIN1"].puk == Secret(pin_block(rec.puk1.reveal()))
    assert pins["PIN2"].value == Secret(pin_block(rec.pin2.reveal()))
    assert pins["PIN2"].puk == Secret(pin_block(rec.puk2.reveal()))
    assert pins["ADM1"].value == Secret(pin_block(rec.adm1.reveal()))
    assert pins["PIN1"].enabled and pins["ADM1"].tries == 3
    assert wire.adm_verifies() == 1

    journal = batch.journal.record(0)
    assert journal.state is RecordState.VERIFIED
    assert journal.card_iccid == FACTORY_ICCID
    # the Milo profile names a menu but no applet: no ``applet`` step
    assert set(journal.steps) == set(STEPS) - {"applet"} | {ADM1_SENDING}

    # the card works with the record's keys: an independent AUTHENTICATE and PIN1 VERIFY
    card, _ = insert(vc)
    card.verify_pin(0x01, Secret(pin_block(rec.pin1.reveal())))
    card.select_usim()
    rand = bytes(range(16))
    sqn = (vc.image_state().sqn + 1).to_bytes(6, "big")
    got = card.authenticate(rand, milenage.autn(rec.ki.reveal(), rec.opc.reveal(), rand, sqn,
                                                b"\x80\x00"))
    res, ck, ik, _ = milenage.Milenage(rec.ki.reveal(), rec.opc.reveal()).f2345(rand)
    assert (got.res, got.ck, got.ik) == (Secret(res), Secret(ck), Secret(ik))
    card.verify_adm(0x0A, Secret(pin_block(rec.adm1.reveal())), min_tries=2)


def test_cards_get_distinct_records_and_the_batch_runs_out(tmp_path):
    b = make_batch(tmp_path / "b", 2)
    p = programmer(b)
    results = [p.program(insert(VirtualUicc.from_image(None))[0]) for _ in range(3)]
    assert [r.outcome for r in results] == [Outcome.VERIFIED, Outcome.VERIFIED,
                                            Outcome.NO_RECORD]
    assert [r.iccid for r in results[:2]] == [b.records[0].iccid, b.records[1].iccid]
    b.journal.close()


def test_pin1_disabled_when_the_profile_says_so(tmp_path):
    text = load_profile("milo").source
    profile = parse_profile(Path(text).read_text().replace("pin1_enabled = true",
                                                           "pin1_enabled = false"))
    b = make_batch(tmp_path / "b", 1, profile=profile)
    vc = VirtualUicc.from_image(None)
    assert programmer(b).program(insert(vc)[0]).outcome is Outcome.VERIFIED
    assert vc.image_state().pins["PIN1"].enabled is False
    b.journal.close()


def test_a_verified_card_is_never_given_a_second_iccid(batch):
    vc = VirtualUicc.from_image(None)
    p = programmer(batch)
    assert p.program(insert(vc)[0]).outcome is Outcome.VERIFIED
    card, wire = insert(vc)
    again = p.program(card)
    assert again.outcome is Outcome.REFUSED and "already verified" in again.reason
    assert wire.updates() == 0 and wire.adm_verifies() == 0
    assert batch.journal.status_counts()[RecordState.PENDING] == 3


# --- pulled cards ------------------------------------------------------------------------------------

def reference_run(batch) -> list[bytes]:
    vc = VirtualUicc.from_image(None)
    card, wire = insert(vc)
    assert programmer(batch).program(card).outcome is Outcome.VERIFIED
    return wire.sent


@pytest.mark.parametrize("executed", [False, True], ids=["before-card", "answer-lost"])
def test_pulled_at_every_apdu_resumes_to_verified(fast_dir, executed):
    folder = fast_dir / f"pull-{executed}"
    folder.mkdir()
    reference = reference_run(make_batch(folder / "ref", 1))
    n = len(reference)
    adm_update = next(i for i in range(n) if reference[i][1] == 0xA4
                      and reference[i].endswith(bytes.fromhex("A5156F0A00"))) + 3
    assert reference[adm_update - 1][1] == 0xD6
    b = make_batch(folder / "b", n)
    p = programmer(b)
    verified = 0
    for pull_at in range(1, n + 1):
        vc = blank_card(pull_at)
        card, _ = insert(vc, pull_at=pull_at, executed=executed)
        first = p.program(card)
        assert first.outcome in (Outcome.PARTIAL, Outcome.REMOVED), (pull_at, first)
        claimed = first.index
        card, wire = insert(vc)
        second = p.program(card)
        if executed and pull_at == adm_update:
            # the new ADM1 reached the card but the answer did not: tried once, never again
            assert second.outcome is Outcome.FAILED, (pull_at, second)
            assert "may hold the batch's new ADM1" in second.reason
            assert wire.adm_verifies() == 1
            card, wire = insert(vc)
            assert p.program(card).outcome is Outcome.REFUSED and wire.adm_verifies() == 0
            continue
        assert second.outcome is Outcome.VERIFIED, (pull_at, first, second)
        verified += 1
        if claimed is not None:
            assert second.index == claimed and second.resumed
            assert vc.image_state().files["3F00/2FE2"] == swapped_bcd(b.records[claimed].iccid,
                                                                      10)
        counts = b.journal.status_counts()
        assert counts[RecordState.VERIFIED] == verified
        assert counts[RecordState.PARTIAL] == counts[RecordState.CLAIMED] == 0
        assert counts[RecordState.WRITING] == counts[RecordState.WRITTEN] == 0
    b.journal.close()


class JournalDownAt:
    """The batch's journal, failing (as a lost database connection does) when ``step`` is
    to be marked."""

    def __init__(self, journal, step: str) -> None:
        self._journal = journal
        self._step = step

    def __getattr__(self, name):
        return getattr(self._journal, name)

    def mark_step(self, index: int, step: str) -> None:
        if step == self._step:
            raise JournalError("journal database error: connection lost")
        self._journal.mark_step(index, step)


def test_adm1_change_the_journal_could_not_record_is_undone(batch):
    """The card took the new ADM1 but the journal could not record it: the card gets its old
    ADM1 back, so the rerun's VERIFY (with the vendor's key, as the journal says) is right."""
    vc = blank_card(1)
    p = Programmer(JournalDownAt(batch.journal, "adm1"), batch.records, batch.card,
                   FixedAdm(Secret(VENDOR_ADM)), station="s", allow_iccid_change=True)
    with pytest.raises(JournalError):
        p.program(insert(vc)[0])
    assert vc.image_state().pins["ADM1"].value == Secret(pin_block(VENDOR_ADM))
    card, wire = insert(vc)
    result = programmer(batch).program(card)
    assert result.outcome is Outcome.VERIFIED and result.resumed and result.steps == ("adm1",)
    assert wire.adm_verifies() == 1
    pins = vc.image_state().pins["ADM1"]
    assert pins.tries == 3 and pins.value == Secret(pin_block(batch.records[0].adm1.reveal()))


# --- ADM1 safety ---------------------------------------------------------------------------------------

def test_wrong_adm_is_sent_once_and_never_again(batch):
    vc = VirtualUicc.from_image(None)
    p = programmer(batch, adm="99999999")
    card, wire = insert(vc)
    result = p.program(card)
    assert result.outcome is Outcome.FAILED and "2 tries left" in result.reason
    assert wire.adm_verifies() == 1 and wire.updates() == 0
    assert batch.journal.record(0).state is RecordState.FAILED
    for fresh_session in (False, True):
        q = programmer(batch, adm="99999999") if fresh_session else p
        card, wire = insert(vc)
        again = q.program(card)
        assert again.outcome is Outcome.REFUSED and "not sending it again" in again.reason
        assert wire.adm_verifies() == 0
    assert vc.image_state().pins["ADM1"].tries == 2


@pytest.mark.parametrize("tries", [1, 0])
def test_adm_below_the_safe_minimum_is_refused_without_verify(batch, tries):
    vc = VirtualUicc.from_image(None)
    vc.image_state().pins["ADM1"].tries = tries
    card, wire = insert(vc)
    result = programmer(batch).program(card)
    assert result.outcome is Outcome.REFUSED
    assert f"{tries} tries left" in result.reason
    assert wire.adm_verifies() == 0 and wire.updates() == 0
    assert batch.journal.status_counts()[RecordState.PENDING] == 4


ADM_CASES = [  # (value, accepted for an SJA2 (8-digit decimal ADM1))
    ("11223344", True),
    ("3131323233343434", True),  # pySim pin_adm_hex: 8 ASCII digits as hex
    ("1122334", False),  # 7 digits: a lost leading zero
    ("CAE743DB9C5B5A58", False),  # binary ADM of another card type
]


@pytest.mark.parametrize("value, ok", ADM_CASES)
def test_adm_format_is_checked_before_it_can_cost_a_try(value, ok):
    if ok:
        assert len(adm_for_card(Secret(value), SYSMO_ISIM_SJA2).reveal()) == 8
    else:
        with pytest.raises(SafetyRefusal) as exc:
            adm_for_card(Secret(value), SYSMO_ISIM_SJA2)
        assert value not in str(exc.value)


def test_malformed_vendor_adm_releases_the_record(batch):
    vc = VirtualUicc.from_image(None)
    card, wire = insert(vc)
    result = programmer(batch, adm="1122334").program(card)
    assert result.outcome is Outcome.REFUSED and "leading zero" in result.reason
    assert wire.adm_verifies() == 0
    assert batch.journal.status_counts()[RecordState.PENDING] == 4


# --- card types ----------------------------------------------------------------------------------------

class NoDfSystem(Wire):
    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        if apdu[1] == 0xA4 and apdu[5:7] == b"\xa5\x15":
            return b"\x6a\x82"
        return super().transmit(apdu, secret=secret)


@pytest.mark.parametrize("atr, words", [
    ("3B9F96801F878031E073FE211B674A357530350259C4", "sysmoISIM-SJA5 is recognised but"),
    ("3B8F8001804F0CA000000306030001000000006A", "unknown card (ATR 3B8F"),
])
def test_unknown_card_types_are_refused(batch, atr, words):
    vc = VirtualUicc.from_image(None)
    vc.atr = bytes.fromhex(atr)
    card, wire = insert(vc)
    result = programmer(batch).program(card)
    assert result.outcome is Outcome.REFUSED and words in result.reason
    assert wire.sent == []


def test_sja2_atr_without_its_files_is_refused(batch):
    vc = VirtualUicc.from_image(None)
    vc.reset()
    result = programmer(batch).program(Card(Channel(NoDfSystem(vc))))
    assert result.outcome is Outcome.REFUSED and "no DF.SYSTEM" in result.reason


# --- verification ------------------------------------------------------------------------------------

class LosesWrites(Wire):
    """A card that answers 9000 to UPDATE BINARY of DF.GSM's EF.IMSI without storing it."""

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        if apdu[1] == 0xA4:
            self.selected = apdu[5:-1]
        if apdu[1] == 0xD6 and getattr(self, "selected", b"") == b"\x7f\x20\x6f\x07":
            return b"\x90\x00"
        return super().transmit(apdu, secret=secret)


def test_a_file_that_reads_back_different_fails_the_card(batch):
    vc = VirtualUicc.from_image(None)
    vc.reset()
    result = programmer(batch).program(Card(Channel(LosesWrites(vc))))
    assert result.outcome is Outcome.FAILED
    assert ("EF.IMSI (written at 7F20/6F07, read at 7FFF/6F07) reads back different: wrote 08"
            in result.reason)
    assert batch.journal.record(0).state is RecordState.FAILED


def test_authenticate_with_other_keys_fails(batch):

    vc = VirtualUicc.from_image(None)
    card, _ = insert(vc)
    card.verify_adm(0x0A, Secret(pin_block(VENDOR_ADM)), min_tries=2)
    p = programmer(batch)
    sec = CardSecrets.from_record(batch.records[0], SYSMO_ISIM_SJA2)
    with pytest.raises(VerificationFailed, match="MAC-A"):
        p._authenticate(card, Sja2Driver(), sec)


def test_sync_failure_is_resolved_once(batch):
    """A card whose SQN is far ahead answers AUTS; simtool checks MAC-S and retries above it."""
    vc = VirtualUicc.from_image(None)
    vc._auth.sqn = 0x123456780  # noqa: SLF001 - the card's highest accepted SQN
    card, wire = insert(vc)
    sec = CardSecrets.from_record(batch.records[0], SYSMO_ISIM_SJA2)
    sec = CardSecrets(Secret(defaults.KI), Secret(defaults.OPC), *(
        getattr(sec, f) for f in ("pin1", "puk1", "pin2", "puk2", "adm1")))
    card.verify_adm(0x0A, Secret(pin_block(VENDOR_ADM)), min_tries=2)
    programmer(batch)._authenticate(card, Sja2Driver(), sec)
    assert sum(1 for a in wire.sent if a[1] == 0x88) == 2
    assert vc._auth.sqn == ((0x123456780 >> 5) + 1) << 5  # noqa: SLF001


# --- secrets -------------------------------------------------------------------------------------------

def test_no_secret_in_results_trace_or_journal(batch):
    vc = VirtualUicc.from_image(None)
    vc.reset()
    lines: list[str] = []
    card = Card(Channel(TracingTransport(InProcessTransport(vc), lines.append)))
    result = programmer(batch).program(card)
    assert result.outcome is Outcome.VERIFIED
    rec = batch.records[0]
    text = "\n".join(lines + [json.dumps(result.to_json()), result.render(),
                              repr(batch.journal.record(0))]
                     + [repr(e) for e in batch.journal.events()]).upper().replace(" ", "")
    for secret in (rec.ki.reveal().hex(), rec.opc.reveal().hex(),
                   pin_block(rec.adm1.reveal()).hex(), pin_block(rec.pin1.reveal()).hex(),
                   pin_block(rec.puk1.reveal()).hex(), pin_block(VENDOR_ADM).hex()):
        assert secret.upper() not in text
    assert any("REDACTED" in line.upper() for line in lines)


# --- the vendor key file -------------------------------------------------------------------------------

def test_card_keys_use_pysim_column_names(tmp_path):
    f = tmp_path / "keys.csv"
    f.write_text('"imsi","iccid","acc","ki","opc","adm1"\n'
                 '"999700000053010","8988211000000530108","0001","51AC","E5A0","65942330"\n'
                 "260011,8988211000000530116F,0002,,,13445792\n")
    keys = read_card_keys(f)
    assert keys.current_adm("8988211000000530108") == Secret("65942330")
    assert keys.current_adm("8988211000000530116") == Secret("13445792")
    with pytest.raises(DataError, match="no ADM1 for the card with ICCID 8988"):
        keys.current_adm("8988211000000530124")
    hexed = tmp_path / "hex.csv"
    hexed.write_text("ICCID,PIN_ADM_HEX\n8988211000000530108,3635393432333330\n")
    assert read_card_keys(hexed).current_adm("8988211000000530108") == \
        Secret("3635393432333330")
    assert "65942330" not in repr(keys)


@pytest.mark.parametrize("text, where", [
    ("iccid,ki\n8988211000000530108,00\n", ":1"),
    ("iccid,adm1\n8988211000000530108,\n", ":2"),
    ("iccid,adm1\n8988211000000530108,6594233x\n", ":2"),
    ("iccid,adm1\n8988211000000530108,65942330\n8988211000000530108,65942331\n", ":3"),
])
def test_bad_card_key_files_name_the_line_not_the_key(tmp_path, text, where):
    f = tmp_path / "keys.csv"
    f.write_text(text)
    with pytest.raises(DataError) as exc:
        read_card_keys(f)
    assert where in str(exc.value) and "6594233" not in str(exc.value)


def test_vendor_key_is_found_by_factory_iccid_after_the_iccid_changed(batch, tmp_path):
    """Pulled after EF.ICCID was written: the card now shows its new ICCID, but its ADM1 is
    still the vendor's, listed under the ICCID it came with."""
    keys = CardKeyFile("keys.csv", {FACTORY_ICCID: Secret(VENDOR_ADM)})
    p = Programmer(batch.journal, batch.records, batch.card, keys, station="s",
                   allow_iccid_change=True)
    vc = VirtualUicc.from_image(None)
    pull = 1 + apdus_until_iccid_update(make_batch(tmp_path / "ref", 1))
    first = p.program(insert(vc, pull_at=pull)[0])
    # pulled at the read-back of EF.ICCID: written, but the journal has not marked the step
    assert first.outcome is Outcome.PARTIAL and first.step == "iccid"
    assert vc.image_state().files["3F00/2FE2"] == swapped_bcd(first.iccid, 10)
    second = p.program(insert(vc)[0])
    assert second.outcome is Outcome.VERIFIED and second.iccid == first.iccid


def apdus_until_iccid_update(batch) -> int:
    """The number of APDUs up to and including the UPDATE BINARY of EF.ICCID."""
    vc = VirtualUicc.from_image(None)
    card, wire = insert(vc)
    seen_iccid = False
    programmer(batch).program(card)
    for i, apdu in enumerate(wire.sent):
        if apdu[1] == 0xA4 and apdu[5:-1].endswith(b"\x2f\xe2"):
            seen_iccid = True
        if seen_iccid and apdu[1] == 0xD6:
            return i + 1
    raise AssertionError("no EF.ICCID update")


# --- SJA2 file codecs ----------------------------------------------------------------------------------

PIN_FILE_EXAMPLES = [  # pySim sysmocom_sja2.py EF_PIN vectors, and one PIN file without a PUK
    (PinFile(0xF1, 3, 3, Secret(b"1234\xff\xff\xff\xff"),
             PukPart(10, 10, Secret(b"12345678"))), "f1030331323334ffffffff0a0a3132333435363738"),
    (PinFile(0xF0, 3, 3, Secret(bytes.fromhex("9999999999999999"))), "f003039999999999999999"),
]


@pytest.mark.parametrize("value, hexdata", PIN_FILE_EXAMPLES)
def test_pin_file_examples(value, hexdata):
    data = bytes.fromhex(hexdata)
    assert PinFile.decode(data, with_puk=value.puk is not None) == value
    assert value.encode() == data


def test_pin_file_new_secrets_reset_counters_and_set_enabled():
    old = PinFile.decode(bytes.fromhex("f0010331323334ffffffff020a3132333435363738"),
                         with_puk=True)
    new = old.with_new_secrets(Secret(b"9876\xff\xff\xff\xff"), Secret(b"87654321"),
                               enabled=False)
    assert new.encode().hex() == "f1030339383736ffffffff0a0a3837363534333231"
    assert new.state & PinState.DISABLED
    with pytest.raises(DataError):
        PinFile.decode(b"\xf0\x03\x03", with_puk=False)


def test_auth_key_file_example():
    # pySim sysmocom_sja2.py EF_USIM_AUTH_KEY vector (Milenage, OPc)
    data = bytes.fromhex("141898d827f70120d33b3e7462ee5fd6fe6ca53d7a0a804561646816d7b0c702fb")
    key = AuthKeyFile.decode(data)
    assert key.cfg == CFG_MILENAGE_OPC
    assert key.ki == Secret(bytes.fromhex("1898d827f70120d33b3e7462ee5fd6fe"))
    assert key.encode() == data
    assert "1898" not in repr(key)


def test_usim_sqn_file_gives_the_next_fresh_sqn():
    # pySim sysmocom_sja2.py EF_USIM_SQN vector: IND length 5, all freshness values 0
    data = bytes.fromhex("d50300020000000000020000000000" + "00" * (6 * 32 - 1))
    sqn = UsimSqnFile.decode(data)
    assert (sqn.ind_len, sqn.delta_max, len(sqn.freshness)) == (5, 1 << 33, 32)
    assert sqn.next_sqn() == 1 << 5
    busy = UsimSqnFile(0xD5, 0x03, 0, 0, (4, 9, 2))
    assert busy.next_sqn() == 10 << 5


# --- the command line, before any reader is touched ------------------------------------------------

def run_cli(*args: str):
    from click.testing import CliRunner

    from simtool.cli.main import _register, cli

    _register()
    return CliRunner().invoke(cli, list(args))


def test_cli_takes_one_adm_source(tmp_path):
    keys = tmp_path / "keys.csv"
    keys.write_text("iccid,adm1\n8948011234567890128,11223344\n")
    (tmp_path / "b").mkdir()
    result = run_cli("batch", "program", "--allow-iccid-change", str(tmp_path / "b"), "--adm1", VENDOR_ADM,
                     "--card-keys", str(keys))
    assert result.exit_code == 2 and "not both" in result.output


def test_cli_stops_on_a_bad_key_file_before_any_card(tmp_path):
    make_batch(tmp_path / "b", 1).journal.close()
    keys = tmp_path / "keys.csv"
    keys.write_text("iccid,adm1\n8948011234567890128,1122x344\n")
    result = run_cli("batch", "program", "--allow-iccid-change", str(tmp_path / "b"), "--card-keys", str(keys))
    assert isinstance(result.exception, DataError)
    assert "keys.csv:2" in str(result.exception) and "1122x344" not in str(result.exception)


def test_licence_bound_iccid_is_not_rewritten_without_the_flag(tmp_path):
    """sysmoISIM-SJA2: the vendor ties the OS licence to the factory ICCID, so a card whose
    ICCID is not the record's is refused — and its claim released — without the flag."""
    batch = make_batch(tmp_path / "b", 2)
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="s")
    vc = VirtualUicc.from_image(None)
    card, wire = insert(vc)
    result = p.program(card)
    assert result.outcome is Outcome.REFUSED and "--allow-iccid-change" in result.reason
    assert wire.adm_verifies() == 0 and wire.updates() == 0
    assert batch.journal.status_counts().get("pending") == 2


def test_a_card_keeping_its_factory_iccid_is_programmed_without_the_flag(tmp_path):
    """The SJA2 way: the batch takes the card's own ICCID from the vendor's list, so nothing
    asks to change it and no --allow-iccid-change is needed."""
    folder = tmp_path / "b"
    generate_batch(load_profile("milo"), 1, folder, panel_import=False, rng=SeededRandom(3),
                   iccids=["8948011234567890128"])  # the virtual card's factory ICCID
    batch = open_batch(folder)
    assert batch.factory_iccids
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="s", factory_iccids=batch.factory_iccids)
    vc = VirtualUicc.from_image(None)
    result = p.program(insert(vc)[0])
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert result.iccid == result.card_iccid == "8948011234567890128"
    batch.journal.close()
