"""The toolkit's texts come from the injected texts object (provisioning/texts/<language>.toml),
never from the code: the applet and the handset hold no user text, and other texts change
what they say."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from simtool.apdu.channel import Channel
from simtool.apdu.transport import InProcessTransport
from simtool.errors import DataError
from simtool.stk.applet import MenuApplet
from simtool.stk.callcontrol import CallControl, CallControlResponse
from simtool.stk.handset import Handset, ScriptedUI
from simtool.stk.menu import load_named_menu
from simtool.stk.objects import GeneralResult as R
from simtool.stk.profile import DEFAULT, WITH_CALL_CONTROL
from simtool.stk.texts import (AppletTexts, HandsetTexts, default_texts, load_named_texts,
                               load_texts, texts_from_dict)
from tests.test_stk_applet import Driver
from tests.test_stk_handset import FakeCard, FakeNetwork

REPO = Path(__file__).resolve().parents[1]
SPEAKERS = [REPO / "simtool" / "stk" / "applet.py", REPO / "simtool" / "stk" / "handset.py"]

#: Calls whose arguments reach the person at the handset: the UI, DISPLAY TEXT, alpha
#: identifiers and text strings, the applet's own display helpers.
SINKS = frozenset({"display_text", "notify", "get_input", "select_item", "from_text", "of",
                   "_show", "_explain", "_fitted_display", "AlphaIdentifier", "TextString"})


def _letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _literal_texts(node: ast.AST) -> list[str]:
    """String literals with letters that ``node`` puts into a value (not names, calls' own
    arguments such as getattr(x, "text"))."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value] if _letters(node.value) else []
    if isinstance(node, ast.JoinedStr):
        return [v.value for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str) and _letters(v.value)]
    if isinstance(node, ast.BinOp):
        return _literal_texts(node.left) + _literal_texts(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_texts(node.body) + _literal_texts(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr == "format":
        return _literal_texts(node.func.value)
    return []


def user_texts_in(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string literal with letters given to a user-facing call."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in SINKS:
            continue
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            found += [(node.lineno, text) for text in _literal_texts(arg)]
    return found


@pytest.mark.parametrize("path", SPEAKERS, ids=lambda p: p.name)
def test_no_letter_outside_ascii(path):
    """No Polish (or any other non-ASCII) letter anywhere in the file, comments included."""
    lines = [(n, line) for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if any(ch.isalpha() and not ch.isascii() for ch in line)]
    assert lines == []


def declared_texts_in(source: str) -> list[tuple[int, str]]:
    """(line, text) of every module or class constant holding a phrase (a string literal with
    letters and a space, alone or in a dict, list, tuple or set): where a table of texts
    would be written."""
    tree = ast.parse(source)
    bodies = [tree.body] + [n.body for n in tree.body if isinstance(n, ast.ClassDef)]
    found = []
    for body in bodies:
        for stmt in body:
            if not isinstance(stmt, (ast.Assign, ast.AnnAssign)) or stmt.value is None:
                continue
            values = [stmt.value]
            if isinstance(stmt.value, ast.Dict):
                values = [*stmt.value.keys, *stmt.value.values]
            elif isinstance(stmt.value, (ast.List, ast.Tuple, ast.Set)):
                values = list(stmt.value.elts)
            found += [(stmt.lineno, text) for value in values if value is not None
                      for text in _literal_texts(value) if " " in text.strip()]
    return found


@pytest.mark.parametrize("path", SPEAKERS, ids=lambda p: p.name)
def test_no_user_text_written_in_the_code(path):
    source = path.read_text(encoding="utf-8")
    assert user_texts_in(source) == []
    assert declared_texts_in(source) == []


def test_the_user_text_check_finds_what_it_looks_for():
    bad = '''
def f(self, ui, n, x):
    ui.notify(f"Calling {n}")
    self._show("Unknown item.", self._end)
    AlphaIdentifier.from_text("Busy" if x else "Free")
    ui.display_text("Dial: {code}".format(code=n))
    ui.display_text(getattr(x, "text", "..."))
'''
    assert [t for _, t in user_texts_in(bad)] == ["Calling ", "Unknown item.", "Busy", "Free",
                                                  "Dial: {code}"]
    table = '''
ERRORS = {13: "calls barred", 16: "illegal"}
KINDS = ("idle", "menu")


class Texts:
    busy: str = "Toolkit busy."
    code = "{code}"
'''
    assert [t for _, t in declared_texts_in(table)] == ["calls barred", "Toolkit busy."]


ENGLISH = AppletTexts(
    network_unable="The network cannot do it now.",
    ss_error="Service {code} refused: {reason} ({error}).",
    ussd_error="Code {code} refused: {reason} ({error}).",
    unknown_error="unknown error",
    not_supported="This phone cannot send the code. Dial {code}",
    call_yourself="Call {code} yourself.",
    failed="{code} failed (result {result}).",
    sent="Code {code} sent.",
    ss_done="Done: {code}.",
    help="{title}: code {code}.",
    unknown_item="Unknown menu item.",
    input_length="Enter {min} to {max} characters.",
    input_digits="Digits only.",
    input_time="Wrong time. Enter HHMM, e.g. 0630.",
    input_trunk="Enter the full number with 0 and the area code.",
    call_confirm="Call {code}?",
    own_number_unknown="this_card_number",
    network_errors={18: "service not available"},
)


def _english_driver(menu=None, profile=DEFAULT) -> Driver:
    d = Driver(profile=profile) if menu is None else Driver(menu, profile=profile)
    d.applet.texts = ENGLISH
    return d


def test_other_texts_change_what_the_applet_says():
    d = _english_driver()
    assert d.select(42).text.text == "Unknown menu item."
    d.answer(R.OK)
    d.select(3)
    shown = d.answer(R.USSD_RETURN_ERROR, b"\x12")
    assert shown.text.text == "Code *108# refused: service not available (18)."
    d.answer(R.OK)
    d.select(7)
    d.answer(R.OK, item=1)
    assert d.answer(R.OK, text="12").text.text == "Enter 9 to 15 characters."
    d.answer(R.OK)
    assert d.answer(R.OK, text="6001x3456").text.text == "Digits only."
    polish = Driver()
    assert polish.select(42).text.text == default_texts().applet.unknown_item != "Unknown menu item."


def test_other_texts_reach_every_kind_of_message():
    d = _english_driver(profile=DEFAULT.without("send_ussd"))
    assert d.select(1).text.text == "This phone cannot send the code. Dial *101#"
    d = _english_driver(load_named_menu("citysat"), profile=DEFAULT.without("set_up_call"))
    d.select(1)
    assert d.answer(R.OK, item=7).text.text == "Call 9555 yourself."
    d = _english_driver(load_named_menu("citysat"))
    d.select(1)
    assert d.answer(R.OK, item=7).alpha.text == "Call 9555?"


def test_other_texts_in_call_control():
    applet = MenuApplet(load_named_menu("milo"), texts=ENGLISH)
    applet.terminal_profile(WITH_CALL_CONTROL.without("ussd_in_call_control").data)
    answer = CallControlResponse.decode(
        applet.envelope(CallControl.for_call("+48531234567", _location()).encode()).data)
    assert answer.alpha.text == "This phone cannot send the code. Dial *104*+48531234567#"


def _location():
    from simtool.stk.handset import DEFAULT_LOCATION
    return DEFAULT_LOCATION


def test_other_texts_change_what_the_handset_says():
    texts = dataclasses.replace(default_texts().handset, calling="Calling {number}")
    ui = ScriptedUI(choices=[7])
    card = FakeCard(MenuApplet(load_named_menu("citysat")))
    hs = Handset(Channel(InProcessTransport(card)), FakeNetwork(), ui, texts=texts)
    hs.select(1)
    assert ui.notes[-1] == "Calling 9555"


def test_the_default_texts_are_the_polish_file():
    texts = load_named_texts("pl")
    assert texts == default_texts()
    assert texts.applet.unknown_item == "Nieznana pozycja menu."
    assert texts.handset.calling == "Połączenie: {number}"
    assert MenuApplet(load_named_menu("milo")).texts == texts.applet


def _pl() -> dict:
    import tomllib
    return tomllib.loads((REPO / "provisioning" / "texts" / "pl.toml").read_text("utf-8"))


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["applet"].pop("sent"), "texts: applet: missing keys ['sent']"),
    (lambda d: d["handset"].update(callng="x"), "texts: handset: unknown keys ['callng']"),
    (lambda d: d["applet"].update(sent="Wysłano {kod}."),
     "texts: applet.sent: unknown placeholders ['kod'] (allowed: {code})"),
    (lambda d: d["applet"].update(help="{title"), "texts: applet.help: malformed {placeholder}"),
    (lambda d: d["applet"].update(sent=""), "texts: applet.sent: must be a non-empty string"),
    (lambda d: d["applet"]["network_errors"].update(x="y"),
     "texts: applet.network_errors.x: error codes are numbers 0..255"),
    (lambda d: d.pop("handset"), "texts: missing keys ['handset']"),
])
def test_malformed_texts_name_the_key(change, message):
    data = _pl()
    change(data)
    with pytest.raises(DataError) as exc:
        texts_from_dict(data)
    assert str(exc.value).startswith(message)


def test_texts_files_are_found_by_name_and_errors_name_the_file(tmp_path):
    with pytest.raises(DataError, match="no texts 'xx'"):
        load_named_texts("xx")
    with pytest.raises(DataError, match="not a texts name"):
        load_named_texts("../pl")
    bad = tmp_path / "bad.toml"
    bad.write_text("[applet\n", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        load_texts(bad)
    assert str(bad) in str(exc.value) and "not valid TOML" in str(exc.value)


def test_handset_texts_are_all_used():
    """Every handset text has a use in handset.py (a text nobody says is a dead key)."""
    source = SPEAKERS[1].read_text(encoding="utf-8")
    assert all(f"texts.{f.name}" in source for f in dataclasses.fields(HandsetTexts))
    applet = SPEAKERS[0].read_text(encoding="utf-8")
    assert all(f"texts.{f.name}" in applet or f"t.{f.name}" in applet
               for f in dataclasses.fields(AppletTexts))
