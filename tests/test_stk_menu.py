"""Menus as data: the shipped Milo and City-Sat menus, the TOML loader and its errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomli_w
from hypothesis import given
from hypothesis import strategies as st

from simtool.errors import DataError, EncodeError
from simtool.stk.menu import (
    Call,
    Explain,
    InputField,
    Menu,
    MenuItem,
    Ss,
    Submenu,
    Template,
    Ussd,
    load_menu,
    load_named_menu,
)
from simtool.stk.mmi import OperatorService, SupplementaryService, explain
from simtool.stk.services import load_operator

MENUS = Path(__file__).resolve().parents[1] / "provisioning" / "menus"


def _codes(items, prefix=""):
    """(path, action) for every leaf item."""
    for it in items:
        path = f"{prefix}{it.id}"
        if isinstance(it.action, Submenu):
            yield from _codes(it.action.items, path + ".")
        else:
            yield path, it.action


def test_milo_menu_matches_the_operator_leaflet():
    menu = load_menu(MENUS / "milo.toml")
    leaves = dict(_codes(menu.items))
    assert leaves == {
        "1": Ussd("*101#"),
        "2.1": Ussd("*107#"), "2.2": Ussd("*107*1#"), "2.3": Ussd("*107*2#"),
        "3": Ussd("*108#"), "4": Ussd("*109#"), "5": Ussd("*110#"), "6": Ussd("*555#"),
        # PRZEKIEROWANIA: shown, never sent from the Milo card (dialled on the old phone)
        "7.1": Explain("Na dotychczasowym telefonie wpisz kod *21*{own_number}# i wciśnij OK. "
                       "Po powrocie odwołaj tam kodem #21#."),
        "7.2": Explain("Po powrocie do kraju włóż dotychczasową kartę i wpisz kod #21#, "
                       "aby odwołać przekierowanie."),
    }
    titles = [it.title for it in menu.items]
    assert titles[0] == "Mój numer" and "Ważność środków" in titles
    assert all(it.help for it in menu.items)


def test_citysat_menu_matches_the_operator_document():
    menu = load_menu(MENUS / "citysat.toml")
    leaves = dict(_codes(menu.items))
    voicemail = {leaves[f"1.{i}"] for i in range(1, 7)}
    assert voicemail == {Ss("*21*9555#"), Ss("*67*9555#"), Ss("*61*9555#"),
                         Ss("#21#"), Ss("#67#"), Ss("#61#")}
    assert leaves["1.7"] == Call("9555")
    wake = leaves["2.1"]
    assert isinstance(wake, Template) and wake.code == "*55*{time}#"
    assert wake.inputs[0].format == "hhmm" and wake.shown() == "*55*GGMM#"
    assert {leaves["3.1"], leaves["3.2"], leaves["3.3"]} == {Ussd("*26#"), Ussd("#26#"),
                                                             Ussd("*#26#")}
    speed = leaves["4.1"]
    assert isinstance(speed, Template) and speed.code == "*50*{slot}*{number}#"
    assert speed.render({"slot": "1", "number": "0322015880"}) == "*50*1*0322015880#"


@pytest.mark.parametrize("name", ["milo", "citysat"])
def test_every_menu_code_is_known_to_the_operator_network(name):
    """Each string a menu sends is, for the operator's services, what the menu sends it as:
    USSD strings are operator codes, SS strings standard supplementary services."""
    services = load_operator(name)
    for path, action in _codes(load_menu(MENUS / f"{name}.toml").items):
        if isinstance(action, Template):
            sample = {f.name: {"hhmm": "0630", "phone": "+48600123456",
                               "trunk": "0322015880"}.get(f.format, "1")
                      for f in action.inputs}
            kind, code = action.service, action.render(sample)
        elif isinstance(action, (Ussd, Ss)):
            kind, code = ("ussd" if isinstance(action, Ussd) else "ss"), action.code
        elif isinstance(action, Explain):
            continue
        else:
            kind, code = "call", action.number
        found = explain(code, services)
        if kind == "ss":
            assert isinstance(found, SupplementaryService), (path, code)
        else:
            assert isinstance(found, OperatorService), (path, code)
            assert found.kind in (("call",) if kind == "call" else ("ussd", "feature")), path


@pytest.mark.parametrize("name", ["milo", "citysat"])
def test_menu_dict_round_trip_through_toml(name, tmp_path):
    menu = load_menu(MENUS / f"{name}.toml")
    assert Menu.from_dict(menu.to_dict()) == menu
    path = tmp_path / "copy.toml"
    path.write_text(tomli_w.dumps(menu.to_dict()), encoding="utf-8")
    assert load_menu(path) == menu


@pytest.mark.parametrize(("field", "value", "problem"), [
    (InputField("n", "?", 9, 15, "phone"), "+48600123456", None),
    (InputField("n", "?", 9, 15, "phone"), "600123456", None),
    (InputField("n", "?", 9, 15, "phone"), "60012345", "length"),
    (InputField("n", "?", 9, 15, "phone"), "600*23456", "digits"),
    (InputField("n", "?", 9, 15, "phone"), "60012345+", "digits"),
    (InputField("n", "?", 1, 2), "12", None),
    (InputField("n", "?", 1, 2), "123", "length"),
    (InputField("n", "?", 1, 2), "#", "digits"),
    (InputField("n", "?", 1, 2), "²", "digits"),
    (InputField("t", "?", 4, 4, "hhmm"), "0630", None),
    (InputField("t", "?", 4, 4, "hhmm"), "2359", None),
    (InputField("t", "?", 4, 4, "hhmm"), "2400", "time"),
    (InputField("t", "?", 4, 4, "hhmm"), "0660", "time"),
    (InputField("t", "?", 4, 4, "hhmm"), "630", "length"),
])
def test_input_validation(field, value, problem):
    assert field.problem(value) == problem


def _menu(**item):
    base = {"id": 1, "title": "Pozycja"}
    return {"title": "Menu", "items": [{**base, **item}]}


@pytest.mark.parametrize(("data", "message", "where"), [
    ({"items": [{"id": 1, "title": "x", "ussd": "*1#"}]}, "'title'", "t.toml"),
    ({"title": "M", "items": []}, "non-empty array", "t.toml"),
    ({"title": "M", "colour": 1, "items": [{"id": 1, "title": "x", "ussd": "*1#"}]},
     "unknown keys", "t.toml"),
    (_menu(ussd="*108#", ss="#21#"), "exactly one of", "item 1 'Pozycja'"),
    (_menu(), "exactly one of", "item 1 'Pozycja'"),
    (_menu(id=0, ussd="*1#"), "'id' must be an integer 1..255", "item 1"),
    (_menu(id="1", ussd="*1#"), "'id' must be an integer", "item 1"),
    (_menu(title="", ussd="*1#"), "'title'", "item 1"),
    (_menu(ussd="108"), "is not a USSD string", "item 1 'Pozycja'"),
    (_menu(ss="*108#x"), "is not an SS string", "item 1 'Pozycja'"),
    (_menu(ss="*21*{number}#"), "no 'inputs'", "item 1 'Pozycja'"),
    (_menu(ss="*21*{number}#", inputs=[{"name": "numer", "prompt": "?"}]),
     "do not match the inputs", "item 1 'Pozycja'"),
    (_menu(ss="*21*{number}#", inputs=[{"name": "number", "prompt": "?", "format": "x"}]),
     "format 'x'", "item 1 'Pozycja' input 1"),
    (_menu(ss="*21*{number}#",
           inputs=[{"name": "number", "prompt": "?", "min_length": 9, "max_length": 3}]),
     "min_length 9 > max_length 3", "input 1"),
    (_menu(ussd="*1#", inputs=[{"name": "n", "prompt": "?"}]), "no 'inputs'|do not match",
     "item 1"),
    (_menu(explain="x", inputs=[]), "only go with", "item 1"),
    (_menu(call="9555x"), "call number", "item 1"),
    (_menu(items=[{"id": 2, "title": "a", "ussd": "*1#"}, {"id": 2, "title": "b",
                                                          "ussd": "*2#"}]),
     "duplicate item id 2", "item 1.2"),
    (_menu(items=[{"id": 3, "title": "a"}]), "exactly one of", "item 1.3 'a'"),
])
def test_malformed_menus_name_file_and_item(data, message, where):
    with pytest.raises(DataError, match=message) as exc:
        Menu.from_dict(data, source="t.toml")
    assert exc.value.where is not None and exc.value.where.startswith("t.toml")
    assert where in exc.value.where


def test_too_long_texts_name_the_item():
    long_items = [{"id": i, "title": f"Bardzo długa nazwa pozycji {i}", "ussd": f"*{i}#"}
                  for i in range(1, 13)]
    with pytest.raises(EncodeError) as exc:
        Menu.from_dict({"title": "Menu", "items": long_items}, source="m.toml")
    assert "m.toml" in str(exc.value) and "menu item" in str(exc.value)
    with pytest.raises(EncodeError) as exc:
        Menu.from_dict(_menu(ss="*21*{n}#", inputs=[{"name": "n", "prompt": "ż" * 200}]),
                       source="m.toml")
    assert exc.value.where == "m.toml: item 1 'Pozycja'"
    with pytest.raises(EncodeError, match="DISPLAY TEXT"):
        Menu.from_dict(_menu(explain="x" * 300), source="m.toml")


def test_text_outside_ucs2_names_the_item():
    with pytest.raises(EncodeError, match="UCS2") as exc:
        Menu.from_dict(_menu(title="\U0001F600", ussd="*1#"), source="m.toml")
    assert exc.value.where == "m.toml: item 1 '\U0001F600'"


def test_menus_by_name_are_those_the_profiles_name():
    profiles = Path(__file__).resolve().parents[1] / "provisioning" / "profiles"
    for name in ("milo", "citysat"):
        assert load_named_menu(name) == load_menu(MENUS / f"{name}.toml")
        assert f'menu = "{name}"' in (profiles / f"{name}.toml").read_text(encoding="utf-8")
    with pytest.raises(DataError, match="no menu 'nope'"):
        load_named_menu("nope")
    with pytest.raises(DataError, match="not a menu name"):
        load_named_menu("../milo")


def test_load_menu_file_errors(tmp_path):
    with pytest.raises(DataError, match="cannot read menu"):
        load_menu(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("title = \n", encoding="utf-8")
    with pytest.raises(DataError, match="not valid TOML") as exc:
        load_menu(bad)
    assert exc.value.where == str(bad)


titles = st.text(st.characters(max_codepoint=0xFFFD, categories=("L", "N", "Zs")), min_size=1,
                 max_size=12).filter(str.strip)
leaf = st.one_of(
    st.builds(Ussd, st.from_regex(r"\*1[0-9]{2}(\*[0-9])?#", fullmatch=True)),
    st.builds(Ss, st.sampled_from(["#21#", "*#21#", "*21*9555#", "##002#"])),
    st.builds(Explain, titles),
    st.builds(Call, st.from_regex(r"\+?[0-9]{3,12}", fullmatch=True)),
    st.just(Template("ss", "*21*{number}#",
                     (InputField("number", "Numer:", 9, 15, "phone"),))),
)


def _items(actions):
    return st.lists(st.tuples(titles, actions, st.none() | titles), min_size=1,
                    max_size=3).map(lambda rows: tuple(
                        MenuItem(i, t, a, h) for i, (t, a, h) in enumerate(rows, 1)))


menus = st.builds(Menu, titles, _items(st.one_of(leaf, _items(leaf).map(Submenu))))


@given(menus)
def test_menu_from_dict_to_dict_round_trip(menu):
    assert Menu.from_dict(menu.to_dict()) == menu


def test_citysat_menu_carries_every_code_of_the_document():
    """Seed 002: every code and number the document gives is reachable from the menu."""
    menu = load_menu(MENUS / "citysat.toml")
    shown = []
    for _, action in _codes(menu.items):
        if isinstance(action, Template):
            shown.append(action.code)
        elif isinstance(action, (Ussd, Ss)):
            shown.append(action.code)
        elif isinstance(action, Call):
            shown.append(action.number)
        elif isinstance(action, Explain):
            shown.append(action.text)
    text = " ".join(shown)
    for code in ["*21*9555#", "*67*9555#", "*61*9555#", "#21#", "#67#", "#61#", "*#21#",
                 "*#67#", "*#61#", "*21*{number}#", "*67*{number}#", "*61*{number}#",
                 "*55*{time}#", "#55#", "*#55#", "*57*{time}#", "*57*{time}*{days}#", "#57#",
                 "*#57#", "*26#", "#26#", "*#26#", "*27#", "*50*{slot}*{number}#",
                 "*#50*{slot}#", "#50*{slot}#", "9555", "9556", "077 5500010", "9444"]:
        assert code in text, code


def test_citysat_forwarding_input_wants_the_full_number():
    menu = load_menu(MENUS / "citysat.toml")
    leaves = dict(_codes(menu.items))
    field = leaves["5.1"].inputs[0]
    assert field.problem("0322015880") is None
    assert field.problem("322015880") == "length"
    assert field.problem("3220158800") == "trunk"       # 10 digits but no leading 0
