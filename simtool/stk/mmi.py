"""Dialled MMI strings: supplementary service control, USSD and ME procedures (3GPP TS 22.030).

:func:`explain` classifies one dialled string, the way a handset does before SEND:

* ``*#06#`` shows the IMEI (TS 22.030 §6.7);
* ``**04*``, ``**042*``, ``**05*``, ``**052*`` change or unblock PIN1/PIN2 (§6.6);
* ``*03*`` / ``**03*`` register a new barring password (§6.5.4);
* ``<procedure><SC>*<SIA>*<SIB>*<SIC>#`` with a service code of Annex B is supplementary
  service control (§6.5.2), the SI fields decoded per Annex B / Annex C;
* a code from the operator's service data (:mod:`simtool.stk.services`);
* any other string ending in ``#`` is USSD (§6.5.3.2: "entry of any characters … followed by
  #SEND"), routed per TS 22.090 §5.1.2;
* a short code of 1 or 2 characters followed by SEND is USSD too (§6.5.3.2), except a 2-digit
  string starting with ``1``, which outside a call is dialled as a number (emergency and
  national short numbers such as 112 are 3 digits and numbers anyway).

Every result is a frozen dataclass; a string that cannot be used gives :class:`Invalid` with a
reason, never an exception.  Barring passwords and PINs are held as :class:`Secret`, and no
reason quotes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Union

from simtool.pin import KeyReference
from simtool.secret import Secret

if TYPE_CHECKING:  # pragma: no cover
    from simtool.stk.services import OperatorServices, Parameter


class Procedure(Enum):
    """The five procedures of TS 22.030 §6.5.2; the value is the prefix dialled."""

    ACTIVATION = "*"
    DEACTIVATION = "#"
    INTERROGATION = "*#"
    REGISTRATION = "**"
    ERASURE = "##"

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def label_pl(self) -> str:
        return _PROCEDURE_PL[self]


_PROCEDURE_PL = {
    Procedure.ACTIVATION: "aktywacja",
    Procedure.DEACTIVATION: "dezaktywacja",
    Procedure.INTERROGATION: "sprawdzenie stanu",
    Procedure.REGISTRATION: "rejestracja",
    Procedure.ERASURE: "usunięcie rejestracji",
}
_ALL = frozenset(Procedure)
_SWITCH = frozenset({Procedure.ACTIVATION, Procedure.DEACTIVATION, Procedure.INTERROGATION})

FORWARDING, WAITING, BARRING, IDENTIFICATION = "forwarding", "waiting", "barring", "identification"


@dataclass(frozen=True)
class SsService:
    """One service code of TS 22.030 Annex B (Table B.1)."""

    code: str
    abbreviation: str
    name: str
    name_pl: str
    group: str
    procedures: frozenset[Procedure] = _SWITCH
    members: tuple[str, ...] = ()   # the elementary services a group code (002, 330 ...) covers


def _svc(code, abbr, name, name_pl, group, procedures=_SWITCH, members=()):
    return SsService(code, abbr, name, name_pl, group, procedures, members)


#: TS 22.030 Annex B: service codes and (§6.5.2) the procedures a handset dials them with.
SS_SERVICES: dict[str, SsService] = {s.code: s for s in (
    _svc("30", "CLIP", "calling line identification presentation",
         "prezentacja numeru wywołującego", IDENTIFICATION),
    _svc("31", "CLIR", "calling line identification restriction",
         "zastrzeżenie prezentacji numeru wywołującego", IDENTIFICATION),
    _svc("76", "COLP", "connected line identification presentation",
         "prezentacja numeru połączonego", IDENTIFICATION),
    _svc("77", "COLR", "connected line identification restriction",
         "zastrzeżenie prezentacji numeru połączonego", IDENTIFICATION),
    _svc("300", "CNAP", "calling name presentation", "prezentacja nazwy wywołującego",
         IDENTIFICATION),
    _svc("21", "CFU", "call forwarding unconditional", "przekierowanie bezwarunkowe",
         FORWARDING, _ALL),
    _svc("67", "CFB", "call forwarding on mobile subscriber busy",
         "przekierowanie, gdy abonent zajęty", FORWARDING, _ALL),
    _svc("61", "CFNRy", "call forwarding on no reply",
         "przekierowanie, gdy abonent nie odpowiada", FORWARDING, _ALL),
    _svc("62", "CFNRc", "call forwarding on mobile subscriber not reachable",
         "przekierowanie, gdy abonent nieosiągalny", FORWARDING, _ALL),
    _svc("002", "all CF", "all call forwarding", "wszystkie przekierowania", FORWARDING, _ALL,
         ("21", "67", "61", "62")),
    _svc("004", "all conditional CF", "all conditional call forwarding",
         "wszystkie przekierowania warunkowe", FORWARDING, _ALL, ("67", "61", "62")),
    _svc("43", "CW", "call waiting", "połączenie oczekujące", WAITING),
    _svc("33", "BAOC", "barring of all outgoing calls",
         "blokada wszystkich połączeń wychodzących", BARRING),
    _svc("331", "BOIC", "barring of outgoing international calls",
         "blokada wychodzących połączeń międzynarodowych", BARRING),
    _svc("332", "BOIC-exHC", "barring of outgoing international calls except to the home country",
         "blokada wychodzących połączeń międzynarodowych poza krajem macierzystym", BARRING),
    _svc("35", "BAIC", "barring of all incoming calls",
         "blokada wszystkich połączeń przychodzących", BARRING),
    _svc("351", "BIC-Roam", "barring of incoming calls when roaming outside the home country",
         "blokada połączeń przychodzących w roamingu", BARRING),
    _svc("330", "all barring", "all barring services", "wszystkie blokady", BARRING,
         members=("33", "331", "332", "35", "351")),
    _svc("333", "all outgoing barring", "all outgoing barring services",
         "wszystkie blokady połączeń wychodzących", BARRING, members=("33", "331", "332")),
    _svc("353", "all incoming barring", "all incoming barring services",
         "wszystkie blokady połączeń przychodzących", BARRING, members=("35", "351")),
)}

#: Service codes whose SIC is the no-reply condition timer (Annex B: 61, 002, 004).
TIMER_SERVICES = frozenset({"61", "002", "004"})
TIMER_RANGE = (5, 30)            # seconds, TS 22.030 Annex B
MAX_NUMBER_DIGITS = 16           # TS 29.002 ISDN-AddressString: 9 octets = TON/NPI + 16 digits


@dataclass(frozen=True)
class BasicService:
    """A basic service group code of TS 22.030 Annex C."""

    code: str
    name: str
    name_pl: str


#: TS 22.030 Annex C (Table C.1).  No code at all means every tele- and bearer service.
BASIC_SERVICES: dict[str, BasicService] = {b.code: b for b in (
    BasicService("10", "all teleservices", "wszystkie teleusługi"),
    BasicService("11", "telephony", "telefonia"),
    BasicService("12", "all data teleservices", "wszystkie teleusługi transmisji danych"),
    BasicService("13", "facsimile services", "faks"),
    BasicService("16", "short message services", "wiadomości SMS"),
    BasicService("17", "voice group call service", "połączenia grupowe (VGCS)"),
    BasicService("18", "voice broadcast service", "rozgłaszanie głosowe (VBS)"),
    BasicService("19", "all teleservices except SMS", "wszystkie teleusługi oprócz SMS"),
    BasicService("20", "all bearer services", "wszystkie usługi przenoszenia"),
    BasicService("21", "all asynchronous services", "wszystkie usługi asynchroniczne"),
    BasicService("22", "all synchronous services", "wszystkie usługi synchroniczne"),
    BasicService("24", "all data circuit synchronous", "synchroniczna transmisja danych"),
    BasicService("25", "all data circuit asynchronous", "asynchroniczna transmisja danych"),
    BasicService("26", "all dedicated packet access", "dedykowany dostęp pakietowy"),
    BasicService("27", "all dedicated PAD access", "dedykowany dostęp PAD"),
)}


# --- classifications -------------------------------------------------------------------


@dataclass(frozen=True)
class OperatorService:
    """A code the operator's own documents define (see :mod:`simtool.stk.services`)."""

    code: str
    operator: str                    # operator id, e.g. "citysat"
    name: str                        # the entry's name in the services file
    kind: str                        # "ussd" | "feature" | "call" | "ss"
    description: str                 # Polish, as the operator words it
    gloss: str                       # English
    parameters: tuple[Parameter, ...] = ()
    action: str | None = None        # what the (virtual) network does with it

    def value(self, name: str):
        """The decoded value of parameter ``name``, or None when the code has no such one."""
        return next((p.value for p in self.parameters if p.name == name), None)


@dataclass(frozen=True)
class SupplementaryService:
    """Supplementary service control, TS 22.030 §6.5.2 with Annex B / Annex C.

    ``procedure`` is the resolved procedure: a single ``*`` with a forwarded-to number is
    registration (§6.5.2: "*SC*SI#" registers when SI carries a number).
    """

    procedure: Procedure
    service: SsService
    number: str | None = None            # DN (forwarding: SIA)
    basic_service: BasicService | None = None
    timer: int | None = None             # no-reply condition timer, seconds (SIC)
    password: Secret | None = None       # barring password (SIA)
    call_number: str | None = None       # CLIR per call: *31#number / #31#number
    operator: OperatorService | None = None   # the operator's own words for this code


@dataclass(frozen=True)
class Ussd:
    """A string the handset sends as USSD (TS 22.030 §6.5.3.2).

    ``hplmn_reserved`` / ``vplmn_reserved``: TS 22.090 §5.1.2 cases a) and b), 1–3 of ``*``/``#``
    then ``1X(Y)`` with X = 0–4 (home network) or X = 5–9 (visited network).
    """

    code: str
    hplmn_reserved: bool = False
    vplmn_reserved: bool = False


@dataclass(frozen=True)
class PinProcedure:
    """PIN change / unblocking by MMI (TS 22.030 §6.6): ``**04*``, ``**042*``, ``**05*``,
    ``**052*``.  Handled by the handset with CHANGE / UNBLOCK PIN (TS 102 221 §11.1.10, 11.1.13).
    """

    pin: int                 # 1 or 2
    unblock: bool            # False: **04/**042 (old PIN), True: **05/**052 (PUK)
    code: Secret             # the old PIN, or the PUK when unblocking
    new_pin: Secret

    @property
    def key_reference(self) -> KeyReference:
        """Key reference of TS 102 221 §9.5.1: PIN1 = 01, PIN2 = 81."""
        return KeyReference.PIN1 if self.pin == 1 else KeyReference.PIN2


@dataclass(frozen=True)
class PasswordRegistration:
    """Registration of a new call barring password, TS 22.030 §6.5.4 (``**03*ZZ*OLD*NEW*NEW#``)."""

    service: SsService | None    # the barring code ZZ (usually 330); None: all barring services
    old: Secret
    new: Secret


@dataclass(frozen=True)
class ShowImei:
    """``*#06#``: the handset shows its IMEI (TS 22.030 §6.7)."""


@dataclass(frozen=True)
class Invalid:
    """A string that is neither a valid code nor USSD; ``reason`` says why (English, for
    technicians); ``reason_pl`` is the subscriber's Polish wording when there is one."""

    reason: str
    reason_pl: str | None = None


Classification = Union[SupplementaryService, Ussd, OperatorService, PinProcedure,
                       PasswordRegistration, ShowImei, Invalid]


# --- parsing -------------------------------------------------------------------------------

_SHAPE = re.compile(r"(\*\*|##|\*#|\*|#)([0-9]+)([^#]*)(#?)(.*)", re.S)
_DIALLABLE = re.compile(r"[0-9*#+]*")
_NUMBER = re.compile(r"\+?[0-9]+")
_HPLMN = re.compile(r"[*#]{1,3}1[0-4][0-9]?(\*.*)?#", re.S)
_VPLMN = re.compile(r"[*#]{1,3}1[5-9][0-9]?(\*.*)?#", re.S)
_PIN_CODES = {"04": (1, False), "042": (2, False), "05": (1, True), "052": (2, True)}


@dataclass(frozen=True)
class _Parsed:
    """The §6.5.2 shape of a string: prefix, service code, SI fields, what follows '#'."""

    prefix: str
    sc: str
    fields: tuple[str, ...] = ()
    closed: bool = True        # a '#' ends the fields
    trailer: str = ""          # what follows the closing '#'


def _shape(s: str) -> _Parsed | None:
    m = _SHAPE.fullmatch(s)
    if m is None or (m[3] and m[3][0] != "*"):
        return None
    prefix, sc, body, closing, trailer = m.groups()
    fields = body[1:].split("*") if body else []
    while fields and not fields[-1]:      # empty fields at the right end = omitted (§6.5.2)
        fields.pop()
    return _Parsed(prefix, sc, tuple(fields), bool(closing), trailer)


def explain(code: str, services: OperatorServices | None = None) -> Classification:
    """Classify one dialled string (TS 22.030 §6.5.3.2 flow), never raising.

    ``services``: the operator's service data; its codes are recognised, and standard codes
    it describes carry the operator's wording in ``SupplementaryService.operator``.
    """
    if not isinstance(code, str):
        return Invalid(f"expected text, not {type(code).__name__}")
    s = code.strip()
    if not s:
        return Invalid("empty string: nothing was dialled")
    if s == "*#06#":
        return ShowImei()

    shape = _shape(s)
    if shape is not None:
        result = _standard(shape)
        if result is not None:
            if isinstance(result, SupplementaryService) and services is not None:
                op = _operator(s, services, kinds=("ss",))
                if isinstance(op, OperatorService):
                    result = replace(result, operator=op)
                elif isinstance(op, Invalid):
                    return op     # the operator's own rule for the field (City-Sat: 0 + area)
            return result

    if services is not None:
        op = _operator(s, services, kinds=("ussd", "feature", "call"))
        if op is not None:
            return op

    bad = next((c for c in s if not _DIALLABLE.fullmatch(c)), None)
    if bad is not None:
        return Invalid(f"{bad!r} cannot be dialled: a keypad has only 0-9, *, # and +")
    if s[0] in "*#" and not s.endswith("#"):
        return Invalid("a code starting with '*' or '#' must end with '#'",
                       "kod zaczynający się od * lub # musi się kończyć znakiem #")
    if s.endswith("#"):
        # TS 22.030 §6.5.3.2: any string ending in '#' that is no SS code above is USSD
        if not any(c.isdigit() for c in s):
            return Invalid("no digits between the '*'/'#' signs", "kod nie zawiera cyfr")
        return Ussd(s, hplmn_reserved=bool(_HPLMN.fullmatch(s)),
                    vplmn_reserved=bool(_VPLMN.fullmatch(s)))
    if len(s) <= 2 and not (len(s) == 2 and s[0] == "1") and s.isdigit():
        # §6.5.3.2 short codes: 1 or 2 characters + SEND are USSD, except "1X" outside a call
        return Ussd(s)
    return Invalid(f"{s!r} is a number to call, not a code: "
                   "MMI codes start with '*' or '#' and end with '#'",
                   f"{s} to numer do wybrania (połączenie), nie kod")


def _operator(s: str, services: OperatorServices, *, kinds: tuple[str, ...]):
    found = services.match(s, kinds=kinds)
    if found is None:
        return None
    entry, result = found
    if isinstance(result, str):
        return Invalid(f"{entry.gloss}: {result}",
                       f"{entry.description}: {getattr(result, 'pl', result)}")
    return OperatorService(code=s, operator=services.id, name=entry.name, kind=entry.kind,
                           description=entry.description, gloss=entry.gloss,
                           parameters=result, action=entry.action)


def _standard(p: _Parsed) -> Classification | None:
    """A §6.5.2-shaped string with a known service code, else None (then maybe USSD)."""
    if p.sc in _PIN_CODES and p.prefix == "**":
        return _pin(p)
    if p.sc == "03" and p.prefix in ("*", "**"):
        return _password(p)
    service = SS_SERVICES.get(p.sc)
    if service is None:
        return None
    if not p.closed:
        return None      # without '#' it is no SS string (§6.5.2); maybe an operator's number
    if p.trailer and not (service.code == "31" and p.prefix in ("*", "#")):
        return Invalid("unexpected characters after the closing '#' "
                       "(only CLIR takes a number there: *31#number)")
    if len(p.fields) > 3:
        return Invalid(f"{service.abbreviation} ({service.code}): too many fields; "
                       "a service code takes at most three (SIA, SIB, SIC)")
    procedure = Procedure(p.prefix)
    if procedure not in service.procedures:
        allowed = ", ".join(f"'{q.value}'" for q in Procedure if q in service.procedures)
        return Invalid(f"{service.abbreviation} ({service.code}) is not used with "
                       f"{procedure.label} ('{p.prefix}'); dial it with {allowed}")
    sia, sib, sic = (p.fields + ("", "", ""))[:3]
    if service.group == FORWARDING:
        return _forwarding(service, procedure, sia, sib, sic)
    if service.group == WAITING:
        if sib or sic:
            return Invalid("call waiting takes only a basic service code (SIA), e.g. *43*11#")
        bs = _basic_service(sia)
        return bs if isinstance(bs, Invalid) else SupplementaryService(procedure, service,
                                                                       basic_service=bs)
    if service.group == BARRING:
        if sic:
            return Invalid(f"{service.abbreviation} ({service.code}) takes a password and a "
                           "basic service only (SIA, SIB)")
        password = None
        if sia:
            if not (len(sia) == 4 and sia.isascii() and sia.isdigit()):
                return Invalid("the call barring password (SIA) must be 4 digits")
            password = Secret(sia)
        bs = _basic_service(sib)
        if isinstance(bs, Invalid):
            return bs
        return SupplementaryService(procedure, service, basic_service=bs, password=password)
    # line / name identification
    if p.fields:
        return Invalid(f"{service.abbreviation} ({service.code}) takes no supplementary "
                       "information fields")
    call_number = None
    if p.trailer:
        bad = number_problem(p.trailer)
        if bad:
            return Invalid(f"CLIR for one call: {bad}")
        call_number = p.trailer
    return SupplementaryService(procedure, service, call_number=call_number)


def _forwarding(service: SsService, procedure: Procedure, sia: str, sib: str, sic: str):
    name = f"{service.abbreviation} ({service.code})"
    if sia:
        bad = number_problem(sia)
        if bad:
            return Invalid(f"{name}: {bad}")
        if procedure is Procedure.ACTIVATION:
            procedure = Procedure.REGISTRATION
        elif procedure is not Procedure.REGISTRATION:
            return Invalid(f"{name}: a forwarded-to number is given only when registering; "
                           f"{procedure.label} takes at most a basic service, "
                           f"e.g. {procedure.value}{service.code}**11#")
    elif procedure is Procedure.REGISTRATION:
        return Invalid(f"{name}: registration needs a forwarded-to number, "
                       f"e.g. **{service.code}*600123456#")
    bs = _basic_service(sib)
    if isinstance(bs, Invalid):
        return bs
    timer = None
    if sic:
        if service.code not in TIMER_SERVICES:
            return Invalid(f"{name} takes no timer; only CFNRy (61), all CF (002) and "
                           "all conditional CF (004) do")
        if procedure is not Procedure.REGISTRATION:
            return Invalid(f"{name}: the no-reply timer is given only when registering")
        if not (sic.isascii() and sic.isdigit()):
            return Invalid(f"{name}: the no-reply timer {sic!r} is not a number of seconds")
        timer = int(sic)
        lo, hi = TIMER_RANGE
        if not lo <= timer <= hi:
            return Invalid(f"{name}: the no-reply timer must be {lo}-{hi} s, not {timer}")
    return SupplementaryService(procedure, service, number=sia or None, basic_service=bs,
                                timer=timer)


def _basic_service(code: str) -> BasicService | None | Invalid:
    if not code:
        return None
    bs = BASIC_SERVICES.get(code)
    if bs is None:
        return Invalid(f"{code!r} is not a basic service code (TS 22.030 Annex C: "
                       + ", ".join(BASIC_SERVICES) + ")")
    return bs


def number_problem(text: str) -> str | None:
    """Why ``text`` is not a directory number (digits with an optional leading '+'), or None."""
    if not _NUMBER.fullmatch(text) or not text.isascii():
        return f"{text!r} is not a number: only digits, with an optional leading '+'"
    digits = len(text.lstrip("+"))
    if digits > MAX_NUMBER_DIGITS:
        return (f"a number has at most {MAX_NUMBER_DIGITS} digits "
                f"(TS 29.002 ISDN-AddressString), not {digits}")
    return None


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _pin(p: _Parsed) -> PinProcedure | Invalid:
    pin, unblock = _PIN_CODES[p.sc]
    first = "PUK" if unblock else "old PIN"
    form = f"**{p.sc}*{'PUK' if unblock else 'OLD'}*NEW*NEW#"
    if not p.closed or p.trailer or len(p.fields) != 3 or not all(p.fields):
        return Invalid(f"PIN{pin} {'unblocking' if unblock else 'change'} is dialled as {form}")
    old, new, again = p.fields
    if unblock:
        if not (_digits(old) and len(old) == 8):
            return Invalid(f"the PUK{'2' if pin == 2 else ''} must be 8 digits")
    elif not (_digits(old) and 4 <= len(old) <= 8):
        return Invalid(f"the {first}{pin} must be 4-8 digits")
    if not (_digits(new) and 4 <= len(new) <= 8):
        return Invalid(f"the new PIN{pin} must be 4-8 digits")
    if new != again:
        return Invalid(f"the two entries of the new PIN{pin} differ")
    return PinProcedure(pin=pin, unblock=unblock, code=Secret(old), new_pin=Secret(new))


def _password(p: _Parsed) -> PasswordRegistration | Invalid:
    form = "**03*330*OLD*NEW*NEW# (or **03**OLD*NEW*NEW# for all barring services)"
    if not p.closed or p.trailer or len(p.fields) != 4 or not all(p.fields[1:]):
        return Invalid(f"a new barring password is registered with {form}")
    zz, old, new, again = p.fields
    service = None
    if zz:
        service = SS_SERVICES.get(zz)
        if service is None or service.group != BARRING:
            return Invalid(f"{zz!r} is not a call barring service code (330, 333, 353, 33 ...)")
    for pw in (old, new):
        if not (_digits(pw) and len(pw) == 4):
            return Invalid("a call barring password must be 4 digits")
    if new != again:
        return Invalid("the two entries of the new barring password differ")
    return PasswordRegistration(service=service, old=Secret(old), new=Secret(new))
