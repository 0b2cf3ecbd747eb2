"""Status words: every SW of TS 102 221 §10.2.1 and TS 51.011 §9.4 has its own description."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.sw import SW, describe, is_success, proactive_pending

# (SW, a word its description must contain) — sim-facts §1.1 and §1.2 (TS 102 221 §10.2.1)
UICC = [
    (0x9000, "normal ending"),
    (0x9300, "toolkit busy"),
    (0x6200, "no information"),
    (0x6281, "corrupted"),
    (0x6282, "end of file"),
    (0x6283, "invalidated"),
    (0x6284, "not formatted"),  # ISO/IEC 7816-4 meaning
    (0x6285, "termination state"),
    (0x62F1, "more data available"),
    (0x62F2, "proactive command"),
    (0x62F3, "response data available"),
    (0x63F1, "more data expected"),
    (0x63F2, "proactive command"),
    (0x6400, "execution error"),
    (0x6500, "memory changed"),
    (0x6581, "memory problem"),
    (0x6700, "wrong length"),
    (0x6800, "function in cla"),
    (0x6881, "logical channel"),
    (0x6882, "secure messaging"),
    (0x6900, "command not allowed"),
    (0x6981, "file structure"),
    (0x6982, "security status"),
    (0x6983, "blocked"),
    (0x6984, "invalidated"),
    (0x6985, "conditions of use"),
    (0x6986, "no ef selected"),
    (0x6989, "secure channel"),
    (0x6A80, "data field"),
    (0x6A81, "function not supported"),
    (0x6A82, "not found"),
    (0x6A83, "record not found"),
    (0x6A84, "memory"),
    (0x6A86, "p1 to p2"),
    (0x6A87, "lc inconsistent"),
    (0x6A88, "referenced data not found"),
    (0x6B00, "p1-p2"),
    (0x6D00, "instruction"),
    (0x6E00, "class not supported"),
    (0x6F00, "technical problem"),
    (0x9850, "increase"),
    (0x9862, "authentication error"),
    (0x9863, "expired"),
    (0x9864, "suspension"),
]

# sim-facts §1.3 (TS 51.011 §9.4)
GSM = [
    (0x9240, "memory problem"),
    (0x9400, "no ef selected"),
    (0x9402, "out of range"),
    (0x9404, "not found"),
    (0x9408, "inconsistent"),
    (0x9802, "no chv initialised"),
    (0x9804, "access condition"),
    (0x9808, "chv status"),
    (0x9810, "invalidation status"),
    (0x9840, "blocked"),
]

# Parametrised status words rendered with their value
PARAMETRISED = [
    (0x6110, "16 response bytes"),
    (0x6100, "256 response bytes"),
    (0x6C0A, "exact length is 10"),
    (0x6C00, "exact length is 256"),
    (0x63C3, "3 tries left"),
    (0x63C0, "0 tries left"),
    (0x9130, "48 bytes pending"),
    (0x9F0C, "12 bytes of response data"),
    (0x9F00, "256 bytes of response data"),
    (0x9E05, "download error, 5 bytes"),
    (0x9203, "3 internal update retries"),
    (0x9210, "data transfer session (10)"),
    (0x6781, "detail 81"),
    (0x6F42, "technical problem (command-dependent detail 42)"),
    (0x6B05, "p1 or p2"),
    (0x6D12, "instruction code not supported (gsm, detail 12)"),
    (0x6E34, "wrong instruction class"),
]


@pytest.mark.parametrize("sw, word", UICC + GSM + PARAMETRISED)
def test_every_spec_status_word_has_its_own_description(sw, word):
    text = describe(sw)
    assert not text.startswith("unknown status"), text
    assert word in text.lower()


def test_fixed_table_entries_are_sw_members():
    for sw, _ in UICC + GSM:
        assert SW(sw) == sw


def test_every_enum_member_is_described():
    texts = {m: describe(m) for m in SW}
    assert all(not t.startswith("unknown status") for t in texts.values())
    assert SW.OK == 0x9000 and SW.FILE_NOT_FOUND == 0x6A82 and SW.GSM_CHV_BLOCKED == 0x9840


@pytest.mark.parametrize(
    "sw, text",
    [
        (0x6A99, "unknown status 6A99 (checking error: wrong parameters)"),
        (0x6999, "unknown status 6999 (checking error: command not allowed)"),
        (0x6601, "unknown status 6601 (execution error: security related)"),
        (0x9801, "unknown status 9801 (security management / application error)"),
        (0x1234, "unknown status 1234 (SW1 outside the ISO/IEC 7816-4 status classes)"),
    ],
)
def test_fallback_names_sw1_class(sw, text):
    assert describe(sw) == text


@pytest.mark.parametrize("bad", [-1, 0x10000, None, "9000", 1.5])
def test_describe_of_nonsense_does_not_raise(bad):
    assert "invalid status word" in describe(bad)


@given(st.integers(-0x20000, 0x20000))
def test_describe_never_raises(sw):
    assert describe(sw)


@pytest.mark.parametrize(
    "sw, ok",
    [
        (0x9000, True),
        (0x9130, True),
        (0x9203, True),
        (0x9240, False),
        (0x6282, True),
        (0x63C2, True),  # a PIN command's caller turns this into WrongPin
        (0x6110, True),
        (0x9F0C, True),
        (0x9300, False),
        (0x6982, False),
        (0x6A82, False),
        (0x9404, False),
        (0x9862, False),
        (0x6F00, False),
    ],
)
def test_is_success(sw, ok):
    assert is_success(sw) is ok


@pytest.mark.parametrize(
    "sw, pending",
    [(0x9130, 0x30), (0x91FF, 0xFF), (0x9121, 0x21), (0x9100, None), (0x9000, None),
     (0x62F2, None), (0x6130, None)],
)
def test_proactive_pending(sw, pending):
    assert proactive_pending(sw) == pending
