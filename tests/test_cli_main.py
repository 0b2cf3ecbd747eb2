"""``simtool.cli.main.main``, in process: the real entry point (global options, lazy card,
error rendering, exit codes) over a virtual card object instead of a PC/SC reader.

PC/SC is replaced at its two edges only (``list_readers``/``reader_atrs`` and
``PcscTransport.connect``), so ``CliContext`` opens, traces and closes the card as it does
with a real reader.  The exit codes are the README's: 0 ok, 1 the card answered with an error,
2 usage, 3 no PC/SC / reader / card, 4 bad input data or unwritable file, 5 safety refusal.
"""

from __future__ import annotations

import errno
import json
import os

import click
import pytest

from simtool import milenage
from simtool.apdu import pcsc
from simtool.apdu.transport import InProcessTransport
from simtool.cli import card as card_commands
from simtool.cli.main import main
from simtool.apdu.channel import Channel
from simtool.apdu.sw import describe
from simtool.card import Card
from simtool.errors import CardRemoved, NoReader
from simtool.pin import ADM1, ADM_MIN_TRIES, encode_adm
from simtool.secret import Secret
from tests.conftest import ScriptedCard
from tests.virtual_card import VirtualUicc, defaults
from tests.virtual_card.image import default_state
from tests.virtual_card.pins import pin_block

READER = "Virtual PCD 00 00"
VENDOR_ADM = "11223344"  # the default image's ADM1
PIN1 = "1234"


class Wire(InProcessTransport):
    """The virtual card, with every command it was sent."""

    def __init__(self, card: VirtualUicc) -> None:
        super().__init__(card)
        self.sent: list[bytes] = []

    def transmit(self, apdu: bytes, *, secret: bool = False) -> bytes:
        self.sent.append(bytes(apdu))
        return super().transmit(apdu, secret=secret)

    def verifies(self, p2: int) -> list[bytes]:
        """VERIFY commands for key ``p2`` that carried a key (counter queries have none)."""
        return [a for a in self.sent if a[1] == 0x20 and a[3] == p2 and len(a) > 5]


def _env(value: str) -> str:
    """A secret option's env:VAR form (a value typed on the command line would warn)."""
    os.environ["SIMTOOL_TEST_SECRET"] = value
    return "env:SIMTOOL_TEST_SECRET"


@pytest.fixture
def reader(monkeypatch):
    """Put a card in the one (virtual) reader; returns a function making the card."""
    wires: list[Wire] = []

    def insert(*, adm1_tries: int | None = None) -> Wire:
        state = default_state()
        if adm1_tries is not None:
            state.pins["ADM1"].tries = adm1_tries
        vc = VirtualUicc(state)
        vc.reset()
        wire = Wire(vc)
        wires.append(wire)
        return wire

    monkeypatch.setattr(pcsc, "list_readers", lambda: [READER])
    monkeypatch.setattr(pcsc, "reader_atrs", lambda: [(READER, wires[-1].atr())])
    monkeypatch.setattr(pcsc.PcscTransport, "connect",
                        classmethod(lambda cls, name, timeout=0: wires[-1]))
    return insert


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- pin verify adm1: the ADM1 threshold ------------------------------------------------------

def test_adm1_with_one_try_left_is_refused_without_a_verify(reader, capsys):
    wire = reader(adm1_tries=1)
    code, out, err = run(capsys, "pin", "verify", "adm1", "--pin", _env(VENDOR_ADM))
    assert code == 5
    assert err.startswith("error: ADM1 has 1 tries left, below the safe minimum of 2")
    assert out == ""
    assert wire.verifies(0x0A) == []  # the counter was read, no key was sent
    assert wire.card.image_state().pins["ADM1"].tries == 1


def test_adm1_with_two_tries_left_is_verified(reader, capsys):
    assert ADM_MIN_TRIES == 2
    wire = reader(adm1_tries=2)
    code, out, err = run(capsys, "pin", "verify", "adm1", "--pin", _env(VENDOR_ADM))
    assert (code, out, err) == (0, "ADM1 verified\n", "")
    assert wire.verifies(0x0A) == [bytes.fromhex("002000 0A 08") + pin_block(VENDOR_ADM)]
    assert wire.card.image_state().pins["ADM1"].tries == 3


def test_a_wrong_adm1_with_two_tries_left_costs_one_and_exits_1(reader, capsys):
    wire = reader(adm1_tries=2)
    code, _, err = run(capsys, "pin", "verify", "adm1", "--pin", _env("99999999"))
    assert code == 1 and err.startswith("error: ") and "1 tries left" in err, err
    assert len(wire.verifies(0x0A)) == 1
    assert wire.card.image_state().pins["ADM1"].tries == 1
    # and now the threshold holds: the next attempt is refused before any key is sent
    code, _, err = run(capsys, "pin", "verify", "adm1", "--pin", _env(VENDOR_ADM))
    assert code == 5 and len(wire.verifies(0x0A)) == 1


# --- main(): every exit code, from the entry point itself -------------------------------------

def test_exit_0_and_json_output(reader, capsys):
    reader()
    code, out, err = run(capsys, "--json", "pin", "status")
    assert code == 0 and err == ""
    assert json.loads(out) == {"PIN1": 3, "PIN2": 3, "ADM1": 3, "PUK1": 10, "PUK2": 10}


def test_exit_1_when_the_card_answers_an_error(reader, capsys):
    reader()
    code, out, err = run(capsys, "pin", "verify", "pin1", "--pin", _env("0000"))
    assert code == 1 and out == ""
    assert err.startswith("error: ") and "2 tries left" in err


@pytest.mark.parametrize("argv", [("pin", "verify", "pin9"), ("no-such-command",),
                                  ("pin", "verify", "pin1", "--bogus")])
def test_exit_2_on_usage_errors(reader, capsys, argv):
    reader()
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert "Usage:" in err and "Error:" in err


def test_exit_3_without_a_reader(monkeypatch, capsys):
    monkeypatch.setattr(pcsc, "list_readers", lambda: [])
    code, out, err = run(capsys, "-r", "0", "pin", "status")
    assert (code, out) == (3, "")
    assert err == "error: no PC/SC reader found: plug one in (or start the virtual card)\n"


def test_exit_3_when_the_card_is_removed(reader, capsys, monkeypatch):
    wire = reader()

    def pulled(apdu, *, secret=False):
        raise CardRemoved("the card was removed")

    monkeypatch.setattr(wire, "transmit", pulled)
    code, _, err = run(capsys, "pin", "status")
    assert code == 3 and err.startswith("error: ") and "removed" in err


def test_exit_4_on_bad_input_data(reader, capsys):
    wire = reader()
    code, out, err = run(capsys, "apdu", "00A40004023F00", "00B0zz")
    assert (code, out) == (4, "")
    assert "not hex: '00B0zz'" in err and "APDU #2" in err
    assert wire.sent == []  # nothing is sent before every APDU parsed


def test_exit_4_on_an_unwritable_file(capsys, monkeypatch):
    def disk_full(obj, apdus):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/out.json")

    monkeypatch.setattr(card_commands.apdu, "callback", click.pass_obj(disk_full))
    code, out, err = run(capsys, "apdu", "00")
    assert (code, out) == (4, "")
    assert err == "error: /data/out.json: No space left on device\n"


USIM_AID = "A0000000871002FFFFFFFF8907090000"


@pytest.mark.parametrize("cla, script, message", [
    # a GSM SIM (CLA A0): refused before anything is sent, no status word made up
    (0xA0, [], f"SELECT AID {USIM_AID}: a GSM SIM (CLA A0) has no applications to select "
               "by AID"),
    # a GSM-only card answering class 00: its refusal, with its status word
    (0x00, [(f"00A4040410{USIM_AID}00", "6A81")], f"SELECT AID {USIM_AID}: 6A81 "
                                                   f"{describe(0x6A81)}"),
    (0x00, [(f"00A4040410{USIM_AID}00", "6D00")], f"SELECT AID {USIM_AID}: 6D00 "
                                                   f"{describe(0x6D00)}"),
])
def test_exit_1_when_a_gsm_only_card_has_no_application(monkeypatch, capsys, cla, script,
                                                         message):
    """NotSupported is the card's refusal (exit 1), never bad input data (exit 4)."""
    double = ScriptedCard(script)
    monkeypatch.setattr(pcsc, "list_readers", lambda: [READER])
    monkeypatch.setattr(pcsc, "reader_atrs", lambda: [(READER, double.atr)])
    monkeypatch.setattr(pcsc.PcscTransport, "connect",
                        classmethod(lambda cls, name, timeout=0: InProcessTransport(double)))

    def select_usim(obj, apdus):
        card = obj.open_card()
        card.cla = cla
        card.select_aid(bytes.fromhex(USIM_AID))

    monkeypatch.setattr(card_commands.apdu, "callback", click.pass_obj(select_usim))
    code, out, err = run(capsys, "apdu", "00")
    assert (code, out, err) == (1, "", f"error: {message}\n")
    assert double.script == []


def test_info_on_a_card_without_a_usim_names_no_made_up_status_word(reader, capsys):
    """EF.DIR lists no USIM: every answer was 9000, so the note carries no status word; the
    IMSI and SPN come from DF.GSM instead."""
    wire = reader()
    setup = Card(Channel(InProcessTransport(wire.card)))
    setup.verify_adm(ADM1, encode_adm(Secret(VENDOR_ADM))[0], min_tries=ADM_MIN_TRIES)
    ef_dir = setup.file_info(setup.select_path([0x2F00]))
    for n in range(1, ef_dir.record_count + 1):
        setup.update_record(n, b"\xff" * ef_dir.record_length)
    wire.card.reset()
    code, out, err = run(capsys, "--json", "info")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert "USIM: EF.DIR: no USIM application listed in EF.DIR" in data["notes"]
    assert data["spn"] == "Milo Telecom"


def test_exit_5_on_a_safety_refusal(reader, capsys):
    reader(adm1_tries=0)
    code, _, err = run(capsys, "pin", "verify", "adm1", "--pin", _env(VENDOR_ADM))
    assert code == 5 and "ADM1 has 0 tries left" in err


def test_no_reader_error_names_the_readers(monkeypatch, capsys):
    monkeypatch.setattr(pcsc, "list_readers", lambda: [READER])
    code, _, err = run(capsys, "-r", "7", "pin", "status")
    assert code == NoReader.exit_code == 3
    assert "no reader number 7" in err and READER in err


def test_abort_and_interrupt(capsys, monkeypatch):
    def abort(obj, apdus):
        raise click.exceptions.Abort()

    monkeypatch.setattr(card_commands.apdu, "callback", click.pass_obj(abort))
    code, _, err = run(capsys, "apdu", "00")
    assert (code, err) == (1, "aborted\n")

    def interrupt(obj, apdus):
        raise KeyboardInterrupt

    monkeypatch.setattr(card_commands.apdu, "callback", click.pass_obj(interrupt))
    code, _, err = run(capsys, "apdu", "00")
    assert code == 130 and err.endswith("interrupted\n")  # Ctrl-C: 128 + SIGINT, not "card error"


def test_version_and_help_exit_0(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("simtool, version ")
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "Exit codes:" in out


# --- simtool apdu: secrets never reach stdout (issue 8, item 11) ------------------------------

def test_apdu_output_redacts_a_verify_like_the_trace(reader, capsys):
    reader()
    verify = "002000 0A 08" + pin_block(VENDOR_ADM).hex()
    code, out, err = run(capsys, "--json", "--trace", "apdu", verify, "00A40004023F00")
    assert code == 0, err
    rows = json.loads(out)
    assert rows[0] == {"command": "0020000A08 [8 bytes redacted]", "data": "", "sw": "9000",
                       "meaning": rows[0]["meaning"]}
    assert rows[1]["command"] == "00A40004023F00" and rows[1]["data"]  # not secret: shown
    assert ">> 00 20 00 0A 08 [8 bytes redacted]" in err
    secret = pin_block(VENDOR_ADM).hex()
    for text in (out, err):
        assert secret.upper() not in text.upper().replace(" ", "")

    code, out, _ = run(capsys, "apdu", verify)
    assert code == 0
    assert out.splitlines()[0] == "> 0020000A08 [8 bytes redacted]"
    assert secret.upper() not in out.upper()


@pytest.mark.parametrize("name,apdu", [
    ("CHANGE PIN", "0024000110" + pin_block("1234").hex() + pin_block("4321").hex()),
    ("DISABLE PIN", "0026000108" + pin_block("1234").hex()),
    ("ENABLE PIN", "0028000108" + pin_block("1234").hex()),
    ("UNBLOCK PIN", "002C000110" + pin_block("12345678").hex() + pin_block("1234").hex()),
    ("VERIFY PIN1", "0020000108" + pin_block("1234").hex()),
])
def test_apdu_output_redacts_every_pin_command(reader, capsys, name, apdu):
    reader()
    code, out, err = run(capsys, "--json", "apdu", apdu)
    assert code == 0, err
    row = json.loads(out)[0]
    assert row["command"] == f"{apdu[:10].upper()} [{int(apdu[8:10], 16)} bytes redacted]", name
    assert apdu[10:].upper() not in out.upper()


def test_apdu_output_redacts_authenticate_both_ways(reader, capsys):
    """RAND/AUTN in, RES/CK/IK/Kc out: a successful AUTHENTICATE with the card's own keys."""
    wire = reader()
    rand = bytes(range(16))
    sqn = (wire.card.image_state().sqn + 32).to_bytes(6, "big")
    autn = milenage.autn(defaults.KI, defaults.OPC, rand, sqn, b"\x80\x00")
    res, ck, ik, _ = milenage.Milenage(defaults.KI, defaults.OPC).f2345(rand)
    verify_pin1 = "0020000108" + pin_block(PIN1).hex()
    select_usim = "00A4040407A0000000871002"
    authenticate = "0088008122" + "10" + rand.hex() + "10" + autn.hex()
    for argv in (("--json", "apdu"), ("apdu",)):
        code, out, err = run(capsys, *argv, verify_pin1, select_usim, authenticate)
        assert code == 0, err
        for secret in (rand, autn, res, ck, ik):
            assert secret.hex().upper() not in out.upper()
    assert "0088008122 [34 bytes redacted]" in out
    assert "bytes redacted] 9000" in out  # the answer: its length and status word only
    row = json.loads(run(capsys, "--json", "apdu", verify_pin1, select_usim,
                         authenticate)[1])[2]
    assert row["command"] == "0088008122 [34 bytes redacted]"
    assert row["sw"] == "9000" and row["data"].endswith("bytes redacted]")
