"""Call billing and destination rules of the operators' documents, as data-driven functions.

* Increments (seed 000, "Taktowanie połączeń"): a call is billed in a first block of
  ``first`` seconds, then in blocks of ``then`` seconds: EU made calls 30/1 ("po pierwszych
  30 sek. naliczanie sekundowe"), EU received 1/1 ("sekundowe"), rest of the world 60/60
  ("minutowe").  :func:`billed_seconds`.
* Cost: the per-minute price of the destination (a prefix table, the longest prefix wins) times
  the billed seconds / 60, rounded half up to the grosz once per call.  :func:`call_cost`.
* Destinations (seed 001): which numbers a HaloNet minute package covers, from ``phonenumbers``
  (region and number type) and the document's exclusions as data.
  :func:`classify_number`, :meth:`PackageDestinations.covers`.

No I/O and no clock; prices are integers in grosze (per minute).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from simtool.errors import DataError

EU, WORLD = "eu", "world"


@dataclass(frozen=True)
class Increment:
    """Billing increment ``first/then`` in seconds (30/1, 1/1, 60/60)."""

    first: int
    then: int

    def __str__(self) -> str:
        return f"{self.first}/{self.then}"


def billed_seconds(seconds: int, inc: Increment) -> int:
    """Seconds billed for a call of ``seconds``: 0 for an unanswered call, at least the first
    block, then whole blocks of ``then`` rounded up."""
    if seconds < 0:
        raise DataError(f"a call cannot last {seconds} s")
    if seconds == 0:
        return 0
    if seconds <= inc.first:
        return inc.first
    rest = seconds - inc.first
    return inc.first + -(-rest // inc.then) * inc.then


def call_cost(billed: int, price_per_minute: int) -> int:
    """Grosze for ``billed`` seconds at ``price_per_minute`` grosze, rounded half up."""
    exact = Decimal(price_per_minute) * billed / 60
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Rate:
    """A per-minute price for numbers starting with ``prefix`` (E.164 digits, no '+')."""

    prefix: str
    price: int          # grosze per minute
    name: str


def rate_for(rates: tuple[Rate, ...], number: str) -> Rate | None:
    digits = number.lstrip("+")
    found = [r for r in rates if digits.startswith(r.prefix)]
    return max(found, key=lambda r: len(r.prefix), default=None)


@dataclass(frozen=True)
class Destination:
    """What ``phonenumbers`` says about a dialled international number."""

    number: str             # E.164 digits without '+'
    region: str | None      # ISO 3166 alpha-2, None when the number is not valid
    type: str               # phonenumbers.PhoneNumberType name: FIXED_LINE, MOBILE, VOIP ...
    national: str           # national significant number


def classify_number(number: str) -> Destination:
    """Region and type of ``number`` (international: ``+48…``, ``0048…`` or ``48…``)."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    digits = number.strip().replace(" ", "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        digits = "+" + digits
    try:
        parsed = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException as exc:
        raise DataError(f"{number!r} is not an international number: {exc}") from None
    names = {v: k for k, v in vars(PhoneNumberType).items() if k.isupper()}
    valid = phonenumbers.is_valid_number(parsed)
    kind = names.get(phonenumbers.number_type(parsed), "UNKNOWN") if valid else "UNKNOWN"
    region = phonenumbers.region_code_for_number(parsed) if valid else None
    return Destination(digits.lstrip("+"), region, kind, str(parsed.national_number))


@dataclass(frozen=True)
class PackageDestinations:
    """Numbers a minute package covers (seed 001): fixed lines of ``fixed`` regions, mobile
    numbers of ``mobile`` regions; ``areas`` limits a region to national prefixes (Mexico:
    Guadalajara 33, Mexico City 55, Monterrey 81); ``excluded_prefixes`` (E.164) and every
    number type other than fixed / mobile (toll free, premium, shared cost, VoIP, UAN …) are
    out."""

    fixed: frozenset[str] = frozenset()
    mobile: frozenset[str] = frozenset()
    areas: tuple[tuple[str, tuple[str, ...]], ...] = ()
    excluded_prefixes: tuple[str, ...] = ()

    def covers(self, number: str) -> tuple[bool, str]:
        """(covered?, the reason in Polish)."""
        d = classify_number(number)
        for prefix in self.excluded_prefixes:
            if d.number.startswith(prefix):
                return False, f"numer +{d.number} jest wyłączony z pakietu (prefiks +{prefix})"
        if d.region is None:
            return False, f"+{d.number} nie jest poprawnym numerem"
        areas = dict(self.areas).get(d.region)
        if areas is not None and not d.national.startswith(areas):
            return False, (f"w kraju {d.region} pakiet obejmuje tylko numery kierunkowe "
                           + ", ".join(areas))
        # US/CA (NANP) and Mexico cannot tell fixed from mobile: such a number counts as fixed
        is_fixed = d.type in ("FIXED_LINE", "FIXED_LINE_OR_MOBILE")
        is_mobile = d.type in ("MOBILE", "FIXED_LINE_OR_MOBILE")
        if is_fixed and d.region in self.fixed:
            return True, f"numer stacjonarny, {d.region}"
        if is_mobile and d.region in self.mobile:
            return True, f"numer komórkowy, {d.region}"
        if not (is_fixed or is_mobile):
            return False, f"numer typu {d.type} nie jest objęty pakietem"
        return False, (f"numery {'komórkowe' if is_mobile else 'stacjonarne'} w kraju "
                       f"{d.region} nie są objęte pakietem")
