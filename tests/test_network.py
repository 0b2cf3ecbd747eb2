"""The virtual network answers as the operators' documents say: tables of cases per seed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simtool.stk.network import (HANDLED_ACTIONS, MapError, MinutePackage, Network,
                                  PanelRefusal, SsError, SubscriberState, UssdError,
                                  VirtualNetwork, package_period_end)
from simtool.stk.services import ACTIONS, load_operator

MILO = load_operator("milo")
CITYSAT = load_operator("citysat")
HALONET = load_operator("halonet")
IDEA = load_operator("idea24")
PLUS = load_operator("plus")


class Clock:
    """A settable clock: the network never reads real time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def network(services, clock=None, **state) -> VirtualNetwork:
    return VirtualNetwork(services, SubscriberState(**state),
                          clock or Clock(datetime(2024, 1, 15, 10, 0)))


def test_is_a_network_and_handles_every_action():
    assert isinstance(network(MILO), Network)
    assert HANDLED_ACTIONS == set(ACTIONS)


# --- HaloNet minute packages (seed 001) ----------------------------------------------------

# (activation, end of the period, source)
PERIODS = [
    (datetime(2013, 10, 29, 10, 1), datetime(2013, 11, 29, 10, 1), "seed 001 example"),
    (datetime(2014, 1, 30, 14, 10), datetime(2014, 3, 1, 14, 10), "seed 001 exception example"),
    (datetime(2014, 1, 29, 9, 0), datetime(2014, 3, 1, 9, 0), "seed 001 rule: no 29.02.2014"),
    (datetime(2014, 1, 31, 9, 0), datetime(2014, 3, 1, 9, 0), "seed 001 rule"),
    (datetime(2016, 1, 29, 9, 0), datetime(2016, 2, 29, 9, 0), "seed 001 rule, leap year"),
    (datetime(2014, 3, 31, 23, 59), datetime(2014, 5, 1, 23, 59), "seed 001 rule: April 30"),
    (datetime(2013, 12, 31, 8, 0), datetime(2014, 1, 31, 8, 0), "seed 001 rule, new year"),
    (datetime(2014, 2, 28, 12, 0), datetime(2014, 3, 28, 12, 0), "seed 001 rule"),
]


@pytest.mark.parametrize("start,end,source", PERIODS)
def test_package_period(start, end, source):
    assert package_period_end(start) == end, source


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_package_period_is_next_month_or_the_first_after(start):
    end = package_period_end(start)
    assert end.time() == start.time()
    months = (end.year - start.year) * 12 + end.month - start.month
    assert (months, end.day) == (1, start.day) or (months, end.day) == (2, 1)


def test_buy_package_seed_example():
    clock = Clock(datetime(2014, 1, 30, 14, 10))
    net = network(HALONET, clock, balance=10000)
    pkg = net.buy_package(500)
    assert pkg == MinutePackage(500, 2900, datetime(2014, 1, 30, 14, 10),
                                datetime(2014, 3, 1, 14, 10), 500)
    assert net.subscriber.balance == 7100


# (balance in grosze, package bought, what the panel says, source)
REFUSALS = [
    (2800, 500, "Za mało środków", "seed 001: 29 zł"),
    (5800, 1200, "Za mało środków", "seed 001: 59 zł"),
    (10000, 300, "Brak pakietu 300 minut", "seed 001: 500 or 1200 only"),
]


@pytest.mark.parametrize("balance,minutes,fragment,source", REFUSALS)
def test_buy_package_refused(balance, minutes, fragment, source):
    net = network(HALONET, balance=balance)
    with pytest.raises(PanelRefusal, match=fragment):
        net.buy_package(minutes)
    assert net.subscriber.balance == balance and net.subscriber.package is None


def test_one_active_package_per_account_change_after_expiry():
    clock = Clock(datetime(2013, 10, 29, 10, 1))
    net = network(HALONET, clock, balance=20000)
    net.buy_package(1200)
    with pytest.raises(PanelRefusal, match="już aktywny pakiet 1200"):
        net.buy_package(500)                       # seed 001 Krok 3
    clock.now = datetime(2013, 11, 29, 10, 0)
    assert net.package_status().minutes == 1200    # a minute before the end
    clock.now = datetime(2013, 11, 29, 10, 1)
    assert net.package_status() is None
    assert [e.kind for e in net.events] == ["expired"]
    assert net.buy_package(500).end == datetime(2013, 12, 29, 10, 1)
    assert net.subscriber.balance == 20000 - 5900 - 2900


def test_auto_renewal_while_funds_allow():
    clock = Clock(datetime(2014, 1, 30, 14, 10))
    net = network(HALONET, clock, balance=2900 * 3 + 100)
    net.buy_package(500)
    net.set_auto_renew(True)                      # seed 001 Krok 5
    assert net.use_minutes(120) == 380
    clock.now = datetime(2014, 5, 15)
    events = net.advance()
    # bought 30.01; renewed 01.03 and 01.04; 01.05 the balance (1,00 zł) is short: expired
    assert [(e.kind, e.at) for e in events] == [
        ("renewed", datetime(2014, 3, 1, 14, 10)),
        ("renewed", datetime(2014, 4, 1, 14, 10)),
        ("expired", datetime(2014, 5, 1, 14, 10)),
    ]
    assert events[0].package.minutes_left == 500   # unused minutes are not carried over
    assert net.subscriber.package is None and net.subscriber.balance == 100


def test_no_renewal_without_the_option():
    clock = Clock(datetime(2013, 10, 29, 10, 1))
    net = network(HALONET, clock, balance=100000)
    net.buy_package(500)
    clock.now = datetime(2013, 11, 29, 10, 1)
    assert [e.kind for e in net.advance()] == ["expired"]
    assert net.subscriber.balance == 100000 - 2900


def test_package_panel_refusals():
    with pytest.raises(PanelRefusal, match="nie oferuje pakietów"):
        network(MILO).set_auto_renew(True)
    with pytest.raises(PanelRefusal, match="Brak aktywnego pakietu"):
        network(HALONET).use_minutes(1)


# --- Milo: top-ups, validity and codes (seed 000) -------------------------------------------

# ([(top-up time, zł)], when *109# is asked, reply, source)
VALIDITY = [
    ([(datetime(2024, 1, 15, 10, 0), 50)], datetime(2024, 1, 15, 10, 0),
     "Środki na koncie są ważne do 13.07.2024, godz. 10:00.", "seed 000 DOŁADOWANIA 4"),
    ([(datetime(2024, 1, 15, 10, 0), 50), (datetime(2024, 3, 1, 9, 30), 100)],
     datetime(2024, 3, 2), "Środki na koncie są ważne do 28.08.2024, godz. 09:30.",
     "seed 000: 180 days after the last top-up"),
    ([(datetime(2023, 12, 31, 23, 59), 300)], datetime(2024, 6, 28, 23, 58),
     "Środki na koncie są ważne do 28.06.2024, godz. 23:59.", "seed 000, leap February"),
    ([(datetime(2024, 1, 15, 10, 0), 200)], datetime(2024, 7, 13, 10, 0),
     "Ważność środków upłynęła 13.07.2024, godz. 10:00.", "seed 000: 180 dni"),
    ([], datetime(2024, 1, 1), "Brak doładowań: konto nie ma ważnych środków.", "seed 000"),
]


@pytest.mark.parametrize("top_ups,asked,reply,source", VALIDITY)
def test_milo_validity(top_ups, asked, reply, source):
    clock = Clock(datetime(2000, 1, 1))
    net = network(MILO, clock)
    for at, zl in top_ups:
        clock.now = at
        net.top_up(zl * 100)
    clock.now = asked
    assert net.send_ussd("*109#") == reply, source


@pytest.mark.parametrize("zl,accepted", [(50, True), (100, True), (200, True), (300, True),
                                         (70, False), (500, False), (0, False), (-50, False)])
def test_milo_top_up_amounts(zl, accepted):
    # seed 000 DOŁADOWANIA 1: "w nominatach 50 zł, 100 zł, 200 zł i 300 zł"
    net = network(MILO)
    if accepted:
        assert net.top_up(zl * 100) == zl * 100
    else:
        with pytest.raises(PanelRefusal):
            net.top_up(zl * 100)
        assert net.subscriber.balance == 0 and net.subscriber.top_ups == []


def test_milo_funds_lapse_after_180_days():
    clock = Clock(datetime(2024, 1, 15, 10, 0))
    net = network(MILO, clock)
    net.top_up(10000)
    assert net.send_ussd("*108#") == "Stan konta: 100,00 zł."
    clock.now = datetime(2024, 7, 13, 10, 0)
    assert net.send_ussd("*108#") == ("Stan konta: 0,00 zł. Środki wygasły "
                                      "13.07.2024, godz. 10:00.")
    net.top_up(5000)                              # a new top-up starts from zero
    assert net.send_ussd("*108#") == "Stan konta: 50,00 zł."


# (subscriber state, dialled, reply, source)
MILO_REPLIES = [
    ({"msisdn": "48531234567"}, "*101#", "Twój numer telefonu: +48531234567.",
     "seed 000: login 48531234567"),
    ({}, "*101#", "Numer nie został jeszcze przydzielony do karty.", "seed 000 AKTYWACJA 2"),
    ({"internet": True}, "*107#", "Usługa Internet jest włączona.", "seed 000"),
    ({"internet": False}, "*107#", "Usługa Internet jest wyłączona.", "seed 000"),
    ({"internet": False}, "*107*1#", "Usługa Internet została włączona.", "seed 000"),
    ({"internet": True}, "*107*1#", "Usługa Internet jest już włączona.", "seed 000"),
    ({"internet": True}, "*107*2#", "Usługa Internet została wyłączona.", "seed 000"),
    ({"balance": 1250}, "*108#", "Stan konta: 12,50 zł.", "seed 000; sim-facts §5.12"),
    ({"country": "DE"}, "*110#", "Brak zalecanego operatora dla kraju DE.",
     "seed 000 names no operators"),
    ({}, "*555#", "Biuro Obsługi Klienta Milo Telecom: infolinia +48 32 779 73 73 "
     "(pon.-piąt. 8:00-20:00 z wyjątkiem dni świątecznych), e-mail bok@milotelecom.pl.",
     "seed 000 BIURO OBSŁUGI KLIENTA"),
]


@pytest.mark.parametrize("state,code,reply,source", MILO_REPLIES)
def test_milo_codes(state, code, reply, source):
    assert network(MILO, **state).send_ussd(code) == reply, source


def test_internet_switch_changes_state():
    net = network(MILO)
    net.send_ussd("*107*1#")
    assert net.subscriber.internet and net.send_ussd("*107#") == "Usługa Internet jest włączona."
    net.send_ussd("*107*2#")
    assert not net.subscriber.internet


def test_recommended_operator_from_the_table():
    table = replace(MILO, recommended_operators=(("DE", "Operator A"), ("FR", "Operator B")))
    net = network(table, country="FR")
    assert net.send_ussd("*110#") == "Zalecany operator w kraju FR: Operator B."
    net.subscriber.country = "DE"
    assert net.send_ussd("*110#") == "Zalecany operator w kraju DE: Operator A."


# --- call forwarding (TS 24.080 operations; seeds 000 and 002) ------------------------------

V = "Przekierowanie bezwarunkowe"
B = "Przekierowanie, gdy abonent zajęty"
N = "Przekierowanie, gdy abonent nie odpowiada"
C = "Przekierowanie, gdy abonent nieosiągalny"

# (services, [(dialled, reply or the SsError code)], source)
FORWARDING = [
    (CITYSAT, [
        ("*21*9555#", f"{V}: włączone na numer 9555."),
        ("*#21#", f"{V}: włączone, numer 9555."),
        ("#21#", f"{V}: wyłączone."),
        ("*#21#", f"{V}: wyłączone, numer 9555."),   # deactivated, still registered
        ("*21#", f"{V}: włączone."),                  # re-activated without a number
        ("##21#", f"{V}: usunięte."),
        ("*#21#", f"{V}: nieaktywne."),
        ("*21#", MapError.SS_ERROR_STATUS),           # nothing registered to activate
    ], "seed 002 poczta głosowa: *21*9555#, #21#, *#21#"),
    (CITYSAT, [
        ("*67*9555#", f"{B}: włączone na numer 9555."),
        ("*#67#", f"{B}: włączone, numer 9555."),
        ("#67#", f"{B}: wyłączone."),
    ], "seed 002: *67*9555#, #67#, *#67#"),
    (CITYSAT, [
        ("*61*9555#", f"{N}: włączone na numer 9555, po 20 s."),
        ("*#61#", f"{N}: włączone, numer 9555, po 20 s."),
        ("**61*0322015880**30#", f"{N}: włączone na numer 0322015880, po 30 s."),
        ("#61#", f"{N}: wyłączone."),
    ], "seed 002: około 20s; sim-facts §7.2 timer in SIC"),
    (CITYSAT, [
        ("**004*0322015880#", "Wszystkie przekierowania warunkowe: włączone na numer "
                              "0322015880, po 20 s."),
        ("*#002#", f"{V}: nieaktywne.\n{B}: włączone, numer 0322015880.\n"
                   f"{N}: włączone, numer 0322015880, po 20 s.\n"
                   f"{C}: włączone, numer 0322015880."),
        ("##002#", "Wszystkie przekierowania: usunięte."),
        ("*#004#", f"{B}: nieaktywne.\n{N}: nieaktywne.\n{C}: nieaktywne."),
    ], "sim-facts §7.2: 002 all CF, 004 all conditional CF"),
    (CITYSAT, [
        ("**21*0322015880*11#", f"{V} (telefonia): włączone na numer 0322015880."),
        ("*#21#", f"{V} (telefonia): włączone, numer 0322015880."),
        ("*#21**16#", f"{V} (wiadomości SMS): nieaktywne."),
        ("#21**11#", f"{V} (telefonia): wyłączone."),
        ("*#21**11#", f"{V} (telefonia): wyłączone, numer 0322015880."),
    ], "sim-facts §7.3 basic service codes"),
    (MILO, [
        ("*21*48531234567#", f"{V}: włączone na numer 48531234567."),
        ("#21#", f"{V}: wyłączone."),
    ], "seed 000 PRZEKIEROWANIA 1 and 4"),
    (MILO, [
        ("*43#", MapError.SS_NOT_AVAILABLE),
        ("*33*1234#", MapError.SS_NOT_AVAILABLE),
        ("**21*abc#", MapError.UNEXPECTED_DATA_VALUE),
        ("**61*600123456**45#", MapError.UNEXPECTED_DATA_VALUE),
        ("*101#", MapError.ILLEGAL_SS_OPERATION),
        ("**04*1234*5678*5678#", MapError.ILLEGAL_SS_OPERATION),
    ], "only forwarding is a network SS here; bad strings are refused"),
]


@pytest.mark.parametrize("services,steps,source", FORWARDING)
def test_forwarding_sequences(services, steps, source):
    net = network(services)
    for code, expected in steps:
        if isinstance(expected, MapError):
            with pytest.raises(SsError) as info:
                net.send_ss(code)
            assert info.value.code == expected, (source, code)
        else:
            assert net.send_ss(code) == expected, (source, code)


# --- City-Sat features (seed 002) ------------------------------------------------------------

# [(dialled, reply or the UssdError code)]: wake-up, DND, speed dial
CITYSAT_STEPS = [
    ("*#55#", "Budzenie jednokrotne nie jest ustawione."),
    ("*55*0630#", "Budzenie jednokrotne ustawione na 06:30."),
    ("*#55#", "Budzenie jednokrotne: 06:30."),
    ("#55#", "Budzenie jednokrotne usunięte."),
    ("*#55#", "Budzenie jednokrotne nie jest ustawione."),
    ("*55*2460#", MapError.UNEXPECTED_DATA_VALUE),
    ("*57*0630#", "Budzenie wielokrotne ustawione na 06:30 (codziennie)."),
    ("*57*0456*12467#", "Budzenie wielokrotne ustawione na 04:56 (poniedziałki, wtorki, "
                        "czwartki, soboty, niedziele)."),
    ("*#57#", "Budzenie wielokrotne: 04:56 (poniedziałki, wtorki, czwartki, soboty, "
              "niedziele)."),
    ("*57*0630*18#", MapError.UNEXPECTED_DATA_VALUE),
    ("#57#", "Budzenie wielokrotne usunięte."),
    ("*#57#", "Budzenie wielokrotne nie jest ustawione."),
    ("*26#", "Usługa „Proszę nie przeszkadzać” włączona."),
    ("*#26#", "Usługa „Proszę nie przeszkadzać” jest włączona."),
    ("#26#", "Usługa „Proszę nie przeszkadzać” wyłączona."),
    ("*#26#", "Usługa „Proszę nie przeszkadzać” jest wyłączona."),
    ("*27#", "Komunikat DND: odsłuchaj aktualny komunikat, nagraj własny lub przywróć "
             "domyślny komunikat systemowy."),
    ("*50*1*0322015880#", "Numer skrócony 1: zapisano 0322015880."),
    ("*50*01*0325500010#", "Numer skrócony 01: zapisano 0325500010."),
    ("*#50*1#", "Numer skrócony 1: 0322015880."),
    ("*#50*01#", "Numer skrócony 01: 0325500010."),
    ("#50*1#", "Numer skrócony 1: usunięty."),
    ("*#50*1#", "Numer skrócony 1 nie jest ustawiony."),
    ("*#50*01#", "Numer skrócony 01: 0325500010."),
    ("**1", MapError.UNEXPECTED_DATA_VALUE),          # a number to call, not USSD
    ("*99#", MapError.UNEXPECTED_DATA_VALUE),         # unknown code
]


def test_citysat_features():
    net = network(CITYSAT)
    for code, expected in CITYSAT_STEPS:
        if isinstance(expected, MapError):
            with pytest.raises(UssdError) as info:
                net.send_ussd(code)
            assert info.value.code == expected, code
        else:
            assert net.send_ussd(code) == expected, code


def test_feature_codes_also_arrive_as_ss():
    net = network(CITYSAT)
    assert net.send_ss("*26#") == "Usługa „Proszę nie przeszkadzać” włączona."
    assert net.subscriber.dnd


@pytest.mark.parametrize("services,code", [(IDEA, "*22"), (MILO, "*21*600123456#"),
                                           (PLUS, "*101#"), (HALONET, "*108#")])
def test_ussd_refusals(services, code):
    with pytest.raises(UssdError) as info:
        network(services).send_ussd(code)
    assert info.value.code == MapError.UNEXPECTED_DATA_VALUE


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789*#+", max_size=24),
       st.sampled_from([MILO, CITYSAT, HALONET, IDEA, PLUS]))
def test_network_answers_text_or_a_typed_error(code, services):
    net = network(services, msisdn="48531234567", balance=5000)
    for send in (net.send_ussd, net.send_ss):
        try:
            assert isinstance(send(code), str)
        except (UssdError, SsError) as exc:
            assert isinstance(exc.code, int)


def test_clock_is_the_only_time_source():
    clock = Clock(datetime(2014, 1, 30, 14, 10))
    net = network(HALONET, clock, balance=2900)
    net.buy_package(500)
    clock.now += timedelta(days=365)
    assert net.package_status() is None and net.events[-1].at == datetime(2014, 3, 1, 14, 10)
