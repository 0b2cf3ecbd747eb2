"""What the operator knows about one subscriber: :class:`SubscriberState` and its parts (top-ups,
forwardings, wake-ups, a minute package, calls), plain mutable data the virtual network
(:mod:`simtool.stk.network`) updates and the state file (:mod:`simtool.stk.state`) keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time


@dataclass(frozen=True)
class TopUp:
    at: datetime
    amount: int                      # grosze


@dataclass(frozen=True)
class ForwardingEntry:
    """One registered elementary call forwarding (TS 23.082): 21, 67, 61 or 62."""

    service: str
    basic_service: str | None        # Annex C code, None = all basic services
    number: str
    timer: int | None = None         # CFNRy no-reply condition timer, seconds
    active: bool = True


@dataclass(frozen=True)
class RepeatWakeUp:
    at: time
    days: tuple[int, ...] = ()       # 1 = Monday ... 7 = Sunday; () = every day


@dataclass(frozen=True)
class MinutePackage:
    minutes: int
    price: int                       # grosze
    start: datetime
    end: datetime
    minutes_left: int


@dataclass(frozen=True)
class PackageEvent:
    kind: str                        # "renewed" | "expired"
    package: MinutePackage
    at: datetime


@dataclass(frozen=True)
class CallRecord:
    """One call on the account: made (``out``) or received (``in``), billed by the rules of
    the operator's ``[billing]`` (seed 000) or counted against a minute package (seed 001)."""

    at: datetime
    direction: str                   # "out" | "in"
    number: str                      # the other party, E.164 digits
    seconds: int                     # how long it lasted
    billed_seconds: int              # after the increments (or whole minutes of a package)
    increment: str                   # "30/1", "60/60", "package"
    price: int                       # grosze per minute applied (0: package)
    cost: int                        # grosze taken from the balance
    zone: str                        # "eu" | "world" (where the subscriber was)

    def to_json(self) -> dict:
        return {"at": self.at.isoformat(timespec="seconds"), "direction": self.direction,
                "number": self.number, "seconds": self.seconds,
                "billed_seconds": self.billed_seconds, "increment": self.increment,
                "price": self.price, "cost": self.cost, "zone": self.zone}

    @classmethod
    def from_json(cls, data, r, path: str) -> "CallRecord":
        return cls(r.when(data, "at", path), r.get(data, "direction", str, path),
                   r.get(data, "number", str, path), r.get(data, "seconds", int, path),
                   r.get(data, "billed_seconds", int, path), r.get(data, "increment", str, path),
                   r.get(data, "price", int, path), r.get(data, "cost", int, path),
                   r.get(data, "zone", str, path))


@dataclass(frozen=True)
class CallbackRequest:
    """The network's answer to a call-back request (seed 000, WYKONYWANIE POŁĄCZEŃ)."""

    number: str                      # the callee, E.164 digits
    price: int                       # grosze per minute
    destination: str                 # the price table's name of the destination
    text: str                        # the confirmation the screen shows


@dataclass
class SubscriberState:
    """What the operator knows about one subscriber (account); the virtual network updates it."""

    msisdn: str = ""                 # international digits, e.g. "48531234567"
    balance: int = 0                 # grosze
    top_ups: list[TopUp] = field(default_factory=list)
    internet: bool = False
    country: str = "PL"              # ISO 3166 alpha-2 of the network the phone is in
    forwarding: dict[tuple[str, str | None], ForwardingEntry] = field(default_factory=dict)
    wakeup_once: time | None = None
    wakeup_repeat: RepeatWakeUp | None = None
    dnd: bool = False
    speed_dial: dict[str, str] = field(default_factory=dict)
    package: MinutePackage | None = None
    auto_renew: bool = False
    # the customer-panel profile this account is one of (seed 001: "Na danym profilu HaloNet
    # może być aktywnych kilka Pakietów …, ale na danym koncie … tylko jeden")
    panel_profile: str | None = None
    calls: list[CallRecord] = field(default_factory=list)
