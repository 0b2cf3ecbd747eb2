"""``simtool batch generate`` / ``decrypt`` through click, with the exit codes of simtool.errors."""

from __future__ import annotations

import json
import os
import stat

import pytest
from click.testing import CliRunner

from simtool import milenage
from simtool.cli.main import main
from simtool.provision.batchdir import read_records
from simtool.provision.profile import profile_path

OP_HEX = "CDC202D5123E20F62B6D676AC72CB318"


def run(*args: str) -> tuple[int, str, str]:
    """``simtool batch ARGS`` through the real entry point, simtool.cli.main.main: its error
    rendering and exit codes, not a copy of them.  Returns (exit code, stdout, stderr)."""
    with CliRunner().isolation() as (stdout, stderr, _):
        code = main(["batch", *args])
    return code, stdout.getvalue().decode(), stderr.getvalue().decode()


@pytest.fixture
def keys(tmp_path):
    op = tmp_path / "op.key"
    op.write_text(OP_HEX + "\n")
    transport = tmp_path / "transport.key"
    transport.write_text("# test transport key\n" + "42" * 32 + "\n")
    for path in (op, transport):
        os.chmod(path, 0o600)
    return op, transport


def _secrets(out) -> set[str]:
    found = set()
    for rec in read_records(out / "records.jsonl"):
        found |= {rec.ki.reveal().hex(), rec.opc.reveal().hex(), rec.puk1.reveal(),
                  rec.puk2.reveal(), rec.adm1.reveal(), rec.barcode.reveal()}
        found |= {c.value.reveal() for c in rec.credentials if len(c.value) >= 8}
    return found


def test_generate_json_summary_and_decrypt_round_trip(tmp_path, keys):
    op, transport = keys
    out = tmp_path / "milo-01"
    code, stdout, stderr = run("generate", "--profile", "milo", "--count", "5", "--out", str(out),
                               "--first-serial", "1000", "--op-key-file", str(op),
                               "--transport-key-file", str(transport), "--workers", "1",
                               "--json")
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["count"] == 5 and summary["profile"] == "milo"
    assert summary["first_iccid"].startswith("894897000000001000")
    assert summary["opc_source"] == "op-key-file"
    # Milo's cards are SJA2s and no card list was given: only pySim-prog's missing row is warned
    assert [w.split(" cards keep")[0] for w in summary["warnings"]] == ["sysmoISIM-SJA2"]
    assert summary["hashing"]["count"] == 5
    for secret in _secrets(out):
        assert secret.lower() not in (stdout + stderr).lower()
    recs = list(read_records(out / "records.jsonl"))
    op_bytes = bytes.fromhex(OP_HEX)
    assert all(r.opc.reveal() == milenage.opc(r.ki.reveal(), op_bytes) for r in recs)

    plain = tmp_path / "hlr.vty"
    code, stdout, stderr = run("decrypt", str(out / "exports/osmo-hlr.vty.enc"),
                               "--transport-key-file", str(transport), "--out", str(plain))
    assert code == 0, stderr
    assert "osmo-hlr.vty" in stdout and summary["batch_id"] in stdout
    assert stat.S_IMODE(os.stat(plain).st_mode) == 0o600
    text = plain.read_text()
    for r in recs:
        assert (f"subscriber imsi {r.imsi} update aud3g milenage k {r.ki.reveal().hex()} "
                f"opc {r.opc.reveal().hex()}\n") in text
        assert f"subscriber imsi {r.imsi} update msisdn {r.msisdn}\n" in text

    # the output file exists now: refused (5); a wrong key fails (4) and writes nothing
    code, _, stderr = run("decrypt", str(out / "exports/osmo-hlr.vty.enc"),
                          "--transport-key-file", str(transport), "--out", str(plain))
    assert code == 5 and "refusing to overwrite" in stderr
    wrong = tmp_path / "wrong.key"
    wrong.write_text("00" * 32)
    os.chmod(wrong, 0o600)
    code, _, stderr = run("decrypt", str(out / "exports/open5gs-subscribers.js.enc"),
                          "--transport-key-file", str(wrong), "--out", str(tmp_path / "o.sh"))
    assert code == 4 and "authentication failed" in stderr
    assert not (tmp_path / "o.sh").exists()


def test_generate_text_output_warns_without_transport_key(tmp_path):
    code, stdout, stderr = run("generate", "--profile", "idea24", "--count", "3", "--out",
                               str(tmp_path / "b"), "--workers", "1")
    assert code == 0, stderr
    assert "3 cards, profile idea24" in stdout and "records.jsonl" in stdout
    assert "WARNING: HSS imports" in stderr
    for secret in _secrets(tmp_path / "b"):
        assert secret.lower() not in (stdout + stderr).lower()


def test_legacy_profile_warns_loudly(tmp_path):
    src = profile_path("milo").read_text(encoding="utf-8")
    profile = tmp_path / "legacy.toml"
    profile.write_text(src.replace('scheme = "hmac"', 'scheme = "legacy-iccid"'))
    code, stdout, stderr = run("generate", "--profile", str(profile), "--count", "2", "--out",
                               str(tmp_path / "b"), "--workers", "1", "--json")
    assert code == 0, stderr
    assert "WARNING: LEGACY BARCODE SCHEME" in stderr
    assert json.loads(stdout)["warnings"][0].startswith("LEGACY BARCODE SCHEME")


def test_errors_map_to_exit_codes(tmp_path, keys):
    op, _ = keys
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    code, _, stderr = run("generate", "--profile", "milo", "--count", "1", "--out",
                          str(tmp_path / "full"))
    assert code == 5 and "not empty" in stderr

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\noperator = "x"\n[network]\nmcc = "26"\n')
    code, _, stderr = run("generate", "--profile", str(bad), "--count", "1", "--out",
                          str(tmp_path / "b1"))
    assert code == 4 and f"{bad}:4: network.mcc" in stderr

    os.chmod(op, 0o644)
    code, _, stderr = run("generate", "--profile", "milo", "--count", "1", "--out",
                          str(tmp_path / "b2"), "--op-key-file", str(op))
    assert code == 5 and "chmod 600" in stderr
    assert not (tmp_path / "b1").exists() and not (tmp_path / "b2").exists()

    code, _, _ = run("generate", "--profile", "milo", "--count", "0", "--out",
                     str(tmp_path / "b3"))
    assert code == 2  # usage error


def test_keygen_writes_a_0600_key_file_that_generate_accepts(tmp_path):
    from click.testing import CliRunner

    from simtool.cli.batch import batch
    from simtool.provision.crypto import OP_LEN, read_key_file

    runner = CliRunner()
    out = tmp_path / "op.key"
    res = runner.invoke(batch, ["keygen", "op", str(out)])
    assert res.exit_code == 0, res.output
    assert (out.stat().st_mode & 0o777) == 0o600
    key = read_key_file(out, OP_LEN, what="OP key")
    assert len(key) == OP_LEN and key.reveal().hex().upper() not in res.output
    again = runner.invoke(batch, ["keygen", "op", str(out)])
    assert again.exit_code != 0 and read_key_file(out, OP_LEN, what="OP key") == key


def test_generate_against_a_shared_journal_never_reuses_identifiers(tmp_path):
    """Two batches generated against one journal: no ICCID, IMSI or MSISDN twice, and both
    batches are registered in it."""
    from click.testing import CliRunner

    from simtool.cli.batch import batch
    from simtool.provision.batchdir import read_records
    from simtool.provision.journal_open import open_journal

    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    runner = CliRunner()
    seen: dict[str, set] = {"iccid": set(), "imsi": set(), "msisdn": set()}
    for name in ("a", "b"):
        res = runner.invoke(batch, ["generate", "--profile", "milo", "--count", "5",
                                    "--out", str(tmp_path / name), "--journal", url])
        assert res.exit_code == 0, res.output
        for r in read_records(tmp_path / name / "records.jsonl"):
            for key in seen:
                value = getattr(r, key)
                assert value not in seen[key], (key, value)
                seen[key].add(value)
    with open_journal(url, tmp_path) as journal:
        issued = journal.issued_values()
    assert issued.iccids == frozenset(seen["iccid"]) and len(issued.iccids) == 10


def test_progress_text_shows_rate_and_eta():
    from simtool.cli.batch import rate_and_eta

    assert rate_and_eta(0, 100, 0.0) == "ETA --:--"
    assert rate_and_eta(25, 100, 10.0) == "2.5/s, ETA 0:30"
    assert rate_and_eta(10, 40_000, 5.0) == "2.0/s, ETA 5:33:15"
    assert rate_and_eta(100, 100, 4.0) == "25.0/s, ETA 0:00"


def test_ctrl_c_while_hashing_stops_at_once_and_keeps_nothing(tmp_path):
    """SIGINT in the middle of the Argon2id phase: the workers stop now (not after the queued
    hashes), the command says nothing was kept, exits 130, and leaves no batch or staging
    folder behind."""
    import signal
    import subprocess
    import sys
    import time

    from tests.harness import REPO

    out = tmp_path / "big"
    # 1000 Argon2id hashes take about a minute on two workers (16/s measured on a loaded
    # two-core machine); the interrupt must not wait for them.  What remains after it is
    # removing the staging folder (1000 cards' files)
    proc = subprocess.Popen(
        [sys.executable, "-m", "simtool", "batch", "generate", "-p", "milo", "--cards", "1000",
         "--out", str(out), "--workers", "2"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = ""
        while "Hashing panel credentials" not in seen:
            line = proc.stderr.readline()
            assert line, f"exited {proc.wait()} before hashing: {seen}"
            seen += line
        time.sleep(1.0)  # a few chunks in flight
        proc.send_signal(signal.SIGINT)
        sent = time.monotonic()
        rc = proc.wait(timeout=60)
        took = time.monotonic() - sent
        rest = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 130, rest
    assert took < 10, f"{took:.1f} s from Ctrl-C to exit"
    assert "interrupted: nothing kept" in rest
    assert "Traceback" not in rest
    assert list(tmp_path.iterdir()) == []  # neither the batch nor its staging folder
