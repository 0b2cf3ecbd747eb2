"""``simtool mmi explain`` through click's CliRunner, on the ``mmi`` group alone."""

from __future__ import annotations

import json
import pytest
from click.testing import CliRunner

from simtool.cli.common import CliContext
from simtool.cli.mmi import as_json, mmi
from simtool.errors import DataError
from simtool.stk.mmi import explain
from simtool.stk.services import load_operator

# (arguments, exit code, fragments of the output, source)
CASES = [
    (["explain", "**61*+48600123456**20#"], 0,
     ["CFNRy 61", "przekierowanie, gdy abonent nie odpowiada (call forwarding on no reply)",
      "rejestracja (registration)", "+48600123456", "no-reply timer: 20 s"], "sim-facts §7.1"),
    (["explain", "--profile", "citysat", "*57*0456*12467#"], 0,
     ["City-Sat: budzenie wielokrotne", "time: 04:56",
      "days: poniedziałek, wtorek, czwartek, sobota, niedziela (12467)"], "seed 002"),
    (["explain", "-p", "citysat", "*21*9555#"], 0,
     ["CFU 21", "9555", "włączenie poczty głosowej", "(voicemail on"], "seed 002"),
    (["explain", "-p", "milo", "*109#"], 0,
     ["Milo Telecom: okres ważności środków na koncie (how long", "sent to the network as USSD"],
     "seed 000"),
    (["explain", "-p", "idea24", "*22"], 0, ["Idea: telefoniczne Biuro Obsługi Klienta",
                                            "a number to call"], "seed 003"),
    (["explain", "*108#"], 0, ["USSD *108#", "reserved for the home network"], "sim-facts §7.5"),
    (["explain", "**042*1234*5678*5678#"], 0,
     ["zmiana kodu PIN2 (change PIN2)", "CHANGE PIN, key reference 81"], "sim-facts §7.4"),
    (["explain", "*#06#"], 0, ["show the IMEI"], "sim-facts §7.4"),
    (["explain", "#31#600123456"], 0, ["this call:     600123456: ukryj mój numer"],
     "sim-facts §7.2 CLIR per call"),
    (["explain", "-p", "citysat", "*55*2460#"], 4, ["Invalid:", "(24:60)"], "brief; seed 002"),
    (["explain", "*21*abc#"], 4, ["Invalid:", "'abc' is not a number"], "brief"),
]


@pytest.mark.parametrize("args,code,fragments,source", CASES)
def test_explain_text(args, code, fragments, source):
    result = CliRunner().invoke(mmi, args)
    assert result.exit_code == code, (source, result.output)
    for fragment in fragments:
        assert fragment in result.output, (source, fragment, result.output)


def test_pins_never_printed():
    for args in (["explain", "**04*9876*5432*5432#"],
                 ["explain", "--json", "**05*24681357*5432*5432#"],
                 ["explain", "*33*9876#"]):
        out = CliRunner().invoke(mmi, args).output
        assert "9876" not in out and "5432" not in out and "24681357" not in out


def test_json_flag():
    result = CliRunner().invoke(mmi, ["explain", "--json", "-p", "citysat", "*50*1*0322015880#"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["type"] == "operator_service" and data["action"] == "speed_dial_set"
    assert {p["name"]: p["value"] for p in data["parameters"]} == {
        "slot": "1", "number": "0322015880"}                    # seed 002 example


def test_global_json_from_the_context_object():
    result = CliRunner().invoke(mmi, ["explain", "*#21#"], obj=CliContext(json=True))
    data = json.loads(result.output)
    assert (data["type"], data["procedure"], data["service"]["code"]) == (
        "supplementary_service", "interrogation", "21")


def test_invalid_json_exits_4():
    result = CliRunner().invoke(mmi, ["explain", "--json", "**61*123*11*45#"])
    assert result.exit_code == 4
    assert "must be 5-30 s, not 45" in json.loads(result.output)["reason"]


def test_unknown_profile_is_a_data_error():
    result = CliRunner().invoke(mmi, ["explain", "-p", "nosuch", "*100#"])
    assert isinstance(result.exception, DataError)
    assert "nosuch" in str(result.exception)


def test_help_has_an_example():
    out = CliRunner().invoke(mmi, ["explain", "--help"]).output
    assert "Examples:" in out and "simtool mmi explain --profile citysat" in out


def test_as_json_shapes():
    j = as_json(explain("**61*00431234*11*5#"))                  # sim-facts §7.2
    assert j["type"] == "supplementary_service" and j["procedure"] == "registration"
    assert j["service"]["code"] == "61" and j["basic_service"]["code"] == "11" and j["timer"] == 5
    k = as_json(explain("*57*0456*12467#", load_operator("citysat")))   # seed 002
    assert [p["value"] for p in k["parameters"]] == ["04:56", [1, 2, 4, 6, 7]]
    assert as_json(explain("*#06#")) == {"type": "show_imei"}
    assert as_json(explain("*150#"))["vplmn_reserved"] is True


@pytest.mark.parametrize("code,secrets", [
    ("*33*9876#", ["9876"]),
    ("**04*9876*5432*5432#", ["9876", "5432"]),
    ("**03*330*9876*5432*5432#", ["9876", "5432"]),
])
def test_as_json_hides_secrets(code, secrets):
    text = json.dumps(as_json(explain(code)))
    assert "***" in text and not any(s in text for s in secrets)
