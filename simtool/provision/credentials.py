"""Card numbers and customer credentials: ICCID with Luhn, random PINs, the printed barcode
number and the codes derived from it or from the PUK.

Sources of the operator rules (seed texts, see provisioning/README.md):

* Milo Telecom: panel login = the number as ``48XXXXXXXXX``, panel password = the last 10 digits
  printed on the back of the SIM under the barcode;
* Idea24: the subscriber code ("kod abonencki") = the last 6 characters of the PUK;
* Plus: Plus Kod 5 = 5 digits per account, temporary until changed; Plus Kod 4 = 4 digits per
  number, a different one for each number on the account, read-only access.

The default barcode scheme prints ``serial ‖ D`` where ``serial`` is the ICCID's individual account
number (ITU-T E.118 §4) and ``D`` is 10 decimal digits drawn uniformly, by rejection sampling, from
HMAC-SHA-256(batch secret, ICCID).  ``D`` is the panel password: without the batch secret it
cannot be computed from the ICCID, which any handset reads from the card without a PIN.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from stdnum import luhn

from simtool.errors import DataError
from simtool.provision.profile import BarcodeScheme, CredentialKind
from simtool.secret import Secret

PASSWORD_DIGITS = 10  # "ciąg ostatnich 10-ciu cyfr nadrukowanych ... pod kodem kreskowym"
SUBSCRIBER_CODE_LENGTH = 6  # "6 ostatnich znaków kodu PUK"
PUK_LENGTH = 8  # ETSI TS 102 221 §9.5.2: a PUK is exactly 8 digits
_HMAC_LABEL = b"simtool barcode v1\x00"
_CHUNK = 5  # bytes of HMAC output per candidate: 2**40 > 10**12 covers up to 12 digits


class RandomSource(Protocol):
    """Where secrets come from.  Production uses :class:`SystemRandomSource` (``secrets``);
    tests pass a seeded source to make a batch reproducible."""

    def token_bytes(self, n: int) -> bytes: ...

    def randbelow(self, n: int) -> int: ...


class SystemRandomSource:
    """The operating system's CSPRNG through :mod:`secrets`."""

    token_bytes = staticmethod(secrets.token_bytes)
    randbelow = staticmethod(secrets.randbelow)


# --- ICCID ---------------------------------------------------------------------------------------


def iccid_for_serial(prefix: str, serial: int, length: int) -> str:
    """``prefix ‖ serial ‖ Luhn`` (ITU-T E.118 §4, ISO/IEC 7812-1 Annex B), ``length`` digits."""
    width = length - 1 - len(prefix)
    if serial < 0 or serial >= 10 ** width:
        raise DataError(f"serial {serial} does not fit in {width} ICCID digits")
    payload = f"{prefix}{serial:0{width}d}"
    return payload + luhn.calc_check_digit(payload)


def iccid_serial(iccid: str, prefix: str) -> str:
    """The individual account number: the ICCID between the issuer prefix and the Luhn digit."""
    return iccid[len(prefix):-1]


# --- random codes --------------------------------------------------------------------------------


def random_digits(rng: RandomSource, n: int) -> str:
    """``n`` uniformly random decimal digits (``randbelow`` has no modulo bias)."""
    return f"{rng.randbelow(10 ** n):0{n}d}"


def is_trivial(code: str) -> bool:
    """A code a person would guess first: one digit repeated (0000), a straight run up or down
    (1234, 9876), or two digits alternating (1212)."""
    digits = [int(c) for c in code]
    steps = {b - a for a, b in zip(digits, digits[1:], strict=False)}
    if len(steps) == 1 and steps <= {-1, 0, 1}:
        return True
    return len(code) >= 4 and code == (code[:2] * len(code))[: len(code)]


def random_code(rng: RandomSource, n: int, *, reject_trivial: bool = True,
                avoid: Iterable[str] = ()) -> str:
    """A random ``n``-digit code, drawn again while trivial or in ``avoid``."""
    avoid = set(avoid)
    while True:
        code = random_digits(rng, n)
        if not (reject_trivial and is_trivial(code)) and code not in avoid:
            return code


# --- the printed barcode number ------------------------------------------------------------------


def uniform_digits(stream: bytes, digits: int) -> str | None:
    """The first acceptable candidate of ``stream`` as ``digits`` decimal digits, or None.

    Each 40-bit big-endian chunk ``v`` is a candidate, accepted only when
    ``v < floor(2**40 / 10**digits) * 10**digits`` (rejection sampling): the accepted range holds
    every residue mod ``10**digits`` equally often, so ``v mod 10**digits`` has no modulo bias.
    """
    if not 1 <= digits <= 12:
        raise ValueError("digits must be 1..12")
    modulus = 10 ** digits
    limit = (1 << (8 * _CHUNK)) // modulus * modulus
    for i in range(0, len(stream) - _CHUNK + 1, _CHUNK):
        value = int.from_bytes(stream[i:i + _CHUNK], "big")
        if value < limit:
            return f"{value % modulus:0{digits}d}"
    return None


def hmac_digits(secret: bytes, iccid: str, attempt: int = 0, digits: int = PASSWORD_DIGITS) -> str:
    """``digits`` uniform decimal digits from HMAC-SHA-256(secret, label ‖ ICCID ‖ attempt ‖
    block), by :func:`uniform_digits`; if all six candidates of a MAC are rejected (p ≈ 10**-12
    for 10 digits), the next block is used.

    The HMAC key is the batch secret; the message is, byte for byte,
    ``b"simtool barcode v1\\x00" ‖ ICCID (ASCII digits) ‖ 00 ‖ attempt ‖ 00 ‖ block`` with
    ``attempt`` and ``block`` in ASCII decimal (``0`` first).  Changing any of it changes every
    password already printed: tests/test_credentials.py holds known-answer vectors."""
    block = 0
    while True:
        mac = hmac.new(secret, b"%s%s\x00%d\x00%d" % (_HMAC_LABEL, iccid.encode("ascii"),
                                                        attempt, block), hashlib.sha256).digest()
        result = uniform_digits(mac, digits)
        if result is not None:
            return result
        block += 1


class PrintedNumbers:
    """Allocates the number printed under each card's barcode, unique within the batch.

    ``HMAC``: ``serial ‖ hmac_digits(secret, ICCID)``; if the 10 digits were already given to
    another card of the batch, the next ``attempt`` is derived, so every password of a batch is
    unique and, for a fixed secret and the same ICCID order, the batch is reproducible.
    ``LEGACY_ICCID``: the ICCID itself (its last 10 digits become the password: insecure).
    """

    def __init__(self, scheme: BarcodeScheme, secret: Secret[bytes] | None = None, *,
                 digits: int = PASSWORD_DIGITS) -> None:
        if scheme is BarcodeScheme.HMAC and (secret is None or len(secret) < 16):
            raise DataError("the hmac barcode scheme needs a batch secret of at least 16 bytes")
        self.scheme = scheme
        self._secret = secret
        self._digits = digits
        self._taken: set[str] = set()

    def allocate(self, iccid: str, serial: str) -> Secret[str]:
        if self.scheme is BarcodeScheme.LEGACY_ICCID:
            tail = iccid[-self._digits:]
            if tail in self._taken:
                raise DataError(f"legacy barcode scheme: ICCID {iccid} ends in the same "
                                f"{self._digits} digits as another card of the batch")
            self._taken.add(tail)
            return Secret(iccid)
        if len(self._taken) >= 10 ** self._digits:
            raise DataError(f"all {10 ** self._digits} barcode passwords are taken")
        key = self._secret.reveal()  # type: ignore[union-attr]
        attempt = 0
        while True:
            tail = hmac_digits(key, iccid, attempt, self._digits)
            if tail not in self._taken:
                self._taken.add(tail)
                return Secret(serial + tail)
            attempt += 1


def panel_password(printed: Secret[str]) -> Secret[str]:
    """The last 10 digits printed under the barcode (Milo's panel password)."""
    return Secret(printed.reveal()[-PASSWORD_DIGITS:])


def subscriber_code(puk: Secret[str]) -> Secret[str]:
    """Idea24's subscriber code: the last 6 characters of the PUK."""
    value = puk.reveal()
    if len(value) < SUBSCRIBER_CODE_LENGTH:
        raise DataError("a PUK shorter than 6 characters gives no subscriber code")
    return Secret(value[-SUBSCRIBER_CODE_LENGTH:])


# --- customer credentials ------------------------------------------------------------------------


class Scope(StrEnum):
    NUMBER = "number"  # one per card / MSISDN
    ACCOUNT = "account"  # one per customer account (several numbers)


@dataclass(frozen=True)
class Credential:
    kind: CredentialKind
    value: Secret[str]
    scope: Scope
    must_change: bool = False  # temporary: the customer has to change it first (Plus Kod 5)
    read_only: bool = False  # grants information only, no changes (Plus Kod 4)


_RULES: dict[CredentialKind, tuple[Scope, bool, bool]] = {
    CredentialKind.PANEL_PASSWORD: (Scope.NUMBER, False, False),
    CredentialKind.SUBSCRIBER_CODE: (Scope.NUMBER, False, False),
    # Idea24 (seed 003): "kod abonencki lub kod abonencki dla konta" — the account's own code,
    # one per account; "hasło tymczasowe otrzymane SMSem" — per number, temporary (the
    # customer replaces it), delivered by SMS and so never printed on the carrier letter.
    CredentialKind.ACCOUNT_SUBSCRIBER_CODE: (Scope.ACCOUNT, False, False),
    CredentialKind.TEMPORARY_PASSWORD: (Scope.NUMBER, True, False),
    CredentialKind.PLUS_KOD5: (Scope.ACCOUNT, True, False),
    CredentialKind.PLUS_KOD4: (Scope.NUMBER, False, True),
    CredentialKind.VOICEMAIL_PIN: (Scope.NUMBER, False, False),
}
ACCOUNT_CODE_LENGTH = 6  # as long as the PUK-derived subscriber code it stands beside
TEMPORARY_PASSWORD_LENGTH = 8
KOD5_LENGTH = 5
KOD4_LENGTH = 4
VOICEMAIL_PIN_LENGTH = 4


def credential(kind: CredentialKind, value: Secret[str]) -> Credential:
    scope, must_change, read_only = _RULES[kind]
    return Credential(kind, value, scope, must_change, read_only)


class CredentialDeriver:
    """Derives the credentials a profile asks for, card by card, grouping
    ``numbers_per_account`` consecutive cards into one account."""

    def __init__(self, kinds: Iterable[CredentialKind], *, numbers_per_account: int,
                 account_prefix: str, rng: RandomSource, reject_trivial: bool = True) -> None:
        self.kinds = tuple(kinds)
        self.numbers_per_account = numbers_per_account
        self.account_prefix = account_prefix
        self._rng = rng
        self._reject_trivial = reject_trivial
        self._account_no = -1
        self._in_account = numbers_per_account  # forces a new account on the first card
        self._account_creds: tuple[Credential, ...] = ()
        self._kod4_in_account: set[str] = set()

    def _new_account(self) -> None:
        self._account_no += 1
        self._in_account = 0
        self._kod4_in_account = set()
        creds = []
        if CredentialKind.PLUS_KOD5 in self.kinds:
            creds.append(credential(CredentialKind.PLUS_KOD5, Secret(
                random_code(self._rng, KOD5_LENGTH, reject_trivial=self._reject_trivial))))
        if CredentialKind.ACCOUNT_SUBSCRIBER_CODE in self.kinds:
            creds.append(credential(CredentialKind.ACCOUNT_SUBSCRIBER_CODE, Secret(random_code(
                self._rng, ACCOUNT_CODE_LENGTH, reject_trivial=self._reject_trivial))))
        self._account_creds = tuple(creds)

    def next_card(self, *, printed: Secret[str], puk1: Secret[str],
                  ) -> tuple[str, tuple[Credential, ...]]:
        """The account id and the credentials (account-wide first) of the next card."""
        if self._in_account >= self.numbers_per_account:
            self._new_account()
        self._in_account += 1
        creds = list(self._account_creds)
        for kind in self.kinds:
            if kind is CredentialKind.PANEL_PASSWORD:
                creds.append(credential(kind, panel_password(printed)))
            elif kind is CredentialKind.SUBSCRIBER_CODE:
                creds.append(credential(kind, subscriber_code(puk1)))
            elif kind is CredentialKind.PLUS_KOD4:
                # "do każdego z nich zostanie przydzielone inne hasło Plus Kod 4"
                code = random_code(self._rng, KOD4_LENGTH, reject_trivial=self._reject_trivial,
                                   avoid=self._kod4_in_account)
                self._kod4_in_account.add(code)
                creds.append(credential(kind, Secret(code)))
            elif kind is CredentialKind.TEMPORARY_PASSWORD:
                creds.append(credential(kind, Secret(random_code(
                    self._rng, TEMPORARY_PASSWORD_LENGTH, reject_trivial=self._reject_trivial))))
            elif kind is CredentialKind.VOICEMAIL_PIN:
                creds.append(credential(kind, Secret(random_code(
                    self._rng, VOICEMAIL_PIN_LENGTH, reject_trivial=self._reject_trivial))))
        return f"{self.account_prefix}{self._account_no + 1:06d}", tuple(creds)
