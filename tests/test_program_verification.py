"""The check after programming must catch a card that answers AUTHENTICATE wrongly.

The emulator and simtool share simtool.milenage, so an honest virtual card always answers
right; these card doubles (like ``LosesWrites`` in test_program.py) program normally and then
corrupt one field of their AUTHENTICATE answer (TS 31.102 §7.1.2.1: ``DB`` L RES L CK L IK
[L Kc] on success, ``DC`` L AUTS on a synchronisation failure, AUTS = SQN_MS ⊕ AK* ‖ MAC-S,
TS 33.102 §6.3.3).  The programming run must end FAILED, saying which value was wrong.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.transport import InProcessTransport
from simtool.card import Card
from simtool.errors import (CardRemoved, DataError, PcscUnavailable, UnknownCardType,
                            WrongPin)
from simtool.provision.generate import generate_batch
from simtool.provision.journal import JournalError, RecordState
from simtool.provision.profile import load_profile
from simtool.provision.cardkeys import FixedAdm
from simtool.provision.program import STEPS, CardResult, Outcome, Programmer, open_batch
from simtool.secret import Secret
from tests.virtual_card import VirtualUicc
from tests.virtual_card.image import default_state
from tests.virtual_card.pins import pin_block
from tests.conftest import SeededRandom

VENDOR_ADM = "11223344"  # the emulator's default image
AUTHENTICATE, GET_RESPONSE = 0x88, 0xC0


def _fields(data: bytes) -> dict[str, tuple[int, int]]:
    """Where each value of an AUTHENTICATE answer lies: name -> (start, end)."""
    if data[0] == 0xDC:  # synchronisation failure: DC 0E AUTS; MAC-S is AUTS[6:14]
        assert data[1] == 14 and len(data) == 16, data.hex()
        return {"AUTS": (2, 16), "MAC-S": (8, 16)}
    assert data[0] == 0xDB, data.hex()
    out, pos = {}, 1
    for name in ("RES", "CK", "IK", "Kc"):
        if pos == len(data):
            break
        length = data[pos]
        out[name] = (pos + 1, pos + 1 + length)
        pos += 1 + length
    assert pos == len(data), data.hex()
    return out


class CorruptsAuthenticate(InProcessTransport):
    """A card that flips the last bit of one value of its AUTHENTICATE answer (3G context),
    whether the answer comes at once or through GET RESPONSE after 61xx."""

    def __init__(self, card: VirtualUicc, field: str | None) -> None:
        super().__init__(card)
        self.field = field
        self.answers: list[bytes] = []  # every AUTHENTICATE answer as the card made it
        self.corrupted: list[str] = []
        self._pending = False

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        ins = apdu[1]
        if ins == AUTHENTICATE and self.field == "MAC-A":  # keys differ: 98 62 (TS 31.102)
            self.corrupted.append(self.field)
            return b"\x98\x62"
        resp = super().transmit(apdu, secret=secret)
        if ins == AUTHENTICATE:
            self._pending = True
        elif ins != GET_RESPONSE:
            self._pending = False
        if self._pending and len(resp) > 2 and resp[-2:] == b"\x90\x00":
            self._pending = False
            data = bytearray(resp[:-2])
            self.answers.append(bytes(data))
            where = _fields(bytes(data))
            if self.field == "AUTS-13" and "AUTS" in where:  # one byte short
                self.corrupted.append(self.field)
                return b"\xdc\x0d" + bytes(data[2:15]) + resp[-2:]
            if self.field in where:
                data[where[self.field][1] - 1] ^= 0x01
                self.corrupted.append(self.field)
            return bytes(data) + resp[-2:]
        return resp


@pytest.fixture
def batch(tmp_path):
    generate_batch(load_profile("milo"), 2, tmp_path / "batch", panel_import=False,
                   rng=SeededRandom(5))
    b = open_batch(tmp_path / "batch")
    yield b
    b.journal.close()


def program(batch, wire: CorruptsAuthenticate):
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="test-station", token_bytes=random.Random(7).randbytes,
                   allow_iccid_change=True)
    p.check_records()
    wire.card.reset()
    return p.program(Card(Channel(wire)))


def card(sqn: int | None = None, window: int | None = None) -> VirtualUicc:
    state = default_state()
    if sqn is not None:
        state.sqn = sqn  # the card has accepted this SQN: a lower one gets AUTS
    state.sqn_window = window  # how far ahead a fresh SQN may be (None: any distance)
    return VirtualUicc(state)


def test_an_honest_double_verifies_and_answers_with_kc(batch):
    """The control: without corruption the double is a card that passes, and its answer holds
    every field the tests below corrupt."""
    wire = CorruptsAuthenticate(card(), None)
    result = program(batch, wire)
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert [set(_fields(a)) for a in wire.answers] == [{"RES", "CK", "IK", "Kc"}]

    ahead = CorruptsAuthenticate(card(sqn=0x123456780), None)
    result = program(batch, ahead)
    assert result.outcome is Outcome.VERIFIED, result.reason
    assert [a[0] for a in ahead.answers] == [0xDC, 0xDB]


@pytest.mark.parametrize("field,reason", [
    ("RES", "AUTHENTICATE: the card's RES differs from Milenage with the record's Ki/OPc"),
    ("CK", "AUTHENTICATE: the card's CK differs from Milenage with the record's Ki/OPc"),
    ("IK", "AUTHENTICATE: the card's IK differs from Milenage with the record's Ki/OPc"),
    ("Kc", "AUTHENTICATE: the card's Kc differs from c3(CK, IK)"),
    ("MAC-A", "the card rejected the network's MAC-A (98 62): its Ki/OPc differ from the record"),
])
def test_a_wrong_authenticate_value_fails_the_card(batch, field, reason):
    wire = CorruptsAuthenticate(card(), field)
    result = program(batch, wire)
    assert wire.corrupted == [field]
    assert result.outcome is Outcome.FAILED
    assert (result.step, result.reason) == ("authenticate", f"authenticate: {reason}")
    record = batch.journal.record(result.index)
    assert record.state is RecordState.FAILED and record.reason == result.reason


def test_a_card_still_out_of_sync_after_one_resync_fails(batch):
    """SQN far behind the card's and a window of 1: the retry one SEQ above SQN_MS is still
    not fresh, the second answer is AUTS again, and simtool does not resynchronise twice."""
    wire = CorruptsAuthenticate(card(sqn=0x123456780, window=1), None)
    result = program(batch, wire)
    assert [a[0] for a in wire.answers] == [0xDC, 0xDC]
    assert result.outcome is Outcome.FAILED
    assert result.reason == "authenticate: AUTHENTICATE: synchronisation failure after resync"


def test_an_auts_of_the_wrong_length_fails_without_a_retry(batch):
    wire = CorruptsAuthenticate(card(sqn=0x123456780), "AUTS-13")
    result = program(batch, wire)
    assert wire.corrupted == ["AUTS-13"] and len(wire.answers) == 1
    assert result.reason == "authenticate: AUTHENTICATE: synchronisation failure after resync"


def test_an_auts_with_a_wrong_mac_s_fails_the_card(batch):
    """A synchronisation failure is answered once, after checking MAC-S (TS 33.102 §6.3.5):
    a card whose MAC-S does not match the record's keys is not resynchronised."""
    wire = CorruptsAuthenticate(card(sqn=0x123456780), "MAC-S")
    result = program(batch, wire)
    assert wire.corrupted == ["MAC-S"]
    assert result.outcome is Outcome.FAILED
    assert result.reason == ("authenticate: AUTHENTICATE: the card's AUTS has a wrong MAC-S: "
                             "its Ki/OPc differ from the record")
    assert len(wire.answers) == 1  # no second AUTHENTICATE on a forged AUTS
    assert batch.journal.record(result.index).state is RecordState.FAILED


# --- what a run reports, and what a refused card leaves in the journal ---------------------------

def test_card_result_json_and_text():
    ok = CardResult(Outcome.VERIFIED, card_iccid="8948011234567890128", card_type="sysmoISIM-SJA2",
                    index=3, iccid="8948970000000010007", imsi="260970000001000",
                    msisdn="+48531000100", resumed=True, steps=("iccid", "imsi"),
                    seconds=1.23456)
    assert ok.to_json() == {
        "outcome": "verified", "card_iccid": "8948011234567890128",
        "card_type": "sysmoISIM-SJA2", "index": 3, "iccid": "8948970000000010007",
        "imsi": "260970000001000", "msisdn": "+48531000100", "resumed": True,
        "steps": ["iccid", "imsi"], "step": None, "reason": None, "seconds": 1.235}
    assert ok.render() == ("VERIFIED  record 3 ICCID 8948970000000010007 IMSI 260970000001000 "
                           "(resumed) [1.23 s]")
    fresh = CardResult(Outcome.VERIFIED, index=0, iccid="1", imsi="2", seconds=0.5)
    assert fresh.render() == "VERIFIED  record 0 ICCID 1 IMSI 2 [0.50 s]"
    failed = CardResult(Outcome.FAILED, index=2, iccid="1", imsi="2", step="auth",
                        reason="auth: the card's RES differs", seconds=2)
    assert failed.render() == "FAILED    record 2 ICCID 1: auth: the card's RES differs [2.00 s]"
    assert failed.to_json()["step"] == "auth"
    assert CardResult(Outcome.REFUSED, card_iccid="894", reason="no").render() == \
        "REFUSED   card 894: no [0.00 s]"
    assert CardResult(Outcome.REFUSED).render() == "REFUSED   card (unread) [0.00 s]"


def _spend_adm_tries(vc: VirtualUicc, n: int) -> None:
    vc.reset()
    card = Card(Channel(InProcessTransport(vc)))
    for _ in range(n):
        with pytest.raises(WrongPin):
            card.verify_pin(0x0A, Secret(pin_block("00000000")))


def test_a_card_with_one_adm1_try_left_is_refused_before_it_claims_a_record(batch):
    vc = card()
    _spend_adm_tries(vc, 2)  # one try left: below the minimum of 2
    result = program(batch, CorruptsAuthenticate(vc, None))
    assert result.outcome is Outcome.REFUSED and "ADM1 has 1 tries left" in result.reason
    assert batch.journal.record(0).state is RecordState.PENDING
    assert program(batch, CorruptsAuthenticate(card(), None)).index == 0


class RefusingAdmSource:
    """A vendor key source that has no key for this card."""

    def current_adm(self, factory_iccid: str) -> Secret[str]:
        raise DataError(f"no ADM1 for the card with ICCID {factory_iccid}", where="keys.csv")


def _programmer(batch, adm_source=None) -> Programmer:
    return Programmer(batch.journal, batch.records, batch.card,
                      adm_source or FixedAdm(Secret(VENDOR_ADM)), station="test-station",
                      token_bytes=random.Random(7).randbytes, allow_iccid_change=True)


def test_no_vendor_key_for_a_fresh_card_gives_its_record_back(batch):
    vc = card()
    vc.reset()
    result = _programmer(batch, RefusingAdmSource()).program(Card(Channel(InProcessTransport(vc))))
    assert result.outcome is Outcome.REFUSED
    assert result.reason == "keys.csv: no ADM1 for the card with ICCID 8948011234567890128"
    assert batch.journal.record(0).state is RecordState.PENDING
    assert vc.image_state().pins["ADM1"].tries == 3  # nothing was sent


def test_no_vendor_key_for_a_resumed_card_leaves_it_partial_with_the_reason(batch):
    vc = card()
    first = program(batch, PulledAtFirstWrite(vc))
    assert first.outcome is Outcome.PARTIAL and first.index == 0
    vc.reset()
    again = _programmer(batch, RefusingAdmSource()).program(Card(Channel(InProcessTransport(vc))))
    assert again.outcome is Outcome.REFUSED
    record = batch.journal.record(0)
    assert record.state is RecordState.PARTIAL
    assert record.reason == ("no usable ADM1: keys.csv: no ADM1 for the card with ICCID "
                             "8948011234567890128")


class PulledAtFirstWrite(CorruptsAuthenticate):
    def __init__(self, card: VirtualUicc) -> None:
        super().__init__(card, None)

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        if apdu[1] in (0xD6, 0xDC):
            raise CardRemoved("card pulled")
        return super().transmit(apdu, secret=secret)


def test_a_wrong_vendor_adm1_fails_once_with_the_tries_left(batch):
    vc = card()
    vc.reset()
    result = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret("99999999")),
                        station="s", allow_iccid_change=True).program(
        Card(Channel(InProcessTransport(vc))))
    assert result.outcome is Outcome.FAILED
    assert result.reason == ("ADM1 refused by the card (2 tries left); simtool will not send "
                             "it again")
    assert batch.journal.record(result.index).reason == result.reason


def test_the_iccid_is_read_with_one_select_by_path_and_one_read(batch):
    """EF.ICCID before any VERIFY: SELECT by path from the MF (its FCP gives the size) and one
    READ BINARY of the 10 bytes (TS 102 221 §13.2), no SELECT of the MF first."""
    wire = CorruptsAuthenticate(card(), None)
    sent: list[bytes] = []
    real = wire.transmit
    wire.transmit = lambda apdu, *, secret=False: (sent.append(apdu), real(apdu, secret=secret))[1]
    program(batch, wire)
    at = sent.index(bytes.fromhex("00A40804022FE200"))
    assert sent[at + 1] == bytes.fromhex("00B000000A")
    assert bytes.fromhex("00A4000C023F00") not in sent[:at]


def test_a_record_that_cannot_be_encoded_is_named_before_any_card(batch):
    records = dict(batch.records)
    records[1] = dataclasses.replace(records[1], msisdn="+48" + "5" * 30)
    p = Programmer(batch.journal, records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="s")
    with pytest.raises(DataError) as info:
        p.check_records()
    assert str(info.value).startswith("record 1: ")


def test_a_batch_for_a_card_type_without_a_driver_is_refused(batch):
    other = dataclasses.replace(batch.card, card_type="sysmoUSIM-SJS1")
    p = Programmer(batch.journal, batch.records, other, FixedAdm(Secret(VENDOR_ADM)),
                   station="s")
    with pytest.raises(UnknownCardType) as info:
        p.check_records()
    assert str(info.value) == "the batch is for sysmoUSIM-SJS1, which simtool cannot program"


def test_two_adm1_tries_are_enough_and_one_is_refused_before_a_claim(batch):
    vc = card()
    _spend_adm_tries(vc, 1)  # two left: the minimum
    assert program(batch, CorruptsAuthenticate(vc, None)).outcome is Outcome.VERIFIED
    low = card()
    _spend_adm_tries(low, 2)
    result = program(batch, CorruptsAuthenticate(low, None))
    assert result.outcome is Outcome.REFUSED
    assert result.reason == ("ADM1 has 1 tries left, below the safe minimum of 2: refusing to "
                             "VERIFY (a blocked ADM1 cannot be recovered)")
    # refused before it claimed anything: record 1 was never touched
    assert [e.event for e in batch.journal.events() if e.index == 1] == []


def test_progress_steps_seconds_and_the_records_numbers(batch):
    steps: list[str] = []
    ticks = iter([100.0, 103.25])
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="s", allow_iccid_change=True, progress=steps.append,
                   clock=lambda: next(ticks))
    vc = card()
    vc.reset()
    result = p.program(Card(Channel(InProcessTransport(vc))))
    rec = batch.records[0]
    assert result.outcome is Outcome.VERIFIED and result.seconds == 3.25
    assert (result.iccid, result.imsi, result.msisdn) == (rec.iccid, rec.imsi, rec.msisdn)
    assert steps[:2] == ["identify", "claim"]
    assert steps[-2:] == ["read back", "authenticate"]


def test_a_card_gone_before_programming_and_an_empty_batch(batch):
    class Gone(CorruptsAuthenticate):
        def transmit(self, apdu, *, secret=False):
            if apdu[1] == 0xB0:  # READ BINARY (EF.ICCID)
                raise CardRemoved("card pulled")
            return super().transmit(apdu, secret=secret)

    result = program(batch, Gone(card(), None))
    assert result.outcome is Outcome.REMOVED
    assert result.reason == ("card gone before programming started (card pulled during "
                             "READ BINARY EF.ICCID)")
    for _ in range(2):
        assert program(batch, CorruptsAuthenticate(card(), None)).outcome is Outcome.VERIFIED
    empty = program(batch, CorruptsAuthenticate(card(), None))
    assert (empty.outcome, empty.reason) == (Outcome.NO_RECORD,
                                             "no pending record left in the batch")


def test_a_card_without_an_iccid_is_refused():
    state = default_state()
    state.files["3F00/2FE2"] = b"\xff" * 10
    vc = VirtualUicc(state)
    vc.reset()
    from simtool.provision.program import _read_iccid

    with pytest.raises(DataError) as info:
        _read_iccid(Card(Channel(InProcessTransport(vc))))
    assert str(info.value) == ("the card's EF.ICCID is empty or malformed: cannot tell the card "
                               "apart in the journal")


def test_a_card_that_refused_its_adm1_is_never_sent_one_again(batch):
    vc = card()
    vc.reset()
    wrong = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret("99999999")),
                       station="s", allow_iccid_change=True)
    assert wrong.program(Card(Channel(InProcessTransport(vc)))).outcome is Outcome.FAILED
    vc.reset()
    again = wrong.program(Card(Channel(InProcessTransport(vc))))
    assert (again.outcome, again.reason) == (
        Outcome.REFUSED, "this card refused its ADM1 earlier: not sending it again")
    assert vc.image_state().pins["ADM1"].tries == 2


def test_a_journal_record_missing_from_the_folder_stops_the_run(batch):
    records = {k: v for k, v in batch.records.items() if k != 0}
    p = Programmer(batch.journal, records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="s", allow_iccid_change=True)
    vc = card()
    vc.reset()
    with pytest.raises(JournalError) as info:
        p.program(Card(Channel(InProcessTransport(vc))))
    assert str(info.value) == "journal record 0 is not in this batch folder"


class FailsAtFirstWrite(CorruptsAuthenticate):
    def __init__(self, card: VirtualUicc, exc: BaseException) -> None:
        super().__init__(card, None)
        self.exc = exc

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        if apdu[1] in (0xD6, 0xDC):
            raise self.exc
        return super().transmit(apdu, secret=secret)


@pytest.mark.parametrize("exc,reason", [
    (PcscUnavailable("pcscd went away"), "PcscUnavailable during iccid"),
    (KeyboardInterrupt(), "interrupted during iccid"),
])
def test_a_reader_failure_or_ctrl_c_leaves_the_record_resumable(batch, exc, reason):
    with pytest.raises(type(exc)):
        program(batch, FailsAtFirstWrite(card(), exc))
    record = batch.journal.record(0)
    assert (record.state, record.reason) == (RecordState.PARTIAL, reason)


def test_results_say_where_they_stopped_and_what_was_written(batch):
    result = program(batch, CorruptsAuthenticate(card(), "RES"))
    assert result.step == "authenticate" and result.steps == STEPS
    vc = card()
    vc.reset()
    wrong = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret("99999999")),
                       station="s", allow_iccid_change=True)
    refused = wrong.program(Card(Channel(InProcessTransport(vc))))
    assert (refused.step, refused.steps) == ("verify ADM1", ())


def test_open_batch_reads_the_id_and_loads_the_journal(tmp_path):
    folder = tmp_path / "b"
    generate_batch(load_profile("milo"), 2, folder, panel_import=False, rng=SeededRandom(9))
    shared = tmp_path / "shared.sqlite"
    opened = open_batch(folder, f"sqlite:///{shared}")
    try:
        assert opened.batch_id.startswith("milo-") and shared.exists()
        assert sorted(opened.records) == [0, 1]
        assert opened.journal.record(1).batch_id == opened.batch_id
    finally:
        opened.journal.close()
    toml = folder / "batch.toml"
    toml.write_text("\n".join(line for line in toml.read_text().splitlines()
                              if not line.startswith("batch_id")) + "\n")
    with pytest.raises(DataError) as info:
        open_batch(folder)
    assert str(info.value) == f"{toml}: batch_id: missing (required)"


def _insert(vc: VirtualUicc) -> Card:
    vc.reset()
    return Card(Channel(InProcessTransport(vc)))


def test_cards_simtool_cannot_program_are_refused_by_name(batch):
    sja5 = default_state()
    sja5.atr = bytes.fromhex("3B9F96801F878031E073FE211B674A357530350259C4")
    result = _programmer(batch).program(_insert(VirtualUicc(sja5)))
    assert (result.outcome, result.reason) == (
        Outcome.REFUSED, "sysmoISIM-SJA5 is recognised but simtool cannot program it (no "
                         "driver for its key files)")
    other = default_state()
    other.atr = bytes.fromhex("3B00")
    result = _programmer(batch).program(_insert(VirtualUicc(other)))
    assert result.reason == "unknown card (ATR 3B00): simtool programs sysmoISIM-SJA2 only"
    wrong_batch = dataclasses.replace(batch.card, card_type="sysmoISIM-SJA5")
    p = Programmer(batch.journal, batch.records, wrong_batch, FixedAdm(Secret(VENDOR_ADM)),
                   station="s", allow_iccid_change=True)
    assert p.program(_insert(card())).reason == \
        "this is a sysmoISIM-SJA2; the batch is for sysmoISIM-SJA5"


def test_a_vendor_key_of_the_wrong_format_is_named_and_costs_nothing(batch):
    vc = card()
    result = _programmer(batch, FixedAdm(Secret("1122334"))).program(_insert(vc))
    assert (result.outcome, result.reason) == (
        Outcome.REFUSED, "the card's current ADM1 has 7 digits; sysmoISIM-SJA2 ADM1 keys are "
                         "8 digits (was a leading zero lost?)")
    assert vc.image_state().pins["ADM1"].tries == 3
    assert batch.journal.record(0).state is RecordState.PENDING


def test_the_factory_iccid_is_kept_without_allow_iccid_change(batch):
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="s")
    result = p.program(_insert(card()))
    assert (result.outcome, result.reason) == (
        Outcome.REFUSED, "sysmoISIM-SJA2: the vendor ties the card's licence to its factory "
                         f"ICCID 8948011234567890128; not writing {batch.records[0].iccid} "
                         "without --allow-iccid-change")
    assert batch.journal.record(0).state is RecordState.PENDING


def test_a_pulled_card_is_partial_with_what_to_do(batch):
    result = program(batch, PulledAtFirstWrite(card()))
    assert (result.outcome, result.step, result.steps) == (Outcome.PARTIAL, "iccid", ("start",))
    assert result.reason == "card removed during iccid: re-insert it to finish"
    assert batch.journal.record(0).reason == "card removed during iccid"


def test_a_file_that_reads_back_different_stops_at_verify(batch):
    class LosesImsi(CorruptsAuthenticate):
        def transmit(self, apdu, *, secret=False):
            if apdu[1] == 0xA4:
                self.selected = apdu[5:-1]
            if apdu[1] == 0xD6 and getattr(self, "selected", b"") == b"\x7f\x20\x6f\x07":
                return b"\x90\x00"
            return super().transmit(apdu, secret=secret)

    result = program(batch, LosesImsi(card(), None))
    assert (result.outcome, result.step) == (Outcome.FAILED, "verify")
    assert result.reason.startswith("verify: ") and result.steps == STEPS


def test_progress_names_every_step(batch):
    steps: list[str] = []
    p = Programmer(batch.journal, batch.records, batch.card, FixedAdm(Secret(VENDOR_ADM)),
                   station="s", allow_iccid_change=True, progress=steps.append)
    assert p.program(_insert(card())).outcome is Outcome.VERIFIED
    assert [s for s in steps if s in STEPS] == list(STEPS)


def test_an_empty_batch_id_is_refused(tmp_path):
    folder = tmp_path / "b"
    generate_batch(load_profile("milo"), 1, folder, panel_import=False, rng=SeededRandom(9))
    toml = folder / "batch.toml"
    toml.write_text("\n".join('batch_id = ""' if line.startswith("batch_id") else line
                              for line in toml.read_text().splitlines()) + "\n")
    with pytest.raises(DataError, match=r"batch.toml:2: batch_id: must be 1\.\.255 printable"):
        open_batch(folder)
