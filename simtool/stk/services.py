"""Operator service codes and network rules as data: ``provisioning/services/<operator>.toml``.

Each operator's file holds what its own document (``shared/seeds/``) says and nothing more:
the codes a subscriber dials (``[[code]]``: a pattern such as ``*55*{time}#`` with typed
parameters, a Polish description and an English gloss), and the rules the virtual network
applies (``[topup]`` amounts and validity, ``[[package]]`` minute packages, ``[forwarding]``,
``[roaming]``).  A malformed file raises :class:`~simtool.errors.DataError` naming the file,
the key and the reason.

Parameter types: ``number`` (directory number, digits with an optional leading ``+``),
``time`` (``HHMM``, 24 h), ``days`` (days of the week, digits 1 = Monday … 7 = Sunday, each at
most once), ``slot`` (speed-dial slot: 1 digit for the 10-number service, 2 digits for the
100-number one), ``digits`` (any digits).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Any

from simtool.datadir import provisioning_dir
from simtool.errors import DataError
from simtool.stk.billing import EU, WORLD, Increment, PackageDestinations, Rate

PARAM_TYPES = ("number", "time", "days", "slot", "digits", "trunk_number")

#: How a code travels: ``ussd`` (sent as USSD), ``feature`` (a switch feature code, sent as
#: dialled), ``call`` (a number to call), ``ss`` (the operator's words for a standard
#: supplementary service code of TS 22.030 Annex B).
KINDS = ("ussd", "feature", "call", "ss")

_E: frozenset[str] = frozenset()
#: What the virtual network can do with a code: action -> (required, optional) parameter names.
ACTIONS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "own_number": (_E, _E),
    "internet_status": (_E, _E),
    "internet_on": (_E, _E),
    "internet_off": (_E, _E),
    "balance": (_E, _E),
    "validity": (_E, _E),
    "recommended_operator": (_E, _E),
    "customer_care": (_E, _E),
    "wakeup_once_set": (frozenset({"time"}), _E),
    "wakeup_once_clear": (_E, _E),
    "wakeup_once_status": (_E, _E),
    "wakeup_repeat_set": (frozenset({"time"}), frozenset({"days"})),
    "wakeup_repeat_clear": (_E, _E),
    "wakeup_repeat_status": (_E, _E),
    "dnd_on": (_E, _E),
    "dnd_off": (_E, _E),
    "dnd_status": (_E, _E),
    "dnd_message": (_E, _E),
    "speed_dial_set": (frozenset({"slot", "number"}), _E),
    "speed_dial_status": (frozenset({"slot"}), _E),
    "speed_dial_clear": (frozenset({"slot"}), _E),
    "callback": (frozenset({"number"}), _E),
}

DAY_NAMES_PL = ("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela")


@dataclass(frozen=True)
class Parameter:
    """One decoded parameter of a dialled operator code."""

    name: str
    type: str
    raw: str
    value: str | time | tuple[int, ...]


class ParameterError(DataError):
    """A parameter of a dialled code is wrong: ``str()`` in English, ``pl`` in Polish."""

    def __init__(self, message: str, pl: str) -> None:
        super().__init__(message)
        self.pl = pl


class Problem(str):
    """The English reason a parameter was refused, carrying the Polish one as ``pl``."""

    pl: str

    def __new__(cls, en: str, pl: str) -> "Problem":
        obj = super().__new__(cls, en)
        obj.pl = pl
        return obj


#: A City-Sat forwarding target: the full national number, 0 + area code + subscriber number
#: (seed 002: "pełen numer telefoniczny … wraz z 0 i numerem kierunkowym", X)0<XXXXXXX).
TRUNK_NUMBER = re.compile(r"0[1-9][0-9]{8}")


def decode_parameter(kind: str, raw: str) -> str | time | tuple[int, ...]:
    """Decode ``raw`` as a parameter of type ``kind``; ParameterError with the reason."""
    if not raw:
        raise ParameterError("the value is missing", "brak wartości")
    digits = raw.isascii() and raw.isdigit()
    if kind == "time":
        if not (digits and len(raw) == 4):
            raise ParameterError(f"{raw!r} is not a time: HHMM is four digits (6:30 is 0630)",
                                 f"{raw} to nie godzina: podaj cztery cyfry GGMM "
                                 "(6:30 to 0630)")
        hh, mm = int(raw[:2]), int(raw[2:])
        problems = ([f"hour {hh:02d} is not 00-23"] if hh > 23 else []) + \
                   ([f"minute {mm:02d} is not 00-59"] if mm > 59 else [])
        problems_pl = ([f"godzina {hh:02d} spoza 00-23"] if hh > 23 else []) + \
                      ([f"minuta {mm:02d} spoza 00-59"] if mm > 59 else [])
        if problems:
            raise ParameterError(f"{raw!r} is not a time ({raw[:2]}:{raw[2:]}): "
                                 + ", ".join(problems),
                                 f"{raw} to nie godzina ({raw[:2]}:{raw[2:]}): "
                                 + ", ".join(problems_pl))
        return time(hh, mm)
    if kind == "days":
        days_pl = "dni tygodnia to cyfry 1-7 (1 – poniedziałek … 7 – niedziela)"
        if not digits:
            raise ParameterError(f"{raw!r} is not a set of days: DOW digits must be 1-7 "
                                 "(1 = Monday ... 7 = Sunday)", f"{raw}: {days_pl}")
        wrong = sorted({c for c in raw if c not in "1234567"})
        if wrong:
            raise ParameterError(f"{raw!r}: DOW digits must be 1-7 (1 = Monday ... 7 = Sunday); "
                                 f"{', '.join(wrong)} is not a day",
                                 f"{raw}: {days_pl}; {', '.join(wrong)} to nie dzień tygodnia")
        twice = sorted({c for c in raw if raw.count(c) > 1})
        if twice:
            raise ParameterError(f"{raw!r}: day {', '.join(twice)} is given more than once",
                                 f"{raw}: dzień {', '.join(twice)} podano więcej niż raz")
        return tuple(sorted(int(c) for c in raw))
    if kind == "slot":
        if not (digits and len(raw) in (1, 2)):
            raise ParameterError(f"{raw!r} is not a speed-dial slot: 1 digit (10 numbers) "
                                 "or 2 digits (100 numbers)",
                                 f"{raw} to nie numer skrócony: 1 cyfra (10 numerów) lub "
                                 "2 cyfry (100 numerów)")
        return raw
    if kind == "number":
        from simtool.stk.mmi import number_problem

        problem = number_problem(raw)
        if problem:
            raise ParameterError(problem, f"{raw} to nie numer telefonu: tylko cyfry, "
                                 "z opcjonalnym + na początku")
        return raw
    if kind == "trunk_number":
        if not TRUNK_NUMBER.fullmatch(raw):
            raise ParameterError(f"{raw!r} is not a full national number: 0, the area code "
                                 "and the number, 10 digits (e.g. 0322015880)",
                                 f"{raw}: podaj pełny numer telefonu wraz z 0 i numerem "
                                 "kierunkowym, 10 cyfr (np. 0322015880)")
        return raw
    if kind == "digits":
        if not digits:
            raise ParameterError(f"{raw!r} is not a string of digits",
                                 f"{raw}: dozwolone są tylko cyfry")
        return raw
    raise DataError(f"unknown parameter type {kind!r}")


_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_LITERAL = re.compile(r"[0-9*#+]*")


@dataclass(frozen=True)
class ServiceCode:
    """One ``[[code]]`` entry: a dialled pattern and what it means."""

    name: str
    kind: str
    pattern: str                             # e.g. "*57*{time}*{days}#"
    description: str                         # Polish, the operator's wording
    gloss: str                               # English
    params: tuple[tuple[str, str], ...] = () # (placeholder, type) in pattern order
    action: str | None = None
    source: str | None = None                # where in the seed document

    @property
    def literal_length(self) -> int:
        return len(_PLACEHOLDER.sub("", self.pattern))

    def _regex(self) -> re.Pattern[str]:
        parts, last = [], 0
        for m in _PLACEHOLDER.finditer(self.pattern):
            parts.append(re.escape(self.pattern[last:m.start()]))
            parts.append("([^*#]*)")
            last = m.end()
        parts.append(re.escape(self.pattern[last:]))
        return re.compile("".join(parts), re.S)

    def match(self, text: str) -> tuple[Parameter, ...] | str | None:
        """None: not this code; a str: this code's shape with a bad parameter (the reason);
        a tuple: the decoded parameters."""
        m = self._regex().fullmatch(text)
        if m is None:
            return None
        types = dict(self.params)
        names = _PLACEHOLDER.findall(self.pattern)
        decoded = []
        for name, raw in zip(names, m.groups()):
            try:
                decoded.append(Parameter(name, types[name], raw, decode_parameter(types[name], raw)))
            except ParameterError as exc:
                return Problem(f"{name}: {exc}", exc.pl)
        return tuple(decoded)


@dataclass(frozen=True)
class TopUpRule:
    """Top-ups the operator accepts and how long the funds stay usable."""

    amounts: tuple[int, ...]                 # grosze
    validity_days: int | None = None


@dataclass(frozen=True)
class PackageOffer:
    """A minute package on sale."""

    minutes: int
    price: int                               # grosze per period


@dataclass(frozen=True)
class Billing:
    """``[billing]``: the EU zone, increments per direction and zone, per-minute prices."""

    eu: frozenset[str]
    outgoing: tuple[tuple[str, Increment], ...]      # (zone, increment)
    incoming: tuple[tuple[str, Increment], ...]
    incoming_price: tuple[tuple[str, int], ...]      # (zone, grosze per minute)
    rates: tuple[Rate, ...] = ()                     # made calls, by destination prefix

    def zone(self, country: str) -> str:
        return EU if country.upper() in self.eu else WORLD

    def increment(self, direction: str, country: str) -> Increment:
        table = dict(self.outgoing if direction == "out" else self.incoming)
        return table[self.zone(country)]


@dataclass(frozen=True)
class OperatorServices:
    """Everything one operator's services file says."""

    id: str
    name: str
    source: str
    codes: tuple[ServiceCode, ...] = ()
    legal_name: str | None = None
    customer_care: str | None = None
    customer_care_hours: str | None = None
    email: str | None = None
    notes: tuple[str, ...] = ()
    topup: TopUpRule | None = None
    packages: tuple[PackageOffer, ...] = ()
    no_reply_timer: int | None = None        # seconds, the network's CFNRy default
    recommended_operators: tuple[tuple[str, str], ...] = ()   # (ISO 3166 alpha-2, operator)
    billing: Billing | None = None
    package_destinations: PackageDestinations | None = None

    def match(self, text: str, *, kinds: tuple[str, ...] = KINDS):
        """The code ``text`` is, as ``(ServiceCode, parameters)``, or ``(ServiceCode, reason)``
        when it has a code's shape but a bad parameter, or None.  The most specific pattern
        (most literal characters) wins; a valid match beats an invalid one."""
        valid, invalid = [], []
        for order, code in enumerate(self.codes):
            if code.kind not in kinds:
                continue
            result = code.match(text)
            if result is None:
                continue
            (invalid if isinstance(result, str) else valid).append(
                (-code.literal_length, order, code, result))
        best = min(valid or invalid, default=None)
        return None if best is None else (best[2], best[3])

    def code(self, name: str) -> ServiceCode:
        for c in self.codes:
            if c.name == name:
                return c
        raise KeyError(name)

    def recommended_operator(self, country: str) -> str | None:
        return dict(self.recommended_operators).get(country.upper())

    def package(self, minutes: int) -> PackageOffer | None:
        return next((p for p in self.packages if p.minutes == minutes), None)


# --- loading ----------------------------------------------------------------------------------


def services_dir(root: Path | None = None) -> Path:
    """``<root>/services``; root is the ``provisioning/`` folder (simtool.datadir)."""
    return (root or provisioning_dir()) / "services"


_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def load_operator(name: str, root: Path | None = None) -> OperatorServices:
    """``provisioning/services/<name>.toml``."""
    if not _NAME.fullmatch(name):
        raise DataError(f"{name!r} is not an operator name (lowercase letters, digits, - _)")
    path = services_dir(root) / f"{name}.toml"
    if not path.is_file():
        known = sorted(p.stem for p in services_dir(root).glob("*.toml"))
        raise DataError(f"no services file for {name!r} (known: {', '.join(known) or 'none'})",
                        where=str(path))
    return load_services(path)


def services_for_profile(profile: str, root: Path | None = None) -> OperatorServices:
    """The services of a profile: a path to a services file, or a profile name whose
    ``provisioning/profiles/<name>.toml`` says ``services = "<file>"`` (else ``<name>`` itself)."""
    if profile.endswith(".toml"):
        return load_services(Path(profile))
    if not _NAME.fullmatch(profile):
        raise DataError(f"{profile!r} is not a profile name")
    base = root or provisioning_dir()
    prof = base / "profiles" / f"{profile}.toml"
    name = profile
    if prof.is_file():
        try:
            data = tomllib.loads(prof.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"not valid TOML: {exc}", where=str(prof)) from None
        ref = data.get("services", profile)
        if not isinstance(ref, str):
            raise DataError("'services' must be a string", where=f"{prof}, services")
        name = ref
    return load_operator(name, base)


def load_services(path: str | Path) -> OperatorServices:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", where=str(path)) from None
    except UnicodeDecodeError:
        raise DataError("not UTF-8 text", where=str(path)) from None
    return parse_services(text, where=str(path))


def parse_services(text: str, *, where: str = "<services>") -> OperatorServices:
    """Parse and check the text of a services file."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataError(f"not valid TOML: {exc}", where=where) from None
    return _Reader(where).services(data)


class _Reader:
    def __init__(self, where: str) -> None:
        self.file = where

    def fail(self, key: str, message: str) -> DataError:
        return DataError(message, where=f"{self.file}, {key}")

    def table(self, data: Any, key: str, allowed: set[str], required: set[str]) -> dict:
        if not isinstance(data, dict):
            raise self.fail(key, "must be a table")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(f"{key}.{unknown[0]}", f"unknown key (expected one of "
                            f"{', '.join(sorted(allowed))})")
        missing = sorted(required - set(data))
        if missing:
            raise self.fail(f"{key}.{missing[0]}", "required key is missing")
        return data

    def text(self, data: dict, key: str, path: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{path}.{key}", "must be a non-empty string")
        return value

    def integer(self, data: dict, key: str, path: str, lo: int, hi: int | None = None,
                *, required: bool = True) -> int | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < lo or \
                (hi is not None and value > hi):
            span = f"{lo}-{hi}" if hi is not None else f">= {lo}"
            raise self.fail(f"{path}.{key}", f"must be an integer {span}, not {value!r}")
        return value

    def services(self, data: dict) -> OperatorServices:
        self.table(data, "(top level)", {"operator", "topup", "package", "forwarding",
                                         "roaming", "code", "billing",
                                         "package_destinations"}, {"operator"})
        op = self.table(data["operator"], "operator",
                        {"id", "name", "legal_name", "source", "customer_care",
                         "customer_care_hours", "email", "notes"}, {"id", "name", "source"})
        op_id = self.text(op, "id", "operator")
        if not _NAME.fullmatch(op_id):
            raise self.fail("operator.id", f"{op_id!r} is not lowercase letters/digits")
        notes = op.get("notes", [])
        if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
            raise self.fail("operator.notes", "must be a list of strings")
        return OperatorServices(
            id=op_id,
            name=self.text(op, "name", "operator"),
            source=self.text(op, "source", "operator"),
            legal_name=self.text(op, "legal_name", "operator", required=False),
            customer_care=self.text(op, "customer_care", "operator", required=False),
            customer_care_hours=self.text(op, "customer_care_hours", "operator", required=False),
            email=self.text(op, "email", "operator", required=False),
            notes=tuple(notes),
            topup=self.topup(data["topup"]) if "topup" in data else None,
            packages=self.packages(data.get("package", [])),
            no_reply_timer=self.forwarding(data.get("forwarding", {})),
            recommended_operators=self.roaming(data.get("roaming", {})),
            codes=self.codes(data.get("code", [])),
            billing=self.billing(data["billing"]) if "billing" in data else None,
            package_destinations=(self.destinations(data["package_destinations"])
                                  if "package_destinations" in data else None),
        )

    def countries(self, value: Any, key: str) -> frozenset[str]:
        if not isinstance(value, list) or not all(
                isinstance(c, str) and re.fullmatch(r"[A-Z]{2}", c) for c in value):
            raise self.fail(key, "must be a list of ISO 3166 alpha-2 codes such as \"DE\"")
        return frozenset(value)

    def increments(self, value: Any, key: str) -> tuple[tuple[str, Increment], ...]:
        t = self.table(value, key, {EU, WORLD}, {EU, WORLD})
        out = []
        for zone in (EU, WORLD):
            m = re.fullmatch(r"([1-9][0-9]*)/([1-9][0-9]*)", str(t[zone]))
            if not isinstance(t[zone], str) or m is None:
                raise self.fail(f"{key}.{zone}", "must be \"FIRST/THEN\" seconds, e.g. \"30/1\"")
            out.append((zone, Increment(int(m[1]), int(m[2]))))
        return tuple(out)

    def billing(self, data: Any) -> Billing:
        b = self.table(data, "billing", {"eu", "outgoing", "incoming", "incoming_price_gr",
                                         "rate"}, {"eu", "outgoing", "incoming"})
        prices = self.table(b.get("incoming_price_gr", {EU: 0, WORLD: 0}),
                            "billing.incoming_price_gr", {EU, WORLD}, {EU, WORLD})
        rates = []
        raw = b.get("rate", [])
        if not isinstance(raw, list):
            raise self.fail("billing.rate", "must be an array of tables ([[billing.rate]])")
        for i, item in enumerate(raw):
            key = f"billing.rate[{i}]"
            r = self.table(item, key, {"prefix", "price_gr", "name"},
                           {"prefix", "price_gr", "name"})
            prefix = self.text(r, "prefix", key)
            if not re.fullmatch(r"[1-9][0-9]{0,14}", prefix):
                raise self.fail(f"{key}.prefix", "must be E.164 digits without '+', e.g. \"48\"")
            if any(x.prefix == prefix for x in rates):
                raise self.fail(f"{key}.prefix", f"prefix {prefix} is listed twice")
            rates.append(Rate(prefix, self.integer(r, "price_gr", key, 0),
                              self.text(r, "name", key)))
        return Billing(
            eu=self.countries(b["eu"], "billing.eu"),
            outgoing=self.increments(b["outgoing"], "billing.outgoing"),
            incoming=self.increments(b["incoming"], "billing.incoming"),
            incoming_price=tuple((z, self.integer(prices, z, "billing.incoming_price_gr", 0))
                                 for z in (EU, WORLD)),
            rates=tuple(rates))

    def destinations(self, data: Any) -> PackageDestinations:
        key = "package_destinations"
        d = self.table(data, key, {"fixed", "mobile", "areas", "excluded_prefixes"},
                       {"fixed", "mobile"})
        areas = d.get("areas", {})
        if not isinstance(areas, dict):
            raise self.fail(f"{key}.areas", "must be a table of REGION = [\"prefix\", ...]")
        for region, prefixes in areas.items():
            if not re.fullmatch(r"[A-Z]{2}", region) or not isinstance(prefixes, list) or \
                    not all(isinstance(p, str) and p.isdigit() for p in prefixes):
                raise self.fail(f"{key}.areas.{region}", "must be a region code = list of "
                                "national digit prefixes")
        excluded = d.get("excluded_prefixes", [])
        if not isinstance(excluded, list) or not all(
                isinstance(p, str) and re.fullmatch(r"[1-9][0-9]*", p) for p in excluded):
            raise self.fail(f"{key}.excluded_prefixes", "must be a list of E.164 digit prefixes")
        return PackageDestinations(
            fixed=self.countries(d["fixed"], f"{key}.fixed"),
            mobile=self.countries(d["mobile"], f"{key}.mobile"),
            areas=tuple((r, tuple(p)) for r, p in sorted(areas.items())),
            excluded_prefixes=tuple(excluded))

    def topup(self, data: Any) -> TopUpRule:
        t = self.table(data, "topup", {"amounts_zl", "validity_days"}, {"amounts_zl"})
        amounts = t["amounts_zl"]
        if not isinstance(amounts, list) or not amounts or not all(
                isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in amounts):
            raise self.fail("topup.amounts_zl", "must be a non-empty list of positive whole "
                            "zloty amounts")
        if len(set(amounts)) != len(amounts):
            raise self.fail("topup.amounts_zl", "lists an amount twice")
        days = self.integer(t, "validity_days", "topup", 1, required=False)
        return TopUpRule(tuple(a * 100 for a in amounts), days)

    def packages(self, data: Any) -> tuple[PackageOffer, ...]:
        if not isinstance(data, list):
            raise self.fail("package", "must be an array of tables ([[package]])")
        offers = []
        for i, item in enumerate(data):
            key = f"package[{i}]"
            p = self.table(item, key, {"minutes", "price_zl"}, {"minutes", "price_zl"})
            offer = PackageOffer(self.integer(p, "minutes", key, 1),
                                 self.integer(p, "price_zl", key, 1) * 100)
            if any(o.minutes == offer.minutes for o in offers):
                raise self.fail(f"{key}.minutes", f"a {offer.minutes}-minute package is "
                                "listed twice")
            offers.append(offer)
        return tuple(offers)

    def forwarding(self, data: Any) -> int | None:
        f = self.table(data, "forwarding", {"no_reply_timer"}, set())
        return self.integer(f, "no_reply_timer", "forwarding", 5, 30, required=False)

    def roaming(self, data: Any) -> tuple[tuple[str, str], ...]:
        r = self.table(data, "roaming", {"recommended"}, set())
        table = r.get("recommended", {})
        if not isinstance(table, dict):
            raise self.fail("roaming.recommended", "must be a table of COUNTRY = \"operator\"")
        for country, name in table.items():
            if not re.fullmatch(r"[A-Z]{2}", country):
                raise self.fail(f"roaming.recommended.{country}",
                                "country must be an ISO 3166 alpha-2 code such as DE")
            if not isinstance(name, str) or not name.strip():
                raise self.fail(f"roaming.recommended.{country}", "must be an operator name")
        return tuple(sorted(table.items()))

    def codes(self, data: Any) -> tuple[ServiceCode, ...]:
        if not isinstance(data, list):
            raise self.fail("code", "must be an array of tables ([[code]])")
        codes: list[ServiceCode] = []
        for i, item in enumerate(data):
            codes.append(self.code(item, f"code[{i}]"))
            key = f"code[{i}]"
            if any(c.name == codes[-1].name for c in codes[:-1]):
                raise self.fail(f"{key}.name", f"{codes[-1].name!r} is used twice")
            if any(c.pattern == codes[-1].pattern for c in codes[:-1]):
                raise self.fail(f"{key}.pattern", f"{codes[-1].pattern!r} is listed twice")
        return tuple(codes)

    def code(self, item: Any, key: str) -> ServiceCode:
        c = self.table(item, key, {"name", "kind", "pattern", "params", "action",
                                   "description", "gloss", "source"},
                       {"name", "kind", "pattern", "description", "gloss"})
        name = self.text(c, "name", key)
        kind = self.text(c, "kind", key)
        if kind not in KINDS:
            raise self.fail(f"{key}.kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        pattern = self.text(c, "pattern", key)
        placeholders = _PLACEHOLDER.findall(pattern)
        literal = _PLACEHOLDER.split(pattern)[::2]
        if not all(_LITERAL.fullmatch(part) for part in literal):
            raise self.fail(f"{key}.pattern", f"{pattern!r}: outside {{placeholders}} only "
                            "0-9 * # + can be dialled")
        if any(part == "" for part in literal[1:-1]):
            raise self.fail(f"{key}.pattern", f"{pattern!r}: two placeholders need a "
                            "separator between them")
        if len(set(placeholders)) != len(placeholders):
            raise self.fail(f"{key}.pattern", f"{pattern!r} repeats a placeholder")
        params = c.get("params", {})
        if not isinstance(params, dict):
            raise self.fail(f"{key}.params", "must be a table of name = \"type\"")
        for pname, ptype in params.items():
            if pname not in placeholders:
                raise self.fail(f"{key}.params.{pname}", f"no {{{pname}}} in the pattern")
            if ptype not in PARAM_TYPES:
                raise self.fail(f"{key}.params.{pname}", f"unknown parameter type {ptype!r} "
                                f"(expected one of {', '.join(PARAM_TYPES)})")
        for pname in placeholders:
            if pname not in params:
                raise self.fail(f"{key}.params", f"{{{pname}}} in the pattern has no type")
        action = self.text(c, "action", key, required=False)
        if action is not None:
            if kind not in ("ussd", "feature"):
                raise self.fail(f"{key}.action", f"a {kind!r} code has no network action")
            if action not in ACTIONS:
                raise self.fail(f"{key}.action", f"unknown action {action!r}")
            required, optional = ACTIONS[action]
            missing = sorted(required - set(placeholders))
            extra = sorted(set(placeholders) - required - optional)
            if missing or extra:
                raise self.fail(f"{key}.action", f"{action!r} takes parameters "
                                f"{sorted(required | optional) or 'none'}, the pattern has "
                                f"{placeholders or 'none'}")
        if kind == "ss":
            if any(t not in ("number", "trunk_number") for t in params.values()):
                raise self.fail(f"{key}.params", "a standard (ss) code takes only number "
                                "parameters")
            self.check_standard(pattern, key)
        elif kind in ("ussd", "feature") and not (pattern[0] in "*#" and pattern[-1] == "#"):
            raise self.fail(f"{key}.pattern", f"a {kind} code starts with * or # and ends with #")
        return ServiceCode(name=name, kind=kind, pattern=pattern,
                           description=self.text(c, "description", key),
                           gloss=self.text(c, "gloss", key),
                           params=tuple((p, params[p]) for p in placeholders),
                           action=action, source=self.text(c, "source", key, required=False))

    def check_standard(self, pattern: str, key: str) -> None:
        """A kind = "ss" pattern must be a standard Annex B string (example values filled in)."""
        from simtool.stk.mmi import SupplementaryService, explain

        sample = _PLACEHOLDER.sub("0600123456", pattern)
        result = explain(sample)
        if not isinstance(result, SupplementaryService):
            raise self.fail(f"{key}.pattern", f"{pattern!r} is not a standard supplementary "
                            "service string (TS 22.030 Annex B); use kind = \"feature\"")
