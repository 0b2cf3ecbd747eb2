"""Billing increments (seed 000 "Taktowanie"), per-destination prices, HaloNet package
destinations (seed 001), City-Sat forwarding targets (seed 002), TS 22.030 §6.5.3.2 edges."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from simtool.stk.billing import Increment, billed_seconds, call_cost
from simtool.stk.mmi import Invalid, SupplementaryService, Ussd, explain
from simtool.stk.network import (PanelRefusal, SsError, SubscriberState, UssdError,
                                  VirtualNetwork)
from simtool.stk.services import load_operator

MILO, HALONET, CITYSAT = (load_operator(n) for n in ("milo", "halonet", "citysat"))
NOW = datetime(2026, 1, 15, 10, 0)


def net(services, **state):
    return VirtualNetwork(services, SubscriberState(**state), lambda: NOW)


# (seconds, increment, billed, source)
INCREMENTS = [
    (1, Increment(30, 1), 30, "seed 000: EU made, first 30 s"),
    (30, Increment(30, 1), 30, "seed 000"),
    (31, Increment(30, 1), 31, "seed 000: then per second"),
    (95, Increment(30, 1), 95, "seed 000"),
    (1, Increment(1, 1), 1, "seed 000: EU received, per second"),
    (61, Increment(1, 1), 61, "seed 000"),
    (1, Increment(60, 60), 60, "seed 000: rest of the world, per minute"),
    (60, Increment(60, 60), 60, "seed 000"),
    (61, Increment(60, 60), 120, "seed 000"),
    (0, Increment(30, 1), 0, "an unanswered call costs nothing"),
]


@pytest.mark.parametrize("seconds,inc,billed,source", INCREMENTS)
def test_increments(seconds, inc, billed, source):
    assert billed_seconds(seconds, inc) == billed, source


def test_milo_increments_come_from_the_services_file():
    b = MILO.billing
    assert b.increment("out", "DE") == Increment(30, 1)
    assert b.increment("out", "US") == Increment(60, 60)
    assert b.increment("in", "PL") == Increment(1, 1)
    assert b.increment("in", "UA") == Increment(60, 60)


# (country the subscriber is in, direction, number, seconds, billed, price gr/min)
CALLS = [
    ("DE", "out", "+48221234567", 10, 30, 29),       # EU made: 30 s minimum, Polish rate
    ("DE", "out", "+48221234567", 95, 95, 29),       # then per second
    ("US", "out", "+48221234567", 95, 120, 29),      # world made: per minute
    ("DE", "in", "+12125551234", 95, 95, 10),        # EU received: per second, EU price
    ("US", "in", "+48221234567", 61, 120, 49),       # world received: per minute
]


@pytest.mark.parametrize("country,direction,number,seconds,billed,price", CALLS)
def test_milo_charges_the_balance_and_108_shows_it(country, direction, number, seconds,
                                                   billed, price):
    n = net(MILO, balance=5000, country=country)
    rec = n.call(number, seconds, direction=direction)
    cost = int((Decimal(price) * billed / 60).quantize(Decimal(1), ROUND_HALF_UP))
    assert (rec.billed_seconds, rec.price, rec.cost) == (billed, price, cost)
    assert n.subscriber.balance == 5000 - cost
    assert n.send_ussd("*108#").startswith(f"Stan konta: {(5000 - cost) // 100},"
                                           f"{(5000 - cost) % 100:02d} zł")
    assert n.subscriber.calls == [rec]


def test_call_refused_without_funds_or_tariff():
    with pytest.raises(PanelRefusal, match="Za mało środków"):
        net(MILO, balance=0).call("+48221234567", 60)
    with pytest.raises(PanelRefusal, match="Brak cennika"):
        net(MILO, balance=5000).call("+861012345678", 60)


def test_cost_rounds_half_up_once_per_call():
    assert call_cost(31, 29) == 15          # 14.98 gr
    assert call_cost(30, 29) == 15          # 14.5 gr -> 15


# --- HaloNet destinations (seed 001) -----------------------------------------------------

COVERED = [
    ("+48221234567", True, "fixed, Polska"),
    ("+48531234567", True, "GSM, Polska"),
    ("+4930123456", True, "fixed, Niemcy"),
    ("+33142685300", True, "fixed, Francja"),
    ("+390612345678", True, "fixed, Włochy"),
    ("+12125551234", True, "USA"),
    ("+14165550123", True, "Kanada"),
    ("+523312345678", True, "Meksyk: Guadalajara"),
    ("+525512345678", True, "Meksyk: Mexico City"),
    ("+528112345678", True, "Meksyk: Monterrey"),
    ("+526641234567", False, "Meksyk: Tijuana is not listed"),
    ("+48391234567", False, "strefa niegeograficzna 39 (VoIP)"),
    ("+48800123456", False, "toll free"),
    ("+48701234567", False, "premium rate (linie o podwyższonej opłacie)"),
    ("+48801234567", False, "shared cost"),
    ("+4915112345678", False, "GSM Niemcy: only CA, PL, US mobiles"),
    ("+420212345678", False, "Czechy are not listed"),
]


@pytest.mark.parametrize("number,covered,source", COVERED)
def test_package_destinations(number, covered, source):
    ok, why = HALONET.package_destinations.covers(number)
    assert ok is covered, (source, why)


def test_package_minutes_only_for_covered_numbers():
    n = net(HALONET, balance=2900)
    n.buy_package(500)
    rec = n.call("+48531234567", 61)
    assert rec.increment == "package" and n.subscriber.package.minutes_left == 498
    with pytest.raises(PanelRefusal):          # not covered, and HaloNet prices no calls
        n.call("+48701234567", 60)
    assert n.subscriber.package.minutes_left == 498


@pytest.mark.parametrize("minutes,per_minute", [(500, "0,058"), (1200, "0,049")])
def test_per_minute_examples_follow_from_the_prices(minutes, per_minute):
    price = HALONET.package(minutes).price      # grosze
    value = (Decimal(price) / 100 / minutes).quantize(Decimal("0.001"), ROUND_HALF_UP)
    assert str(value).replace(".", ",") == per_minute, "seed 001 'Przykład'"


# --- City-Sat forwarding targets (seed 002) ------------------------------------------------

@pytest.mark.parametrize("code,ok", [
    ("*21*0322015880#", True), ("*67*0775500010#", True), ("*61*0601234567#", True),
    ("*21*9555#", True),                        # voicemail
    ("*21*322015880#", False), ("*21*600123456#", False), ("*21*+48322015880#", False),
    ("*67*03220158801#", False),
])
def test_citysat_forwarding_target_is_the_full_number(code, ok):
    c = explain(code, CITYSAT)
    assert isinstance(c, SupplementaryService) is ok
    n = net(CITYSAT)
    if ok:
        assert "włączone" in n.send_ss(code)
    else:
        with pytest.raises(SsError) as exc:
            n.send_ss(code)
        assert "pełny numer telefonu wraz z 0 i numerem kierunkowym" in exc.value.text


# --- TS 22.030 §6.5.3.2 edges ------------------------------------------------------------------

@pytest.mark.parametrize("code,kind", [
    ("12#", Ussd), ("55#", Ussd), ("5", Ussd), ("55", Ussd), ("0", Ussd), ("5#", Ussd),
    ("600123456#", Ussd), ("123*4#", Ussd),
    ("12", Invalid), ("19", Invalid),           # 2 digits starting with 1: a call
    ("600123456", Invalid),                     # a number to call
])
def test_short_codes_and_hash_ended_strings(code, kind):
    assert isinstance(explain(code), kind), code


@pytest.mark.parametrize("code", ["12#", "5", "55", "55#"])
def test_the_network_agrees_with_explain(code):
    with pytest.raises(UssdError) as exc:        # Milo has no such code: unknown, not invalid
        net(MILO).send_ussd(code)
    assert "Nieznany kod" in exc.value.text


# --- Polish texts for the subscriber (item 10) ------------------------------------------

@pytest.mark.parametrize("services,code,fragment", [
    (CITYSAT, "*55*2460#", "to nie godzina (24:60): godzina 24 spoza 00-23, minuta 60 spoza"),
    (CITYSAT, "*57*0630*189#", "8, 9 to nie dzień tygodnia"),
    (CITYSAT, "*50*123*0322015880#", "to nie numer skrócony"),
    (MILO, "*21*600123456", "musi się kończyć znakiem #"),
])
def test_network_errors_are_polish(services, code, fragment):
    with pytest.raises((UssdError, SsError)) as exc:
        net(services).send_ussd(code)
    assert fragment in exc.value.text
    for english in ("is not", "must", "hour", "minute"):
        assert english not in exc.value.text


@pytest.mark.parametrize("code", ["12#", "5", "55", "55#"])
def test_mmi_explain_says_ussd_too(code, capsys):
    from simtool.cli.main import main

    assert main(["mmi", "explain", code]) == 0
    assert capsys.readouterr().out.startswith(f"USSD {code}:")
