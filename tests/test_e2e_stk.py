"""End to end: ``simtool stk`` → pyscard → pcscd → vpcd → the virtual card's menu applet,
with the Milo virtual network answering.  Every Milo menu item from selection to the reply on
the handset's screen."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.e2e


def run_item(simtool_cli, *args: str) -> dict:
    # --pin1 as a phone at power-on, so the network learns the number from EF.MSISDN
    proc = simtool_cli("--json", "stk", "select", *args, "--pin1", input="1234\n", check=True)
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
    (["4"], "USSD *109#", "ważne do"),
    (["5"], "USSD *110#", "operator"),
    (["6"], "USSD *555#", "+48 32 779 73 73"),
    (["7", "--choose", "1", "--input", "600123456"], "SS *21*600123456#", "600123456"),
    (["7", "--choose", "2"], "SS #21#", "Przekierowanie"),
    (["7", "--choose", "3"], "SS *#21#", "Przekierowanie"),
]


@pytest.mark.parametrize("args,sent,reply", MILO_ITEMS, ids=[m[1] for m in MILO_ITEMS])
def test_every_milo_item_reaches_the_network_and_shows_the_reply(simtool_cli, args, sent, reply):
    t = run_item(simtool_cli, *args)
    assert texts(t, "network_request") == [sent]
    shown = texts(t, "display")
    assert len(shown) == 1 and reply.lower() in shown[0].lower(), shown
    # every TERMINAL RESPONSE reported success
    results = [e["result"] for e in t["events"] if e["kind"] == "terminal_response"]
    assert results and set(results) == {"00"}


def test_forwarding_refuses_an_invalid_number_without_sending_anything(simtool_cli):
    t = run_item(simtool_cli, "7", "--choose", "1", "--input", "12ab")
    assert texts(t, "network_request") == []


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
    # the handset's keypad is standard input: item 7 (forwarding), submenu item 1, a number,
    # then an empty line at the main menu to quit
    proc = simtool_cli("stk", "session", input="7\n1\n600123456\n\n", check=True)
    assert "Milo Telecom" in proc.stdout and "Przekierowania" in proc.stdout
    assert "włączone na numer 600123456" in proc.stdout


def test_scripted_session_with_typos_asks_again_as_a_phone_would(simtool_cli):
    # standard input is the keypad: an item that is not there, letters, part of a title, a
    # sub-menu typo, a number with letters, then the customer-care item and quit
    keys = ["9", "x", "Przek", "9", "abc", "1", "12ab", "600123456", "6", ""]
    proc = simtool_cli("stk", "session", input="\n".join(keys) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "no item 9: choose 1-7 (empty = quit)" in out
    assert "no item matches 'x': choose 1-7" in out
    assert "no item 9: choose 1-3 (empty = back)" in out      # the sub-menu, not "back"
    assert "no item matches 'abc': choose 1-3" in out
    assert "digits only: enter 9-15 digits" in out
    assert "włączone na numer 600123456" in out                 # the forwarding went through
    # the card cut the customer-care reply to fit its screen; the session shows it whole
    assert "e-mail bok@milotelecom.pl." in out
    assert "error" not in proc.stderr.lower()


def test_session_prompts_speak_one_language(simtool_cli):
    proc = simtool_cli("stk", "session", input="7\n1\n600123456\n\n", check=True)
    own = [line for line in proc.stdout.splitlines() if "(empty = " in line]
    assert own, proc.stdout
    # the CLI's own words are English; the card's texts (Polish) come before them
    for line in own:
        assert "wybór" not in line.lower() and "pusty" not in line.lower()
    assert any(line.startswith("Item 1-7 (empty = quit)") for line in own)
    assert any("Numer, na który przekierować (9-15 digits, empty = back)" in line
               for line in own)


def test_card_without_a_toolkit_menu_says_so(simtool_cli, pcsc_stack):
    pcsc_stack.kill_card()
    image = json.loads(pcsc_stack.image.read_text())
    del image["stk_menu"]
    pcsc_stack.image.write_text(json.dumps(image))
    pcsc_stack.start_card()
    for args in (["stk", "menu"], ["stk", "select", "1"], ["stk", "session"]):
        proc = simtool_cli(*args, input="\n")
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "no SIM Toolkit menu" in proc.stderr
        assert "(no title)" not in proc.stdout
