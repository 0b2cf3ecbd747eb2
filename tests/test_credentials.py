"""ICCID + Luhn, printed barcode numbers and the customer credentials derived from them."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum import luhn

from simtool.errors import DataError
from simtool.provision.credentials import (PASSWORD_DIGITS, CredentialDeriver, PrintedNumbers,
                                           Scope, hmac_digits, iccid_for_serial, iccid_serial,
                                           is_trivial, panel_password, random_code, random_digits,
                                           subscriber_code, uniform_digits)
from simtool.provision.profile import BarcodeScheme, CredentialKind
from simtool.secret import Secret
from tests.conftest import SeededRandom


# sim-facts §3.1: (ICCID prefix, serial, length, ICCID) — the worked example and two real cards.
ICCID_VECTORS = [
    ("894801", 123456789012, 19, "8948011234567890128"),
    ("898821", 100000046734, 19, "8988211000000467343"),
    ("89445310", 15001101367, 20, "89445310150011013678"),
]


@pytest.mark.parametrize("prefix,serial,length,iccid", ICCID_VECTORS)
def test_iccid_luhn_vectors(prefix, serial, length, iccid):
    assert iccid_for_serial(prefix, serial, length) == iccid
    assert iccid_serial(iccid, prefix) == f"{serial:0{length - 1 - len(prefix)}d}"


@given(st.integers(0, 10**12 - 1))
def test_every_iccid_passes_luhn(serial):
    iccid = iccid_for_serial("894897", serial, 19)
    assert len(iccid) == 19 and luhn.is_valid(iccid)


def test_serial_too_large_is_refused():
    with pytest.raises(DataError):
        iccid_for_serial("894897", 10**12, 19)


TRIVIAL = [("0000", True), ("1111", True), ("1234", True), ("0123", True), ("9876", True),
           ("1212", True), ("123456", True), ("1235", False), ("5821", False), ("1121", False),
           ("90123", False), ("7031", False)]


@pytest.mark.parametrize("code,trivial", TRIVIAL)
def test_trivial_codes(code, trivial):
    assert is_trivial(code) is trivial


@given(st.integers(0, 2**32), st.integers(4, 8))
def test_random_codes_are_never_trivial(seed, length):
    code = random_code(SeededRandom(seed), length)
    assert len(code) == length and code.isdigit() and not is_trivial(code)


# --- rejection sampling --------------------------------------------------------------------------

LIMIT_10 = (2**40 // 10**10) * 10**10


def test_sampler_rejects_the_biased_top_of_the_range():
    at_limit = LIMIT_10.to_bytes(5, "big")  # first value that would bias the residues
    below = (LIMIT_10 - 1).to_bytes(5, "big")
    accepted = (234567890123).to_bytes(5, "big")  # < LIMIT_10
    assert uniform_digits(below, 10) == "9999999999"
    assert uniform_digits(at_limit + accepted, 10) == "4567890123"
    assert uniform_digits(b"\xff" * 30, 10) is None  # every candidate rejected
    assert LIMIT_10 % 10**10 == 0  # accepted range holds each residue equally often


@given(st.binary(min_size=32, max_size=32), st.integers(1, 12))
def test_sampler_result_is_in_range(stream, digits):
    value = uniform_digits(stream, digits)
    if value is not None:
        assert len(value) == digits and value.isdigit()


# --- printed numbers -----------------------------------------------------------------------------

secrets_st = st.binary(min_size=16, max_size=64)
iccids_st = st.integers(0, 10**12 - 1).map(lambda s: iccid_for_serial("894897", s, 19))


@given(secrets_st, iccids_st)
def test_hmac_digits_deterministic_for_a_fixed_secret(secret, iccid):
    a = hmac_digits(secret, iccid)
    assert a == hmac_digits(secret, iccid)
    assert len(a) == PASSWORD_DIGITS and a.isdigit()


@given(secrets_st, secrets_st, iccids_st)
def test_different_secrets_give_different_passwords(s1, s2, iccid):
    if s1 != s2:
        assert hmac_digits(s1, iccid) != hmac_digits(s2, iccid)


@given(secrets_st, st.lists(st.integers(0, 10**12 - 1), min_size=1, max_size=40, unique=True))
def test_printed_number_is_serial_plus_password(secret, serials):
    numbers = PrintedNumbers(BarcodeScheme.HMAC, Secret(secret))
    passwords = []
    for serial in serials:
        iccid = iccid_for_serial("894897", serial, 19)
        printed = numbers.allocate(iccid, iccid_serial(iccid, "894897")).reveal()
        assert printed.startswith(iccid_serial(iccid, "894897"))
        assert len(printed) == 12 + PASSWORD_DIGITS
        pw = panel_password(Secret(printed)).reveal()
        assert pw == printed[-10:]
        # the password is not a function of the ICCID alone
        assert pw not in iccid
        passwords.append(pw)
    assert len(set(passwords)) == len(passwords)


# Known answers for the panel password.  The formula, from hmac_digits' docstring and the
# module docstring of simtool.provision.credentials: key = the batch secret, message =
# "simtool barcode v1" 00 ‖ ICCID ‖ 00 ‖ attempt ‖ 00 ‖ block (ASCII decimal), MAC =
# HMAC-SHA-256; each 5-byte big-endian chunk v of the MAC in turn is accepted when
# v < floor(2**40 / 10**10) * 10**10, and the password is v mod 10**10 on 10 digits.
# `_reference` recomputes that with hmac/hashlib alone; the literals pin it, so a change of the
# formula (key and message swapped, the ICCID left out, another label) fails here.
KAT_KEY = bytes(range(32))
KAT_KEY_REJECTS_FIRST = b"kat secret 0003, 32 bytes long.."  # its first chunk is rejected
ICCID_1000 = "8948970000000010007"
ICCID_1001 = "8948970000000010015"
KNOWN_ANSWERS = [
    (KAT_KEY, ICCID_1000, 0, "7811353227"),
    (KAT_KEY, ICCID_1000, 1, "1890792309"),
    (KAT_KEY, ICCID_1001, 0, "3480988889"),
    (KAT_KEY, ICCID_1001, 1, "2959904017"),
    (KAT_KEY_REJECTS_FIRST, ICCID_1000, 0, "0814955211"),
    (KAT_KEY_REJECTS_FIRST, ICCID_1000, 1, "1722653644"),
    (KAT_KEY_REJECTS_FIRST, ICCID_1001, 0, "5913557368"),
]


def _reference(secret: bytes, iccid: str, attempt: int) -> tuple[str, int]:
    """(password, offset of the accepted chunk), from the documented formula."""
    limit = (2 ** 40 // 10 ** 10) * 10 ** 10
    block = 0
    while True:
        message = (b"simtool barcode v1\x00" + iccid.encode("ascii") + b"\x00"
                   + str(attempt).encode("ascii") + b"\x00" + str(block).encode("ascii"))
        mac = hmac.new(secret, message, hashlib.sha256).digest()
        for offset in range(0, 30, 5):
            value = int.from_bytes(mac[offset:offset + 5], "big")
            if value < limit:
                return f"{value % 10 ** 10:010d}", offset
        block += 1


@pytest.mark.parametrize("secret,iccid,attempt,password", KNOWN_ANSWERS)
def test_panel_password_known_answers(secret, iccid, attempt, password):
    assert _reference(secret, iccid, attempt)[0] == password
    assert hmac_digits(secret, iccid, attempt) == password


def test_known_answers_cover_a_rejected_chunk_and_both_iccids():
    assert _reference(KAT_KEY_REJECTS_FIRST, ICCID_1000, 0)[1] == 5
    assert _reference(KAT_KEY, ICCID_1000, 0)[1] == 0
    assert luhn.is_valid(ICCID_1000) and luhn.is_valid(ICCID_1001)
    assert ICCID_1000 == iccid_for_serial("894897", 1000, 19)


def test_printed_numbers_follow_the_known_answers():
    """Two cards of a batch: serial ‖ password, the password of the card's own ICCID."""
    numbers = PrintedNumbers(BarcodeScheme.HMAC, Secret(KAT_KEY))
    first = numbers.allocate(ICCID_1000, iccid_serial(ICCID_1000, "894897")).reveal()
    second = numbers.allocate(ICCID_1001, iccid_serial(ICCID_1001, "894897")).reveal()
    assert first == "000000001000" + "7811353227"
    assert second == "000000001001" + "3480988889"
    assert panel_password(Secret(second)).reveal() == "3480988889"


def test_a_colliding_password_takes_the_next_attempt():
    numbers = PrintedNumbers(BarcodeScheme.HMAC, Secret(KAT_KEY))
    numbers._taken.add("7811353227")  # noqa: SLF001 - as if another card of the batch had it
    assert numbers.allocate(ICCID_1000, "s").reveal() == "s" + "1890792309"


def test_colliding_passwords_are_redrawn_until_unique():
    # 2-digit "passwords" collide quickly: all 100 values must come out exactly once
    numbers = PrintedNumbers(BarcodeScheme.HMAC, Secret(b"k" * 32), digits=2)
    tails = [numbers.allocate(iccid_for_serial("894897", s, 19), "s").reveal()[1:]
             for s in range(100)]
    assert sorted(tails) == [f"{i:02d}" for i in range(100)]
    with pytest.raises(DataError, match="all 100"):
        numbers.allocate(iccid_for_serial("894897", 100, 19), "s")


def test_legacy_scheme_prints_the_iccid():
    numbers = PrintedNumbers(BarcodeScheme.LEGACY_ICCID)
    iccid = "8948011234567890128"
    printed = numbers.allocate(iccid, "123456789012")
    assert printed.reveal() == iccid
    assert panel_password(printed).reveal() == "1234567890128"[-10:]
    other = "8948021234567890128"  # same last 10 digits: two cards, one password
    with pytest.raises(DataError, match="same 10 digits"):
        numbers.allocate(other, "x")


def test_hmac_scheme_needs_a_secret():
    with pytest.raises(DataError):
        PrintedNumbers(BarcodeScheme.HMAC, None)
    with pytest.raises(DataError):
        PrintedNumbers(BarcodeScheme.HMAC, Secret(b"short"))


# --- customer credentials ------------------------------------------------------------------------


@given(st.text("0123456789", min_size=8, max_size=8))
def test_idea24_subscriber_code_is_last_six_of_puk(puk):
    assert subscriber_code(Secret(puk)).reveal() == puk[-6:]


@settings(max_examples=50)
@given(st.integers(1, 6), st.integers(1, 30), st.integers(0, 2**32))
def test_plus_codes_and_account_grouping(per_account, count, seed):
    d = CredentialDeriver([CredentialKind.PLUS_KOD5, CredentialKind.PLUS_KOD4],
                          numbers_per_account=per_account, account_prefix="B-A",
                          rng=SeededRandom(seed))
    cards = [d.next_card(printed=Secret("0" * 20), puk1=Secret("12345678")) for _ in range(count)]
    accounts = [a for a, _ in cards]
    assert accounts == [f"B-A{i // per_account + 1:06d}" for i in range(count)]
    by_account: dict[str, list] = {}
    for account, creds in cards:
        kod5, kod4 = creds
        assert kod5.kind is CredentialKind.PLUS_KOD5 and kod5.scope is Scope.ACCOUNT
        assert len(kod5.value.reveal()) == 5 and kod5.must_change and not kod5.read_only
        assert kod4.kind is CredentialKind.PLUS_KOD4 and kod4.scope is Scope.NUMBER
        assert len(kod4.value.reveal()) == 4 and kod4.read_only and not kod4.must_change
        by_account.setdefault(account, []).append((kod5.value.reveal(), kod4.value.reveal()))
    for members in by_account.values():
        assert len({k5 for k5, _ in members}) == 1  # one Kod 5 for the account
        assert len({k4 for _, k4 in members}) == len(members)  # a different Kod 4 per number


def test_milo_and_idea24_derivations():
    d = CredentialDeriver([CredentialKind.PANEL_PASSWORD, CredentialKind.SUBSCRIBER_CODE,
                           CredentialKind.VOICEMAIL_PIN], numbers_per_account=1,
                          account_prefix="A", rng=SeededRandom(1))
    account, creds = d.next_card(printed=Secret("12345678901299887766554433"),
                                 puk1=Secret("31415926"))
    values = {c.kind: c.value.reveal() for c in creds}
    assert values[CredentialKind.PANEL_PASSWORD] == "7766554433"
    assert values[CredentialKind.SUBSCRIBER_CODE] == "415926"
    assert len(values[CredentialKind.VOICEMAIL_PIN]) == 4
    assert "7766554433" not in repr(creds) and "415926" not in repr(creds)


# --- edges the mutation run found undefended ------------------------------------------------------

class ScriptedRandom:
    """randbelow answers from a script (then 0s); token_bytes is never needed here."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)
        self.bounds: list[int] = []

    def token_bytes(self, n: int) -> bytes:  # pragma: no cover - not called
        raise AssertionError("not expected")

    def randbelow(self, n: int) -> int:
        self.bounds.append(n)
        return self.values.pop(0) if self.values else 0


def test_hmac_digits_defaults_to_attempt_zero():
    assert hmac_digits(KAT_KEY, ICCID_1000) == "7811353227"


def test_a_fully_rejected_mac_moves_to_the_next_block(monkeypatch):
    """All six candidates of a MAC rejected (p ≈ 1e-12, so forced here): block 1, then 2."""
    import simtool.provision.credentials as credentials

    real = credentials.uniform_digits
    calls = []

    def reject_twice(stream, digits):
        calls.append(stream)
        return None if len(calls) <= 2 else real(stream, digits)

    monkeypatch.setattr(credentials, "uniform_digits", reject_twice)
    got = hmac_digits(KAT_KEY, ICCID_1000)
    message = b"simtool barcode v1\x00" + ICCID_1000.encode() + b"\x000\x002"
    want = real(hmac.new(KAT_KEY, message, hashlib.sha256).digest(), 10)
    assert got == want and len(calls) == 3


def test_uniform_digits_edges():
    with pytest.raises(ValueError, match=r"^digits must be 1\.\.12$"):
        uniform_digits(b"\x00" * 5, 13)
    with pytest.raises(ValueError, match=r"^digits must be 1\.\.12$"):
        uniform_digits(b"\x00" * 5, 0)
    assert uniform_digits(b"\x00" * 4 + b"\x07", 12) == "000000000007"
    # a trailing partial chunk is never a candidate
    assert uniform_digits(b"\xff" * 5 + b"\x00" * 4, 10) is None
    # big-endian: 00..01 is 1, not 2**32
    assert uniform_digits(b"\x00\x00\x00\x00\x01", 10) == "0000000001"


def test_random_digits_cover_the_whole_range():
    rng = ScriptedRandom(9999)
    assert random_digits(rng, 4) == "9999" and rng.bounds == [10_000]


def test_short_codes_are_trivial_too():
    assert is_trivial("000") and is_trivial("111") and is_trivial("12") and not is_trivial("172")


def test_errors_name_the_problem():
    with pytest.raises(DataError) as info:
        iccid_for_serial("894897", 10 ** 12, 19)
    assert str(info.value) == "serial 1000000000000 does not fit in 12 ICCID digits"
    with pytest.raises(DataError) as info:
        subscriber_code(Secret("12345"))
    assert str(info.value) == "a PUK shorter than 6 characters gives no subscriber code"
    assert subscriber_code(Secret("123456")).reveal() == "123456"
    with pytest.raises(DataError) as info:
        PrintedNumbers(BarcodeScheme.HMAC, Secret(b"k" * 15))
    assert str(info.value) == "the hmac barcode scheme needs a batch secret of at least 16 bytes"


def test_legacy_scheme_compares_exactly_the_last_ten_digits():
    numbers = PrintedNumbers(BarcodeScheme.LEGACY_ICCID)
    # same last 9 digits, different 10th from the end: two different passwords
    assert numbers.allocate("894801123" + "4" + "567890128", "x").reveal().endswith("4567890128")
    assert numbers.allocate("894801123" + "5" + "567890128", "x").reveal().endswith("5567890128")


def test_deriver_rejects_trivial_codes_by_default_and_kod4_differs_in_an_account():
    # Kod5 11111 (trivial) → 52381; Kod4: 1234 (trivial) → 5832, then 5832 again (taken in this
    # account) → 6071; voicemail 0000 (trivial) → 4096 ... per card
    rng = ScriptedRandom(11111, 52381, 1234, 5832, 0, 4096, 5832, 6071, 7395)
    d = CredentialDeriver([CredentialKind.PLUS_KOD5, CredentialKind.PLUS_KOD4,
                           CredentialKind.VOICEMAIL_PIN], numbers_per_account=2,
                          account_prefix="A", rng=rng)
    cards = [d.next_card(printed=Secret("0" * 20), puk1=Secret("12345678")) for _ in range(2)]
    values = [[(c.kind, c.value.reveal()) for c in creds] for _, creds in cards]
    assert values[0] == [(CredentialKind.PLUS_KOD5, "52381"), (CredentialKind.PLUS_KOD4, "5832"),
                         (CredentialKind.VOICEMAIL_PIN, "4096")]
    assert values[1] == [(CredentialKind.PLUS_KOD5, "52381"), (CredentialKind.PLUS_KOD4, "6071"),
                         (CredentialKind.VOICEMAIL_PIN, "7395")]


def test_trivial_codes_are_rejected_by_default_and_kept_when_asked():
    assert random_code(ScriptedRandom(1234, 5832), 4) == "5832"
    assert random_code(ScriptedRandom(1234, 5832), 4, reject_trivial=False) == "1234"
    # the non-trivial values after the script's three are what a deriver that rejected
    # trivial codes would take (rather than loop on 0s)
    rng = ScriptedRandom(11111, 1234, 0, 52381, 5832, 4096, 7395)
    d = CredentialDeriver([CredentialKind.PLUS_KOD5, CredentialKind.PLUS_KOD4,
                           CredentialKind.VOICEMAIL_PIN], numbers_per_account=1,
                          account_prefix="A", rng=rng, reject_trivial=False)
    _, creds = d.next_card(printed=Secret("0" * 20), puk1=Secret("12345678"))
    assert [c.value.reveal() for c in creds] == ["11111", "1234", "0000"]
