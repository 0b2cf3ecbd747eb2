"""End to end: the simtool CLI → pyscard → pcscd → vpcd → the virtual card process."""

from __future__ import annotations

import json
import signal

import pytest

from tests.conftest import run_simtool

pytestmark = pytest.mark.e2e

DEFAULT_ICCID = "8948011234567890128"
DEFAULT_IMSI = "260011234567890"


def image_pins(stack) -> dict:
    return json.loads(stack.image.read_text())["pins"]


def test_readers_lists_the_virtual_reader_with_its_atr(simtool_cli, pcsc_stack):
    proc = simtool_cli("--json", "readers", check=True)
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    ours = rows[pcsc_stack.reader]
    assert ours["card_present"] is True
    assert ours["atr"] == "3B9F96801F878031E073FE211B674A4C753034054BA9"


def test_json_info_prints_iccid_imsi_and_counters(simtool_cli):
    proc = simtool_cli("--json", "info", "--pin1", input="1234\n", check=True)
    info = json.loads(proc.stdout)
    assert info["card_type"] == "sysmoISIM-SJA2"
    assert info["iccid"] == DEFAULT_ICCID
    assert info["imsi"] == DEFAULT_IMSI
    assert info["msisdn"] == "+48531234567"
    assert info["spn"] == "Milo Telecom"
    # PIN1 was just verified: VERIFY without data answers 9000, so no counter is shown
    assert info["tries_left"] == {"PIN1": None, "PIN2": 3, "ADM1": 3, "PUK1": 10, "PUK2": 10}


def test_info_without_pin_explains_what_is_missing(simtool_cli):
    info = json.loads(simtool_cli("--json", "info", check=True).stdout)
    assert info["iccid"] == DEFAULT_ICCID and info["imsi"] is None
    assert any("IMSI needs PIN1" in n for n in info["notes"])
    assert info["tries_left"]["PIN1"] == 3


def test_wrong_pin_shows_tries_left_and_decrements_the_card_image(simtool_cli, pcsc_stack):
    proc = simtool_cli("pin", "verify", "pin1", "--pin", "0000")
    assert proc.returncode == 1
    assert "2 tries left" in proc.stderr
    assert image_pins(pcsc_stack)["PIN1"]["tries"] == 2
    status = json.loads(simtool_cli("--json", "pin", "status", check=True).stdout)
    assert status["PIN1"] == 2
    # the right PIN resets the counter, in the image too
    simtool_cli("pin", "verify", "pin1", "--pin", "1234", check=True)
    assert image_pins(pcsc_stack)["PIN1"]["tries"] == 3


def test_blocked_pin_is_unblocked_with_the_puk(simtool_cli, pcsc_stack):
    for left in (2, 1, 0):
        proc = simtool_cli("pin", "verify", "pin2", "--pin", "0000")
        assert proc.returncode == 1
        assert image_pins(pcsc_stack)["PIN2"]["tries"] == left
        if left:
            assert f"wrong PIN/key, {left} tries left" in proc.stderr
        else:
            assert "now blocked (no tries left; unblock with the PUK)" in proc.stderr
    assert json.loads(simtool_cli("--json", "pin", "status", check=True).stdout)["PIN2"] == 0
    simtool_cli("pin", "unblock", "pin2", "--puk", "87654321", "--new", "4321", check=True)
    assert image_pins(pcsc_stack)["PIN2"]["value"] == "4321"
    assert image_pins(pcsc_stack)["PIN2"]["tries"] == 3


def test_trace_redacts_pins(simtool_cli):
    proc = simtool_cli("--trace", "pin", "verify", "pin1", "--pin", "1234", check=True)
    assert ">> 00 20 00 01 08" in proc.stderr
    assert "redacted" in proc.stderr
    for leak in ("31323334", "31 32 33 34", "1234"):
        assert leak not in proc.stderr + proc.stdout


def test_raw_apdu_shows_status_and_meaning(simtool_cli):
    proc = simtool_cli("--json", "apdu", "00A4000C022FE2", "00B000000A", check=True)
    select, read = json.loads(proc.stdout)
    assert select["sw"] == "9000"
    assert read["data"] == "98841021436587092 1F8".replace(" ", "")
    bad = json.loads(simtool_cli("--json", "apdu", "00A4000C021234", check=True).stdout)[0]
    assert bad["sw"] == "6A82" and "not found" in bad["meaning"].lower()


def test_acknowledged_write_survives_killing_the_emulator(simtool_cli, pcsc_stack):
    # VERIFY ADM1 (11223344), SELECT DF.GSM/EF.SPN, UPDATE BINARY with a new name
    spn = "01" + "Nowa Siec".encode().hex().upper().ljust(32, "F")
    cmds = ["0020000A083131323233333434", "00A40804047F206F46", "00D6000011" + spn]
    out = json.loads(simtool_cli("--json", "apdu", *cmds, check=True).stdout)
    assert [r["sw"] for r in out] == ["9000", "9000", "9000"]
    pcsc_stack.kill_card(signal.SIGKILL)  # the card is pulled, no chance to flush anything
    pcsc_stack.start_card()               # same image file
    info = json.loads(simtool_cli("--json", "info", check=True).stdout)
    assert info["spn"] == "Nowa Siec"


def test_update_without_adm_is_refused(simtool_cli):
    proc = simtool_cli("--json", "apdu", "00A40804047F206F46", "00D60000020000", check=True)
    assert json.loads(proc.stdout)[1]["sw"] == "6982"


def test_unknown_reader_says_which_readers_exist(pcsc_stack):
    proc = run_simtool("info", reader="No Such Reader")
    assert proc.returncode == 3
    assert "Virtual PCD" in proc.stderr


def test_empty_reader_says_insert_a_card(pcsc_stack):
    other = "Virtual PCD 00 01" if pcsc_stack.reader.endswith("00") else "Virtual PCD 00 00"
    proc = run_simtool("info", reader=other)
    if proc.returncode == 0:
        pytest.skip(f"{other} has a card from another process")
    assert proc.returncode == 3
    assert "no card" in proc.stderr.lower()


def test_global_options_after_the_command(simtool_cli, pcsc_stack):
    # "simtool info --json" was "No such option"; -r after the name picks the reader
    proc = run_simtool("info", "--json", "-r", pcsc_stack.reader, check=True)
    assert json.loads(proc.stdout)["iccid"] == DEFAULT_ICCID
    status = json.loads(run_simtool("pin", "status", "--json", "-r", pcsc_stack.reader,
                                    check=True).stdout)
    assert status["PIN1"] == 3


def test_last_try_is_announced_and_a_blocked_pin_names_the_way_out(simtool_cli, pcsc_stack):
    for _ in range(2):
        proc = simtool_cli("pin", "verify", "pin1", "--pin", "0000")
        assert proc.returncode == 1 and "1 try left" not in proc.stderr
    proc = simtool_cli("pin", "verify", "pin1", "--pin", "0000")
    assert proc.returncode == 1
    warning = proc.stderr.index("warning: PIN1 has 1 try left: a wrong PIN blocks PIN1")
    assert warning < proc.stderr.index("error: VERIFY PIN: 63C0")  # said before the try
    assert "hint: PIN1 is blocked: unblock it with 'simtool pin unblock pin1'" in proc.stderr
    assert image_pins(pcsc_stack)["PIN1"]["tries"] == 0

    # info stops suggesting --pin1 and names the unblock command
    info = json.loads(simtool_cli("--json", "info", check=True).stdout)
    assert info["tries_left"]["PIN1"] == 0
    assert not any("--pin1" in h for h in info["hints"])
    assert any("simtool pin unblock pin1" in h for h in info["hints"])
    # --pin1 on a blocked card: refused before any VERIFY, with the way out
    proc = simtool_cli("info", "--pin1", input="1234\n")
    assert proc.returncode == 1 and "simtool pin unblock pin1" in proc.stderr

    simtool_cli("pin", "unblock", "pin1", "--puk", "12345678", "--new", "1234", check=True)
    info = json.loads(simtool_cli("--json", "info", check=True).stdout)
    assert info["hints"] == ["verify PIN1 to read them: 'simtool info --pin1' (asks for it)"]
