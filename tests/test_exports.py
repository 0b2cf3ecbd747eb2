"""Exports: pySim CSV, HSS scripts, encryption container, key files, barcodes, panel import,
and a grep for secrets over every output that must not hold one."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import random
import re
import stat
from datetime import UTC, datetime

import argon2
import pytest
from barcode import Code128
from barcode.writer import SVGWriter
from hypothesis import given
from hypothesis import strategies as st

from simtool.errors import DataError, SafetyRefusal
from simtool.provision import exports
from simtool.provision.batchdir import CardRecord, atomic_open, atomic_write, read_records
from simtool.provision.credentials import Credential, Scope
from simtool.provision.crypto import (MAGIC, decrypt_export, encrypt_export, key_file_text,
                                      read_key_file)
from simtool.provision.generate import generate_batch
from simtool.provision.profile import CredentialKind, load_profile
from simtool.secret import Secret

KEY = Secret(bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"))
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class SeededRandom:
    def __init__(self, seed: int) -> None:
        self._r = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._r.randbytes(n)

    def randbelow(self, n: int) -> int:
        return self._r.randrange(n)


RECORD = CardRecord(
    index=0, iccid="8948011234567890128", imsi="260011234567890", msisdn="48601234567", acc=1,
    ki=Secret(bytes.fromhex("465B5CE8B199B49FAA5F0A2EE238A6BC")),
    opc=Secret(bytes.fromhex("CD63CB71954A9F4E48A5994E37A02BAF")),
    pin1=Secret("4711"), puk1=Secret("31415926"), pin2=Secret("8152"), puk2=Secret("27182818"),
    adm1=Secret("55538407"), barcode=Secret("12345678901231415926535"), account="B-A000001",
    credentials=(Credential(CredentialKind.PANEL_PASSWORD, Secret("1415926535"), Scope.NUMBER),))

# Byte-exact lines the HSS tools take (OsmoHLR VTY manual example; open5gs-dbctl usage text).
HSS_VECTORS = [
    (exports.osmo_hlr_lines,
     "subscriber imsi 260011234567890 create\n"
     "subscriber imsi 260011234567890 update msisdn 48601234567\n"
     "subscriber imsi 260011234567890 update aud3g milenage k 465b5ce8b199b49faa5f0a2ee238a6bc "
     "opc cd63cb71954a9f4e48a5994e37a02baf\n"),
    (exports.open5gs_line,
     "open5gs-dbctl add 260011234567890 465B5CE8B199B49FAA5F0A2EE238A6BC "
     "CD63CB71954A9F4E48A5994E37A02BAF\n"),
    (exports.printer_line, "8948011234567890128,+48601234567,12345678901231415926535,4711,"
                           "31415926\n"),
]


@pytest.mark.parametrize("fn,expected", HSS_VECTORS)
def test_line_formats(fn, expected):
    assert fn(RECORD) == expected


def _pysim_rows(profile_name):
    profile = load_profile(profile_name)
    buf = io.StringIO(newline="")
    writer = exports.PysimCsv(buf, profile)
    writer.write(RECORD if profile_name != "plus" else
                 CardRecord(**{**RECORD.__dict__, "adm1": Secret("CAE743DB9C5B5A58")}))
    reader = csv.DictReader(io.StringIO(buf.getvalue()))
    return reader.fieldnames, list(reader)


def test_pysim_csv_decimal_adm():
    fields, (row,) = _pysim_rows("milo")
    assert fields == ["name", "iccid", "mcc", "mnc", "imsi", "ki", "opc", "acc", "pin_adm",
                      "msisdn"]
    assert row == {"name": "Milo Telecom", "iccid": "8948011234567890128", "mcc": "260",
                   "mnc": "97", "imsi": "260011234567890",
                   "ki": "465B5CE8B199B49FAA5F0A2EE238A6BC",
                   "opc": "CD63CB71954A9F4E48A5994E37A02BAF", "acc": "0001",
                   "pin_adm": "55538407", "msisdn": "+48601234567"}


def test_pysim_csv_hex_adm_and_non_ascii_spn():
    fields, (row,) = _pysim_rows("plus")
    assert "pin_adm_hex" in fields and row["pin_adm"] == ""
    assert row["pin_adm_hex"] == "CAE743DB9C5B5A58"
    fields, _ = _pysim_rows("citysat")  # SPN "CitySat Śląsk": no name column
    assert "name" not in fields


# --- encrypted container -------------------------------------------------------------------------


@given(st.binary(max_size=2000), st.text(min_size=1, max_size=60),
       st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=60))
def test_encrypt_decrypt_round_trip(plaintext, name, batch_id):
    blob = encrypt_export(plaintext, name=name, batch_id=batch_id, key=KEY)
    out = decrypt_export(blob, KEY)
    assert (out.plaintext.reveal(), out.name, out.batch_id) == (plaintext, name, batch_id)


def test_container_layout():
    blob = encrypt_export(b"x" * 5, name="osmo-hlr.vty", batch_id="B1", key=KEY,
                          nonce=bytes(12))
    assert blob[:8] == MAGIC == b"SIMTENC1"
    assert blob[8] == 12 and blob[9:21] == b"osmo-hlr.vty"
    assert blob[21] == 2 and blob[22:24] == b"B1"
    assert blob[24:36] == bytes(12)
    assert len(blob) == 36 + 5 + 16  # ciphertext as long as the plaintext + 16-byte tag
    assert b"xxxxx" not in blob


def test_every_byte_is_authenticated():
    blob = encrypt_export(b"subscriber imsi 1 create\n", name="a.vty", batch_id="B1", key=KEY)
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        with pytest.raises(DataError):
            decrypt_export(bytes(tampered), KEY)
    with pytest.raises(DataError, match="wrong transport key"):
        decrypt_export(blob, Secret(bytes(32)))
    for cut in (3, 10, len(blob) - 1):
        with pytest.raises(DataError):
            decrypt_export(blob[:cut], KEY)


# --- key files -----------------------------------------------------------------------------------


def _key_file(tmp_path, text, mode=0o600):
    path = tmp_path / "k.key"
    path.write_text(text)
    os.chmod(path, mode)
    return path


def test_key_file_formats(tmp_path):
    key = read_key_file(_key_file(tmp_path, key_file_text(KEY, "transport key")), 32)
    assert key == KEY
    spaced = "# OP of a test network\n00 11 22 33:44 55 66 77\n8899AABBCCDDEEFF  # end\n"
    assert read_key_file(_key_file(tmp_path, spaced), 16).reveal().hex() == \
        "00112233445566778899aabbccddeeff"


@pytest.mark.parametrize("text,match", [("00" * 15, "16 bytes"), ("zz" * 16, "hex digits"),
                                        ("", "16 bytes")])
def test_bad_key_files(tmp_path, text, match):
    with pytest.raises(DataError, match=match):
        read_key_file(_key_file(tmp_path, text), 16)


def test_key_file_readable_by_others_is_refused(tmp_path):
    with pytest.raises(SafetyRefusal, match="chmod 600"):
        read_key_file(_key_file(tmp_path, "00" * 16, mode=0o644), 16)
    with pytest.raises(DataError, match="not found"):
        read_key_file(tmp_path / "missing.key", 16)


# --- atomic files --------------------------------------------------------------------------------


def test_atomic_files_are_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        atomic_write(tmp_path / "a", "secret")
        with pytest.raises(RuntimeError):
            with atomic_open(tmp_path / "b") as fh:
                fh.write("half")
                raise RuntimeError("interrupted")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a").st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["a"]  # no "b", no temp file


# --- barcodes ------------------------------------------------------------------------------------


def _writer_modules(number: str) -> str:
    """The bars python-barcode's own SVGWriter draws, as a module string."""
    buf = io.BytesIO()
    Code128(number, writer=SVGWriter()).write(buf, {"module_width": 0.2})
    rects = re.findall(r'<rect x="([\d.]+)mm" y="[\d.]+mm" width="([\d.]+)mm"[^>]*fill:black',
                       buf.getvalue().decode())
    x0 = float(rects[0][0])
    cells: list[str] = []
    for x, w in rects:
        start, width = round((float(x) - x0) / 0.2), round(float(w) / 0.2)
        cells += ["0"] * (start - len(cells)) + ["1"] * width
    return "".join(cells)


@given(st.text("0123456789", min_size=1, max_size=30))
def test_barcode_svg_draws_the_same_bars_as_python_barcode(number):
    svg = exports.barcode_svg(number)
    assert exports.svg_modules(svg) == exports.code128_modules(number) == _writer_modules(number)


def test_code128_uses_code_set_c_for_digits():
    modules = exports.code128_modules("1234")
    assert modules.startswith("11010011100")  # START C (value 105)
    assert modules.endswith("1100011101011")  # STOP
    # START C + 2 digit pairs + check symbol, 11 modules each, + 13-module stop
    assert len(modules) == 11 * 4 + 13


# --- batch outputs that must hold no secret ------------------------------------------------------

_HASH = re.compile(r"\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+")


def _secrets_of(rec: CardRecord) -> list[str]:
    values = [rec.ki.reveal().hex(), rec.opc.reveal().hex(), rec.pin1.reveal(),
              rec.puk1.reveal(), rec.pin2.reveal(), rec.puk2.reveal(), rec.adm1.reveal(),
              rec.barcode.reveal()]
    values += [c.value.reveal() for c in rec.credentials]
    return values


def _assert_no_secret(text: str, secrets: set[str], what: str) -> None:
    lowered = text.lower()
    tokens = set(re.findall(r"[0-9a-z]+", _HASH.sub(" ", lowered)))
    for s in secrets:
        s = s.lower()
        if len(s) >= 8:
            assert s not in lowered, f"a secret leaked into {what}"
        else:  # short codes: as a whole field, hashes excepted (their salt is random)
            assert s not in tokens, f"a short code leaked into {what}"


@pytest.mark.parametrize("name", ["milo", "halonet", "citysat", "idea24", "plus"])
def test_no_secret_in_panel_import_summary_batch_toml_or_logs(tmp_path, caplog, name):
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "b"
    result = generate_batch(load_profile(name), 6, out, transport_key=KEY, rng=SeededRandom(11),
                            now=NOW, workers=1)
    secrets = {s for rec in read_records(out / "records.jsonl") for s in _secrets_of(rec)}
    assert secrets
    panel_csv = (out / "exports/panel.csv").read_text()
    assert len(_HASH.findall(panel_csv)) == len(panel_csv.splitlines()) - 1
    for what, text in [("panel.csv", panel_csv),
                       ("panel.json", (out / "exports/panel.json").read_text()),
                       ("batch.toml", (out / "batch.toml").read_text()),
                       ("summary", json.dumps(result.to_json())), ("repr", repr(result)),
                       ("logs", caplog.text)]:
        _assert_no_secret(text, secrets, what)
    # the HSS imports are ciphertext: no Ki in them
    for enc in (out / "exports").glob("*.enc"):
        _assert_no_secret(enc.read_bytes().decode("latin-1"), secrets, enc.name)
    _assert_hashes_at_the_floor(out)


# Any Argon2 PHC string in JSON, whatever its variant and parameters.
_ANY_ARGON2 = re.compile(r"\$argon2(?:id|i|d)\$[^\s\"]+")


def _assert_hashes_at_the_floor(out) -> None:
    """Every hash of the panel import, parsed from the hash itself (not from the metadata that
    describes it): Argon2id, m >= 19456 KiB, t >= 2, p >= 1 (OWASP's Argon2id baseline, the
    floor of simtool.provision.hashing)."""
    panel = json.loads((out / "exports/panel.json").read_text())
    items = [c for group in ("subscribers", "accounts") for entry in panel[group]
             for c in entry["credentials"]]
    with open(out / "exports/panel.csv", newline="") as fh:
        in_csv = [cell for row in csv.reader(fh) for cell in row if "$argon2" in cell]
    in_json = _ANY_ARGON2.findall((out / "exports/panel.json").read_text())
    assert items and sorted(in_csv) == sorted(in_json) == sorted(c["hash"] for c in items)
    found = in_csv + in_json
    for phc in found:
        params = argon2.extract_parameters(phc)
        assert params.type is argon2.Type.ID, phc
        assert params.memory_cost >= 19456, phc
        assert params.time_cost >= 2, phc
        assert params.parallelism >= 1, phc
        assert params.salt_len >= 16 and params.hash_len >= 16, phc


def test_labels_reference_every_barcode(tmp_path):
    generate_batch(load_profile("milo"), 4, tmp_path / "b", rng=SeededRandom(2), now=NOW,
                   panel_import=False)
    printer = tmp_path / "b/exports/printer"
    html = (printer / "labels.html").read_text()
    refs = re.findall(r'src="(barcodes/\d+\.svg)"', html)
    assert len(refs) == 4 and all((printer / r).is_file() for r in refs)
    rows = list(csv.DictReader((printer / "cards.csv").open()))
    for row in rows:
        assert f">{row['barcode']}<" in html
        assert exports.svg_modules((printer / f"barcodes/{row['iccid']}.svg").read_text()) == \
            exports.code128_modules(row["barcode"])
