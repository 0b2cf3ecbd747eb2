"""Secret hygiene: no Ki, OPc, OP, ADM, PIN, PUK, panel password or derived code ever reaches
an output, a log, the journal, a non-secret export or an exception; every file that holds one
is created 0600; an ADM1 key is never sent to a card near the end of its tries, nor twice.

The end-to-end sweep runs every CLI command (plain, and with ``--json --trace``, plus failing
cases) against a virtual card whose PINs/PUKs/ADM1 are distinctive 8-digit values, then greps
everything it produced for every secret of the batches and of the card, in every spelling:
text, hex upper/lower, spaced hex, and the raw bytes.
"""

from __future__ import annotations

import builtins
import io
import json
import logging
import os
import pickle
import re
import shutil
import signal
import sqlite3
import stat
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from simtool.apdu.channel import Channel
from simtool.apdu.transport import CountingTransport, InProcessTransport, TracingTransport
from simtool.card import Card
from simtool.errors import AdmTriesTooLow, DataError, SafetyRefusal, WrongPin
from simtool.pin import encode_pin
from simtool.provision.sealed import read_text
from simtool.provision.batchdir import read_records, record_from_json, record_to_json
from simtool.provision.crypto import read_key_file
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile
from simtool.provision.program import CardSecrets, read_card_keys
from simtool.secret import Secret
from tests.conftest import run_simtool
from tests.harness import PcscStack
from tests.virtual_card import VirtualUicc
from tests.virtual_card.defaults import KI as CARD_KI
from tests.virtual_card.defaults import OPC as CARD_OPC
from tests.virtual_card.image import default_state, load_image, save_image
from tests.virtual_card.pins import Pin

OP_HEX = "5F1D289C5D354D0A140C2548F5F3E3BA"
TRANSPORT_HEX = "9C" + "3A71E5D20B8846F1" * 3 + "77D05E4B19A2C6"
# The card's own secrets: 8 digits each, so a leak is unmistakable in any output.
CARD = {"pin1": "80746293", "pin2": "51938624", "puk1": "70418395", "puk2": "26491837",
        "adm1": "93718264"}
NEW_PIN1 = "63029475"
WRONG = {"pin": "46820913", "puk": "38104726", "adm": "57204816"}
ADM_VERIFY = re.compile(r">> 00 20 00 0A 08\b")  # VERIFY ADM1 carrying a key (not a query)


# --- finding secrets -------------------------------------------------------------------------

def _token(text: str) -> re.Pattern[str]:
    """A digit string standing alone: not inside a longer number, word, timestamp or ICCID."""
    return re.compile(r"(?<![0-9A-Za-z.:+\-])" + re.escape(text) + r"(?![0-9A-Za-z.:+\-])")


@dataclass
class Secrets:
    """Every spelling of every secret: patterns for text, byte strings for binary files."""

    patterns: list[tuple[str, re.Pattern[str]]] = field(default_factory=list)
    raw: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, name: str, value: str | bytes | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if isinstance(value, str):
            if value.isdigit():
                self.patterns.append((name, _token(value)))
            else:
                self.patterns.append((name, re.compile(re.escape(value), re.I)))
            if re.fullmatch(r"(?:[0-9A-Fa-f]{2}){8,}", value):
                self._bytes(name, bytes.fromhex(value))  # a hex key: its bytes too
            self._bytes(name + " (ASCII)", value.encode())
        else:
            self._bytes(name, value)

    def _bytes(self, name: str, data: bytes) -> None:
        for spelling in (data.hex(), data.hex(" "), data.hex(":")):
            self.patterns.append((name, re.compile(re.escape(spelling), re.I)))
        if len(data) >= 8:  # shorter byte runs turn up by chance in binary files
            self.raw.append((name, data))

    def add_record(self, rec) -> None:
        where = f"record {rec.iccid}"
        for attr in ("ki", "opc", "pin1", "puk1", "pin2", "puk2", "adm1", "barcode"):
            self.add(f"{where} {attr}", getattr(rec, attr))
        for cred in rec.credentials:
            self.add(f"{where} {cred.kind.value}", cred.value)

    def leaks(self, text: str) -> list[str]:
        return sorted({name for name, pattern in self.patterns if pattern.search(text)})

    def leaks_bytes(self, data: bytes) -> list[str]:
        return sorted({name for name, value in self.raw if value in data})


def card_secrets() -> Secrets:
    s = Secrets()
    for name, value in {**CARD, "new pin1": NEW_PIN1, "op": OP_HEX, "transport": TRANSPORT_HEX,
                        **{f"wrong {k}": v for k, v in WRONG.items()}}.items():
        s.add(name, value)
    s.add("card ki", CARD_KI)
    s.add("card opc", CARD_OPC)
    return s


# --- the card and the keys ---------------------------------------------------------------------

def write_card_image(path: Path, *, adm_tries: int = 3) -> Path:
    state = default_state()
    state.pins["PIN1"] = Pin("PIN1", CARD["pin1"], puk=CARD["puk1"])
    state.pins["PIN2"] = Pin("PIN2", CARD["pin2"], puk=CARD["puk2"])
    state.pins["ADM1"] = Pin("ADM1", CARD["adm1"], tries=adm_tries)
    save_image(path, state)
    return path


@pytest.fixture
def card(pcscd, tmp_path):
    """A virtual card with the distinctive secrets behind pcscd; the emulator runs with umask 0
    so the image it rewrites shows the mode its code asks for."""
    stack = PcscStack(tmp_path / "stack", image=write_card_image(tmp_path / "card.json"))
    stack.workdir.mkdir()
    old = os.umask(0)
    try:
        stack.start_card()
    finally:
        os.umask(old)
    yield stack
    stack.stop()


def key_files(folder: Path) -> tuple[Path, Path]:
    op, transport = folder / "op.key", folder / "transport.key"
    op.write_text(f"# operator OP\n{OP_HEX}\n")
    transport.write_text(TRANSPORT_HEX + "\n")
    for path in (op, transport):
        path.chmod(0o600)
    return op, transport


def adm_tries(image: Path) -> int:
    return load_image(image).pins["ADM1"].tries


class Transcript:
    """Everything the CLI printed, command by command."""

    def __init__(self, reader: str | None) -> None:
        self.reader = reader
        self.parts: list[str] = []

    def __call__(self, *args: str, rc: int | tuple[int, ...] = 0, input: str | None = None,
                 reader: bool = True):
        proc = run_simtool(*args, reader=self.reader if reader else None, input=input)
        # the command line itself is not output: it holds the PINs the test typed
        self.parts.append(f"{proc.stdout}\n{proc.stderr}")
        expected = rc if isinstance(rc, tuple) else (rc,)
        assert proc.returncode in expected, (args[:4], self.parts[-1][-3000:])
        return proc

    def text(self) -> str:
        return "\n".join(self.parts)


def journal_dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


# --- Secret itself ---------------------------------------------------------------------------

def test_secret_redacts_in_every_rendering(caplog):
    value = "80746293"
    s = Secret(value)
    b = Secret(bytes.fromhex(OP_HEX))
    log = logging.getLogger("simtool.test")
    with caplog.at_level(logging.DEBUG):
        log.info("pin %s key %r", s, b)
        log.info("both %s", (s, b))
        log.info("dict %s", {"pin": s})
        try:
            raise ValueError(s)
        except ValueError:
            log.exception("failed with %s", s)
    renderings = [repr(s), str(s), format(s), f"{s}", f"{s!r}", f"{s!s}", f"{s:>20}",
                  "{}".format(s), "%s %r" % (s, s), repr([s, b]), str({"k": b}),
                  repr(CardSecrets(*(b,) * 7)), caplog.text, "".join(traceback.format_exception(
                      ValueError(s)))]
    for text in renderings:
        assert value not in text and OP_HEX.lower() not in text.lower(), text
        assert "Secret(***)" in text or "***" in text, text
    assert s.reveal() == value and b.reveal().hex().upper() == OP_HEX
    with pytest.raises(TypeError):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        json.dumps({"pin": s})
    with pytest.raises(AttributeError):
        s._value = "x"  # type: ignore[misc]


def test_library_errors_and_records_never_show_a_secret(tmp_path):
    s = card_secrets()
    folder = tmp_path / "b"
    generate_batch(load_profile("milo"), 2, folder, panel_import=False)
    records = list(read_records(folder / "records.jsonl"))
    for rec in records:
        s.add_record(rec)
    texts = [repr(records), str(records[0])]
    # a corrupted record line: the error names file:line, never the line
    line = record_to_json(records[0]).replace('"ki":"', '"ki":"ZZ')
    with pytest.raises(DataError) as exc:
        record_from_json(line, where="records.jsonl:1")
    texts += [str(exc.value), repr(exc.value), "".join(traceback.format_exception(exc.value))]
    # key files with a wrong length, a wrong mode, non-hex text
    for name, text, mode in (("short", OP_HEX[:-2], 0o600), ("open", OP_HEX, 0o644),
                             ("nonhex", OP_HEX + "ZZ", 0o600)):
        path = tmp_path / f"{name}.key"
        path.write_text(text + "\n")
        path.chmod(mode)
        with pytest.raises((DataError, SafetyRefusal)) as exc:
            read_key_file(path, 16, what="OP key")
        texts += [str(exc.value), repr(exc.value)]
    # a vendor key file with a malformed ADM1
    keys = tmp_path / "keys.csv"
    keys.write_text(f"iccid,adm1\n8948011234567890128,{CARD['adm1']}X\n")
    with pytest.raises(DataError) as exc:
        read_card_keys(keys)
    texts += [str(exc.value), repr(exc.value)]
    # a wrong PIN and an ADM refusal from the card, traced
    trace: list[str] = []
    vc = VirtualUicc(default_state())
    card = Card(Channel(TracingTransport(InProcessTransport(vc), trace.append)))
    with pytest.raises(WrongPin) as exc:
        card.verify_pin(0x01, encode_pin(Secret(WRONG["pin"])))
    texts += [str(exc.value), repr(exc.value), "".join(traceback.format_exception(exc.value))]
    vc.image_state().pins["ADM1"].tries = 1
    with pytest.raises(AdmTriesTooLow) as exc:
        card.verify_adm(0x0A, encode_pin(Secret(CARD["adm1"])), min_tries=2)
    texts += [str(exc.value), repr(exc.value), "\n".join(trace)]
    for text in texts:
        assert not s.leaks(text), (s.leaks(text), text)


# --- files holding secrets are created 0600 --------------------------------------------------

SECRET_FILES = ("records.jsonl.enc", "exports/pysim.csv.enc", "exports/printer/cards.csv.enc",
                "exports/printer/labels.html")


def test_secret_files_are_created_0600_whatever_the_umask(tmp_path, monkeypatch):
    """With umask 0 a plain open() would give 0666: every file holding secrets must be created
    by os.open with mode 0600 (checked with fstat right after creation), never by open()."""
    created: dict[str, int] = {}
    by_open: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def os_open(path, flags, mode=0o777, *a, **kw):
        fd = real_os_open(path, flags, mode, *a, **kw)
        if flags & os.O_CREAT:
            created[os.fspath(path)] = stat.S_IMODE(os.fstat(fd).st_mode)
        return fd

    def open_(file, mode="r", *a, **kw):
        if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wxa"):
            by_open.append(os.fspath(file))
        return real_open(file, mode, *a, **kw)

    op_file, transport_file = key_files(tmp_path)
    old = os.umask(0)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)  # what pathlib calls
    try:
        out = tmp_path / "batch"
        generate_batch(load_profile("milo"), 3, out, workers=1,
                       op=read_key_file(op_file, 16), transport_key=read_key_file(
                           transport_file, 32))
        from simtool.cli.batch import batch as batch_group

        plain = tmp_path / "osmo-hlr.vty"
        result = CliRunner().invoke(batch_group, [
            "decrypt", str(out / "exports/osmo-hlr.vty.enc"), "--transport-key-file",
            str(transport_file), "--out", str(plain)])
        assert result.exit_code == 0, result.output
        image = write_card_image(tmp_path / "card.json")
        vc = VirtualUicc.from_image(image)
        Card(Channel(InProcessTransport(vc))).verify_pin(0x01, encode_pin(Secret(WRONG["pin"])))
    except WrongPin:
        pass
    finally:
        os.umask(old)
        monkeypatch.undo()
    svgs = sorted((out / "exports/printer/barcodes").glob("*.svg"))
    secret_files = [out / name for name in SECRET_FILES] + svgs + [plain, image] + [
        out / "exports" / f"{name}.enc" for name in ("osmo-hlr.vty", "open5gs-subscribers.js")]
    for path in secret_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert not by_open, f"created with open(): {by_open}"
    # each one was born 0600: the temporary file it was renamed from, or itself
    born = {Path(p).name: m for p, m in created.items()}
    for path in secret_files:
        modes = [m for name, m in born.items()
                 if name == path.name or name.startswith(f".{path.name}.")]
        assert modes and set(modes) == {0o600}, (path, modes)
    # holds no secret, but names the batch's subscribers: not world-readable
    assert stat.S_IMODE((out / "batch.toml").stat().st_mode) == 0o640


# --- the whole CLI against the virtual card --------------------------------------------------

def _card_commands(t: Transcript, variant: tuple[str, ...]) -> None:
    j = variant
    t(*j, "readers")
    t(*j, "info")
    t(*j, "info", "--pin1", input=CARD["pin1"] + "\n")
    t(*j, "apdu", "00A40004023F00", "00A40004022FE2", "00B000000A")
    t(*j, "pin", "status")
    t(*j, "pin", "verify", "pin1", "--pin", WRONG["pin"], rc=1)
    t(*j, "pin", "verify", "pin1", "--pin", CARD["pin1"])
    t(*j, "pin", "verify", "pin2", input=CARD["pin2"] + "\n")  # prompted, no echo
    t(*j, "pin", "verify", "adm1", "--pin", CARD["adm1"])
    t(*j, "pin", "change", "pin1", "--old", WRONG["pin"], "--new", NEW_PIN1, rc=1)
    t(*j, "pin", "change", "pin1", "--old", CARD["pin1"], "--new", NEW_PIN1)
    t(*j, "pin", "change", "pin1", input=f"{NEW_PIN1}\n{CARD['pin1']}\n{CARD['pin1']}\n")
    t(*j, "pin", "unblock", "pin2", "--puk", WRONG["puk"], "--new", CARD["pin2"], rc=1)
    t(*j, "pin", "unblock", "pin2", "--puk", CARD["puk2"], "--new", CARD["pin2"])
    t(*j, "pin", "disable", "pin1", "--pin", WRONG["pin"], rc=1)
    t(*j, "pin", "disable", "pin1", "--pin", CARD["pin1"])
    t(*j, "pin", "enable", "pin1", "--pin", CARD["pin1"])
    t(*j, "pin", "verify", "pin1", "--pin", CARD["pin1"])  # counters back to full
    t(*j, "mmi", "explain", "*100#", reader=False)
    t(*j, "mmi", "explain", "**21*600123456#", reader=False)
    t(*j, "stk", "menu")
    t(*j, "stk", "select", "1")


@pytest.mark.e2e
def test_no_secret_in_any_output_log_journal_or_export(card, pcscd, tmp_path):
    s = card_secrets()
    t = Transcript(card.reader)
    op_file, transport_file = key_files(tmp_path)
    keys = ("--op-key-file", str(op_file), "--transport-key-file", str(transport_file))

    # batches: text, --json, --trace; then the failing cases
    batches = {"text": tmp_path / "b-text", "json": tmp_path / "b-json"}
    t("batch", "generate", "--profile", "milo", "--count", "3", "--out", str(batches["text"]),
      "--workers", "1", *keys, reader=False)
    t("--json", "--trace", "batch", "generate", "--profile", "milo", "--count", "3",
      "--out", str(batches["json"]), "--first-serial", "100", "--workers", "1", *keys,
      reader=False)
    bad_op = tmp_path / "bad-op.key"
    bad_op.write_text(OP_HEX + "ZZ\n")
    bad_op.chmod(0o600)
    t("batch", "generate", "--profile", "milo", "--count", "1", "--out", str(tmp_path / "x"),
      "--op-key-file", str(bad_op), rc=4, reader=False)
    open_op = tmp_path / "open-op.key"
    shutil.copy(op_file, open_op)
    open_op.chmod(0o644)
    t("batch", "generate", "--profile", "milo", "--count", "1", "--out", str(tmp_path / "x"),
      "--op-key-file", str(open_op), rc=5, reader=False)
    assert not (tmp_path / "x").exists()
    for b in batches.values():
        for rec in read_records(b / "records.jsonl"):
            s.add_record(rec)
    enc = batches["text"] / "exports" / "osmo-hlr.vty.enc"
    plain = tmp_path / "plain" / "osmo-hlr.vty"
    plain.parent.mkdir()
    t("--json", "batch", "decrypt", str(enc), "--transport-key-file", str(transport_file),
      "--out", str(plain), reader=False)
    t("batch", "decrypt", str(enc), "--transport-key-file", str(transport_file),
      "--out", str(plain), rc=5, reader=False)  # exists: refused
    wrong_key = tmp_path / "wrong-transport.key"
    wrong_key.write_text("11" * 32 + "\n")
    wrong_key.chmod(0o600)
    t("batch", "decrypt", str(enc), "--transport-key-file", str(wrong_key),
      "--out", str(tmp_path / "plain" / "other"), rc=4, reader=False)
    assert not (tmp_path / "plain" / "other").exists()
    assert stat.S_IMODE(plain.stat().st_mode) == 0o600

    # every card command, plain and with --json --trace
    for variant in ((), ("--json", "--trace")):
        _card_commands(t, variant)
    assert adm_tries(card.image) == 3 and stat.S_IMODE(card.image.stat().st_mode) == 0o600

    # a malformed batch, a bad vendor key file: errors name the place, not the values
    broken = tmp_path / "b-broken"
    shutil.copytree(batches["text"], broken)
    lines = read_text(broken / "records.jsonl").reveal().splitlines()  # unsealed, in memory
    lines[1] = lines[1].replace('"opc":"', '"opc":"0', 1)
    (broken / "records.jsonl.enc").unlink()
    (broken / "records.jsonl").write_text("\n".join(lines) + "\n")
    (broken / "records.jsonl").chmod(0o600)
    proc = t("batch", "program", "--allow-iccid-change", str(broken), "--adm1", CARD["adm1"], "--count", "1", rc=4)
    assert "records.jsonl:2" in proc.stderr
    bad_keys = tmp_path / "keys.csv"
    iccid = load_image(card.image).files["3F00/2FE2"]
    bad_keys.write_text(f"iccid,pin_adm\n8948011234567890128,{CARD['adm1']}Z\n")
    proc = t("batch", "program", "--allow-iccid-change", str(batches["text"]), "--card-keys", str(bad_keys), rc=4)
    assert "keys.csv:2" in proc.stderr
    assert load_image(card.image).files["3F00/2FE2"] == iccid  # the card was not touched

    # programming: a wrong vendor ADM1 (once), then the right one through the prompt
    t("--json", "--trace", "batch", "program", "--allow-iccid-change", str(batches["json"]), "--adm1", WRONG["adm"],
      "--count", "1", "--poll", "0.05", rc=1)
    assert adm_tries(card.image) == 2
    t("--trace", "batch", "program", "--allow-iccid-change", str(batches["text"]), "--count", "1", "--poll", "0.05",
      input=CARD["adm1"] + "\n")
    programmed = load_image(card.image)
    assert programmed.pins["ADM1"].tries == 3

    # collect: outputs, logs, journals, the non-secret exports
    texts = {"cli": t.text()}
    for log in [*card.workdir.glob("*.log"), *pcscd.workdir.glob("*.log")]:
        texts[log.name] = log.read_text(errors="replace")
    for name, b in batches.items():
        texts[f"journal {name}"] = journal_dump(b / "journal.sqlite")
        for public in ("batch.toml", "exports/panel.csv", "exports/panel.json"):
            texts[f"{name} {public}"] = (b / public).read_text()
    leaks = {what: s.leaks(text) for what, text in texts.items()}
    assert not any(leaks.values()), {k: v for k, v in leaks.items() if v}
    for name, b in batches.items():
        for enc_file in (b / "exports").glob("*.enc"):
            assert not s.leaks_bytes(enc_file.read_bytes()), enc_file
    # the trace was on, and did show the card's traffic, redacted
    assert ">> 00 D6" in texts["cli"] and "redacted]" in texts["cli"]
    # the secret files are 0600; the decrypted export holds what the batch holds
    assert s.leaks(plain.read_text())
    for b in batches.values():
        for name in SECRET_FILES:
            assert stat.S_IMODE((b / name).stat().st_mode) == 0o600


# --- ADM1 safety end to end ------------------------------------------------------------------

@pytest.mark.e2e
def test_adm_with_one_try_left_is_never_verified(card, tmp_path):
    card.kill_card(signal.SIGTERM)
    write_card_image(card.image, adm_tries=1)
    card.start_card()
    t = Transcript(card.reader)
    folder = tmp_path / "b"
    generate_batch(load_profile("milo"), 1, folder, panel_import=False)
    proc = t("--trace", "pin", "verify", "adm1", "--pin", CARD["adm1"], rc=5)
    assert "1 tries left" in proc.stderr and not ADM_VERIFY.search(proc.stderr)
    assert ">> 00 20 00 0A" in proc.stderr  # the counter was read (VERIFY without data)
    proc = t("--trace", "--json", "batch", "program", "--allow-iccid-change", str(folder), "--adm1", CARD["adm1"],
             "--count", "1", "--poll", "0.05", rc=5)  # a safety refusal, as `pin verify adm1` says
    result = json.loads(proc.stdout.splitlines()[0])
    assert result["outcome"] == "refused" and "1 tries left" in result["reason"]
    assert not ADM_VERIFY.search(proc.stderr) and ">> 00 D6" not in proc.stderr
    assert adm_tries(card.image) == 1


@pytest.mark.e2e
def test_wrong_adm_costs_exactly_one_try_and_is_never_resent(card, tmp_path):
    t = Transcript(card.reader)
    folder = tmp_path / "b"
    generate_batch(load_profile("milo"), 2, folder, panel_import=False)
    before = adm_tries(card.image)
    proc = t("--trace", "--json", "batch", "program", "--allow-iccid-change", str(folder), "--adm1", WRONG["adm"],
             "--count", "1", "--poll", "0.05", rc=1)
    assert len(ADM_VERIFY.findall(proc.stderr)) == 1
    assert json.loads(proc.stdout.splitlines()[0])["outcome"] == "failed"
    assert adm_tries(card.image) == before - 1
    # a second session with the same (wrong, or any) key: refused without a VERIFY
    for adm in (WRONG["adm"], CARD["adm1"]):
        proc = t("--trace", "--json", "batch", "program", "--allow-iccid-change", str(folder), "--adm1", adm,
                 "--count", "1", "--poll", "0.05", rc=5)
        assert json.loads(proc.stdout.splitlines()[0])["outcome"] == "refused"
        assert not ADM_VERIFY.search(proc.stderr)
    assert adm_tries(card.image) == before - 1
    # and in process, counted: one try left → the counter is read, no key is sent
    vc = VirtualUicc(load_image(card.image))
    vc.image_state().pins["ADM1"].tries = 1
    counting = CountingTransport(InProcessTransport(vc))
    with pytest.raises(AdmTriesTooLow):
        Card(Channel(counting)).verify_adm(0x0A, encode_pin(Secret(CARD["adm1"])), min_tries=2)
    assert counting.count == counting.by_ins[0x20] == 1
