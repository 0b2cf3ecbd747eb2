"""simtool.pin: PIN/PUK/ADM coding (sim-facts §9.3, §9.4) and key references (§9.2)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.errors import EncodeError
from simtool.pin import (
    ADM1,
    GSM_UNBLOCK_CHV_P2,
    PIN1,
    PIN2,
    UNIVERSAL_PIN,
    AdmFormat,
    GsmChv,
    KeyReference,
    encode_adm,
    encode_pin,
    encode_pin_pair,
    encode_puk,
)
from simtool.secret import Secret

PIN_VECTORS = [("1234", "31323334FFFFFFFF"), ("0000", "30303030FFFFFFFF"),
               ("123456", "313233343536FFFF"), ("12345678", "3132333435363738")]


@pytest.mark.parametrize("pin,hexdata", PIN_VECTORS)
def test_pin_coding(pin, hexdata):
    out = encode_pin(Secret(pin))
    assert isinstance(out, Secret) and out.reveal() == bytes.fromhex(hexdata)


def test_puk_coding():
    assert encode_puk(Secret("12345678")).reveal() == bytes.fromhex("3132333435363738")


ADM_VECTORS = [
    ("55538407", "3535353338343037", AdmFormat.DECIMAL8),  # sysmoUSIM style
    ("88888888", "3838383838383838", AdmFormat.DECIMAL8),
    ("1234", "31323334FFFFFFFF", AdmFormat.DECIMAL8),
    ("CAE743DB9C5B5A58", "CAE743DB9C5B5A58", AdmFormat.HEX16),
    ("cae743db9c5b5a58", "CAE743DB9C5B5A58", AdmFormat.HEX16),
]


@pytest.mark.parametrize("adm,hexdata,fmt", ADM_VECTORS)
def test_adm_coding(adm, hexdata, fmt):
    key, found = encode_adm(Secret(adm))
    assert key.reveal() == bytes.fromhex(hexdata) and found is fmt
    assert encode_adm(Secret(adm))[0] == key


BAD = ["123", "123456789", "12a4", "", " 1234", "１２３４", "+1234"]

# The messages are constants: nothing of the value (digits, length) reaches them.
PIN_RULE = "the PIN must be 4 to 8 decimal digits"
PUK_RULE = "the PUK must be exactly 8 decimal digits"
ADM_RULE = "the ADM key must be up to 8 decimal digits or exactly 16 hex digits"


@pytest.mark.parametrize("bad", BAD)
def test_bad_pins_never_echo_digits(bad):
    with pytest.raises(EncodeError) as exc:
        encode_pin(Secret(bad))
    assert str(exc.value) == PIN_RULE


@pytest.mark.parametrize("bad", ["1234567", "123456789", "1234567a"])
def test_bad_puks(bad):
    with pytest.raises(EncodeError) as exc:
        encode_puk(Secret(bad))
    assert str(exc.value) == PUK_RULE


@pytest.mark.parametrize("bad", ["123456789", "CAE743DB9C5B5A5", "CAE743DB9C5B5A5G", "abcd",
                                 "CAE743DB9C5B5A5811", ""])
def test_bad_adm_never_echoed(bad):
    with pytest.raises(EncodeError) as exc:
        encode_adm(Secret(bad))
    assert str(exc.value) == ADM_RULE


def test_plain_strings_are_refused():
    with pytest.raises(TypeError):
        encode_pin("1234")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        encode_adm("55538407")  # type: ignore[arg-type]


@given(st.text(max_size=20))
def test_pin_errors_never_contain_the_value(value):
    try:
        encode_pin(Secret(value))
    except EncodeError as exc:
        assert str(exc) == PIN_RULE
    else:
        assert 4 <= len(value) <= 8 and value.isdigit()


def test_pair_coding():
    pair = encode_pin_pair(encode_puk(Secret("12345678")), encode_pin(Secret("0000")))
    assert pair.reveal() == bytes.fromhex("3132333435363738" "30303030FFFFFFFF")
    assert repr(pair) == "Secret(***)"
    with pytest.raises(EncodeError):
        encode_pin_pair(Secret(b"1234"), Secret(b"12345678"))


def test_key_references():
    # ETSI TS 102 221 §9.5.1 Table 9.3
    assert (PIN1, PIN2, ADM1, UNIVERSAL_PIN) == (0x01, 0x81, 0x0A, 0x11)
    assert KeyReference.ADM2 == 0x0B and KeyReference.ADM5 == 0x0E
    assert KeyReference.ADM6 == 0x8A and KeyReference.ADM10 == 0x8E
    assert KeyReference.SECOND_PIN_APPL_8 == 0x88
    # 3GPP TS 51.011 §9.2: CHV numbers and the UNBLOCK CHV P2 values
    assert (GsmChv.CHV1, GsmChv.CHV2) == (1, 2)
    assert GSM_UNBLOCK_CHV_P2 == {GsmChv.CHV1: 0x00, GsmChv.CHV2: 0x02}


# --- the errors name what is wrong (each message is the one line the CLI prints) ---------------

@pytest.mark.parametrize("call,exc,message", [
    (lambda: encode_pin("1234"), TypeError, "the PIN must be passed as a Secret"),
    (lambda: encode_puk(12345678), TypeError, "the PUK must be passed as a Secret"),
    (lambda: encode_pin(Secret(1234)), EncodeError, "the PIN must be text"),
    (lambda: encode_adm("11223344"), TypeError, "the ADM key must be passed as a Secret"),
    (lambda: encode_adm(Secret(b"11223344")), EncodeError, "the ADM key must be text"),
    (lambda: encode_adm(Secret("")), EncodeError,
     "the ADM key must be up to 8 decimal digits or exactly 16 hex digits"),
    (lambda: encode_pin_pair(Secret(b"1234"), Secret(b"12345678")), EncodeError,
     "each coded PIN/PUK must be 8 bytes"),
    (lambda: encode_pin_pair(Secret(b"12345678"), Secret(b"123456789")), EncodeError,
     "each coded PIN/PUK must be 8 bytes"),
])
def test_error_messages(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == message


def test_adm_lengths_at_the_edges():
    # one decimal digit is an ADM key (≤ 8 digits, FF-padded)
    assert encode_adm(Secret("5")) == (Secret(b"5" + b"\xff" * 7), AdmFormat.DECIMAL8)
    # 16 characters that are not all hex digits are refused, whatever else they are
    for text in ("XXXXXXXXXXXXXXXX", "0123456789ABCDEG", "0123456789abcde "):
        with pytest.raises(EncodeError):
            encode_adm(Secret(text))


# --- key references and the ADM threshold are written once: simtool.pin --------------------------

REPO = Path(__file__).resolve().parent.parent
#: Names that hold a key reference or an ADM threshold, wherever they are defined.
_HOLDERS = re.compile(r"^(KEY_REFS?|[A-Z0-9_]*_REFS|PIN1|PIN2|ADM\d+|UNIVERSAL_PIN|"
                      r"adm_key_ref|adm_min_tries|ADM_MIN_TRIES|MIN_TRIES)$")
#: Card methods whose first argument is a key reference.
_TAKES_KEY_REF = frozenset({"verify_pin", "verify_adm", "change_pin", "disable_pin",
                            "enable_pin", "unblock_pin", "pin_tries", "puk_tries"})


def _int_literal(node: ast.AST | None) -> bool:
    """Is ``node`` a number, or a value made of numbers (a branch of ``x if c else y``, an
    element, key or value of a tuple, list, set or dict)?"""
    if isinstance(node, ast.Constant):
        return type(node.value) is int
    if isinstance(node, ast.IfExp):
        return _int_literal(node.body) or _int_literal(node.orelse)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return any(_int_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return any(_int_literal(e) for e in (*node.keys, *node.values))
    return False


def _target_names(target: ast.AST) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Attribute):
        return [target.attr]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for t in target.elts for n in _target_names(t)]
    return []


def key_reference_literals(source: str) -> list[tuple[int, str]]:
    """(line, what) for each key reference or ADM threshold written as a number in
    ``source``: assigned to a name that holds one, passed as the key reference of a PIN
    command or as ``min_tries``, or returned by a ``key_reference`` function."""
    tree = ast.parse(source)
    # members of other enumerations (an access-condition level named PIN1) are not key refs
    enum_members = {id(stmt) for cls in ast.walk(tree) if isinstance(cls, ast.ClassDef)
                    and any("Enum" in ast.unparse(b) for b in cls.bases) for stmt in cls.body}
    found = []
    for node in ast.walk(tree):
        if id(node) in enum_members:
            continue
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [n for t in targets for n in _target_names(t) if _HOLDERS.match(n)]
            if names and _int_literal(node.value):
                found.append((node.lineno, f"{', '.join(names)} = a number"))
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _TAKES_KEY_REF and node.args and _int_literal(node.args[0]):
                found.append((node.lineno, f"{name}(a number)"))
            found += [(node.lineno, "min_tries=a number") for k in node.keywords
                      if k.arg == "min_tries" and _int_literal(k.value)]
        elif isinstance(node, ast.FunctionDef) and "key_ref" in node.name:
            found += [(r.lineno, f"{node.name} returns a number") for r in ast.walk(node)
                      if isinstance(r, ast.Return) and r.value is not None
                      and _int_literal(r.value)]
    return sorted(found)


def test_the_scan_finds_key_references_written_as_numbers():
    assert key_reference_literals("PIN1, PIN2, ADM1 = 0x01, 0x81, 0x0A") == [
        (1, "PIN1, PIN2, ADM1 = a number")]
    assert [w for _, w in key_reference_literals(
        'KEY_REFS = {"pin1": 0x01}\nUICC_REFS = {0x01: "PIN1"}\n'
        "class T:\n    adm_key_ref: int = 0x0A\n    adm_min_tries: int = 2\n"
        "card.verify_pin(0x01, pin)\ncard.verify_adm(ref, key, min_tries=2)\n"
        "def key_reference(self):\n    return 0x01 if self.pin == 1 else 0x81\n")] == [
        "KEY_REFS = a number", "UICC_REFS = a number", "adm_key_ref = a number",
        "adm_min_tries = a number", "verify_pin(a number)", "min_tries=a number",
        "key_reference returns a number"]
    assert key_reference_literals("KEY_REFS = {'pin1': PIN1}\ncard.verify_pin(PIN1, pin)\n"
                                  "TAG_KEY_REFERENCE = 0x83\n"
                                  "class Ac(enum.IntEnum):\n    PIN1 = 0x1\n") == []


def test_key_references_and_adm_thresholds_come_from_simtool_pin_only():
    """TS 102 221 §9.5.1 Table 9.3 and simtool's ADM threshold are written in simtool/pin.py;
    the library, the CLI and the virtual card import them (issue 9, item 7)."""
    files = sorted((REPO / "simtool").rglob("*.py")) + sorted(
        (REPO / "tests" / "virtual_card").glob("*.py"))
    pin_module = REPO / "simtool" / "pin.py"
    copies = [f"{path.relative_to(REPO)}:{line}: {what}" for path in files
              if path != pin_module
              for line, what in key_reference_literals(path.read_text(encoding="utf-8"))]
    assert copies == []
