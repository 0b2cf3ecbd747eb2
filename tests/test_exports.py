"""Exports: pySim CSV, HSS scripts, encryption container, key files, barcodes, panel import,
and a grep for secrets over every output that must not hold one."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
import shutil
import stat
import subprocess
import tomllib
from datetime import UTC, datetime

import argon2
import pytest
from barcode import Code128
from barcode.writer import SVGWriter
from hypothesis import given
from hypothesis import strategies as st

from simtool.errors import DataError, SafetyRefusal
from simtool.provision import exports
from simtool.provision.sealed import read_text
from simtool.provision.batchdir import CardRecord, atomic_open, atomic_write, read_records
from simtool.provision.credentials import Credential, Scope
from simtool.provision.crypto import (MAGIC, decrypt_export, encrypt_export, key_file_text,
                                      read_key_file)
from simtool.provision.generate import generate_batch
from simtool.provision.profile import CredentialKind, load_profile
from simtool.pin import encode_adm
from simtool.secret import Secret
from tests.conftest import SeededRandom

KEY = Secret(bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"))
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


RECORD = CardRecord(
    index=0, iccid="8948011234567890128", imsi="260011234567890", msisdn="48601234567", acc=1,
    ki=Secret(bytes.fromhex("465B5CE8B199B49FAA5F0A2EE238A6BC")),
    opc=Secret(bytes.fromhex("CD63CB71954A9F4E48A5994E37A02BAF")),
    pin1=Secret("4711"), puk1=Secret("31415926"), pin2=Secret("8152"), puk2=Secret("27182818"),
    adm1=Secret("55538407"), barcode=Secret("12345678901231415926535"), account="B-A000001",
    credentials=(Credential(CredentialKind.PANEL_PASSWORD, Secret("1415926535"), Scope.NUMBER),))

# Byte-exact lines: OsmoHLR VTY (its manual's example), one row of the Open5GS mongosh script.
HSS_VECTORS = [
    (exports.osmo_hlr_lines,
     "subscriber imsi 260011234567890 create\n"
     "subscriber imsi 260011234567890 update msisdn 48601234567\n"
     "subscriber imsi 260011234567890 update aud3g milenage k 465b5ce8b199b49faa5f0a2ee238a6bc "
     "opc cd63cb71954a9f4e48a5994e37a02baf\n"),
    (exports.open5gs_line,
     '["260011234567890", "465b5ce8b199b49faa5f0a2ee238a6bc", '
     '"cd63cb71954a9f4e48a5994e37a02baf", "48601234567"],\n'),
]


@pytest.mark.parametrize("fn,expected", HSS_VECTORS)
def test_line_formats(fn, expected):
    assert fn(RECORD) == expected


def test_printer_row_carries_login_web_address_and_derived_codes():
    milo = load_profile("milo")
    assert exports.printer_header(milo) == \
        "iccid,msisdn,barcode,pin1,puk1,account,login,panel_url,panel_password\n"
    assert exports.printer_line(RECORD, milo) == (
        "8948011234567890128,+48601234567,12345678901231415926535,4711,31415926,B-A000001,"
        "48601234567,https://www.milotelecom.pl,1415926535\n")
    plus = load_profile("plus")
    rec = CardRecord(**{**RECORD.__dict__, "credentials": (
        Credential(CredentialKind.PLUS_KOD5, Secret("52913"), Scope.ACCOUNT, must_change=True),
        Credential(CredentialKind.PLUS_KOD4, Secret("8306"), Scope.NUMBER, read_only=True))})
    row = next(csv.DictReader(io.StringIO(exports.printer_header(plus) +
                                          exports.printer_line(rec, plus))))
    assert (row["plus_kod5"], row["plus_kod4"], row["account"]) == ("52913", "8306", "B-A000001")
    assert "panel_password" not in row and "login" not in row


def _pysim_rows(profile_name, current_adm, *, hex_adm=False):
    profile = load_profile(profile_name)
    buf = io.StringIO(newline="")
    writer = exports.PysimCsv(buf, profile, hex_adm=hex_adm)
    writer.write(RECORD, current_adm)
    reader = csv.DictReader(io.StringIO(buf.getvalue()))
    return reader.fieldnames, list(reader)


def pysim_prog_adm(row: dict[str, str]) -> bytes | None:
    """The ADM1 pySim-prog VERIFYs for a CSV row (its read_params_csv, as pySim's source
    reads): ``pin_adm`` as ASCII, padded with FF to 8 bytes; a 16-digit ``pin_adm_hex``
    overrides it; nothing (its SJA2 driver then stops before any VERIFY) when both are
    empty.  An oracle written from pySim's behaviour, not from exports.py."""
    pin = row.get("pin_adm") or row.get("adm1") or ""
    key = pin.encode().hex().ljust(16, "f") if pin else ""
    if len(row.get("pin_adm_hex") or "") == 16:
        key = row["pin_adm_hex"]
    return bytes.fromhex(key) if key else None


def test_pysim_csv_carries_the_cards_current_decimal_adm_not_the_new_one():
    fields, (row,) = _pysim_rows("milo", Secret("11223344"))
    # milo gives no IMS domain: no ISIM columns
    assert fields == ["name", "iccid", "mcc", "mnc", "imsi", "ki", "opc", "acc", "pin_adm",
                      "msisdn"]
    assert row == {"name": "Milo Telecom", "iccid": "8948011234567890128", "mcc": "260",
                   "mnc": "97", "imsi": "260011234567890",
                   "ki": "465B5CE8B199B49FAA5F0A2EE238A6BC",
                   "opc": "CD63CB71954A9F4E48A5994E37A02BAF", "acc": "0001",
                   "pin_adm": "11223344", "msisdn": "+48601234567"}
    assert RECORD.adm1.reveal() not in row.values()  # simtool's new ADM1 is no use to pySim
    assert pysim_prog_adm(row) == encode_adm(Secret("11223344")).key.reveal()


def test_pysim_csv_hex_adm_unknown_adm_and_non_ascii_spn():
    fields, (row,) = _pysim_rows("plus", Secret("cae743db9c5b5a58"))
    assert "pin_adm_hex" in fields and row["pin_adm"] == ""
    assert row["pin_adm_hex"] == "CAE743DB9C5B5A58"
    assert pysim_prog_adm(row) == bytes.fromhex("CAE743DB9C5B5A58")
    # a decimal card whose vendor gave the key as pin_adm_hex (8 ASCII digits in hex)
    _, (row,) = _pysim_rows("milo", Secret("3131323233333434"), hex_adm=True)
    assert pysim_prog_adm(row) == b"11223344"
    for unknown in (None, Secret("")):
        _, (row,) = _pysim_rows("milo", unknown)
        assert row["pin_adm"] == "" and pysim_prog_adm(row) is None
    fields, _ = _pysim_rows("citysat", None)  # SPN "CitySat Śląsk": no name column
    assert "name" not in fields


# --- Open5GS: the mongosh script, run by node against a recording stand-in for the database ----

# Open5GS's subscriber document (webui/server/models/subscriber.js, the fields open5gs-dbctl's
# ``add`` writes, lib/dbi reading them): every path the import may write.  An oracle copied
# from the schema, not from exports.py.
OPEN5GS_PATHS = {
    "_id", "schema_version", "imsi", "msisdn", "imeisv", "mme_host", "mme_realm", "purge_flag",
    "security.k", "security.op", "security.opc", "security.amf", "security.rand", "security.sqn",
    "ambr.downlink.value", "ambr.downlink.unit", "ambr.uplink.value", "ambr.uplink.unit",
    "slice", "access_restriction_data", "subscriber_status", "network_access_mode",
    "subscribed_rau_tau_timer"}
OPEN5GS_SLICE = {"_id", "sst", "sd", "default_indicator", "session"}
OPEN5GS_SESSION = {"_id", "name", "type", "qos", "ambr", "ue", "smf", "pcc_rule"}

NODE_STUB = r"""
const fs = require("fs"), vm = require("vm");
const ops = [];
globalThis.NumberInt = (x) => x;
globalThis.ObjectId = class { toJSON() { return "oid"; } };
globalThis.print = (...a) => process.stderr.write(a.join(" ") + "\n");
globalThis.quit = (c) => process.exit(c);
globalThis.db = {getName: () => process.argv[3], subscribers: {bulkWrite(o, opts) {
  if (!opts || opts.ordered !== true) throw new Error("unordered");
  ops.push(...o); return {upsertedCount: 0, modifiedCount: 0, matchedCount: o.length};
}}};
vm.runInThisContext(fs.readFileSync(process.argv[2], "utf8"));
process.stdout.write(JSON.stringify(ops));
"""


def _paths(doc: dict, prefix: str = "") -> set[str]:
    out = set()
    for key, value in doc.items():
        path = prefix + key
        if isinstance(value, dict) and value and path != "slice":
            out |= _paths(value, path + ".")
        else:
            out.add(path)
    return out


def _set_path(doc: dict, path: str, value) -> bool:
    *parents, last = path.split(".")
    for p in parents:
        doc = doc.setdefault(p, {})
    changed = doc.get(last, object()) != value
    doc[last] = value
    return changed


def _apply(store: dict, op: dict) -> str:
    """MongoDB's updateOne semantics for $set / $setOnInsert with upsert."""
    u = op["updateOne"]
    assert set(u) == {"filter", "update", "upsert"} and u["upsert"] is True
    assert set(u["filter"]) == {"imsi"} and set(u["update"]) <= {"$set", "$setOnInsert"}
    doc = store.get(u["filter"]["imsi"])
    if doc is None:
        doc = store[u["filter"]["imsi"]] = {"_id": "oid", "imsi": u["filter"]["imsi"]}
        for path, value in {**u["update"]["$setOnInsert"], **u["update"]["$set"]}.items():
            _set_path(doc, path, value)
        return "inserted"
    changed = [_set_path(doc, p, v) for p, v in u["update"]["$set"].items()]
    return "modified" if any(changed) else "unchanged"


def _run_open5gs(tmp_path, text: str, db_name: str = "open5gs"):
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("node is not installed (runs the mongosh script)")
    script, stub = tmp_path / "o5gs.js", tmp_path / "stub.js"
    script.write_text(text)
    stub.write_text(NODE_STUB)
    return subprocess.run([node, str(stub), str(script), db_name], capture_output=True,
                          text=True, timeout=60)


def test_open5gs_rows_are_json_and_the_header_says_how_to_run_it():
    text = (exports.open5gs_header("B1", 1) + exports.open5gs_line(RECORD) +
            exports.open5gs_tail())
    head, _, rest = text.partition("const SUBSCRIBERS = ")
    rows = json.loads(rest[:rest.index("];") + 1].replace(",\n]", "\n]"))
    assert rows == [[RECORD.imsi, RECORD.ki.reveal().hex(), RECORD.opc.reveal().hex(),
                     RECORD.msisdn]]
    assert all(line.startswith("//") for line in head.splitlines())
    assert f"--file {exports.OPEN5GS_FILE}" in head and "upsert: true" in rest


def test_open5gs_import_upserts_the_schemas_document_and_runs_twice(tmp_path):
    second = CardRecord(**{**RECORD.__dict__, "imsi": "260011234567891", "msisdn": "48601234568"})
    text = (exports.open5gs_header("B1", 2) + exports.open5gs_line(RECORD) +
            exports.open5gs_line(second) + exports.open5gs_tail())
    assert "open5gs-dbctl add" not in text and "mongosh mongodb://" in text
    run = _run_open5gs(tmp_path, text)
    assert run.returncode == 0, run.stderr
    ops = json.loads(run.stdout)
    assert len(ops) == 2
    store: dict = {}
    assert [_apply(store, op) for op in ops] == ["inserted", "inserted"]
    doc = store["260011234567890"]
    assert _paths(doc) <= OPEN5GS_PATHS, _paths(doc) - OPEN5GS_PATHS
    for sl in doc["slice"]:
        assert set(sl) <= OPEN5GS_SLICE and all(set(s) <= OPEN5GS_SESSION for s in sl["session"])
    assert doc["msisdn"] == ["48601234567"] and store["260011234567891"]["msisdn"] == \
        ["48601234568"]
    assert doc["security"]["k"] == RECORD.ki.reveal().hex()
    assert doc["security"]["opc"] == RECORD.opc.reveal().hex()
    assert doc["security"]["op"] is None and doc["slice"][0]["session"][0]["name"] == "internet"
    # the HSS moved the SQN on; a re-run changes nothing and keeps it
    doc["security"]["sqn"] = 4711
    assert [_apply(store, op) for op in ops] == ["unchanged", "unchanged"]
    assert doc["security"]["sqn"] == 4711
    # a URI without a database name would write into "test": refused
    refused = _run_open5gs(tmp_path, text, db_name="test")
    assert refused.returncode == 2 and "name the database" in refused.stderr


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
    panel_csv = read_text(out / "exports/panel.csv").reveal()  # sealed for idea24 (PUK-grade)
    assert len(_HASH.findall(panel_csv)) == len(panel_csv.splitlines()) - 1
    for what, text in [("panel.csv", panel_csv),
                       ("panel.json", read_text(out / "exports/panel.json").reveal()),
                       ("batch.toml", (out / "batch.toml").read_text()),
                       ("summary", json.dumps(result.to_json())), ("repr", repr(result)),
                       ("logs", caplog.text)]:
        _assert_no_secret(text, secrets, what)
    # the HSS imports are ciphertext: no Ki in them
    for enc in out.rglob("*.enc"):
        _assert_no_secret(enc.read_bytes().decode("latin-1"), secrets, enc.name)
    _assert_hashes_at_the_floor(out)


# Any Argon2 PHC string in JSON, whatever its variant and parameters.
_ANY_ARGON2 = re.compile(r"\$argon2(?:id|i|d)\$[^\s\"]+")


def _assert_hashes_at_the_floor(out) -> None:
    """Every hash of the panel import, parsed from the hash itself (not from the metadata that
    describes it): Argon2id, m >= 19456 KiB, t >= 2, p >= 1 (OWASP's Argon2id baseline, the
    floor of simtool.provision.hashing)."""
    panel_json = read_text(out / "exports/panel.json").reveal()  # sealed when PUK-grade
    panel = json.loads(panel_json)
    items = [c for group in ("subscribers", "accounts") for entry in panel[group]
             for c in entry["credentials"]]
    rows = csv.reader(io.StringIO(read_text(out / "exports/panel.csv").reveal(), newline=""))
    in_csv = [cell for row in rows for cell in row if "$argon2" in cell]
    in_json = _ANY_ARGON2.findall(panel_json)
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
    rows = list(csv.DictReader(io.StringIO(read_text(printer / "cards.csv").reveal())))
    for row in rows:
        assert f'alt="{row["barcode"]}"' in html
        assert exports.svg_modules((printer / f"barcodes/{row['iccid']}.svg").read_text()) == \
            exports.code128_modules(row["barcode"])


# --- a batch for pySim-prog ----------------------------------------------------------------------

VENDOR_ICCIDS = ["8948011234567890128", "8948011234567890136"]


def _vendor_file(tmp_path, header="iccid,pin1,puk1,pin2,puk2,adm1",
                 rows=("8948011234567890128,1357,24681357,2468,13572468,11223344",
                       "8948011234567890136,9753,86420975,8642,97531086,55667788")):
    from simtool.provision.cardkeys import read_card_keys

    path = tmp_path / "vendor.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return read_card_keys(path)


def test_a_batch_for_pysim_keeps_the_vendors_pins_in_records_letters_and_csv(tmp_path):
    keys = _vendor_file(tmp_path)
    out = tmp_path / "b"
    result = generate_batch(load_profile("milo"), 2, out, rng=SeededRandom(4), now=NOW,
                            panel_import=False, card_keys=keys, programmer="pysim",
                            transport_key=KEY)
    assert result.warnings == ()
    recs = list(read_records(out / "records.jsonl"))
    assert [r.iccid for r in recs] == VENDOR_ICCIDS
    first = recs[0]
    assert [first.pin1, first.puk1, first.pin2, first.puk2, first.adm1] == \
        [Secret(v) for v in ("1357", "24681357", "2468", "13572468", "11223344")]
    letter = next(csv.DictReader(io.StringIO(read_text(out / "exports/printer/cards.csv").reveal())))
    assert (letter["pin1"], letter["puk1"]) == ("1357", "24681357")
    rows = list(csv.DictReader(io.StringIO(read_text(out / "exports/pysim.csv").reveal())))
    assert [pysim_prog_adm(r) for r in rows] == [b"11223344", b"55667788"]
    info = tomllib.loads((out / "batch.toml").read_text())
    assert info["programmer"] == "pysim" and info["iccid_source"] == "card-list"
    # simtool's own programmer refuses it: its records hold no new PINs to write
    from simtool.provision.program import open_batch

    with pytest.raises(SafetyRefusal, match="pySim-prog"):
        open_batch(out)


def test_a_simtool_batch_gives_pysim_the_vendors_adm_and_its_own_pins_to_the_letter(tmp_path):
    keys = _vendor_file(tmp_path, "iccid,pin_adm_hex",
                        ("8948011234567890128,3131323233333434",
                         "8948011234567890136,3535363637373838"))
    out = tmp_path / "b"
    generate_batch(load_profile("milo"), 2, out, rng=SeededRandom(4), now=NOW,
                   panel_import=False, card_keys=keys)
    recs = list(read_records(out / "records.jsonl"))
    rows = list(csv.DictReader(io.StringIO(read_text(out / "exports/pysim.csv").reveal())))
    assert [pysim_prog_adm(r) for r in rows] == [b"11223344", b"55667788"]
    assert all(r.adm1.reveal() not in row.values() for r, row in zip(recs, rows, strict=True))


def test_pysim_batch_warnings_and_refusals(tmp_path):
    from simtool.provision.pysim import pysim_no_adm_warning, pysim_no_row_warning

    result = generate_batch(load_profile("milo"), 2, tmp_path / "a", rng=SeededRandom(4),
                            now=NOW, panel_import=False, programmer="pysim")
    assert pysim_no_row_warning("sysmoISIM-SJA2") in result.warnings
    assert pysim_no_adm_warning(2, 2) in result.warnings
    recs = list(read_records(tmp_path / "a/records.jsonl"))
    assert all(r.pin1.reveal() == r.puk1.reveal() == r.adm1.reveal() == "" for r in recs)
    rows = list(csv.DictReader(io.StringIO(read_text(tmp_path / "a/exports/pysim.csv").reveal())))
    assert all(pysim_prog_adm(r) is None for r in rows)
    # a simtool batch without a card list: the empty column is a note, not a warning
    result = generate_batch(load_profile("plus"), 2, tmp_path / "b", rng=SeededRandom(4),
                            now=NOW, panel_import=False)
    assert pysim_no_adm_warning(2, 2) in result.notes
    assert pysim_no_adm_warning(2, 2) not in result.warnings
    # Idea24's subscriber code is the PUK's tail: a pySim batch needs the vendor's PUK1
    with pytest.raises(DataError, match="puk1"):
        generate_batch(load_profile("idea24"), 2, tmp_path / "c", rng=SeededRandom(4),
                       now=NOW, panel_import=False, programmer="pysim",
                       card_keys=_vendor_file(tmp_path, "iccid,adm1",
                                              (f"{VENDOR_ICCIDS[0]},11223344",
                                               f"{VENDOR_ICCIDS[1]},55667788")))
    assert not (tmp_path / "c").exists()
