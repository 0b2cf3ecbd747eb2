"""simtool.pin: PIN/PUK/ADM coding (sim-facts §9.3, §9.4) and key references (§9.2)."""

from __future__ import annotations

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
