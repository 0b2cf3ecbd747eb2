"""The OsmoHLR import loaded into a real osmo-hlr (Debian's ``osmo-hlr`` 1.5): a private VTY
address, a temporary database, the batch's script loaded twice through ``simtool batch
load-osmo-hlr``; ``show subscriber`` must match the records and a subscriber's SQN must survive
the second run.  Skipped when osmo-hlr is not installed, failed instead under ``CI=true``.

The planner (what to send for which ``show subscriber`` answer) is tested without the HLR.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import time

import pytest
from click.testing import CliRunner

from simtool.cli.batch import batch
from simtool.errors import DataError, SimtoolError
from simtool.provision import exports, osmo_hlr
from simtool.provision.batchdir import read_records
from simtool.provision.crypto import decrypt_export
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile
from simtool.secret import Secret

from .test_exports import NOW, RECORD, SeededRandom

K = "465b5ce8b199b49faa5f0a2ee238a6bc"
OPC = "cd63cb71954a9f4e48a5994e37a02baf"
SUB = osmo_hlr.HlrSubscriber("260011234567890", "48601234567", Secret(K), Secret(OPC))

# ``show subscriber`` answers as osmo-hlr 1.5 prints them (hlr_vty_subscr.c)
SHOW_ABSENT = "% No subscriber for imsi = '260011234567890'"
SHOW_PRESENT = ("    ID: 1\n    IMSI: 260011234567890\n    MSISDN: {msisdn}\n"
                "    3G auth: MILENAGE\n             K={k}\n             OPC={opc}\n"
                "             IND-bitlen=5 last-SQN=96")


def _show(msisdn="48601234567", k=K, opc=OPC):
    return SHOW_PRESENT.format(msisdn=msisdn, k=k, opc=opc)


def test_script_round_trips_through_the_parser():
    text = exports.osmo_hlr_header("B1", 1) + exports.osmo_hlr_lines(RECORD)
    (sub,) = osmo_hlr.parse_script(text)
    assert (sub.imsi, sub.msisdn, sub.k, sub.opc) == (SUB.imsi, SUB.msisdn, SUB.k, SUB.opc)
    assert "load-osmo-hlr" in text and "127.0.0.1:4258" in text


def test_parse_script_names_the_line_not_the_key():
    with pytest.raises(DataError, match=r"x\.vty:3: not a line") as err:
        osmo_hlr.parse_script(f"enable\n! c\nsubscriber imsi 1 update aud3g xor k {K}\n",
                              where="x.vty")
    assert K not in str(err.value)


CREATE = "subscriber imsi 260011234567890 create"
MSISDN = "subscriber imsi 260011234567890 update msisdn 48601234567"
AUD3G = f"subscriber imsi 260011234567890 update aud3g milenage k {K} opc {OPC}"


@pytest.mark.parametrize("show,outcome,commands", [
    (SHOW_ABSENT, osmo_hlr.Outcome.CREATED, [CREATE, MSISDN, AUD3G]),
    (_show(), osmo_hlr.Outcome.UNCHANGED, []),
    (_show(k=K.upper(), opc=OPC.upper()), osmo_hlr.Outcome.UNCHANGED, []),
    (_show(msisdn="none"), osmo_hlr.Outcome.UPDATED, [MSISDN]),
    (_show(opc="00" * 16), osmo_hlr.Outcome.REKEYED, [AUD3G]),
    ("    ID: 1\n    IMSI: 260011234567890\n    MSISDN: 48601234567",
     osmo_hlr.Outcome.REKEYED, [AUD3G]),
])
def test_plan_sends_only_what_differs(show, outcome, commands):
    assert osmo_hlr.plan_commands(SUB, osmo_hlr.parse_show(show)) == (outcome, commands)


def test_telnet_negotiation_is_removed():
    raw = b"Welcome\r\n\xff\xfb\x01\xff\xfb\x03\xff\xfe\"\xff\xfd\x1fOsmoHLR> "
    assert osmo_hlr.strip_telnet(raw) == b"Welcome\r\nOsmoHLR> "
    assert osmo_hlr.strip_telnet(b"a\xff\xffb\xff\xfa\x18\x01\xff\xf0c") == b"a\xffbc"


# --- the real osmo-hlr ---------------------------------------------------------------------------

def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{tool} is not installed (scripts/bootstrap.sh installs it)")
        pytest.skip(f"{tool} is not installed")
    return path


@pytest.fixture
def hlr(tmp_path):
    """osmo-hlr on a loopback address of its own (127.x.y.z), so its fixed GSUP and CTRL
    ports cannot clash with another instance; yields (address, database path)."""
    binary = _need("osmo-hlr")
    addr = f"127.{random.randrange(1, 255)}.{random.randrange(0, 255)}.{random.randrange(2, 255)}"
    cfg = tmp_path / "hlr.cfg"
    cfg.write_text(f"log stderr\n logging level all notice\nline vty\n bind {addr} 4258\n"
                   f"ctrl\n bind {addr}\nhlr\n gsup\n  bind ip {addr}\n")
    db = tmp_path / "hlr.db"
    log = (tmp_path / "hlr.log").open("w")
    proc = subprocess.Popen([binary, "-c", str(cfg), "-l", str(db)], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection((addr, 4258), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail("osmo-hlr exited: " + (tmp_path / "hlr.log").read_text())
                time.sleep(0.05)
        else:
            pytest.fail("osmo-hlr's VTY did not open")
        yield addr, db
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def _load(script, addr):
    result = CliRunner().invoke(batch, ["load-osmo-hlr", str(script), "--vty", f"{addr}:4258",
                                        "--json"])
    if isinstance(result.exception, SimtoolError):
        raise result.exception
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _shown(addr, imsi):
    with osmo_hlr.VtyClient(addr, 4258) as vty:
        return vty.command(f"show subscriber imsi {imsi}")


def test_osmo_hlr_takes_the_script_twice_and_keeps_sqn(tmp_path, hlr):
    addr, db = hlr
    out = tmp_path / "b"
    generate_batch(load_profile("milo"), 5, out, transport_key=Secret(bytes(32)),
                   rng=SeededRandom(5), now=NOW, panel_import=False)
    recs = list(read_records(out / "records.jsonl"))
    blob = (out / "exports/osmo-hlr.vty.enc").read_bytes()
    script = tmp_path / "osmo-hlr.vty"
    script.write_bytes(decrypt_export(blob, Secret(bytes(32))).plaintext.reveal())

    first = _load(script, addr)
    assert first["created"] == 5 and first["unchanged"] == 0
    for rec in recs:
        state = osmo_hlr.parse_show(_shown(addr, rec.imsi))
        assert state is not None and state.msisdn == rec.msisdn
        assert state.k == Secret(rec.ki.reveal().hex())
        assert state.opc == Secret(rec.opc.reveal().hex())

    # the network authenticated the cards: their SQNs moved on
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE auc_3g SET sqn = 32 * subscriber_id")
    second = _load(script, addr)
    assert second["unchanged"] == 5 and second["created"] == 0 and second["rekeyed"] == 0
    for n, rec in enumerate(recs, 1):
        shown = _shown(addr, rec.imsi)
        assert f"last-SQN={32 * n}" in shown, shown
        assert osmo_hlr.parse_show(shown).msisdn == rec.msisdn

    # what piping the file into the VTY twice does: the complaint and the SQN reset
    with osmo_hlr.VtyClient(addr, 4258) as vty:
        lines = [ln for ln in script.read_text().splitlines()
                 if ln and not ln.startswith("!") and ln != "enable"]
        answers = [vty.command(ln) for ln in lines[:3]]
    assert "% Subscriber already exists" in answers[0]
    assert "last-SQN" not in _shown(addr, recs[0].imsi)


def test_unreachable_vty_and_bad_script_are_one_line_errors(tmp_path):
    script = tmp_path / "x.vty"
    script.write_text(exports.osmo_hlr_header("B1", 1) + exports.osmo_hlr_lines(RECORD))
    # nothing listens on this loopback address: exit code 1, no key in the message
    result = CliRunner().invoke(batch, ["load-osmo-hlr", str(script), "--vty", "127.0.0.1:9"])
    assert isinstance(result.exception, osmo_hlr.HlrError)
    assert result.exception.exit_code == 1 and "127.0.0.1:9" in str(result.exception)
    script.write_text(f"enable\nsubscriber imsi 1 update aud3g milenage k {K}\n")
    result = CliRunner().invoke(batch, ["load-osmo-hlr", str(script)])
    assert result.exception.exit_code == 4 and K not in str(result.exception)
    assert repr(SUB).count(K) == 0
