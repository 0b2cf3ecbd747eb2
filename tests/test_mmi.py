"""MMI strings (3GPP TS 22.030): tables of cases from the spec digest and the operators'
documents, walked by generic tests, plus property tests of the parser."""

from __future__ import annotations

import re
from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simtool.stk.mmi import (BASIC_SERVICES, SS_SERVICES, Invalid, OperatorService,
                             PasswordRegistration, PinProcedure, Procedure, ShowImei,
                             SupplementaryService, Ussd, explain)
from simtool.stk.services import load_operator

MILO = load_operator("milo")
CITYSAT = load_operator("citysat")
IDEA = load_operator("idea24")
SEED_MILO = "seed 000 (Milo)"
SEED_CITYSAT = "seed 002 (City-Sat)"
FACTS = "sim-facts §7"

A, D, I, R, E = (Procedure.ACTIVATION, Procedure.DEACTIVATION, Procedure.INTERROGATION,
                 Procedure.REGISTRATION, Procedure.ERASURE)

# (dialled, procedure, SC, number, BS, timer, source)
SS_CASES = [
    ("*43#", A, "43", None, None, None, FACTS + ".1 example"),
    ("#21#", D, "21", None, None, None, SEED_MILO + " PRZEKIEROWANIA 4"),
    ("*#67#", I, "67", None, None, None, FACTS + ".1 example; " + SEED_CITYSAT),
    ("**21*+48600123456#", R, "21", "+48600123456", None, None, FACTS + ".1 example"),
    ("##002#", E, "002", None, None, None, FACTS + ".1 example"),
    ("**61*+48600123456**20#", R, "61", "+48600123456", None, 20, FACTS + ".1 empty SIB"),
    ("**61*00431234*11*5#", R, "61", "00431234", "11", 5, FACTS + ".2 (TS 51.010-1)"),
    ("*21*9555#", R, "21", "9555", None, None, SEED_CITYSAT + " poczta głosowa"),
    ("*67*9555#", R, "67", "9555", None, None, SEED_CITYSAT + " poczta głosowa"),
    ("*61*9555#", R, "61", "9555", None, None, SEED_CITYSAT + " poczta głosowa"),
    ("*21*0322015880#", R, "21", "0322015880", None, None, SEED_CITYSAT + " przekierowanie"),
    ("*#21#", I, "21", None, None, None, SEED_CITYSAT),
    ("#61#", D, "61", None, None, None, SEED_CITYSAT),
    ("*21*600123456#", R, "21", "600123456", None, None, SEED_MILO + " PRZEKIEROWANIA 1"),
    ("#21**11#", D, "21", None, "11", None, FACTS + ".2 BS in SIB"),
    ("*#21**16#", I, "21", None, "16", None, FACTS + ".3"),
    ("*21#", A, "21", None, None, None, FACTS + ".1"),
    ("**004*600123456**30#", R, "004", "600123456", None, 30, FACTS + ".2 timer 004"),
    ("**002*600123456*11*5#", R, "002", "600123456", "11", 5, FACTS + ".2 timer 002"),
    ("*43*11#", A, "43", None, "11", None, FACTS + ".2 CW SIA = BS"),
    ("#43#", D, "43", None, None, None, FACTS + ".2"),
    ("*#331#", I, "331", None, None, None, FACTS + ".2"),
    ("*#30#", I, "30", None, None, None, FACTS + ".2 CLIP"),
    ("*#31#", I, "31", None, None, None, FACTS + ".2 CLIR"),
    ("*#76#", I, "76", None, None, None, FACTS + ".2 COLP"),
    ("*#77#", I, "77", None, None, None, FACTS + ".2 COLR"),
    ("*#300#", I, "300", None, None, None, FACTS + ".2 CNAP"),
    ("*62*600123456#", R, "62", "600123456", None, None, FACTS + ".2 CFNRc"),
    ("  *#62#  ", I, "62", None, None, None, "surrounding blanks ignored"),
]


@pytest.mark.parametrize("code,procedure,sc,number,bs,timer,source", SS_CASES)
def test_supplementary_services(code, procedure, sc, number, bs, timer, source):
    c = explain(code)
    assert isinstance(c, SupplementaryService), (source, c)
    assert (c.procedure, c.service.code, c.number, c.timer) == (procedure, sc, number, timer)
    assert (c.basic_service.code if c.basic_service else None) == bs


# (dialled, procedure, SC, source) of codes whose SIA is a barring password
BARRING_CASES = [
    ("*33*1234#", A, "33", FACTS + ".2 BAOC"),
    ("#330*1234#", D, "330", FACTS + ".2 all barring, deactivation"),
    ("*331*1234*11#", A, "331", FACTS + ".2 PW then BS"),
    ("#353*0000#", D, "353", FACTS + ".2"),
]


@pytest.mark.parametrize("code,procedure,sc,source", BARRING_CASES)
def test_barring_password_is_secret(code, procedure, sc, source):
    c = explain(code)
    assert isinstance(c, SupplementaryService) and c.procedure is procedure
    assert c.service.code == sc and c.password is not None
    pw = re.match(r"[*#]+[0-9]+\*([0-9]+)", code).group(1)
    assert c.password.reveal() == pw
    assert pw not in repr(c) and pw not in str(c)


def test_clir_per_call():
    # sim-facts §7.2: *31#<number> suppresses, #31#<number> invokes CLIR for one call
    show, hide = explain("*31#600123456"), explain("#31#600123456")
    assert (show.procedure, show.call_number) == (A, "600123456")
    assert (hide.procedure, hide.call_number) == (D, "600123456")
    assert isinstance(explain("*31#12a"), Invalid)


# (dialled, a fragment of the reason, source)
INVALID_CASES = [
    ("*21*abc#", "'abc' is not a number", "brief: *21*abc#"),
    ("**61*123*11*45#", "must be 5-30 s, not 45", "brief; " + FACTS + ".2 T = 5-30 s"),
    ("**61*123*11*4#", "not 4", FACTS + ".2"),
    ("**61*123**31#", "not 31", FACTS + ".2"),
    ("**61*123**x#", "not a number of seconds", FACTS + ".2"),
    ("**21*600123456**20#", "CFU (21) takes no timer", FACTS + ".2 timer only 61/002/004"),
    ("*61***20#", "only when registering", "TS 24.080: the timer travels in registerSS"),
    ("**21#", "registration needs a forwarded-to number", FACTS + ".1"),
    ("#21*600123456#", "given only when registering", FACTS + ".1"),
    ("**21*600123456*99#", "'99' is not a basic service code", FACTS + ".3"),
    ("*21*1*11*5*4#", "too many fields", FACTS + ".1 SIA SIB SIC"),
    ("**43#", "not used with registration", FACTS + ".2 CW: * # *#"),
    ("*43*11*1#", "call waiting takes only a basic service", FACTS + ".2"),
    ("*33*12#", "password (SIA) must be 4 digits", FACTS + ".2 PW"),
    ("*33*1234*11*5#", "takes a password and a basic service only", FACTS + ".2"),
    ("*30*1#", "takes no supplementary information", FACTS + ".2 CLIP"),
    ("*21*600123456#9", "after the closing '#'", FACTS + ".1"),
    ("*21*12345678901234567#", "at most 16 digits", "TS 29.002 ISDN-AddressString"),
    ("", "empty", "nothing dialled"),
    ("   ", "empty", "nothing dialled"),
    ("*10a#", "cannot be dialled", "keypad alphabet"),
    ("600123456", "a number to call", FACTS + ".5"),
    ("*21*600123456", "must end with '#'", FACTS + ".1"),
    ("*#", "no digits", FACTS + ".5"),
    ("**04*1234*5678*5679#", "two entries of the new PIN1 differ", FACTS + ".4"),
    ("**04*123*5678*5678#", "old PIN1 must be 4-8 digits", FACTS + ".4"),
    ("**042*1234*567*567#", "new PIN2 must be 4-8 digits", FACTS + ".4"),
    ("**05*1234567*5678*5678#", "PUK must be 8 digits", FACTS + ".4"),
    ("**052*1234567*5678*5678#", "PUK2 must be 8 digits", FACTS + ".4"),
    ("**04*1234*5678#", "dialled as **04*OLD*NEW*NEW#", FACTS + ".4"),
    ("**03*330*1234*5678*5679#", "new barring password differ", FACTS + ".4"),
    ("**03*21*1234*5678*5678#", "not a call barring service code", FACTS + ".4"),
    ("**03*330*12*5678*5678#", "must be 4 digits", FACTS + ".4"),
]


@pytest.mark.parametrize("code,fragment,source", INVALID_CASES)
def test_invalid(code, fragment, source):
    c = explain(code)
    assert isinstance(c, Invalid), (source, c)
    assert fragment in c.reason, (source, c.reason)


def test_invalid_reasons_never_quote_a_pin():
    for code in ("**04*9876*5432*5439#", "**05*24681357*99*99#", "**03*330*9876*5432*5439#"):
        c = explain(code)
        assert isinstance(c, Invalid)
        assert not any(part in c.reason for part in ("9876", "5432", "5439", "24681357"))


# (dialled, pin, unblock, key reference, source)
PIN_CASES = [
    ("**04*1234*5678*5678#", 1, False, 0x01, FACTS + ".4 change PIN1"),
    ("**042*1234*5678*5678#", 2, False, 0x81, FACTS + ".4 change PIN2"),
    ("**05*12345678*0000*0000#", 1, True, 0x01, FACTS + ".4 unblock PIN1"),
    ("**052*12345678*00000000*00000000#", 2, True, 0x81, FACTS + ".4 unblock PIN2"),
]


@pytest.mark.parametrize("code,pin,unblock,ref,source", PIN_CASES)
def test_pin_procedures(code, pin, unblock, ref, source):
    c = explain(code)
    assert isinstance(c, PinProcedure)
    assert (c.pin, c.unblock, c.key_reference) == (pin, unblock, ref)
    old, new = code.rstrip("#").split("*")[3:5]
    assert (c.code.reveal(), c.new_pin.reveal()) == (old, new)
    for secret in (old, new):
        assert secret not in repr(c) and secret not in str(c)


def test_password_registration():
    c = explain("**03*330*1234*5678*5678#")    # sim-facts §7.4
    assert isinstance(c, PasswordRegistration) and c.service.code == "330"
    assert (c.old.reveal(), c.new.reveal()) == ("1234", "5678")
    everything = explain("*03**1234*5678*5678#")
    assert isinstance(everything, PasswordRegistration) and everything.service is None
    assert "1234" not in repr(c) + repr(everything)


def test_imei():
    assert explain("*#06#") == ShowImei()      # sim-facts §7.4


# (dialled, HPLMN-reserved, VPLMN-reserved, source)
USSD_CASES = [
    ("*101#", True, False, SEED_MILO + " KODY TELEFONICZNE, without a profile"),
    ("*107*1#", True, False, SEED_MILO),
    ("*108#", True, False, SEED_MILO + "; sim-facts §5.11"),
    ("*109#", True, False, SEED_MILO),
    ("*110#", True, False, SEED_MILO),
    ("*555#", False, False, SEED_MILO),
    ("*100*1#", True, False, FACTS + ".5"),
    ("#123#", True, False, FACTS + ".5"),
    ("*150#", False, True, "TS 22.090 §5.1.2 case b"),
    ("**19*5#", False, True, "TS 22.090 §5.1.2 case b"),
    ("*1234#", False, False, "TS 22.090 §5.1.2: 1X(Y) is at most 3 digits"),
    ("*55*0630#", False, False, SEED_CITYSAT + " without a profile"),
    ("*26#", False, False, SEED_CITYSAT + " without a profile"),
]


@pytest.mark.parametrize("code,hplmn,vplmn,source", USSD_CASES)
def test_ussd(code, hplmn, vplmn, source):
    assert explain(code) == Ussd(code, hplmn_reserved=hplmn, vplmn_reserved=vplmn), source


# --- operator codes ----------------------------------------------------------------------

# (services, dialled, entry name, {parameter: value}, source)
OPERATOR_CASES = [
    (MILO, "*101#", "own_number", {}, SEED_MILO + " KODY TELEFONICZNE"),
    (MILO, "*107#", "internet_status", {}, SEED_MILO),
    (MILO, "*107*1#", "internet_on", {}, SEED_MILO),
    (MILO, "*107*2#", "internet_off", {}, SEED_MILO),
    (MILO, "*108#", "balance", {}, SEED_MILO),
    (MILO, "*109#", "validity", {}, SEED_MILO),
    (MILO, "*110#", "recommended_operator", {}, SEED_MILO),
    (MILO, "*555#", "customer_care", {}, SEED_MILO),
    (CITYSAT, "*55*0630#", "wakeup_once_set", {"time": time(6, 30)}, SEED_CITYSAT + " Budzenie"),
    (CITYSAT, "#55#", "wakeup_once_clear", {}, SEED_CITYSAT),
    (CITYSAT, "*#55#", "wakeup_once_status", {}, SEED_CITYSAT),
    (CITYSAT, "*57*0630#", "wakeup_repeat_set", {"time": time(6, 30)}, SEED_CITYSAT),
    # the document reads this example as "4.57"; 0456 is 04:56
    (CITYSAT, "*57*0456*12467#", "wakeup_repeat_days_set",
     {"time": time(4, 56), "days": (1, 2, 4, 6, 7)}, SEED_CITYSAT + " przykład DOW"),
    (CITYSAT, "#57#", "wakeup_repeat_clear", {}, SEED_CITYSAT),
    (CITYSAT, "*#57#", "wakeup_repeat_status", {}, SEED_CITYSAT),
    (CITYSAT, "*26#", "dnd_on", {}, SEED_CITYSAT + " DND"),
    (CITYSAT, "#26#", "dnd_off", {}, SEED_CITYSAT),
    (CITYSAT, "*#26#", "dnd_status", {}, SEED_CITYSAT),
    (CITYSAT, "*27#", "dnd_message", {}, SEED_CITYSAT),
    (CITYSAT, "*50*1*0322015880#", "speed_dial_set", {"slot": "1", "number": "0322015880"},
     SEED_CITYSAT + " przykład wybierania skróconego"),
    (CITYSAT, "*50*42*0322015880#", "speed_dial_set", {"slot": "42", "number": "0322015880"},
     SEED_CITYSAT + " 100 numerów"),
    (CITYSAT, "*#50*1#", "speed_dial_status", {"slot": "1"}, SEED_CITYSAT),
    (CITYSAT, "#50*42#", "speed_dial_clear", {"slot": "42"}, SEED_CITYSAT),
    (CITYSAT, "**1", "speed_dial_call", {"slot": "1"}, SEED_CITYSAT + " wybierając **1"),
    (CITYSAT, "**21", "speed_dial_call", {"slot": "21"}, SEED_CITYSAT + " (no '#': no SS)"),
    (CITYSAT, "9555", "voicemail_listen", {}, SEED_CITYSAT),
    (CITYSAT, "9556", "voicemail_any_line", {}, SEED_CITYSAT),
    (CITYSAT, "0775500010", "voicemail_outside", {}, SEED_CITYSAT + " 077 5500010"),
    (CITYSAT, "9444", "bill_info", {}, SEED_CITYSAT),
    (IDEA, "*22", "customer_care", {}, "seed 003 (Idea) BOK *22"),
]


@pytest.mark.parametrize("services,code,name,params,source", OPERATOR_CASES)
def test_operator_codes(services, code, name, params, source):
    c = explain(code, services)
    assert isinstance(c, OperatorService), (source, c)
    assert (c.operator, c.name) == (services.id, name)
    assert {p.name: p.value for p in c.parameters} == params
    assert c.description and c.gloss


# (services, dialled, a fragment of the reason, source)
OPERATOR_INVALID = [
    (CITYSAT, "*55*2460#", "'2460' is not a time (24:60)", "brief; " + SEED_CITYSAT),
    (CITYSAT, "*55*2460#", "hour 24 is not 00-23", SEED_CITYSAT),
    (CITYSAT, "*55*0760#", "minute 60 is not 00-59", SEED_CITYSAT),
    (CITYSAT, "*55*630#", "HHMM is four digits", SEED_CITYSAT + " HHMM"),
    (CITYSAT, "*55*#", "missing", SEED_CITYSAT),
    (CITYSAT, "*57*0630*18#", "DOW digits must be 1-7", "brief; " + SEED_CITYSAT),
    (CITYSAT, "*57*0630*18#", "8 is not a day", SEED_CITYSAT),
    (CITYSAT, "*57*0630*0#", "0 is not a day", SEED_CITYSAT + " 1 = poniedziałek"),
    (CITYSAT, "*57*0630*112#", "day 1 is given more than once", SEED_CITYSAT),
    (CITYSAT, "*50*123*0322015880#", "not a speed-dial slot", SEED_CITYSAT + " X / XX"),
    (CITYSAT, "*50*1*abc#", "'abc' is not a number", SEED_CITYSAT),
    (CITYSAT, "*50*1 „0322015880#", "cannot be dialled", SEED_CITYSAT + " typo in the example"),
    (CITYSAT, "#21 #", "cannot be dialled", SEED_CITYSAT + " typo '#21 #'"),
]


@pytest.mark.parametrize("services,code,fragment,source", OPERATOR_INVALID)
def test_operator_invalid(services, code, fragment, source):
    c = explain(code, services)
    assert isinstance(c, Invalid), (source, c)
    assert fragment in c.reason, (source, c.reason)


# (services, dialled, entry name the standard code is annotated with, source)
ANNOTATED = [
    (CITYSAT, "*21*9555#", "voicemail_unconditional", SEED_CITYSAT + " 9555 beats {number}"),
    (CITYSAT, "*67*9555#", "voicemail_busy", SEED_CITYSAT),
    (CITYSAT, "*61*9555#", "voicemail_no_reply", SEED_CITYSAT),
    (CITYSAT, "*21*0322015880#", "forward_unconditional", SEED_CITYSAT),
    (CITYSAT, "#67#", "forward_busy_off", SEED_CITYSAT),
    (CITYSAT, "*#61#", "forward_no_reply_status", SEED_CITYSAT),
    (MILO, "*21*48531234567#", "forward_to_milo", SEED_MILO + " PRZEKIEROWANIA 1"),
    (MILO, "#21#", "forward_cancel", SEED_MILO + " PRZEKIEROWANIA 4"),
]


@pytest.mark.parametrize("services,code,name,source", ANNOTATED)
def test_standard_codes_carry_the_operators_words(services, code, name, source):
    c = explain(code, services)
    assert isinstance(c, SupplementaryService)
    assert c.operator is not None and c.operator.name == name, source
    assert explain(code).operator is None


def test_standard_code_without_operator_words():
    c = explain("**21*600123456*11#", CITYSAT)
    assert isinstance(c, SupplementaryService) and c.operator is None


# --- properties ------------------------------------------------------------------------

KINDS = (SupplementaryService, Ussd, OperatorService, PinProcedure, PasswordRegistration,
         ShowImei, Invalid)
DIALLED = st.text(alphabet="0123456789*#+", max_size=30)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), DIALLED),
       st.sampled_from([None, MILO, CITYSAT, IDEA]))
def test_explain_always_classifies(text, services):
    assert isinstance(explain(text, services), KINDS)


@settings(max_examples=200, deadline=None)
@given(procedure=st.sampled_from(["**", "*"]),
       sc=st.sampled_from(["21", "67", "61", "62", "002", "004"]),
       number=st.from_regex(r"\+?[0-9]{1,16}", fullmatch=True),
       bs=st.sampled_from([None, *BASIC_SERVICES]),
       timer=st.one_of(st.none(), st.integers(5, 30)))
def test_forwarding_registration_round_trip(procedure, sc, number, bs, timer):
    if sc not in ("61", "002", "004"):
        timer = None
    fields = [number, bs or "", str(timer) if timer is not None else ""]
    while fields and not fields[-1]:
        fields.pop()
    c = explain(f"{procedure}{sc}*{'*'.join(fields)}#")
    assert isinstance(c, SupplementaryService)
    assert (c.procedure, c.service, c.number, c.timer) == (R, SS_SERVICES[sc], number, timer)
    assert c.basic_service == (BASIC_SERVICES[bs] if bs else None)


@given(st.integers(0, 99), st.integers(0, 99))
def test_wakeup_time_valid_iff_a_clock_time(hh, mm):
    c = explain(f"*55*{hh:02d}{mm:02d}#", CITYSAT)
    if hh < 24 and mm < 60:
        assert isinstance(c, OperatorService) and c.value("time") == time(hh, mm)
    else:
        assert isinstance(c, Invalid)


@given(st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True))
def test_days_of_week_any_order(days):
    c = explain("*57*0630*" + "".join(map(str, days)) + "#", CITYSAT)
    assert isinstance(c, OperatorService) and c.value("days") == tuple(sorted(days))
