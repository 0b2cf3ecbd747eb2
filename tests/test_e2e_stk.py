"""End to end: ``simtool stk`` → pyscard → pcscd → vpcd → the virtual card's menu applet,
with the Milo virtual network answering.  Every Milo menu item from selection to the reply on
the handset's screen."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def network_state(tmp_path, monkeypatch):
    """Each test its own virtual network records (never the user's data folder)."""
    path = tmp_path / "network.json"
    monkeypatch.setenv("SIMTOOL_NETWORK_STATE", str(path))
    return path


def run_item(simtool_cli, *args: str) -> dict:
    # the network's own record gives the number (an HLR), not the card's EF.MSISDN
    proc = simtool_cli("--json", "stk", "select", *args, "--msisdn", "48531234567", check=True)
    return json.loads(proc.stdout)


def texts(transcript: dict, kind: str) -> list[str]:
    return [e["text"] for e in transcript["events"] if e["kind"] == kind]


def test_menu_lists_the_milo_items_in_polish(simtool_cli):
    listing = json.loads(simtool_cli("--json", "stk", "menu", check=True).stdout)
    assert listing["title"] == "Milo Telecom"
    assert [i["title"] for i in listing["items"]] == [
        "Mój numer", "Internet", "Stan konta", "Ważność środków", "Operator za granicą",
        "Biuro Obsługi Klienta", "Przekierowania"]


# (menu path, USSD/SS sent, a fragment of the reply shown on the screen)
MILO_ITEMS = [
    (["1"], "USSD *101#", "48531234567"),
    (["2", "--choose", "1"], "USSD *107#", "Internet"),
    (["2", "--choose", "2"], "USSD *107*1#", "włączon"),
    (["2", "--choose", "3"], "USSD *107*2#", "wyłączon"),
    (["3"], "USSD *108#", "zł"),
    (["4"], "USSD *109#", "ważnych środków"),      # a new subscriber: no top-up yet
    (["5"], "USSD *110#", "operator"),
    (["6"], "USSD *555#", "+48 32 779 73 73"),
    (["7", "--choose", "1"], None, "*21*+48531234567#"),    # seed 000: dial on the old phone
    (["7", "--choose", "2"], None, "#21#"),
]


@pytest.mark.parametrize("args,sent,reply", MILO_ITEMS,
                         ids=[m[1] or " ".join(m[0]) for m in MILO_ITEMS])
def test_every_milo_item_reaches_the_network_and_shows_the_reply(simtool_cli, args, sent, reply):
    t = run_item(simtool_cli, *args)
    assert texts(t, "network_request") == ([sent] if sent else [])
    shown = texts(t, "display")
    assert len(shown) == 1 and reply.lower() in shown[0].lower(), shown
    # every TERMINAL RESPONSE reported success
    results = [e["result"] for e in t["events"] if e["kind"] == "terminal_response"]
    assert results and set(results) == {"00"}


def test_state_carries_across_separate_cli_calls(simtool_cli, network_state):
    """Seed 000: *107*1# then *107*2# switch the service on and off (two runs of simtool);
    a top-up, then 181 days later *109# says the funds expired (180 days after the top-up)."""
    assert "włączona" in texts(run_item(simtool_cli, "2", "--choose", "2"), "display")[0]
    assert "została wyłączona" in texts(run_item(simtool_cli, "2", "--choose", "3"),
                                         "display")[0]
    simtool_cli("network", "set-clock", "2026-01-15T10:00", check=True)
    simtool_cli("network", "top-up", "50", check=True)          # the card in the reader
    assert "ważne do 14.07.2026, godz. 10:00" in texts(run_item(simtool_cli, "4"), "display")[0]
    simtool_cli("network", "advance", "181d", check=True)
    assert texts(run_item(simtool_cli, "4"), "display") == [
        "Ważność środków upłynęła 14.07.2026, godz. 10:00."]
    status = json.loads(simtool_cli("--json", "network", "status", check=True).stdout)
    assert status["msisdn"] == "48531234567" and status["balance"] == 0
    assert status["iccid"] == "8948011234567890128"


def test_terminal_without_ussd_gets_the_code_explained_as_text(simtool_cli):
    t = run_item(simtool_cli, "3", "--no-ussd")
    assert texts(t, "network_request") == []
    (shown,) = texts(t, "display")
    assert "*108#" in shown


def test_user_who_backs_out_of_the_submenu_sends_nothing(simtool_cli):
    # no --choose: the user presses Back at the SELECT ITEM
    t = run_item(simtool_cli, "7")
    assert texts(t, "network_request") == []
    assert "11" in [e.get("result") for e in t["events"] if e["kind"] == "terminal_response"]


def test_trace_shows_the_proactive_session_decoded(simtool_cli):
    proc = simtool_cli("--trace", "stk", "select", "3", check=True)
    assert "SEND USSD" in proc.stderr and "*108#" in proc.stderr
    assert ">> 80 C2" in proc.stderr  # the ENVELOPE APDU


def test_interactive_session_runs_items_until_the_user_quits(simtool_cli):
    # the handset's keypad is standard input: item 2 (Internet), submenu item 2 (on),
    # then an empty line at the main menu to quit
    proc = simtool_cli("stk", "session", input="2\n2\n\n", check=True)
    assert "Milo Telecom" in proc.stdout and "Internet" in proc.stdout
    assert "Usługa Internet została włączona." in proc.stdout


def test_call_back_through_call_control(simtool_cli):
    """Seed 000 WYKONYWANIE POŁĄCZEŃ, end to end: the handset hands the call to the card
    (ENVELOPE CALL CONTROL over pcscd), the card turns it into the USSD call-back request, the
    network confirms with the price of one minute and calls back; the call is billed."""
    simtool_cli("network", "status", "--msisdn", "48531234567", check=True)
    simtool_cli("network", "set-clock", "2026-01-15T10:00", check=True)
    simtool_cli("network", "top-up", "50", check=True)
    proc = simtool_cli("--trace", "--json", "stk", "call", "+48531234567", "--seconds", "95",
                       check=True)
    t = json.loads(proc.stdout)
    assert ">> 80 C2 00 00 18 D4 16 82 02 82 81 86 07 91 84 35 21 43 65 F7" in proc.stderr
    assert texts(t, "network_request") == ["USSD *104*+48531234567#"]
    (shown,) = texts(t, "display")
    assert "Koszt połączenia za 1 minutę: 0,29 zł" in shown
    assert texts(t, "incoming_call") == ["Połączenie przychodzące (call back): łączę z "
                                         "+48531234567"]
    status = json.loads(simtool_cli("--json", "network", "status", check=True).stdout)
    assert status["balance"] == 5000 - 46 and status["calls"][0]["seconds"] == 95


def test_call_without_country_code_is_refused_by_the_card(simtool_cli):
    t = json.loads(simtool_cli("--json", "stk", "call", "531234567", "--msisdn",
                               "48531234567", check=True).stdout)
    assert texts(t, "network_request") == []
    assert texts(t, "display") == ["Wybierz numer z kodem kraju, np. +48531234567"]


def test_scripted_session_with_typos_asks_again_as_a_phone_would(simtool_cli):
    # standard input is the keypad: an item that is not there, letters, part of a title, a
    # sub-menu typo, a number with letters, then the customer-care item and quit
    keys = ["9", "x", "Przek", "9", "abc", "1", "6", ""]
    proc = simtool_cli("stk", "session", input="\n".join(keys) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "no item 9: choose 1-7 (empty = quit)" in out
    assert "no item matches 'x': choose 1-7" in out
    assert "no item 9: choose 1-2 (empty = back)" in out      # the sub-menu, not "back"
    assert "no item matches 'abc': choose 1-2" in out
    assert "*21*+48531234567#" in out                           # the old-phone code was shown
    # the card cut the customer-care reply to fit its screen; the session shows it whole
    assert "e-mail bok@milotelecom.pl." in out
    assert "error" not in proc.stderr.lower()


def test_session_prompts_speak_one_language(simtool_cli):
    proc = simtool_cli("stk", "session", input="7\n1\n\n\n", check=True)
    own = [line for line in proc.stdout.splitlines() if "(empty = " in line]
    assert own, proc.stdout
    # the CLI's own words are English; the card's texts (Polish) come before them
    for line in own:
        assert "wybór" not in line.lower() and "pusty" not in line.lower()
    assert any(line.startswith("Item 1-7 (empty = quit)") for line in own)
    assert any(line.startswith("Item 1-2 (empty = back)") for line in own)


def test_card_without_a_toolkit_menu_says_so(simtool_cli, pcsc_stack):
    pcsc_stack.kill_card()
    image = json.loads(pcsc_stack.image.read_text())
    image["gp"]["applications"] = []          # the menu applet deleted from the registry
    pcsc_stack.image.write_text(json.dumps(image))
    pcsc_stack.start_card()
    for args in (["stk", "menu"], ["stk", "select", "1"], ["stk", "session"]):
        proc = simtool_cli(*args, input="\n")
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "no SIM Toolkit menu" in proc.stderr
        assert "(no title)" not in proc.stdout
