"""Operator profiles: what a batch of cards for one operator looks like, as data.

A profile is a TOML file in ``provisioning/profiles/<name>.toml`` (the format is documented in
``provisioning/README.md``).  It names the network (MCC 260 + MNC), the ICCID issuer prefix
(ITU-T E.118: ``89`` telecom, ``48`` Poland, issuer id), the SPN, the MSISDN pool, the PIN/PUK
policy, the card type and its ADM1 format, the barcode scheme, the customer credentials to derive
and the names of the operator's menu and services files.

A malformed profile raises :class:`~simtool.errors.DataError` whose ``where`` is
``<file>:<line>``: syntax errors take the line tomllib reports, semantic errors the line of the
offending key, found in the source text by :class:`_KeyLines`.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import phonenumbers

from simtool.cardtypes import KNOWN_TYPES
from simtool.datadir import provisioning_dir
from simtool.errors import DataError, EncodeError
from simtool.pin import AdmFormat
from simtool.provision.hashing import (MIN_MEMORY_KIB, MIN_PARALLELISM, MIN_TIME_COST,
                                       HashParams)
from simtool.provision.ims import read_domain
from simtool.text import encode_alpha

PROFILE_FORMAT = 1
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DIGITS_RE = re.compile(r"^[0-9]*$")


class BarcodeScheme(StrEnum):
    """What is printed under the barcode on the back of the card."""

    HMAC = "hmac"  # ICCID serial + 10 HMAC-SHA-256 digits (the panel password)
    LEGACY_ICCID = "legacy-iccid"  # the ICCID itself: the password is derivable, warned loudly


class CredentialKind(StrEnum):
    """Customer credentials an operator hands out with a card (see the seed operator texts)."""

    PANEL_PASSWORD = "panel_password"  # Milo/HaloNet: last 10 printed digits under the barcode
    SUBSCRIBER_CODE = "subscriber_code"  # Idea24 "kod abonencki": last 6 characters of the PUK
    ACCOUNT_SUBSCRIBER_CODE = "account_subscriber_code"  # Idea24 "kod abonencki dla konta"
    TEMPORARY_PASSWORD = "temporary_password"  # Idea24 "hasło tymczasowe otrzymane SMSem"
    PLUS_KOD5 = "plus_kod5"  # Plus Kod 5: 5 digits per account, temporary (must be changed)
    PLUS_KOD4 = "plus_kod4"  # Plus Kod 4: 4 digits per number, read-only access
    VOICEMAIL_PIN = "voicemail_pin"  # City-Sat: PIN guarding remote voicemail access (9556)


@dataclass(frozen=True)
class MsisdnRange:
    """An inclusive range of E.164 numbers, digits without ``+`` (e.g. 48531000000)."""

    first: int
    last: int
    digits: int

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __contains__(self, msisdn: object) -> bool:
        if not isinstance(msisdn, str) or len(msisdn) != self.digits or not msisdn.isdigit():
            return False
        return self.first <= int(msisdn) <= self.last


@dataclass(frozen=True)
class PinPolicy:
    """PIN1/PIN2 length 4..8, PUK1/PUK2 exactly 8 digits (ETSI TS 102 221 §9.5.2)."""

    pin_length: int = 4
    pin1_enabled: bool = True
    reject_trivial: bool = True  # no 0000, 1111, 1234, 4321 ... as PIN, Kod or code


@dataclass(frozen=True)
class Profile:
    name: str
    operator: str
    mcc: str
    mnc: str
    iccid_prefix: str
    iccid_length: int  # with the Luhn digit: 19 or 20
    msin_prefix: str
    spn: str
    spn_display_condition: int
    msisdn_pool: tuple[MsisdnRange, ...]
    pin: PinPolicy
    card_type: str | None
    adm_format: AdmFormat  # ADM1: 8 decimal digits or 16 hex digits (sim-facts §9.4)
    barcode: BarcodeScheme
    credentials: tuple[CredentialKind, ...]
    numbers_per_account: int
    panel_url: str | None
    menu: str | None
    services: str | None
    source: str = "<profile>"
    label_sheet: str = "a4-3x7"  # a layout of simtool.provision.labels.SHEETS
    label_border: bool = False  # dashed outline around each label (test prints on plain paper)
    label_web: str | None = None  # the web address printed on the label; default: panel_url's
    #: Argon2id costs of the panel import ([panel_hash]; never below hashing's floor)
    panel_hash: HashParams = field(default_factory=HashParams)
    #: the IMS home network domain ([network] ims_domain): the cards' ISIM gets IMPI, IMPU and
    #: this domain (simtool.provision.ims); None: the ISIM is left as the vendor made it
    ims_domain: str | None = None
    #: [applet]: the toolkit applet ``batch program`` installs (simtool.provision.appletstep)
    applet: Any = None

    @property
    def serial_digits(self) -> int:
        """Digits of the per-card serial: the ICCID individual account number (E.118 §4)."""
        return min(self.iccid_length - 1 - len(self.iccid_prefix),
                   15 - len(self.mcc) - len(self.mnc) - len(self.msin_prefix))

    @property
    def max_serial(self) -> int:
        return 10 ** self.serial_digits - 1

    @property
    def msisdn_capacity(self) -> int:
        return sum(len(r) for r in self.msisdn_pool)

    def menu_path(self, root: Path | None = None) -> Path | None:
        """``provisioning/menus/<menu>.toml`` (the file may not exist yet)."""
        if self.menu is None:
            return None
        return (root or default_provisioning_dir()) / "menus" / f"{self.menu}.toml"

    def services_path(self, root: Path | None = None) -> Path | None:
        """``provisioning/services/<services>.toml`` (the file may not exist yet)."""
        if self.services is None:
            return None
        return (root or default_provisioning_dir()) / "services" / f"{self.services}.toml"


def default_provisioning_dir() -> Path:
    """The ``provisioning/`` data folder (simtool.datadir: ``$SIMTOOL_PROVISIONING`` or the
    package's own data)."""
    return provisioning_dir()


def profile_path(name_or_path: str | os.PathLike[str], root: Path | None = None) -> Path:
    """A profile name (``milo``) → ``<root>/profiles/milo.toml``; a path is taken as it is."""
    text = os.fspath(name_or_path)
    if _NAME_RE.match(text):
        return (root or default_provisioning_dir()) / "profiles" / f"{text}.toml"
    return Path(text)


def list_profiles(root: Path | None = None) -> list[str]:
    folder = (root or default_provisioning_dir()) / "profiles"
    return sorted(p.stem for p in folder.glob("*.toml"))


def load_profile(name_or_path: str | os.PathLike[str], root: Path | None = None) -> Profile:
    path = profile_path(name_or_path, root)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        known = ", ".join(list_profiles(root)) or "none"
        raise DataError(f"no such profile (known profiles: {known})", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read profile: {exc}", where=str(path)) from None
    return parse_profile(text, source=str(path))


# --- parsing -----------------------------------------------------------------------------------

_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEYLINE = re.compile(r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
                      r"""(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*=""")


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", dotted)
    return tuple(p[1:-1] if p[:1] in "\"'" else p for p in parts)


class _KeyLines:
    """Line numbers of the keys and table headers in a TOML text.

    Paths are tuples of keys, with the index for arrays of tables: ``("msisdn_pool", 1, "last")``.
    Multi-line strings are skipped so their contents are never taken for keys.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[Any, ...], int] = {}
        counts: dict[tuple[Any, ...], int] = {}
        table: tuple[Any, ...] = ()
        in_string: str | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if in_string:
                if line.count(in_string) % 2 == 1:
                    in_string = None
                continue
            header = _HEADER.match(line)
            if header:
                key = _split_key(header.group(2))
                if header.group(1) == "[[":
                    index = counts.get(key, 0)
                    counts[key] = index + 1
                    table = key + (index,)
                else:
                    table = key
                self.lines.setdefault(table, number)
                continue
            match = _KEYLINE.match(line)
            if match:
                self.lines.setdefault(table + _split_key(match.group(1)), number)
            for quote in ('"""', "'''"):
                if line.count(quote) % 2 == 1:
                    in_string = quote

    def line_of(self, path: tuple[Any, ...]) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


class _Reader:
    """Typed access to the parsed TOML that turns every problem into a file:line DataError."""

    def __init__(self, data: dict[str, Any], text: str, source: str) -> None:
        self.data = data
        self.keys = _KeyLines(text)
        self.source = source

    def fail(self, path: tuple[Any, ...], reason: str) -> DataError:
        line = self.keys.line_of(path)
        where = f"{self.source}:{line}" if line else self.source
        shown = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in path)
        return DataError(f"{shown}: {reason}" if shown else reason, where=where)

    def get(self, path: tuple[Any, ...], kind: type | tuple[type, ...], default: Any = ...,
            ) -> Any:
        node: Any = self.data
        for part in path:
            if isinstance(part, int):
                node = node[part]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            elif default is not ...:
                return default
            else:
                raise self.fail(path, "missing (required)")
        # bool is an int subclass: never accept true/false where a number is meant
        if not isinstance(node, kind) or (isinstance(node, bool) and kind in (int, (int,))):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__
                                                                             for k in kind)
            raise self.fail(path, f"must be a {_toml_type(names)}, not {type(node).__name__}")
        return node

    def check_keys(self, path: tuple[Any, ...], node: dict[str, Any], allowed: set[str]) -> None:
        for key in node:
            if key not in allowed:
                allowed_list = ", ".join(sorted(allowed))
                raise self.fail(path + (key,), f"unknown key (allowed: {allowed_list})")

    def digits(self, path: tuple[Any, ...], lengths: range, default: Any = ...) -> str:
        value = self.get(path, str, default)
        if value is None:
            return value
        if not _DIGITS_RE.match(value) or len(value) not in lengths:
            raise self.fail(path, f"must be {lengths.start}..{lengths.stop - 1} decimal digits, "
                                  f"got {value!r}")
        return value

    def name(self, path: tuple[Any, ...], default: Any = ...) -> str | None:
        value = self.get(path, str, default)
        if value is not None and not _NAME_RE.match(value):
            raise self.fail(path, f"must be a lower-case name of letters, digits, '-' or '_', "
                                  f"got {value!r}")
        return value


def _toml_type(py_names: str) -> str:
    return (py_names.replace("str", "string").replace("int", "integer")
            .replace("bool", "boolean").replace("dict", "table").replace("list", "array"))


_TOP = {"format", "name", "operator", "menu", "services", "network", "iccid", "imsi", "spn",
        "msisdn_pool", "pin", "card", "barcode", "credentials", "label", "panel_hash", "applet"}


def parse_profile(text: str, source: str = "<profile>") -> Profile:
    """Parse and validate a profile's TOML text; raise DataError with ``source:line``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        pos = _TOML_POS.search(str(exc))
        where = f"{source}:{pos.group(1)}" if pos else source
        reason = _TOML_POS.sub("", str(exc)).strip()
        raise DataError(f"TOML syntax error: {reason}", where=where) from None
    r = _Reader(data, text, source)
    r.check_keys((), data, _TOP)

    fmt = r.get(("format",), int, PROFILE_FORMAT)
    if fmt != PROFILE_FORMAT:
        raise r.fail(("format",), f"unsupported profile format {fmt} (this simtool reads "
                                  f"{PROFILE_FORMAT})")
    name = r.name(("name",))
    operator = r.get(("operator",), str)

    network = r.get(("network",), dict)
    r.check_keys(("network",), network, {"mcc", "mnc", "ims_domain"})
    mcc = r.digits(("network", "mcc"), range(3, 4))
    mnc = r.digits(("network", "mnc"), range(2, 4))
    ims_domain = read_domain(r, ("network", "ims_domain"), mcc, mnc)

    iccid = r.get(("iccid",), dict)
    r.check_keys(("iccid",), iccid, {"prefix", "length"})
    iccid_length = r.get(("iccid", "length"), int, 19)
    if iccid_length not in (19, 20):
        raise r.fail(("iccid", "length"), "must be 19 or 20 (digits including the Luhn digit, "
                                          "ITU-T E.118)")
    prefix = r.digits(("iccid", "prefix"), range(4, iccid_length - 6))
    if not prefix.startswith("89"):
        raise r.fail(("iccid", "prefix"), "must start with 89 (telecom MII, ITU-T E.118 §4)")

    imsi = r.get(("imsi",), dict, {})
    r.check_keys(("imsi",), imsi, {"msin_prefix"})
    msin_prefix = r.digits(("imsi", "msin_prefix"), range(0, 5), "")

    spn_table = r.get(("spn",), dict)
    r.check_keys(("spn",), spn_table, {"name", "display_condition"})
    spn = r.get(("spn", "name"), str)
    try:
        if not spn:
            raise EncodeError("is empty")
        encode_alpha(spn, max_len=16)
    except EncodeError as exc:
        raise r.fail(("spn", "name"), f"does not fit EF.SPN's 16 bytes (3GPP TS 31.102 "
                                      f"§4.2.12): {exc}") from None
    spn_cond = r.get(("spn", "display_condition"), int, 1)
    if not 0 <= spn_cond <= 3:
        raise r.fail(("spn", "display_condition"), "must be 0..3 (b1, b2 of EF.SPN byte 1)")

    pool = _msisdn_pool(r)

    pin_table = r.get(("pin",), dict, {})
    r.check_keys(("pin",), pin_table, {"length", "pin1_enabled", "reject_trivial"})
    pin_length = r.get(("pin", "length"), int, 4)
    if not 4 <= pin_length <= 8:
        raise r.fail(("pin", "length"), "must be 4..8 digits (ETSI TS 102 221 §9.5.2)")
    pin = PinPolicy(pin_length, r.get(("pin", "pin1_enabled"), bool, True),
                    r.get(("pin", "reject_trivial"), bool, True))

    card = r.get(("card",), dict)
    r.check_keys(("card",), card, {"type", "adm_format"})
    card_type = r.get(("card", "type"), str, None)
    adm = _enum(r, ("card", "adm_format"), AdmFormat)
    _check_card_type(r, card_type, adm)

    barcode_table = r.get(("barcode",), dict, {})
    r.check_keys(("barcode",), barcode_table, {"scheme"})
    barcode = _enum(r, ("barcode", "scheme"), BarcodeScheme, BarcodeScheme.HMAC)

    cred = r.get(("credentials",), dict, {})
    r.check_keys(("credentials",), cred, {"derive", "numbers_per_account", "panel_url"})
    kinds_raw = r.get(("credentials", "derive"), list, [])
    kinds: list[CredentialKind] = []
    for value in kinds_raw:
        try:
            kind = CredentialKind(value)
        except ValueError:
            allowed = ", ".join(k.value for k in CredentialKind)
            raise r.fail(("credentials", "derive"),
                         f"unknown credential {value!r} (known: {allowed})") from None
        if kind in kinds:
            raise r.fail(("credentials", "derive"), f"{value!r} is listed twice")
        kinds.append(kind)
    per_account = r.get(("credentials", "numbers_per_account"), int, 1)
    if not 1 <= per_account <= 100:
        raise r.fail(("credentials", "numbers_per_account"), "must be 1..100")
    panel_url = r.get(("credentials", "panel_url"), str, None)
    panel_hash = _panel_hash(r)

    from simtool.provision.labels import SHEETS

    label = r.get(("label",), dict, {})
    r.check_keys(("label",), label, {"sheet", "border", "web"})
    label_sheet = r.get(("label", "sheet"), str, "a4-3x7")
    if label_sheet not in SHEETS:
        raise r.fail(("label", "sheet"), f"unknown sheet {label_sheet!r} (known: "
                                         f"{', '.join(SHEETS)})")

    profile = Profile(
        name=name, operator=operator, mcc=mcc, mnc=mnc, iccid_prefix=prefix,
        iccid_length=iccid_length, msin_prefix=msin_prefix, spn=spn,
        spn_display_condition=spn_cond, msisdn_pool=pool, pin=pin, card_type=card_type,
        adm_format=adm, barcode=barcode, credentials=tuple(kinds),
        numbers_per_account=per_account, panel_url=panel_url,
        menu=r.name(("menu",), None), services=r.name(("services",), None), source=source,
        label_sheet=label_sheet, label_border=r.get(("label", "border"), bool, False),
        label_web=r.get(("label", "web"), str, None), panel_hash=panel_hash,
        ims_domain=ims_domain, applet=_applet(r, source))
    if profile.serial_digits < 6:
        raise r.fail(("imsi", "msin_prefix") if msin_prefix else ("iccid", "prefix"),
                     f"leaves only {profile.serial_digits} digits for the card serial "
                     "(need at least 6)")
    return profile


def _applet(r: _Reader, source: str):
    """``[applet]`` (simtool.provision.appletstep.AppletSpec); a relative CAP path is taken
    from the provisioning folder the profile is in."""
    table = r.get(("applet",), dict, None)
    if table is None:
        return None
    from simtool.provision.appletstep import AppletSpec

    path = Path(source)
    root = path.resolve().parent.parent if path.is_file() else default_provisioning_dir()
    line = r.keys.line_of(("applet",))
    return AppletSpec.from_table(table, f"{source}:{line}" if line else source, root)


def _panel_hash(r: _Reader) -> HashParams:
    """``[panel_hash]``: Argon2id costs, raised per profile, never lowered below the floor."""
    table = r.get(("panel_hash",), dict, {})
    r.check_keys(("panel_hash",), table, {"memory_kib", "time_cost", "parallelism"})
    floors = {"memory_kib": MIN_MEMORY_KIB, "time_cost": MIN_TIME_COST,
              "parallelism": MIN_PARALLELISM}
    values = {}
    for key, floor in floors.items():
        value = r.get(("panel_hash", key), int, floor)
        if value < floor:
            raise r.fail(("panel_hash", key), f"must be at least {floor} (Argon2id floor: "
                                              f"m={MIN_MEMORY_KIB} KiB, t={MIN_TIME_COST}, "
                                              f"p={MIN_PARALLELISM}; never lowered)")
        values[key] = value
    return HashParams(**values)


def _enum(r: _Reader, path: tuple[Any, ...], enum: type[Enum], default: Any = ...) -> Any:
    value = r.get(path, str, default)
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(repr(e.value) for e in enum)
        raise r.fail(path, f"must be one of {allowed}, got {value!r}") from None


def _check_card_type(r: _Reader, card_type: str | None, adm: AdmFormat) -> None:
    """A card type simtool knows (simtool.cardtypes) fixes the ADM1 format."""
    if card_type is None:
        return
    for known in KNOWN_TYPES:
        if known.name.lower() == card_type.lower() and known.adm_format is not adm:
            raise r.fail(("card", "adm_format"), f"{known.name} cards take ADM1 as "
                                                 f"{known.adm_format.value}, not {adm.value}")


def _msisdn_pool(r: _Reader) -> tuple[MsisdnRange, ...]:
    ranges = r.get(("msisdn_pool",), list)
    if not ranges:
        raise r.fail(("msisdn_pool",), "needs at least one [[msisdn_pool]] range")
    pool: list[MsisdnRange] = []
    for i, table in enumerate(ranges):
        if not isinstance(table, dict):
            raise r.fail(("msisdn_pool",), "must be an array of tables ([[msisdn_pool]])")
        r.check_keys(("msisdn_pool", i), table, {"first", "last"})
        first = r.digits(("msisdn_pool", i, "first"), range(8, 16))
        last = r.digits(("msisdn_pool", i, "last"), range(8, 16))
        for key, value in (("first", first), ("last", last)):
            try:
                number = phonenumbers.parse("+" + value)
            except phonenumbers.NumberParseException as exc:
                raise r.fail(("msisdn_pool", i, key), f"not an E.164 number: {exc}") from None
            if not phonenumbers.is_possible_number(number):
                raise r.fail(("msisdn_pool", i, key),
                             f"{value} is not a possible E.164 number (digits without '+', "
                             "country code first, e.g. 48531234567)")
        if len(first) != len(last) or int(first) > int(last):
            raise r.fail(("msisdn_pool", i, "last"), "must have as many digits as first and "
                                                     "not be below it")
        new = MsisdnRange(int(first), int(last), len(first))
        for old in pool:
            if old.digits == new.digits and new.first <= old.last and old.first <= new.last:
                raise r.fail(("msisdn_pool", i), "overlaps an earlier range")
        pool.append(new)
    return tuple(pool)
