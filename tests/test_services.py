"""Operator service data: the shipped files say what the seed documents say, and malformed
files are refused with the file, the key and the reason."""

from __future__ import annotations

from datetime import time

import pytest

from simtool.errors import DataError
from simtool.stk.services import (ACTIONS, PARAM_TYPES, PackageOffer, TopUpRule,
                                  decode_parameter, load_operator, load_services,
                                  parse_services, services_dir, services_for_profile)

OPERATORS = ("milo", "citysat", "halonet", "idea24", "plus")
SEEDS = {"milo": "000_339516d54929f7eb.txt", "halonet": "001_2c395baf21c7ecc0.txt",
         "citysat": "002_1cd639b33c8f4640.txt", "idea24": "003_b2054b35ed69a276.txt",
         "plus": "004_267890d7eb85091d.txt"}


@pytest.mark.parametrize("name", OPERATORS)
def test_shipped_files_load_and_cite_their_seed(name):
    s = load_operator(name)
    assert s.id == name and s.source == SEEDS[name]
    for code in s.codes:
        assert code.description.strip() and code.gloss.strip() and code.source


def test_every_shipped_file_is_listed():
    assert sorted(p.stem for p in services_dir().glob("*.toml")) == sorted(OPERATORS)


# (operator, attribute, expected, source)
RULES = [
    ("milo", "topup", TopUpRule((5000, 10000, 20000, 30000), 180),
     "seed 000 DOŁADOWANIA 1 and 4: 50/100/200/300 zł, 180 dni"),
    ("milo", "customer_care", "+48 32 779 73 73", "seed 000 BIURO OBSŁUGI KLIENTA"),
    ("milo", "email", "bok@milotelecom.pl", "seed 000 BIURO OBSŁUGI KLIENTA"),
    ("milo", "recommended_operators", (), "seed 000 names no operators for *110#"),
    ("halonet", "packages", (PackageOffer(500, 2900), PackageOffer(1200, 5900)),
     "seed 001: 500 minut 29 zł, 1200 minut 59 zł"),
    ("halonet", "codes", (), "seed 001 defines no handset codes"),
    ("citysat", "no_reply_timer", 20, "seed 002: około 20s"),
    ("citysat", "topup", None, "seed 002 has no top-ups"),
    ("idea24", "customer_care", "*22", "seed 003: BOK *22"),
    ("plus", "codes", (), "seed 004 defines no handset codes"),
    ("plus", "packages", (), "seed 004"),
]


@pytest.mark.parametrize("name,attribute,expected,source", RULES)
def test_network_rules(name, attribute, expected, source):
    assert getattr(load_operator(name), attribute) == expected, source


# (operator, pattern, kind, action, source)
CODES = [
    ("milo", "*101#", "ussd", "own_number", "seed 000 KODY TELEFONICZNE"),
    ("milo", "*107#", "ussd", "internet_status", "seed 000"),
    ("milo", "*107*1#", "ussd", "internet_on", "seed 000"),
    ("milo", "*107*2#", "ussd", "internet_off", "seed 000"),
    ("milo", "*108#", "ussd", "balance", "seed 000"),
    ("milo", "*109#", "ussd", "validity", "seed 000"),
    ("milo", "*110#", "ussd", "recommended_operator", "seed 000"),
    ("milo", "*555#", "ussd", "customer_care", "seed 000"),
    ("milo", "*21*{number}#", "ss", None, "seed 000 PRZEKIEROWANIA 1"),
    ("milo", "#21#", "ss", None, "seed 000 PRZEKIEROWANIA 4"),
    ("citysat", "*21*9555#", "ss", None, "seed 002 poczta głosowa"),
    ("citysat", "*67*9555#", "ss", None, "seed 002"),
    ("citysat", "*61*9555#", "ss", None, "seed 002"),
    ("citysat", "*55*{time}#", "feature", "wakeup_once_set", "seed 002 Budzenie"),
    ("citysat", "*57*{time}*{days}#", "feature", "wakeup_repeat_set", "seed 002"),
    ("citysat", "*26#", "feature", "dnd_on", "seed 002 DND"),
    ("citysat", "*27#", "feature", "dnd_message", "seed 002 DND"),
    ("citysat", "*50*{slot}*{number}#", "feature", "speed_dial_set", "seed 002"),
    ("citysat", "*#50*{slot}#", "feature", "speed_dial_status", "seed 002"),
    ("citysat", "#50*{slot}#", "feature", "speed_dial_clear", "seed 002"),
    ("citysat", "9444", "call", None, "seed 002 stan rachunku"),
    ("idea24", "*22", "call", None, "seed 003"),
]


@pytest.mark.parametrize("name,pattern,kind,action,source", CODES)
def test_codes_from_the_documents(name, pattern, kind, action, source):
    entry = next((c for c in load_operator(name).codes if c.pattern == pattern), None)
    assert entry is not None, source
    assert (entry.kind, entry.action) == (kind, action)


def test_citysat_has_every_code_of_its_document():
    patterns = {c.pattern for c in load_operator("citysat").codes}
    # seed 002, section by section
    assert patterns >= {"*21*9555#", "*67*9555#", "*61*9555#", "#21#", "#67#", "#61#",
                        "*#21#", "*#67#", "*#61#", "*21*{number}#", "*67*{number}#",
                        "*61*{number}#", "9555", "9556", "0775500010", "*55*{time}#", "#55#",
                        "*#55#", "*57*{time}#", "*57*{time}*{days}#", "#57#", "*#57#", "*26#",
                        "#26#", "*#26#", "*27#", "9444", "*50*{slot}*{number}#",
                        "*#50*{slot}#", "#50*{slot}#", "**{slot}"}


# (type, raw, decoded value)
PARAM_OK = [
    ("time", "0630", time(6, 30)),          # seed 002: "dla budzenia na 6:30 ... *55*0630#"
    ("time", "0000", time(0, 0)),
    ("time", "2359", time(23, 59)),
    ("days", "12467", (1, 2, 4, 6, 7)),     # seed 002 example
    ("days", "71", (1, 7)),
    ("slot", "1", "1"),                     # seed 002: 10 numerów
    ("slot", "01", "01"),                   # seed 002: 100 numerów
    ("number", "0322015880", "0322015880"), # seed 002 example
    ("number", "+48531234567", "+48531234567"),
    ("digits", "5500010", "5500010"),
]


@pytest.mark.parametrize("kind,raw,value", PARAM_OK)
def test_decode_parameter(kind, raw, value):
    assert decode_parameter(kind, raw) == value


# (type, raw, a fragment of the reason)
PARAM_BAD = [
    ("time", "2460", "(24:60)"),
    ("time", "1260", "minute 60"),
    ("time", "630", "four digits"),
    ("time", "", "missing"),
    ("days", "18", "8 is not a day"),
    ("days", "1a", "not a set of days"),
    ("days", "11", "more than once"),
    ("slot", "100", "not a speed-dial slot"),
    ("number", "12-34", "not a number"),
    ("digits", "12a", "not a string of digits"),
]


@pytest.mark.parametrize("kind,raw,fragment", PARAM_BAD)
def test_decode_parameter_refuses(kind, raw, fragment):
    with pytest.raises(DataError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        decode_parameter(kind, raw)


def test_parameter_types_and_actions_are_consistent():
    assert set(PARAM_TYPES) == {"number", "time", "days", "slot", "digits", "trunk_number"}
    for required, optional in ACTIONS.values():
        assert not required & optional


HEAD = '[operator]\nid = "x"\nname = "X"\nsource = "seed"\n'
CODE = '[[code]]\nname = "a"\nkind = "ussd"\npattern = "*1#"\ndescription = "d"\ngloss = "g"\n'

# (file text, key named in the error, a fragment of the reason)
MALFORMED = [
    ("[operator\n", "bad.toml", "not valid TOML"),
    ('[operator]\nid = "x"\nname = "X"\n', "operator.source", "required key is missing"),
    (HEAD + "[extra]\n", "(top level).extra", "unknown key"),
    (HEAD.replace('"x"', '"X Y"'), "operator.id", "is not lowercase"),
    (HEAD + "[topup]\namounts_zl = []\n", "topup.amounts_zl", "non-empty list"),
    (HEAD + "[topup]\namounts_zl = [50, 50]\n", "topup.amounts_zl", "twice"),
    (HEAD + "[topup]\namounts_zl = [50]\nvalidity_days = 0\n", "topup.validity_days",
     "integer >= 1"),
    (HEAD + "[[package]]\nminutes = 500\n", "package[0].price_zl", "required key"),
    (HEAD + "[[package]]\nminutes = 5\nprice_zl = 1\n[[package]]\nminutes = 5\nprice_zl = 2\n",
     "package[1].minutes", "listed twice"),
    (HEAD + "[forwarding]\nno_reply_timer = 45\n", "forwarding.no_reply_timer", "5-30"),
    (HEAD + '[roaming]\nrecommended = { Germany = "T" }\n', "roaming.recommended.Germany",
     "ISO 3166"),
    (HEAD + CODE.replace('"ussd"', '"sms"'), "code[0].kind", "is not one of"),
    (HEAD + CODE.replace('"*1#"', '"*1a#"'), "code[0].pattern", "only 0-9 * # +"),
    (HEAD + CODE.replace('"*1#"', '"*1*{t}#"'), "code[0].params", "has no type"),
    (HEAD + CODE.replace('"*1#"', '"*1*{t}#"') + 'params = { t = "hour" }\n',
     "code[0].params.t", "unknown parameter type 'hour'"),
    (HEAD + CODE + 'params = { t = "time" }\n', "code[0].params.t", "no {t} in the pattern"),
    (HEAD + CODE.replace('"*1#"', '"*1*{a}{b}#"') + 'params = { a = "slot", b = "slot" }\n',
     "code[0].pattern", "need a separator"),
    (HEAD + CODE + 'action = "fly"\n', "code[0].action", "unknown action 'fly'"),
    (HEAD + CODE + 'action = "wakeup_once_set"\n', "code[0].action", "takes parameters"),
    (HEAD + CODE.replace('"ussd"', '"call"') + 'action = "balance"\n', "code[0].action",
     "has no network action"),
    (HEAD + CODE.replace('"ussd"', '"ss"').replace('"*1#"', '"*55*{t}#"')
     + 'params = { t = "number" }\n', "code[0].pattern", "not a standard supplementary"),
    (HEAD + CODE.replace('"*1#"', '"1#"'), "code[0].pattern", "starts with * or #"),
    (HEAD + CODE + CODE, "code[1].name", "used twice"),
    (HEAD + CODE + CODE.replace('"a"', '"b"'), "code[1].pattern", "listed twice"),
    (HEAD + CODE.replace('gloss = "g"\n', ""), "code[0].gloss", "required key is missing"),
    (HEAD + CODE.replace('"d"', '""'), "code[0].description", "non-empty string"),
]


@pytest.mark.parametrize("text,key,fragment", MALFORMED)
def test_malformed_file_names_file_key_and_reason(tmp_path, text, key, fragment):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_services(path)
    message = str(info.value)
    assert str(path) in message and key in message and fragment in message, message


def test_missing_or_unsafe_names(tmp_path):
    with pytest.raises(DataError, match="no services file for 'nosuch'"):
        load_operator("nosuch")
    with pytest.raises(DataError, match="not an operator name"):
        load_operator("../milo")
    with pytest.raises(DataError, match="cannot read"):
        load_services(tmp_path / "absent.toml")


def test_profile_resolution(tmp_path):
    prov = tmp_path / "provisioning"
    (prov / "services").mkdir(parents=True)
    (prov / "profiles").mkdir()
    (prov / "services" / "op.toml").write_text(HEAD + CODE, encoding="utf-8")
    (prov / "profiles" / "shop.toml").write_text('services = "op"\n', encoding="utf-8")
    assert services_for_profile("shop", root=prov).id == "x"      # via the profile
    assert services_for_profile("op", root=prov).id == "x"        # a services name
    direct = str(prov / "services" / "op.toml")
    assert services_for_profile(direct).id == "x"                     # a file
    (prov / "profiles" / "odd.toml").write_text("services = 3\n", encoding="utf-8")
    with pytest.raises(DataError, match="'services' must be a string"):
        services_for_profile("odd", root=prov)


def test_most_specific_pattern_wins():
    s = load_operator("citysat")
    entry, params = s.match("*21*9555#")
    assert entry.name == "voicemail_unconditional" and params == ()
    entry, params = s.match("*21*0322015880#")
    assert entry.name == "forward_unconditional" and params[0].value == "0322015880"
    assert s.match("*99#") is None


def test_parse_services_from_text():
    s = parse_services(HEAD + CODE)
    assert [c.pattern for c in s.codes] == ["*1#"]
    with pytest.raises(DataError, match="<services>, operator.name"):
        parse_services('[operator]\nid = "x"\nname = 3\nsource = "s"\n')
