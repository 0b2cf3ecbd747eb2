"""The virtual network's records (item 9): a state file per user, a settable clock, the
``simtool network`` commands, and state carried across separate CLI calls."""

from __future__ import annotations

import json
import os
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest

from simtool.cli.main import main
from simtool.errors import DataError
from simtool.stk.hlr import CardIdentity, Hlr
from simtool.stk.network import (ForwardingEntry, MinutePackage, RepeatWakeUp,
                                  SubscriberState, TopUp)
from simtool.stk.state import (NetworkClock, default_state_path, load_records, parse_duration,
                               records_from_json, save_records, state_from_json, state_to_json)

ICCID = "8948970000000000011"


def test_state_round_trips_through_json():
    s = SubscriberState(
        msisdn="48531234567", balance=4321, top_ups=[TopUp(datetime(2026, 1, 15, 10), 5000)],
        internet=True, country="DE",
        forwarding={("21", None): ForwardingEntry("21", None, "0322015880"),
                    ("61", "11"): ForwardingEntry("61", "11", "600123456", 20, False)},
        wakeup_once=time(6, 30), wakeup_repeat=RepeatWakeUp(time(4, 56), (1, 2, 4, 6, 7)),
        dnd=True, speed_dial={"1": "0322015880", "01": "600123456"},
        package=MinutePackage(500, 2900, datetime(2014, 1, 30, 14, 10),
                              datetime(2014, 3, 1, 14, 10), 321),
        auto_renew=True, panel_profile="jan.kowalski")
    data = json.loads(json.dumps(state_to_json(s)))
    assert state_from_json(data) == s


def test_default_path_follows_xdg_and_the_override():
    assert default_state_path({"HOME": "/home/u"}) == Path("/home/u/.local/share/simtool/"
                                                           "network.json")
    assert default_state_path({"HOME": "/h", "XDG_DATA_HOME": "/data"}) == \
        Path("/data/simtool/network.json")
    assert default_state_path({"HOME": "/h", "XDG_DATA_HOME": "relative"}) == \
        Path("/h/.local/share/simtool/network.json")       # XDG: relative paths are ignored
    assert default_state_path({"SIMTOOL_NETWORK_STATE": "/x.json", "XDG_DATA_HOME": "/d"}) \
        == Path("/x.json")


def test_clock_fixed_offset_and_real():
    real = lambda: datetime(2026, 5, 1, 12)          # noqa: E731
    c = NetworkClock(real=real)
    assert c() == datetime(2026, 5, 1, 12)
    c.advance(timedelta(days=1))
    assert c() == datetime(2026, 5, 2, 12)
    c.set(datetime(2026, 1, 15, 10))
    c.advance(parse_duration("181d"))
    assert c() == datetime(2026, 7, 15, 10)
    c.reset()
    assert c() == real()


@pytest.mark.parametrize("text,delta", [("181d", timedelta(days=181)),
                                        ("1d12h", timedelta(days=1, hours=12)),
                                        ("-30m", timedelta(minutes=-30)), ("45s", timedelta(seconds=45))])
def test_durations(text, delta):
    assert parse_duration(text) == delta


@pytest.mark.parametrize("bad", ["", "5", "1x", "d", "1d 2q"])
def test_bad_durations(bad):
    with pytest.raises(DataError, match="duration"):
        parse_duration(bad)


def test_save_is_atomic_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "sub" / "network.json"
    hlr = Hlr.open(path)
    hlr.subscriber(CardIdentity(ICCID), "milo", msisdn="48531234567")
    hlr.save()
    assert sorted(p.name for p in path.parent.iterdir()) == ["network.json"]
    again = load_records(path)
    assert again.find(iccid=ICCID).state.msisdn == "48531234567"


def test_a_broken_file_names_itself(tmp_path):
    path = tmp_path / "network.json"
    path.write_text("{not json")
    with pytest.raises(DataError, match="network.json.*not valid JSON|not valid JSON"):
        load_records(path)
    with pytest.raises(DataError, match="format"):
        records_from_json({"format": 99})


def test_hlr_allots_numbers_from_the_pool_and_keeps_them(tmp_path):
    hlr = Hlr.open(tmp_path / "n.json")
    a = hlr.subscriber(CardIdentity("8948970000000000011"), "milo")
    b = hlr.subscriber(CardIdentity("8948970000000000029"), "milo")
    assert (a.state.msisdn, b.state.msisdn) == ("48531000000", "48531000001")
    assert hlr.subscriber(CardIdentity("8948970000000000011"), "milo") is a
    with pytest.raises(DataError, match="already has number"):
        hlr.subscriber(CardIdentity("8948970000000000011"), "milo", msisdn="48531234567")
    with pytest.raises(DataError, match="milo subscriber, not citysat"):
        hlr.subscriber(CardIdentity("8948970000000000011"), "citysat")
    c = hlr.subscriber(CardIdentity("8948990000000000011"), "citysat")
    assert c.state.msisdn == "48775500100"          # seed 002: +48 77 5500XXX


# --- the CLI, in-process, across separate invocations -----------------------------------


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIMTOOL_NETWORK_STATE", str(tmp_path / "network.json"))

    def run(*args, rc=0):
        code = main(["--json", "network", *args])
        out = capsys.readouterr()
        assert code == rc, out.err
        return json.loads(out.out) if out.out.strip() else out.err
    return run


def test_internet_on_then_off_across_runs(cli):
    card = ["--iccid", ICCID, "--msisdn", "48531234567"]
    assert cli("ussd", "*107*1#", *card)["reply"] == "Usługa Internet została włączona."
    assert cli("ussd", "*107*2#", "--iccid", ICCID)["reply"] == \
        "Usługa Internet została wyłączona."


def test_own_number_from_the_network_records(cli):
    cli("status", "--iccid", ICCID, "--msisdn", "48531234567")
    assert cli("ussd", "*101#", "--iccid", ICCID)["reply"] == \
        "Twój numer telefonu: +48531234567."


def test_top_up_then_181_days_later_funds_expired(cli):
    """Seed 000 DOŁADOWANIA 4: funds usable for 180 days after each top-up."""
    cli("set-clock", "2026-01-15T10:00")
    assert cli("top-up", "50", "--iccid", ICCID)["balance"] == 5000
    assert cli("ussd", "*109#", "--iccid", ICCID)["reply"] == \
        "Środki na koncie są ważne do 14.07.2026, godz. 10:00."
    assert cli("advance", "181d")["clock"] == "2026-07-15T10:00:00"
    assert cli("ussd", "*109#", "--iccid", ICCID)["reply"] == \
        "Ważność środków upłynęła 14.07.2026, godz. 10:00."
    status = cli("status", "--iccid", ICCID)
    assert status["balance"] == 0 and len(status["top_ups"]) == 1


def test_refusals_exit_1_with_a_polish_line(cli):
    err = cli("top-up", "70", "--iccid", ICCID, rc=1)
    assert "Doładowanie 70,00 zł jest niedostępne" in err
    err = cli("ussd", "*55*2460#", "-p", "citysat", "--iccid", "8948990000000000011", rc=1)
    assert "to nie godzina" in err and "błąd sieci 36" in err


def test_call_is_billed_and_recorded(cli):
    cli("set-clock", "2026-01-15T10:00")
    cli("top-up", "50", "--iccid", ICCID)
    cli("set-country", "DE", "--iccid", ICCID)
    rec = cli("call", "+48221234567", "--seconds", "10", "--iccid", ICCID)
    assert (rec["billed_seconds"], rec["increment"], rec["cost"]) == (30, "30/1", 15)
    assert cli("ussd", "*108#", "--iccid", ICCID)["reply"].startswith("Stan konta: 49,85 zł")


def test_halonet_package_across_runs(cli):
    card = ["-p", "halonet", "--iccid", "8948980000000000011", "--msisdn", "48601000000"]
    cli("set-clock", "2014-01-30T14:10")
    state = cli("status", *card)
    assert state["package"] is None
    path = Path(os.environ["SIMTOOL_NETWORK_STATE"])
    data = json.loads(path.read_text())
    data["subscribers"][0]["balance"] = 5900       # the panel's funds, set by the operator
    path.write_text(json.dumps(data))
    bought = cli("buy-package", "500", *card)
    assert bought["end"] == "2014-03-01T14:10:00"   # seed 001 example
    assert cli("call", "+48531234567", "--seconds", "61", *card)["increment"] == "package"
    assert cli("status", *card)["package"]["minutes_left"] == 498


def test_several_accounts_of_one_panel_profile_each_with_its_own_package(cli, tmp_path):
    """Seed 001 Krok 3: several packages on one HaloNet profile, one per account."""
    cli("set-clock", "2014-01-30T14:10")
    cards = [["-p", "halonet", "--iccid", f"894898000000000{n:04d}", "--msisdn",
              f"4860100{n:04d}"] for n in (1, 2)]
    for card in cards:
        cli("status", *card)
    path = Path(os.environ["SIMTOOL_NETWORK_STATE"])
    data = json.loads(path.read_text())
    for sub in data["subscribers"]:
        sub["balance"] = 10000
    path.write_text(json.dumps(data))
    first = cli("buy-package", "500", "--panel-profile", "kowalski", *cards[0])
    second = cli("buy-package", "1200", "--panel-profile", "kowalski", *cards[1])
    assert first["panel_packages"] == [{"msisdn": "48601000001", "minutes": 500}]
    assert second["panel_packages"] == [{"msisdn": "48601000001", "minutes": 500},
                                        {"msisdn": "48601000002", "minutes": 1200}]
    err = cli("buy-package", "1200", *cards[0], rc=1)      # one package per account
    assert "już aktywny pakiet 500 minut" in err
