"""``simtool batch program`` refuses a batch it cannot trust before any APDU, and decides a
card's ADM1 from what the card shows when the journal has no trace of it.

Each test runs the command line (``simtool.cli.main.main``) against an in-process virtual card:
the reader functions of ``simtool.cli.batch_program`` are replaced by one that hands out a
logging wire to a :class:`VirtualUicc`, so the test sees every APDU and the card's state.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from simtool.cli import batch_program
from simtool.provision.sealed import read_text, sealed_path
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile, parse_profile
from tests.test_program import VENDOR_ADM, SeededRandom, Wire
from tests.virtual_card import VirtualUicc
from tests.virtual_card.defaults import ICCID as FACTORY_ICCID

#: INS of commands that change a card (UPDATE BINARY/RECORD, CHANGE/UNBLOCK/DISABLE/ENABLE
#: PIN, CREATE/DELETE FILE, ACTIVATE/DEACTIVATE); VERIFY counts when it carries a key.
WRITING_INS = {0xD6, 0xD7, 0xDC, 0xDD, 0xE2, 0x24, 0x2C, 0x26, 0x28, 0xE0, 0xE4, 0x44, 0x04}


class Station:
    """The reader of ``batch program``: each connection inserts ``card`` afresh."""

    def __init__(self, card: VirtualUicc) -> None:
        self.card = card
        self.wires: list[Wire] = []

    def connect(self, reader: str, poll: float, say, stop=None) -> Wire:
        self.card.reset()
        wire = Wire(self.card)
        self.wires.append(wire)
        return wire

    @property
    def sent(self) -> list[bytes]:
        return [apdu for w in self.wires for apdu in w.sent]

    def writes(self) -> list[bytes]:
        return [a for a in self.sent
                if a[1] in WRITING_INS or (a[1] == 0x20 and len(a) > 5)]


@pytest.fixture
def station(monkeypatch):
    st = Station(VirtualUicc.from_image(None))
    monkeypatch.setenv("VIRTUAL_ADM1", VENDOR_ADM)  # not on the command line (it would warn)
    monkeypatch.setattr(batch_program, "_wait_for_card", st.connect)
    monkeypatch.setattr(batch_program, "_wait_for_removal", lambda *a: None)
    monkeypatch.setattr("simtool.apdu.pcsc.select_reader", lambda spec: "virtual reader")
    return st


def simtool(capsys, *args: str) -> tuple[int, str, str]:
    from simtool.cli.main import main

    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def program(capsys, folder: Path, *extra: str) -> tuple[int, str, str]:
    return simtool(capsys, "batch", "program", str(folder), "--count", "1", "--json",
                   "--poll", "0.05", *extra)


def make(folder: Path, count: int = 3, *, profile=None, iccids=None) -> Path:
    """A batch whose records are in a plain records.jsonl (0600), as an older batch or one
    unsealed for inspection has them, so that the faults below can be written into it; the
    checks are the same for sealed records (they run on the decrypted text)."""
    generate_batch(profile or load_profile("milo"), count, folder, panel_import=False,
                   rng=SeededRandom(5), iccids=iccids)
    plain = folder / "records.jsonl"
    text = read_text(plain).reveal()
    fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    sealed_path(plain).unlink()
    return folder


def card_state(card: VirtualUicc) -> str:
    state = card.image_state()
    return repr((sorted((k, bytes(v) if isinstance(v, (bytes, bytearray)) else v)
                        for k, v in state.files.items()),
                 sorted((k, p.tries, p.value.reveal(), p.enabled) for k, p in state.pins.items()),
                 sorted(state.auth.items())))


# --- faults in the batch folder: refused before any APDU -----------------------------------------

def _lines(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines()]


def _write_lines(folder: Path, records: list[dict]) -> None:
    (folder / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))


def _edit_toml(folder: Path, old: str, new: str) -> None:
    path = folder / "batch.toml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def dup_index_other_ki(folder):
    recs = _lines(folder)
    _write_lines(folder, recs + [{**recs[0], "ki": "00" * 16}])
    return r"records\.jsonl:4: index: 0 appears again \(first at .*records\.jsonl:1\)"


def bad_luhn(folder):
    recs = _lines(folder)
    iccid = recs[1]["iccid"]
    recs[1]["iccid"] = iccid[:-1] + str((int(iccid[-1]) + 1) % 10)
    _write_lines(folder, recs)
    return r"records\.jsonl:2: iccid: \d+ has a wrong Luhn check digit \(should end in \d\)"


def dup_imsi(folder):
    recs = _lines(folder)
    recs[2]["imsi"] = recs[0]["imsi"]
    _write_lines(folder, recs)
    return r"records\.jsonl:3: imsi: \d+ appears again"


def dup_msisdn(folder):
    recs = _lines(folder)
    recs[2]["msisdn"] = recs[1]["msisdn"]
    _write_lines(folder, recs)
    return r"records\.jsonl:3: msisdn: \d+ appears again"


def unknown_key(folder):
    recs = _lines(folder)
    recs[1]["kii"] = recs[1]["ki"]
    _write_lines(folder, recs)
    return r"records\.jsonl:2: kii: unknown field"


def repeated_key(folder):
    path = folder / "records.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[0] = lines[0].replace('"ki":', '"ki":"' + "11" * 16 + '","ki":', 1)
    path.write_text("".join(lines))
    return r"records\.jsonl:1: ki: appears twice in the record"


def ki_wrong_type(folder):
    recs = _lines(folder)
    recs[0]["ki"] = 12345
    _write_lines(folder, recs)
    return r"records\.jsonl:1: ki: must be a string, not a number"


def index_as_text(folder):
    recs = _lines(folder)
    recs[2]["index"] = "2"
    _write_lines(folder, recs)
    return r"records\.jsonl:3: index: must be an integer, not a string"


def index_missing(folder):
    recs = _lines(folder)
    recs[1]["index"] = 7
    _write_lines(folder, recs)
    return r"records\.jsonl:2: index: 7 is outside 0\.\.2 \(batch\.toml count 3\)"


def imsi_other_network(folder):
    recs = _lines(folder)
    recs[0]["imsi"] = "26001" + recs[0]["imsi"][5:]
    _write_lines(folder, recs)
    return r"records\.jsonl:1: imsi: 26001\d+ is not under the batch's MCC/MNC 26097"


def adm_wrong_form(folder):
    recs = _lines(folder)
    recs[1]["adm1"] = recs[1]["adm1"][:7]
    _write_lines(folder, recs)
    return r"records\.jsonl:2: adm1: must be 8 decimal digits$"


def edited_ki(folder):
    recs = _lines(folder)
    recs[1]["ki"] = "00" * 16  # well formed: only the digest can tell
    _write_lines(folder, recs)
    return (r"records\.jsonl: the records differ from those the batch and its exports were "
            r"made from \(records_sha256 in .*batch\.toml\)")


def unknown_format(folder):
    _edit_toml(folder, "format = 1\n", "format = 2\n")
    return r"batch\.toml:1: format: unknown batch format 2 \(this simtool reads 1\)"


def count_disagrees(folder):
    _edit_toml(folder, "count = 3\n", "count = 2\n")
    return r"batch\.toml:\d+: count: 2, but .*records\.jsonl holds 3 records"


def count_not_integer(folder):
    _edit_toml(folder, "count = 3\n", 'count = "3"\n')
    return r"batch\.toml:\d+: count: must be a integer, not str"


def count_float(folder):
    _edit_toml(folder, "count = 3\n", "count = 3.0\n")
    return r"batch\.toml:\d+: count: must be a integer, not float"


def adm_format_card_cannot_take(folder):
    _edit_toml(folder, 'adm_format = "decimal8"', 'adm_format = "hex16"')
    return (r"batch\.toml:\d+: card\.adm_format: sysmoISIM-SJA2 cards take ADM1 as decimal8, "
            r"not hex16")


def unknown_card_type(folder):
    _edit_toml(folder, 'type = "sysmoISIM-SJA2"', 'type = "sysmoISIM-SJA9"')
    return r"batch\.toml:\d+: card\.type: unknown card type 'sysmoISIM-SJA9'"


def first_iccid_disagrees(folder):
    first = _lines(folder)[0]["iccid"]
    _edit_toml(folder, f'first_iccid = "{first}"', 'first_iccid = "8948970000000000017"')
    return r"batch\.toml: first_iccid: 8948970000000000017, but record 0 .* has ICCID \d+"


def records_not_utf8(folder):
    path = folder / "records.jsonl"
    data = path.read_bytes()
    second = data.index(b"\n") + 1
    at = data.index(b'"account":"', second) + len('"account":"')
    path.write_bytes(data[:at] + b"\xff" + data[at + 1:])
    return rf"records\.jsonl:2: not UTF-8 text \(byte offset {at}, 0xFF\)"


def toml_not_utf8(folder):
    path = folder / "batch.toml"
    data = path.read_bytes()
    at = data.index(b"operator = ") + len(b"operator = ") + 1
    path.write_bytes(data[:at] + b"\xc3\x28" + data[at + 2:])
    line = data[:at].count(b"\n") + 1
    return rf"batch\.toml:{line}: not UTF-8 text \(byte offset {at}, 0xC3\)"


FAULTS = [dup_index_other_ki, bad_luhn, dup_imsi, dup_msisdn, unknown_key, repeated_key,
          ki_wrong_type, index_as_text, index_missing, imsi_other_network, adm_wrong_form, edited_ki,
          unknown_format, count_disagrees, count_not_integer, count_float,
          adm_format_card_cannot_take, unknown_card_type, first_iccid_disagrees,
          records_not_utf8, toml_not_utf8]


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__ for f in FAULTS])
def test_a_faulty_batch_is_refused_before_the_first_apdu(tmp_path, capsys, station, fault):
    folder = make(tmp_path / "b")
    secrets = {v for r in _lines(folder) for k, v in r.items()
               if k in ("ki", "opc", "adm1", "pin1", "puk1", "pin2", "puk2")}
    pattern = fault(folder)
    before = card_state(station.card)
    code, out, err = program(capsys, folder, "--adm1", "env:VIRTUAL_ADM1", "--allow-iccid-change")
    assert code == 4, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert re.search(pattern, lines[0]), lines[0]
    assert "Traceback" not in err and out == ""
    assert station.sent == [] and card_state(station.card) == before
    assert not (folder / "journal.sqlite").exists()  # nothing was loaded either
    for secret in secrets:
        assert secret not in err


def test_records_readable_by_others_are_refused(tmp_path, capsys, station):
    folder = make(tmp_path / "b")
    os.chmod(folder / "records.jsonl", 0o644)
    code, _, err = program(capsys, folder, "--adm1", "env:VIRTUAL_ADM1", "--allow-iccid-change")
    assert code == 5, err
    assert re.search(r"records\.jsonl: the batch's records file .* is accessible by "
                     r"group/others \(mode 0644\); chmod 600 it first", err), err
    assert station.sent == []


def test_a_checked_batch_programs(tmp_path, capsys, station):
    """The checks pass on what ``batch generate`` writes (the control for the faults above)."""
    folder = make(tmp_path / "b")
    code, out, err = program(capsys, folder, "--adm1", "env:VIRTUAL_ADM1", "--allow-iccid-change")
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["outcome"] == "verified"


# --- the vendor's card-key file ------------------------------------------------------------------

def _keys(tmp_path: Path, body: bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "vendor-keys.csv"
    path.write_bytes(b"iccid,imsi,adm1\n" + body)
    os.chmod(path, mode)
    return path


@pytest.mark.parametrize("body, pattern", [
    (b"8948011234567890128,001010000000001,11223344\n"
     b"8948011234567890129,001010000000002,11223345\n",
     r"vendor-keys\.csv:3: iccid: 8948011234567890129 has a wrong Luhn check digit "
     r"\(should end in 8\)"),
    (b"8948011234567890128,00101\xe9,11223344\n",
     r"vendor-keys\.csv:2: not UTF-8 text \(byte offset 41, 0xE9\)"),
], ids=["bad-luhn", "not-utf8"])
def test_a_faulty_card_key_file_names_file_and_line(tmp_path, capsys, station, body, pattern):
    folder = make(tmp_path / "b")
    keys = _keys(tmp_path, body)
    code, _, err = program(capsys, folder, "--card-keys", str(keys))
    assert code == 4 and re.search(pattern, err), err
    assert "11223344" not in err and station.sent == []


def test_a_card_key_file_others_may_write_is_refused(tmp_path, capsys, station):
    folder = make(tmp_path / "b")
    keys = _keys(tmp_path, b"8948011234567890128,001010000000001,11223344\n", 0o666)
    code, _, err = program(capsys, folder, "--card-keys", str(keys))
    assert code == 5 and "is writable by group/others (mode 0666); chmod 600" in err, err
    assert station.sent == []


def test_a_card_key_file_others_may_read_is_used_with_a_warning(tmp_path, capsys, station):
    folder = make(tmp_path / "b", iccids=[FACTORY_ICCID, "8948011234567890136",
                                          "8948011234567890144"])
    keys = _keys(tmp_path, b"8948011234567890128,001010000000001,11223344\n", 0o644)
    code, out, err = program(capsys, folder, "--card-keys", str(keys))
    assert code == 0, err
    assert re.search(r"WARNING: .*vendor-keys\.csv: the card key file \(ADM1 keys\) is "
                     r"readable by group/others \(mode 0644\); chmod 600 it", err), err
    assert json.loads(out.splitlines()[0])["outcome"] == "verified"


# --- ADM1 safety: exit codes and the key decision -------------------------------------------------

def adm_tries(card: VirtualUicc) -> int:
    return card.image_state().pins["ADM1"].tries


def test_one_adm_try_left_is_a_safety_refusal(tmp_path, capsys, station):
    folder = make(tmp_path / "b")
    station.card.image_state().pins["ADM1"].tries = 1
    code, out, err = program(capsys, folder, "--adm1", "env:VIRTUAL_ADM1", "--allow-iccid-change")
    assert code == 5, err
    result = json.loads(out.splitlines()[0])
    assert result["outcome"] == "refused" and "1 tries left" in result["reason"]
    assert station.writes() == [] and adm_tries(station.card) == 1


def _no_pin1(text: str) -> str:
    return text.replace("pin1_enabled = true", "pin1_enabled = false")


@pytest.mark.parametrize("pin1", ["enabled", "disabled"])
def test_a_programmed_card_whose_journal_was_lost_costs_no_adm_try(tmp_path, capsys, station,
                                                                   pin1):
    """Programmed, journal deleted, inserted again: the card shows the batch's ICCID (and,
    PIN1 disabled, its IMSI), so it is refused before any VERIFY; the ADM1 counter is
    unchanged and nothing is written."""
    profile = load_profile("milo")
    if pin1 == "disabled":
        profile = parse_profile(_no_pin1(Path(profile.source).read_text()))
    folder = make(tmp_path / "b", profile=profile)
    code, out, err = program(capsys, folder, "--adm1", "env:VIRTUAL_ADM1", "--allow-iccid-change")
    assert code == 0 and json.loads(out.splitlines()[0])["outcome"] == "verified", err
    first = _lines(folder)[0]
    (folder / "journal.sqlite").unlink()
    station.wires.clear()
    before = card_state(station.card)
    assert adm_tries(station.card) == 3

    code, out, err = program(capsys, folder, "--adm1", "env:VIRTUAL_ADM1", "--allow-iccid-change")
    assert code == 5, err
    result = json.loads(out.splitlines()[0])
    assert result["outcome"] == "refused" and result["card_iccid"] == first["iccid"]
    assert "already holds record 0 of this batch" in result["reason"]
    assert ("EF.IMSI" in result["reason"]) == (pin1 == "disabled")
    assert station.writes() == [] and adm_tries(station.card) == 3
    assert card_state(station.card) == before


def test_card_list_batch_blank_card_is_programmed_and_a_lost_journal_refused(tmp_path, capsys,
                                                                            station):
    """A batch made from the vendor's card list: the record's ICCID is the card's own, so the
    ICCID alone does not tell a blank card from a programmed one.  With PIN1 disabled (as
    cards ship) EF.IMSI does: the vendor's IMSI → the vendor key; the batch's → refused."""
    state = station.card.image_state()
    state.pins["PIN1"].enabled = False
    profile = parse_profile(_no_pin1(Path(load_profile("milo").source).read_text()))
    folder = make(tmp_path / "b", 2, profile=profile,
                  iccids=[FACTORY_ICCID, "8948011234567890136"])
    keys = _keys(tmp_path, b"8948011234567890128,001010000000001,11223344\n"
                           b"8948011234567890136,001010000000002,11223355\n")
    code, out, err = program(capsys, folder, "--card-keys", str(keys))
    assert code == 0, err
    result = json.loads(out.splitlines()[0])
    assert result["outcome"] == "verified" and result["iccid"] == FACTORY_ICCID

    (folder / "journal.sqlite").unlink()
    station.wires.clear()
    code, out, err = program(capsys, folder, "--card-keys", str(keys))
    assert code == 5, err
    assert "already holds record 0 of this batch (ICCID; EF.IMSI)" \
        in json.loads(out.splitlines()[0])["reason"]
    assert station.writes() == [] and adm_tries(station.card) == 3


def test_a_card_the_journal_knows_is_still_resumed(tmp_path, capsys, station, monkeypatch):
    """The refusal is only for cards the journal has no trace of: a card pulled after its
    ICCID was written resumes with the vendor's key, as before."""
    folder = make(tmp_path / "b")
    station.card.image_state()
    calls = {"n": 0}
    real_connect = station.connect

    def pull_once(reader, poll, say, stop=None):
        wire = real_connect(reader, poll, say)
        calls["n"] += 1
        if calls["n"] == 1:
            wire.pull_at = 40  # somewhere after the EF.ICCID update
        return wire

    monkeypatch.setattr(batch_program, "_wait_for_card", pull_once)
    code, out, err = simtool(capsys, "batch", "program", str(folder), "--count", "1", "--json",
                             "--poll", "0.05", "--adm1", "env:VIRTUAL_ADM1", "--allow-iccid-change")
    results = [json.loads(line) for line in out.splitlines() if '"outcome"' in line]
    assert [r["outcome"] for r in results] == ["partial", "verified"], err
    assert code == 0 and adm_tries(station.card) == 3


def test_a_partly_written_card_whose_journal_was_lost_keeps_the_vendor_key(tmp_path):
    """Pulled after its EF.ICCID was written, then the journal lost: the card shows the
    batch's ICCID, but its EF.IMSI (readable, PIN1 disabled) is not the record's, so the
    batch never reached the ADM1 step: the vendor's key is sent, once, and it is right."""
    from tests.test_program import apdus_until_iccid_update, insert, make_batch, programmer

    pull = 1 + apdus_until_iccid_update(make_batch(tmp_path / "ref", 1))
    batch = make_batch(tmp_path / "b", 2)
    vc = VirtualUicc.from_image(None)
    vc.image_state().pins["PIN1"].enabled = False
    first = programmer(batch).program(insert(vc, pull_at=pull)[0])
    assert first.outcome.value == "partial" and first.step == "iccid"  # at its read-back
    batch.journal.close()
    (tmp_path / "b" / "journal.sqlite").unlink()

    from simtool.provision.program import open_batch

    batch = open_batch(tmp_path / "b")
    card, wire = insert(vc)
    second = programmer(batch).program(card)
    assert second.outcome.value == "verified", second.reason
    assert second.card_iccid == second.iccid == first.iccid and not second.resumed
    assert wire.adm_verifies() == 1 and adm_tries(vc) == 3
    batch.journal.close()


def test_byte_offsets_count_a_byte_order_mark():
    from simtool.errors import DataError
    from simtool.provision.validate import decode_utf8

    assert decode_utf8(b"\xef\xbb\xbficcid,adm1\n", "k.csv", bom=True) == "iccid,adm1\n"
    with pytest.raises(DataError, match=r"^k\.csv:2: not UTF-8 text \(byte offset 6, 0xFF\)$"):
        decode_utf8(b"\xef\xbb\xbfa\nb\xffc", "k.csv", bom=True)
