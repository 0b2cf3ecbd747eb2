"""Batch records sealed at rest (issue 14.1): no Ki, OPc, PIN, PUK or ADM1 in clear in any
file of a fresh batch folder unless a plain export was asked for; ``batch seal`` and
``batch purge``; the records read in memory with the batch key."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from simtool.cli.main import main
from simtool.errors import DataError, SafetyRefusal
from simtool.provision.batchdir import read_batch_info, read_records, record_to_json
from simtool.provision.generate import generate_batch
from simtool.provision.journal_open import open_journal
from simtool.provision.profile import load_profile
from simtool.provision.sealed import (batch_key_files, purge_batch, read_text, seal_batch,
                                      sealed_path)
from simtool.secret import Secret

KEY = Secret(bytes(range(32)))


@pytest.fixture(autouse=True)
def key_store(tmp_path, monkeypatch) -> Path:
    store = tmp_path / "key-store"
    monkeypatch.setenv("SIMTOOL_KEY_DIR", str(store))
    return store


def secret_forms(rec) -> tuple[set[bytes], set[bytes]]:
    """(long forms, short codes) of every secret of a record, as they could sit in a file:
    Ki/OPc as hex either case and raw bytes; PINs, PUKs and ADM1 as digits and as the
    ASCII-hex of a VERIFY's PIN block."""
    long_forms: set[bytes] = set()
    short: set[bytes] = set()
    for key in (rec.ki.reveal(), rec.opc.reveal()):
        long_forms |= {key, key.hex().encode(), key.hex().upper().encode()}
    for code in (rec.pin1, rec.pin2, rec.puk1, rec.puk2, rec.adm1):
        digits = code.reveal().encode()
        hexed = digits.hex()
        long_forms |= {hexed.encode(), hexed.upper().encode()}
        (long_forms if len(digits) >= 8 else short).add(digits)
    return long_forms, short


def leaks(folder: Path, records) -> list[str]:
    """Every (file, secret kind) where a record's secret is in clear in ``folder``."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        tokens = set(re.findall(rb"[0-9A-Za-z]+", data))
        for rec in records:
            long_forms, short = secret_forms(rec)
            found += [f"{path.relative_to(folder)}: {rec.index}" for s in long_forms if s in data]
            # a 4-digit PIN is a substring of many numbers: look for it as a whole token
            found += [f"{path.relative_to(folder)}: {rec.index} (short)" for s in short
                      if s in tokens]
    return found


def cli(*args: str) -> int:
    return main(list(args))


@pytest.mark.parametrize("name", ["milo", "idea24", "plus"])
def test_a_fresh_batch_folder_holds_no_secret_in_clear(tmp_path, key_store, capsys, name):
    transport = tmp_path / "transport.key"
    assert cli("batch", "keygen", "transport", str(transport)) == 0
    out = tmp_path / "batch"
    assert cli("batch", "generate", "--profile", name, "--count", "4", "--out", str(out),
               "--workers", "1", "--transport-key-file", str(transport)) == 0
    shown = capsys.readouterr()
    records = list(read_records(out / "records.jsonl"))  # decrypted in memory
    assert len(records) == 4
    assert not (out / "records.jsonl").exists() and sealed_path(out / "records.jsonl").exists()
    assert leaks(out, records) == []
    # the key is in the key store, not in the folder, and the summary says where
    batch_id = read_batch_info(out)["batch_id"]
    (key_file,) = batch_key_files(batch_id)
    assert key_file.parent == key_store and str(key_file) in shown.out
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_store.stat().st_mode) == 0o700
    assert not [p for p in out.rglob("*") if p.name == key_file.name]


def test_the_grep_finds_what_a_plain_export_holds(tmp_path, capsys):
    """The same check catches the plain pySim CSV: it is written on request only, 0600, with
    a warning, and everything else stays sealed."""
    out = tmp_path / "batch"
    assert cli("batch", "generate", "--profile", "milo", "--count", "3", "--out", str(out),
               "--workers", "1", "--plain-export", "pysim") == 0
    err = capsys.readouterr().err
    assert "PLAIN EXPORT" in err and "exports/pysim.csv" in err
    records = list(read_records(out / "records.jsonl"))
    found = leaks(out, records)
    assert found and {f.split(":")[0] for f in found} == {"exports/pysim.csv"}
    assert stat.S_IMODE((out / "exports/pysim.csv").stat().st_mode) == 0o600
    assert read_batch_info(out)["plain_exports"] == ["pysim"]


def test_records_need_the_batch_key(tmp_path, key_store, monkeypatch):
    out = tmp_path / "batch"
    generate_batch(load_profile("milo"), 2, out, panel_import=False)
    expected = [record_to_json(r) for r in read_records(out / "records.jsonl")]
    key_file = next(key_store.iterdir())
    monkeypatch.setenv("SIMTOOL_KEY_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DataError, match="not in the key store.*--key-file"):
        list(read_records(out / "records.jsonl"))
    # another station: the key file named explicitly
    from simtool.provision.crypto import read_key_file

    key = read_key_file(key_file, 32)
    assert [record_to_json(r) for r in read_records(out / "records.jsonl", key=key)] == expected
    with pytest.raises(DataError, match="authentication failed"):
        list(read_records(out / "records.jsonl", key=KEY))
    # an export renamed to records.jsonl.enc is refused (the container names its file)
    sealed_path(out / "records.jsonl").unlink()
    sealed_path(out / "exports/pysim.csv").rename(sealed_path(out / "records.jsonl"))
    with pytest.raises(DataError, match="holds 'pysim.csv'"):
        list(read_records(out / "records.jsonl", key=key))


def test_seal_turns_plain_files_into_sealed_ones(tmp_path, key_store, capsys):
    out = tmp_path / "batch"
    generate_batch(load_profile("milo"), 3, out, panel_import=False, seal_key=KEY,
                   plain_exports=("pysim", "printer"))
    records = list(read_records(out / "records.jsonl", key=KEY))
    # a batch from before sealing: its records in clear too
    plain = "".join(record_to_json(r) + "\n" for r in records)
    sealed_path(out / "records.jsonl").unlink()
    (out / "records.jsonl").write_text(plain)
    (out / "records.jsonl").chmod(0o600)
    pysim = (out / "exports/pysim.csv").read_text()
    assert leaks(out, records)
    assert cli("batch", "seal", str(out)) == 0
    assert "new batch key" in capsys.readouterr().out
    assert leaks(out, records) == []
    assert [record_to_json(r) for r in read_records(out / "records.jsonl")] == plain.splitlines()
    assert read_text(out / "exports/pysim.csv").reveal() == pysim
    assert seal_batch(out) == ([], None)  # nothing left to seal, the same key
    assert purge_batch(out, force=True).key_removed is not None


def _program_all(folder: Path, records, done) -> None:
    """Mark ``done`` verified in the journal, as batch program does card by card."""
    with open_journal(None, folder, batch_id=read_batch_info(folder)["batch_id"]) as journal:
        journal.load_batch(read_batch_info(folder)["batch_id"],
                           [(r.index, r.iccid, r.imsi, r.msisdn) for r in records])
        for rec in done:
            claim = journal.claim_for_card("station", rec.iccid)
            journal.mark_step(claim.index, "start")
            journal.mark_written(claim.index)
            journal.mark_verified(claim.index)


def test_purge_removes_what_a_verified_batch_no_longer_needs(tmp_path, key_store):
    out = tmp_path / "batch"
    generate_batch(load_profile("idea24"), 2, out, workers=1)
    records = list(read_records(out / "records.jsonl"))
    batch_id = read_batch_info(out)["batch_id"]
    with pytest.raises(SafetyRefusal, match="no card of it was programmed"):
        purge_batch(out)
    _program_all(out, records, records[:1])
    with pytest.raises(SafetyRefusal, match="1 of its 2 records are not programmed"):
        purge_batch(out)
    assert sealed_path(out / "records.jsonl").exists()
    _program_all(out, records, records[1:])
    result = purge_batch(out)
    assert set(result.removed) == {"records.jsonl.enc", "exports/pysim.csv.enc",
                                   "exports/printer/cards.csv.enc"}
    assert result.states == {"verified": 2}
    # the PUK-grade panel import is still sealed with the batch key: the key stays
    assert result.key_removed is None and batch_key_files(batch_id)
    assert sealed_path(out / "exports/panel.json").exists()
    with open_journal(None, out, batch_id=batch_id) as journal:  # identifiers stay
        assert journal.record(0).iccid == records[0].iccid


def test_purge_removes_the_key_when_nothing_sealed_is_left(tmp_path, key_store):
    out = tmp_path / "batch"
    generate_batch(load_profile("milo"), 1, out, panel_import=False)
    batch_id = read_batch_info(out)["batch_id"]
    assert cli("batch", "purge", str(out)) == 5  # not programmed: refused
    assert cli("batch", "purge", str(out), "--force") == 0
    assert not batch_key_files(batch_id)
    assert not list(out.rglob("*.enc"))
    assert stat.S_IMODE((out / "journal.sqlite").stat().st_mode) == 0o600
