"""The virtual network's records: one subscriber per card (as an HLR keeps them) and the
network's clock, kept in one JSON file so that separate ``simtool`` runs see the same account.

:class:`NetworkClock` is the only time source the virtual network reads: real time shifted by
an offset, or a fixed instant that only :meth:`NetworkClock.set` / :meth:`NetworkClock.advance`
move (tests and ``simtool network set-clock`` / ``advance``).

:class:`NetworkRecords` holds the subscribers, each found by ICCID or IMSI; the MSISDN is the
network's own (registered when the record is created, or allotted from the operator's number
pool, as seed 000 says: "do karty automatycznie zostanie przydzielony numer telefonu").
:func:`load_records` / :func:`save_records` read and write the file; the write goes to a
temporary file in the same folder and is renamed over the old one, so a crash never leaves half
a file.  Where the file lives by default: :func:`default_state_path`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any, Callable

from simtool.errors import DataError

FORMAT = 1
#: Environment variable naming the state file (the CLI's --state wins over it).
STATE_ENV = "SIMTOOL_NETWORK_STATE"


def default_state_path(env: dict[str, str] | None = None) -> Path:
    """``$SIMTOOL_NETWORK_STATE``, else ``$XDG_DATA_HOME/simtool/network.json`` (XDG Base
    Directory spec: ``~/.local/share`` when XDG_DATA_HOME is unset or not absolute)."""
    env = os.environ if env is None else env
    if env.get(STATE_ENV):
        return Path(env[STATE_ENV])
    base = env.get("XDG_DATA_HOME", "")
    if not base or not os.path.isabs(base):
        base = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "share")
    return Path(base) / "simtool" / "network.json"


# --- the clock -------------------------------------------------------------------------------


@dataclass
class NetworkClock:
    """The network's time: ``fixed`` when set, else ``real()`` + ``offset``."""

    fixed: datetime | None = None
    offset: timedelta = timedelta(0)
    real: Callable[[], datetime] = field(default=datetime.now, repr=False, compare=False)

    def __call__(self) -> datetime:
        return self.fixed if self.fixed is not None else self.real() + self.offset

    def set(self, when: datetime) -> None:
        """Stop the clock at ``when`` (it moves only by :meth:`advance` from now on)."""
        self.fixed, self.offset = _naive(when), timedelta(0)

    def advance(self, delta: timedelta) -> None:
        if self.fixed is not None:
            self.fixed += delta
        else:
            self.offset += delta

    def reset(self) -> None:
        """Back to real time."""
        self.fixed, self.offset = None, timedelta(0)

    @property
    def description(self) -> str:
        if self.fixed is not None:
            return f"fixed at {self.fixed.isoformat(timespec='seconds')}"
        if self.offset:
            return f"real time {'+' if self.offset >= timedelta(0) else '-'} {abs(self.offset)}"
        return "real time"

    def to_json(self) -> dict[str, Any]:
        return {"fixed": None if self.fixed is None else self.fixed.isoformat(),
                "offset_seconds": int(self.offset.total_seconds())}


def _naive(when: datetime) -> datetime:
    # the network's clock is local wall time, as the operators' documents state times
    return when.astimezone().replace(tzinfo=None) if when.tzinfo else when


def parse_duration(text: str) -> timedelta:
    """``181d``, ``12h``, ``30m``, ``45s``, or a sum such as ``1d12h`` (sign: ``-1d``)."""
    import re

    s = text.strip().lower()
    sign = -1 if s.startswith("-") else 1
    s = s.lstrip("+-")
    parts = re.findall(r"(\d+)\s*([dhms])", s)
    if not s or "".join(n + u for n, u in parts) != s.replace(" ", ""):
        raise DataError(f"{text!r} is not a duration: use e.g. 181d, 12h, 30m, 45s or 1d12h")
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return timedelta(seconds=sign * sum(int(n) * units[u] for n, u in parts))


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time (``2026-01-15``, ``2026-01-15T10:00``)."""
    try:
        return _naive(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise DataError(f"{text!r} is not a date-time: use ISO 8601, "
                        "e.g. 2026-01-15T10:00") from None


# --- records -----------------------------------------------------------------------------------


@dataclass
class SubscriberRecord:
    """One card as the network knows it: identities, operator and account state."""

    operator: str
    state: Any                                 # simtool.stk.network.SubscriberState
    iccid: str | None = None
    imsi: str | None = None

    @property
    def key(self) -> str:
        return f"iccid:{self.iccid}" if self.iccid else f"imsi:{self.imsi}"

    def matches(self, iccid: str | None, imsi: str | None) -> bool:
        return bool((iccid and self.iccid == iccid) or (imsi and self.imsi == imsi))


@dataclass
class NetworkRecords:
    """Everything the state file holds."""

    clock: NetworkClock = field(default_factory=NetworkClock)
    subscribers: list[SubscriberRecord] = field(default_factory=list)

    def find(self, *, iccid: str | None = None, imsi: str | None = None
             ) -> SubscriberRecord | None:
        if not iccid and not imsi:
            raise DataError("a subscriber is found by ICCID or IMSI; neither was given")
        return next((r for r in self.subscribers if r.matches(iccid, imsi)), None)

    def numbers_in_use(self) -> set[str]:
        return {r.state.msisdn for r in self.subscribers if r.state.msisdn}

    def by_msisdn(self, msisdn: str) -> SubscriberRecord | None:
        digits = msisdn.lstrip("+")
        return next((r for r in self.subscribers if r.state.msisdn == digits), None)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "clock": self.clock.to_json(),
                "subscribers": [record_to_json(r) for r in self.subscribers]}


def record_to_json(r: SubscriberRecord) -> dict[str, Any]:
    return {"iccid": r.iccid, "imsi": r.imsi, "operator": r.operator,
            **state_to_json(r.state)}


# --- SubscriberState <-> JSON ---------------------------------------------------------------


def _dt(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def state_to_json(s: Any) -> dict[str, Any]:
    """A :class:`~simtool.stk.network.SubscriberState` as plain JSON values (grosze as ints)."""
    pkg = s.package
    return {
        "msisdn": s.msisdn,
        "balance": s.balance,
        "top_ups": [{"at": _dt(t.at), "amount": t.amount} for t in s.top_ups],
        "internet": s.internet,
        "country": s.country,
        "forwarding": [{"service": e.service, "basic_service": e.basic_service,
                        "number": e.number, "timer": e.timer, "active": e.active}
                       for _, e in sorted(s.forwarding.items(), key=lambda kv: str(kv[0]))],
        "wakeup_once": None if s.wakeup_once is None else f"{s.wakeup_once:%H:%M}",
        "wakeup_repeat": None if s.wakeup_repeat is None else {
            "at": f"{s.wakeup_repeat.at:%H:%M}", "days": list(s.wakeup_repeat.days)},
        "dnd": s.dnd,
        "speed_dial": dict(sorted(s.speed_dial.items())),
        "package": None if pkg is None else {
            "minutes": pkg.minutes, "price": pkg.price, "start": _dt(pkg.start),
            "end": _dt(pkg.end), "minutes_left": pkg.minutes_left},
        "auto_renew": s.auto_renew,
        "panel_profile": s.panel_profile,
        "calls": [c.to_json() for c in s.calls],
    }


class _In:
    """Reads one JSON object; errors name the file and the key."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, message: str) -> DataError:
        return DataError(message, where=f"{self.where}, {key}")

    def get(self, data: dict, key: str, kind: type | tuple[type, ...], path: str,
            default: Any = ...) -> Any:
        if key not in data or data[key] is None:
            if default is not ...:
                return default
            raise self.fail(f"{path}{key}", "missing")
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.fail(f"{path}{key}", f"must be {getattr(kind, '__name__', kind)}, "
                            f"not {type(value).__name__}")
        return value

    def when(self, data: dict, key: str, path: str) -> datetime:
        try:
            return datetime.fromisoformat(self.get(data, key, str, path))
        except ValueError:
            raise self.fail(f"{path}{key}", "not an ISO 8601 date-time") from None

    def clock_time(self, value: Any, path: str) -> time:
        try:
            return time.fromisoformat(value)
        except (TypeError, ValueError):
            raise self.fail(path, "not a time HH:MM") from None


def state_from_json(data: dict, where: str = "<state>", path: str = "") -> Any:
    from simtool.stk.network import (CallRecord, ForwardingEntry, MinutePackage,
                                      RepeatWakeUp, SubscriberState, TopUp)

    r = _In(where)
    if not isinstance(data, dict):
        raise r.fail(path or "(top level)", "must be an object")
    top_ups = [TopUp(r.when(t, "at", f"{path}top_ups[{i}]."),
                     r.get(t, "amount", int, f"{path}top_ups[{i}]."))
               for i, t in enumerate(r.get(data, "top_ups", list, path, []))]
    forwarding = {}
    for i, e in enumerate(r.get(data, "forwarding", list, path, [])):
        p = f"{path}forwarding[{i}]."
        entry = ForwardingEntry(r.get(e, "service", str, p), r.get(e, "basic_service", str, p,
                                                                   None),
                                r.get(e, "number", str, p), r.get(e, "timer", int, p, None),
                                r.get(e, "active", bool, p, True))
        forwarding[(entry.service, entry.basic_service)] = entry
    once = data.get("wakeup_once")
    repeat = data.get("wakeup_repeat")
    pkg = data.get("package")
    package = None
    if pkg is not None:
        p = f"{path}package."
        package = MinutePackage(r.get(pkg, "minutes", int, p), r.get(pkg, "price", int, p),
                                r.when(pkg, "start", p), r.when(pkg, "end", p),
                                r.get(pkg, "minutes_left", int, p))
    return SubscriberState(
        msisdn=r.get(data, "msisdn", str, path, ""),
        balance=r.get(data, "balance", int, path, 0),
        top_ups=top_ups,
        internet=r.get(data, "internet", bool, path, False),
        country=r.get(data, "country", str, path, "PL"),
        forwarding=forwarding,
        wakeup_once=None if once is None else r.clock_time(once, f"{path}wakeup_once"),
        wakeup_repeat=None if repeat is None else RepeatWakeUp(
            r.clock_time(repeat.get("at") if isinstance(repeat, dict) else None,
                         f"{path}wakeup_repeat.at"),
            tuple(r.get(repeat, "days", list, f"{path}wakeup_repeat.", []))),
        dnd=r.get(data, "dnd", bool, path, False),
        speed_dial=dict(r.get(data, "speed_dial", dict, path, {})),
        package=package,
        auto_renew=r.get(data, "auto_renew", bool, path, False),
        panel_profile=r.get(data, "panel_profile", str, path, None),
        calls=[CallRecord.from_json(c, r, f"{path}calls[{i}].")
               for i, c in enumerate(r.get(data, "calls", list, path, []))],
    )


def records_from_json(data: Any, where: str = "<state>") -> NetworkRecords:
    r = _In(where)
    if not isinstance(data, dict):
        raise r.fail("(top level)", "must be a JSON object")
    fmt = data.get("format")
    if fmt != FORMAT:
        raise r.fail("format", f"unsupported state format {fmt!r} (this simtool reads {FORMAT})")
    c = r.get(data, "clock", dict, "", {})
    fixed = c.get("fixed")
    clock = NetworkClock(
        fixed=None if fixed is None else r.when(c, "fixed", "clock."),
        offset=timedelta(seconds=r.get(c, "offset_seconds", int, "clock.", 0)))
    subs = []
    for i, item in enumerate(r.get(data, "subscribers", list, "", [])):
        p = f"subscribers[{i}]."
        if not isinstance(item, dict):
            raise r.fail(p.rstrip("."), "must be an object")
        rec = SubscriberRecord(operator=r.get(item, "operator", str, p),
                               state=state_from_json(item, where, p),
                               iccid=r.get(item, "iccid", str, p, None),
                               imsi=r.get(item, "imsi", str, p, None))
        if not rec.iccid and not rec.imsi:
            raise r.fail(p.rstrip("."), "needs an iccid or an imsi")
        subs.append(rec)
    return NetworkRecords(clock, subs)


# --- the file --------------------------------------------------------------------------------


def load_records(path: Path, *, real: Callable[[], datetime] = datetime.now) -> NetworkRecords:
    """The records in ``path``; empty records when the file does not exist yet."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        records = NetworkRecords()
    except OSError as exc:
        raise DataError(f"cannot read the network state: {exc.strerror}", where=str(path)) \
            from None
    except UnicodeDecodeError:
        raise DataError("not UTF-8 text", where=str(path)) from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"not valid JSON: {exc.msg} (line {exc.lineno})",
                            where=str(path)) from None
        records = records_from_json(data, str(path))
    records.clock.real = real
    return records


def save_records(path: Path, records: NetworkRecords) -> None:
    """Write ``records`` atomically (simtool.provision.atomicfile: a temporary file beside
    ``path``, fsync, rename, directory fsync), 0600: it lists subscribers and numbers."""
    from simtool.provision.atomicfile import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(records.to_json(), indent=2, ensure_ascii=False) + "\n")
