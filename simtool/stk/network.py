"""The network as the handset simulator sees it, and a virtual operator network behind it.

:class:`Network` is the seam: ``send_ussd`` / ``send_ss`` take the dialled string and return
the network's reply text, or raise :class:`UssdError` / :class:`SsError` carrying the error
code of TS 24.080 §4.5 (the MAP error values of TS 29.002 §17.6, :class:`MapError`).

:class:`VirtualNetwork` answers as the operator would, from the operator's service data
(:mod:`simtool.stk.services`) and one subscriber's :class:`SubscriberState`, with an injected
clock: own number, balance and validity of funds, Internet on/off, the recommended network
abroad (Milo, seed 000); call forwarding with the register / erase / activate / deactivate /
interrogate semantics of TS 24.080 (TS 23.082); wake-up calls, do-not-disturb and speed dial
(City-Sat, seed 002); and the customer-panel API for HaloNet's minute packages (seed 001).
Replies are Polish, as the operators send them.  No real time and no I/O.
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import datetime, timedelta
from enum import IntEnum
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

from simtool.errors import DataError, SimtoolError
from simtool.stk.billing import (Increment, billed_seconds, call_cost, classify_number,
                                 rate_for)
from simtool.stk.mmi import (BASIC_SERVICES, FORWARDING, Invalid, OperatorService, SS_SERVICES,
                             SupplementaryService, Procedure, explain)
from simtool.stk.services import ACTIONS, OperatorServices, load_operator
# the subscriber's state lives in its own module; re-exported here, where callers import it
from simtool.stk.subscriber import (CallbackRequest, CallRecord, ForwardingEntry,  # noqa: F401
                                    MinutePackage, PackageEvent, RepeatWakeUp, SubscriberState,
                                    TopUp)


@runtime_checkable
class Network(Protocol):
    def send_ussd(self, ussd: str) -> str:
        """Send a USSD string; the network's reply text."""

    def send_ss(self, ss: str) -> str:
        """Send a supplementary service string such as ``*21*600123456#``; the result text."""


class MapError(IntEnum):
    """Error codes a network returns for SS and USSD operations (TS 24.080 §4.5, values of
    TS 29.002 §17.6)."""

    CALL_BARRED = 13
    ILLEGAL_SS_OPERATION = 16
    SS_ERROR_STATUS = 17
    SS_NOT_AVAILABLE = 18
    SS_SUBSCRIPTION_VIOLATION = 19
    SS_INCOMPATIBILITY = 20
    FACILITY_NOT_SUPPORTED = 21
    SYSTEM_FAILURE = 34
    DATA_MISSING = 35
    UNEXPECTED_DATA_VALUE = 36
    NEGATIVE_PW_CHECK = 38
    UNKNOWN_ALPHABET = 71
    USSD_BUSY = 72


class NetworkError(SimtoolError):
    """The network could not carry the request; ``cause`` is a TS 24.008 §10.5.4.11 cause."""

    def __init__(self, cause: int, message: str) -> None:
        self.cause = cause
        super().__init__(f"network cause {cause}: {message}")


class UssdError(SimtoolError):
    """The network answered a USSD request with an error (``code``: :class:`MapError`)."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.text = message
        super().__init__(f"USSD error {code}: {message}")


class SsError(SimtoolError):
    """The network answered an SS request with an error (``code``: :class:`MapError`)."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.text = message
        super().__init__(f"SS error {code}: {message}")


class PanelRefusal(SimtoolError):
    """The operator's customer panel refused a request (top-up amount, package purchase)."""


# --- helpers -------------------------------------------------------------------------------


def package_period_end(start: datetime) -> datetime:
    """End of a HaloNet package period (seed 001): the same day and hour next month, or the
    1st of the month after when next month has no such day (30.01.2014 14:10 → 01.03.2014)."""
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    if start.day <= calendar.monthrange(year, month)[1]:
        return start.replace(year=year, month=month)
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return start.replace(year=year, month=month, day=1)


def format_money(grosze: int) -> str:
    sign = "-" if grosze < 0 else ""
    return f"{sign}{abs(grosze) // 100},{abs(grosze) % 100:02d} zł"


def format_datetime(dt: datetime) -> str:
    return f"{dt:%d.%m.%Y}, godz. {dt:%H:%M}"


_DAYS_PL = ("poniedziałki", "wtorki", "środy", "czwartki", "piątki", "soboty", "niedziele")


def _invalid_pl(code: str, c: Invalid) -> str:
    """The subscriber's Polish text for a refused code (the English reason is for
    ``simtool mmi explain``)."""
    if c.reason_pl:
        return f"Niepoprawny kod {code.strip()}: {c.reason_pl}."
    return f"Niepoprawny kod {code.strip()}: sprawdź jego zapis."


def _label(code: str) -> str:
    name = SS_SERVICES[code].name_pl
    return name[0].upper() + name[1:]


# --- the virtual network -----------------------------------------------------------------


class VirtualNetwork:
    """An operator's network for one subscriber, driven by its service data (sans-I/O)."""

    def __init__(self, services: OperatorServices, subscriber: SubscriberState,
                 clock: Callable[[], datetime]) -> None:
        self.services = services
        self.subscriber = subscriber
        self.clock = clock
        self.events: list[PackageEvent] = []
        self.callbacks: list[CallbackRequest] = []

    @classmethod
    def for_operator(cls, name: str, subscriber: SubscriberState,
                     clock: Callable[[], datetime], root: Path | None = None) -> "VirtualNetwork":
        return cls(load_operator(name, root), subscriber, clock)

    # -- Network ---------------------------------------------------------------------------

    def send_ussd(self, ussd: str) -> str:
        self.advance()
        c = explain(ussd, self.services)
        if isinstance(c, OperatorService) and c.kind in ("ussd", "feature") and c.action:
            return self._act(c)
        bad = MapError.UNEXPECTED_DATA_VALUE
        if isinstance(c, Invalid):
            raise UssdError(bad, _invalid_pl(ussd, c))
        if isinstance(c, OperatorService) and c.kind == "call":
            raise UssdError(bad, f"{ussd} to numer do wybrania (połączenie), nie kod USSD.")
        if isinstance(c, SupplementaryService):
            raise UssdError(bad, f"{ussd} to kod usługi dodatkowej; wyślij go jako SS.")
        raise UssdError(bad, f"Nieznany kod: {ussd}")

    def send_ss(self, ss: str) -> str:
        self.advance()
        c = explain(ss, self.services)
        if isinstance(c, SupplementaryService):
            if c.service.group == FORWARDING:
                return self._forwarding(c)
            raise SsError(MapError.SS_NOT_AVAILABLE,
                          f"{_label(c.service.code)}: usługa niedostępna w sieci "
                          f"{self.services.name}.")
        if isinstance(c, OperatorService) and c.kind == "feature" and c.action:
            return self._act(c)
        if isinstance(c, Invalid):
            raise SsError(MapError.UNEXPECTED_DATA_VALUE, _invalid_pl(ss, c))
        raise SsError(MapError.ILLEGAL_SS_OPERATION,
                      "To nie jest kod usługi dodatkowej obsługiwany przez sieć.")

    # -- time --------------------------------------------------------------------------------

    def advance(self) -> tuple[PackageEvent, ...]:
        """Apply what the clock says has happened: funds past their validity are lost
        (Milo, seed 000), packages expire or renew (HaloNet, seed 001).  Returns the package
        events since the last call (they are also kept in :attr:`events`)."""
        now = self.clock()
        st = self.subscriber
        end = self.validity_end()
        if end is not None and now >= end and st.balance > 0:
            st.balance = 0
        new: list[PackageEvent] = []
        while st.package is not None and now >= st.package.end:
            old = st.package
            if st.auto_renew and st.balance >= old.price:
                st.balance -= old.price
                st.package = MinutePackage(old.minutes, old.price, old.end,
                                           package_period_end(old.end), old.minutes)
                new.append(PackageEvent("renewed", st.package, old.end))
            else:
                st.package = None
                new.append(PackageEvent("expired", old, old.end))
        self.events.extend(new)
        return tuple(new)

    # -- customer panel --------------------------------------------------------------------

    def validity_end(self) -> datetime | None:
        """When the funds stop being usable: ``validity_days`` after the last top-up."""
        rule = self.services.topup
        if rule is None or rule.validity_days is None or not self.subscriber.top_ups:
            return None
        last = max(t.at for t in self.subscriber.top_ups)
        return last + timedelta(days=rule.validity_days)

    def top_up(self, amount: int) -> int:
        """Top the account up by ``amount`` grosze; returns the new balance."""
        self.advance()
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise PanelRefusal(f"Niepoprawna kwota doładowania: {amount!r}.")
        rule = self.services.topup
        if rule is not None and amount not in rule.amounts:
            offered = ", ".join(str(a // 100) for a in rule.amounts)
            raise PanelRefusal(f"Doładowanie {format_money(amount)} jest niedostępne; "
                               f"nominały: {offered} zł.")
        self.subscriber.top_ups.append(TopUp(self.clock(), amount))
        self.subscriber.balance += amount
        return self.subscriber.balance

    def buy_package(self, minutes: int) -> MinutePackage:
        """Buy a minute package (panel: "Kup pakiet minut"); it starts now."""
        self.advance()
        offer = self.services.package(minutes)
        if offer is None:
            offered = ", ".join(str(p.minutes) for p in self.services.packages) or "brak"
            raise PanelRefusal(f"Brak pakietu {minutes} minut w ofercie "
                               f"{self.services.name} (dostępne: {offered}).")
        st = self.subscriber
        if st.package is not None:
            raise PanelRefusal(f"Na koncie jest już aktywny pakiet {st.package.minutes} minut "
                               f"(do {format_datetime(st.package.end)}); kolejny pakiet można "
                               "kupić po jego wygaśnięciu.")
        if st.balance < offer.price:
            raise PanelRefusal(f"Za mało środków: pakiet {offer.minutes} minut kosztuje "
                               f"{format_money(offer.price)}, na koncie "
                               f"{format_money(st.balance)}.")
        now = self.clock()
        st.balance -= offer.price
        st.package = MinutePackage(offer.minutes, offer.price, now, package_period_end(now),
                                   offer.minutes)
        return st.package

    def set_auto_renew(self, on: bool) -> None:
        """"Przedłużenie automatyczne": renew the package on expiry when funds allow."""
        if not self.services.packages:
            raise PanelRefusal(f"{self.services.name} nie oferuje pakietów minut.")
        self.advance()
        self.subscriber.auto_renew = bool(on)

    def use_minutes(self, minutes: int) -> int:
        """Count ``minutes`` of calls against the active package; the minutes left."""
        self.advance()
        st = self.subscriber
        if st.package is None:
            raise PanelRefusal("Brak aktywnego pakietu minut.")
        if minutes < 0:
            raise PanelRefusal("Liczba minut nie może być ujemna.")
        st.package = replace(st.package, minutes_left=max(0, st.package.minutes_left - minutes))
        return st.package.minutes_left

    def package_status(self) -> MinutePackage | None:
        self.advance()
        return self.subscriber.package

    # -- calls and billing (seed 000 "Taktowanie", seed 001 packages) ---------------------

    def call(self, number: str, seconds: int, *, direction: str = "out") -> CallRecord:
        """A call of ``seconds`` made to (``out``) or received from (``in``) ``number``
        (international), charged to the account; the :class:`CallRecord`.

        A made call to a number the minute package covers (seed 001) uses whole minutes of
        the package while it has enough; otherwise the call is billed: the destination's price
        per minute (``[[billing.rate]]``) for made calls, the zone's price for received ones,
        with the zone's increments (30/1 EU made, 1/1 EU received, 60/60 elsewhere); the zone
        is where the subscriber is (:attr:`SubscriberState.country`)."""
        self.advance()
        st = self.subscriber
        if direction not in ("out", "in"):
            raise DataError(f"direction must be 'out' or 'in', not {direction!r}")
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 0:
            raise PanelRefusal(f"Niepoprawny czas połączenia: {seconds!r} s.")
        dest = classify_number(number)
        now = self.clock()
        covered = self.services.package_destinations
        if direction == "out" and st.package is not None and covered is not None:
            ok, _ = covered.covers(dest.number)
            minutes = -(-seconds // 60)
            if ok and minutes <= st.package.minutes_left:
                st.package = replace(st.package, minutes_left=st.package.minutes_left - minutes)
                record = CallRecord(now, direction, dest.number, seconds, minutes * 60,
                                    "package", 0, 0, "package")
                st.calls.append(record)
                return record
        billing = self.services.billing
        if billing is None:
            raise PanelRefusal(f"{self.services.name}: brak cennika połączeń poza pakietem.")
        zone = billing.zone(st.country)
        if direction == "out":
            rate = rate_for(billing.rates, dest.number)
            if rate is None:
                raise PanelRefusal(f"Brak cennika połączeń z numerem +{dest.number}.")
            price = rate.price
        else:
            price = dict(billing.incoming_price)[zone]
        inc: Increment = billing.increment(direction, st.country)
        billed = billed_seconds(seconds, inc)
        cost = call_cost(billed, price)
        if cost > st.balance:
            raise PanelRefusal(f"Za mało środków: połączenie kosztuje {format_money(cost)}, "
                               f"na koncie {format_money(st.balance)}.")
        st.balance -= cost
        record = CallRecord(now, direction, dest.number, seconds, billed, str(inc), price,
                            cost, zone)
        st.calls.append(record)
        return record

    def callback_request(self, number: str) -> CallbackRequest:
        """A call-back request (seed 000, WYKONYWANIE POŁĄCZEŃ): the number must carry its
        international code; the answer confirms the request and gives the price of one
        minute.  The call-back itself is :meth:`call` once the callee answers."""
        self.advance()
        st = self.subscriber
        if not (number.startswith("+") or number.startswith("00")):
            raise UssdError(MapError.UNEXPECTED_DATA_VALUE,
                            f"Wybierz numer z międzynarodowym kodem kraju, np. +48531234567 "
                            f"(wybrano {number}).")
        billing = self.services.billing
        digits = "+" + number.lstrip("+")[2:] if number.startswith("00") else number
        rate = None if billing is None else rate_for(billing.rates, digits)
        if rate is None:
            raise UssdError(MapError.UNEXPECTED_DATA_VALUE,
                            f"Brak połączeń z numerem {digits} w cenniku.")
        end = self.validity_end()
        if st.balance <= 0 or (end is not None and self.clock() >= end):
            raise UssdError(MapError.CALL_BARRED,
                            "Brak ważnych środków na koncie: doładuj konto, aby dzwonić.")
        text = (f"Zgłoszenie przyjęte: połączenie z {digits} ({rate.name}). Koszt połączenia "
                f"za 1 minutę: {format_money(rate.price)}. Rozłącz się i poczekaj, "
                "system oddzwoni.")
        request = CallbackRequest(digits.lstrip("+"), rate.price, rate.name, text)
        self.callbacks.append(request)
        return request

    def take_callback(self) -> CallbackRequest | None:
        """The oldest call-back the network still owes (it rings the subscriber), or None."""
        return self.callbacks.pop(0) if self.callbacks else None

    def _do_callback(self, c: OperatorService) -> str:
        return self.callback_request(c.value("number")).text

    # -- call forwarding (TS 24.080 operations, TS 23.082 semantics) ---------------------

    def _forwarding(self, ss: SupplementaryService) -> str:
        st = self.subscriber
        svc = ss.service
        targets = svc.members or (svc.code,)
        bs = ss.basic_service.code if ss.basic_service else None
        bs_text = f" ({ss.basic_service.name_pl})" if ss.basic_service else ""
        label = _label(svc.code) + bs_text

        def entries(code: str) -> list[ForwardingEntry]:
            return [e for (c, b), e in sorted(st.forwarding.items(), key=lambda kv: str(kv[0]))
                    if c == code and (bs is None or b == bs)]

        if ss.procedure is Procedure.REGISTRATION:
            # a registration also activates the forwarding (TS 22.082: "register and activate")
            for code in targets:
                timer = (ss.timer or self.services.no_reply_timer) if code == "61" else None
                st.forwarding[(code, bs)] = ForwardingEntry(code, bs, ss.number, timer)
            timer_text = ""
            if "61" in targets and st.forwarding[("61", bs)].timer:
                timer_text = f", po {st.forwarding[('61', bs)].timer} s"
            return f"{label}: włączone na numer {ss.number}{timer_text}."
        if ss.procedure is Procedure.ERASURE:
            for code in targets:
                for e in entries(code):
                    del st.forwarding[(e.service, e.basic_service)]
            return f"{label}: usunięte."
        if ss.procedure is Procedure.ACTIVATION:
            found = [e for code in targets for e in entries(code)]
            if not found:
                raise SsError(MapError.SS_ERROR_STATUS,
                              f"{label}: brak zarejestrowanego numeru; zarejestruj go kodem "
                              f"**{svc.code}*numer#.")
            for e in found:
                st.forwarding[(e.service, e.basic_service)] = replace(e, active=True)
            return f"{label}: włączone."
        if ss.procedure is Procedure.DEACTIVATION:
            for code in targets:
                for e in entries(code):
                    st.forwarding[(e.service, e.basic_service)] = replace(e, active=False)
            return f"{label}: wyłączone."
        lines = []
        for code in targets:
            found = entries(code)
            if not found:
                lines.append(f"{_label(code)}{bs_text}: nieaktywne.")
            for e in found:
                state = "włączone" if e.active else "wyłączone"
                where = (f" ({BASIC_SERVICES[e.basic_service].name_pl})" if e.basic_service
                         else "")
                timer = f", po {e.timer} s" if e.timer else ""
                lines.append(f"{_label(code)}{where}: {state}, numer {e.number}{timer}.")
        return "\n".join(lines)

    # -- operator codes --------------------------------------------------------------------

    def _act(self, c: OperatorService) -> str:
        handler = getattr(self, f"_do_{c.action}")
        return handler(c)

    def _do_own_number(self, c: OperatorService) -> str:
        if not self.subscriber.msisdn:
            return "Numer nie został jeszcze przydzielony do karty."
        return f"Twój numer telefonu: +{self.subscriber.msisdn.lstrip('+')}."

    def _do_internet_status(self, c: OperatorService) -> str:
        return "Usługa Internet jest " + ("włączona." if self.subscriber.internet
                                          else "wyłączona.")

    def _do_internet_on(self, c: OperatorService) -> str:
        if self.subscriber.internet:
            return "Usługa Internet jest już włączona."
        self.subscriber.internet = True
        return "Usługa Internet została włączona."

    def _do_internet_off(self, c: OperatorService) -> str:
        if not self.subscriber.internet:
            return "Usługa Internet jest już wyłączona."
        self.subscriber.internet = False
        return "Usługa Internet została wyłączona."

    def _do_balance(self, c: OperatorService) -> str:
        text = f"Stan konta: {format_money(self.subscriber.balance)}."
        end = self.validity_end()
        if end is not None and self.clock() >= end:
            text += f" Środki wygasły {format_datetime(end)}."
        return text

    def _do_validity(self, c: OperatorService) -> str:
        end = self.validity_end()
        if end is None:
            return "Brak doładowań: konto nie ma ważnych środków."
        if self.clock() >= end:
            return f"Ważność środków upłynęła {format_datetime(end)}."
        return f"Środki na koncie są ważne do {format_datetime(end)}."

    def _do_recommended_operator(self, c: OperatorService) -> str:
        country = self.subscriber.country.upper()
        name = self.services.recommended_operator(country)
        if name is None:
            return f"Brak zalecanego operatora dla kraju {country}."
        return f"Zalecany operator w kraju {country}: {name}."

    def _do_customer_care(self, c: OperatorService) -> str:
        s = self.services
        details = []
        if s.customer_care:
            hours = f" ({s.customer_care_hours})" if s.customer_care_hours else ""
            details.append(f"infolinia {s.customer_care}{hours}")
        if s.email:
            details.append(f"e-mail {s.email}")
        return f"Biuro Obsługi Klienta {s.name}" + (": " + ", ".join(details) if details
                                                    else "") + "."

    def _do_wakeup_once_set(self, c: OperatorService) -> str:
        self.subscriber.wakeup_once = c.value("time")
        return f"Budzenie jednokrotne ustawione na {c.value('time'):%H:%M}."

    def _do_wakeup_once_clear(self, c: OperatorService) -> str:
        self.subscriber.wakeup_once = None
        return "Budzenie jednokrotne usunięte."

    def _do_wakeup_once_status(self, c: OperatorService) -> str:
        at = self.subscriber.wakeup_once
        return ("Budzenie jednokrotne nie jest ustawione." if at is None
                else f"Budzenie jednokrotne: {at:%H:%M}.")

    def _do_wakeup_repeat_set(self, c: OperatorService) -> str:
        wake = RepeatWakeUp(c.value("time"), c.value("days") or ())
        self.subscriber.wakeup_repeat = wake
        return f"Budzenie wielokrotne ustawione na {self._repeat_text(wake)}."

    def _do_wakeup_repeat_clear(self, c: OperatorService) -> str:
        self.subscriber.wakeup_repeat = None
        return "Budzenie wielokrotne usunięte."

    def _do_wakeup_repeat_status(self, c: OperatorService) -> str:
        wake = self.subscriber.wakeup_repeat
        return ("Budzenie wielokrotne nie jest ustawione." if wake is None
                else f"Budzenie wielokrotne: {self._repeat_text(wake)}.")

    @staticmethod
    def _repeat_text(wake: RepeatWakeUp) -> str:
        days = ", ".join(_DAYS_PL[d - 1] for d in wake.days) if wake.days else "codziennie"
        return f"{wake.at:%H:%M} ({days})"

    def _do_dnd_on(self, c: OperatorService) -> str:
        self.subscriber.dnd = True
        return "Usługa „Proszę nie przeszkadzać” włączona."

    def _do_dnd_off(self, c: OperatorService) -> str:
        self.subscriber.dnd = False
        return "Usługa „Proszę nie przeszkadzać” wyłączona."

    def _do_dnd_status(self, c: OperatorService) -> str:
        return "Usługa „Proszę nie przeszkadzać” jest " + (
            "włączona." if self.subscriber.dnd else "wyłączona.")

    def _do_dnd_message(self, c: OperatorService) -> str:
        return ("Komunikat DND: odsłuchaj aktualny komunikat, nagraj własny lub przywróć "
                "domyślny komunikat systemowy.")

    def _do_speed_dial_set(self, c: OperatorService) -> str:
        slot, number = c.value("slot"), c.value("number")
        self.subscriber.speed_dial[slot] = number
        return f"Numer skrócony {slot}: zapisano {number}."

    def _do_speed_dial_status(self, c: OperatorService) -> str:
        slot = c.value("slot")
        number = self.subscriber.speed_dial.get(slot)
        return (f"Numer skrócony {slot} nie jest ustawiony." if number is None
                else f"Numer skrócony {slot}: {number}.")

    def _do_speed_dial_clear(self, c: OperatorService) -> str:
        slot = c.value("slot")
        self.subscriber.speed_dial.pop(slot, None)
        return f"Numer skrócony {slot}: usunięty."


#: Every action of the service data has a handler (checked by the tests).
HANDLED_ACTIONS = frozenset(a for a in ACTIONS if hasattr(VirtualNetwork, f"_do_{a}"))
