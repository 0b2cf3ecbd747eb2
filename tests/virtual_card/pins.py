"""PINs, PUKs and ADM1 with their retry counters: VERIFY / CHANGE / DISABLE / ENABLE / UNBLOCK
PIN (ETSI TS 102 221 §11.1.9-§11.1.13) and the CHV commands of 3GPP TS 51.011 §9.2.9-§9.2.13.

A PIN is 4-8 ASCII digits padded with FF to 8 bytes (TS 102 221 §9.5.2); a PUK is 8 digits.
Every counter change is committed (written to the card image) before the status word is
returned, so a counter that was spent is spent even if the emulator is killed right after.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from simtool.errors import DataError
from simtool.pin import GSM_UNBLOCK_CHV_P2, GsmChv, KeyReference
from simtool.secret import Secret

from . import status as st
from .status import CardStatus

# TS 102 221 §9.5.1 Table 9.3 (UICC) and TS 51.011 §9.2.9 (GSM CHV numbers).
UICC_REFS = {KeyReference.PIN1: "PIN1", KeyReference.PIN2: "PIN2", KeyReference.ADM1: "ADM1",
             KeyReference.ADM2: "ADM2"}
GSM_REFS = {GsmChv.CHV1: "PIN1", GsmChv.CHV2: "PIN2", KeyReference.ADM1: "ADM1",
            KeyReference.ADM2: "ADM2"}
GSM_UNBLOCK_REFS = {GSM_UNBLOCK_CHV_P2[GsmChv.CHV1]: "PIN1",
                    GSM_UNBLOCK_CHV_P2[GsmChv.CHV2]: "PIN2"}


def pin_block(digits: str) -> bytes:
    return digits.encode("ascii").ljust(8, b"\xff")


def block_digits(block: bytes, min_digits: int = 4) -> str | None:
    """The digits of a PIN block, or None if it is not 4-8 digits + FF padding."""
    digits = block.rstrip(b"\xff")
    if not min_digits <= len(digits) <= 8 or not digits.isdigit():
        return None
    return digits.decode("ascii")


class Pin:
    """One PIN (or ADM key) with its counters; ``verified`` is volatile security state."""

    __slots__ = ("name", "value", "enabled", "tries", "max_tries",
                 "puk", "puk_tries", "puk_max_tries", "verified")

    def __init__(self, name: str, value: str, *, enabled: bool = True, tries: int = 3,
                 max_tries: int = 3, puk: str | None = None, puk_tries: int = 10,
                 puk_max_tries: int = 10) -> None:
        self.name = name
        self.value = Secret(pin_block(value))
        self.enabled = enabled
        self.tries, self.max_tries = tries, max_tries
        self.puk = Secret(pin_block(puk)) if puk is not None else None
        self.puk_tries, self.puk_max_tries = puk_tries, puk_max_tries
        self.verified = False

    def __repr__(self) -> str:
        return f"Pin({self.name}, enabled={self.enabled}, tries={self.tries}/{self.max_tries})"

    @property
    def satisfied(self) -> bool:
        return self.verified or not self.enabled

    def snapshot(self) -> tuple:
        return (self.value, self.enabled, self.tries, self.puk_tries, self.verified)

    def restore(self, snap: tuple) -> None:
        self.value, self.enabled, self.tries, self.puk_tries, self.verified = snap

    # --- card image (JSON) ----------------------------------------------------------------

    @classmethod
    def from_json(cls, name: str, doc: object) -> "Pin":
        where = f"pins.{name}"
        if not isinstance(doc, dict):
            raise DataError("must be an object", where=where)
        known = {"value", "enabled", "tries", "max_tries", "puk", "puk_tries", "puk_max_tries"}
        if set(doc) - known:
            raise DataError(f"unknown keys {sorted(set(doc) - known)}", where=where)

        def digits(key: str, lo: int) -> str:
            v = doc.get(key)
            if not isinstance(v, str) or not v.isdigit() or not lo <= len(v) <= 8:
                raise DataError(f"{key} must be a string of {lo}-8 digits", where=where)
            return v

        def count(key: str, default: int, hi: int) -> int:
            v = doc.get(key, default)
            if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= hi:
                raise DataError(f"{key} must be an integer 0..{hi}", where=where)
            return v

        max_tries = count("max_tries", 3, 15)
        enabled = doc.get("enabled", True)
        if not isinstance(enabled, bool):
            raise DataError("enabled must be true or false", where=where)
        pin = cls(name, digits("value", 4), enabled=enabled,
                  tries=count("tries", max_tries, max_tries), max_tries=max_tries)
        if "puk" in doc:
            pin.puk = Secret(pin_block(digits("puk", 8)))
            pin.puk_max_tries = count("puk_max_tries", 10, 15)
            pin.puk_tries = count("puk_tries", pin.puk_max_tries, pin.puk_max_tries)
        return pin

    def to_json(self) -> dict:
        doc = {"value": block_digits(self.value.reveal()), "enabled": self.enabled,
               "tries": self.tries, "max_tries": self.max_tries}
        if self.puk is not None:
            doc.update({"puk": block_digits(self.puk.reveal(), 8), "puk_tries": self.puk_tries,
                        "puk_max_tries": self.puk_max_tries})
        return doc


Commit = Callable[[Callable[[], None]], None]


class PinCommands:
    """The five PIN commands over a set of PINs; ``commit(undo)`` persists or calls undo()."""

    def __init__(self, pins: dict[str, Pin], commit: Commit) -> None:
        self.pins = pins
        self._commit = commit

    def _pin(self, refs: dict[int, str], key_ref: int) -> Pin:
        name = refs.get(key_ref)
        if name is None or name not in self.pins:
            raise CardStatus(st.KEY_NOT_FOUND)
        return self.pins[name]

    def _change(self, pin: Pin, apply: Callable[[], None]) -> None:
        snap = pin.snapshot()
        apply()
        self._commit(lambda: pin.restore(snap))

    def _check(self, pin: Pin, candidate: bytes) -> None:
        """Compare; a wrong value costs a try (committed), a right one restores the counter."""
        if pin.tries == 0:
            raise CardStatus(st.PIN_BLOCKED)
        if hmac.compare_digest(pin.value.reveal(), candidate):
            if pin.tries != pin.max_tries:
                self._change(pin, lambda: setattr(pin, "tries", pin.max_tries))
            return

        def spend() -> None:
            pin.tries -= 1
            pin.verified = False
        self._change(pin, spend)
        raise CardStatus(st.wrong_pin(pin.tries))

    def verify(self, key_ref: int, data: bytes, gsm: bool) -> None:
        pin = self._pin(GSM_REFS if gsm else UICC_REFS, key_ref)
        if not data and not gsm:            # TS 102 221 §11.1.9: query the counter
            if pin.tries == 0:
                raise CardStatus(st.PIN_BLOCKED)
            if pin.satisfied:
                return
            raise CardStatus(st.wrong_pin(pin.tries))
        if len(data) != 8:
            raise CardStatus(st.WRONG_LENGTH)
        self._check(pin, data)
        pin.verified = True

    def change(self, key_ref: int, data: bytes, gsm: bool) -> None:
        pin = self._pin(GSM_REFS if gsm else UICC_REFS, key_ref)
        if len(data) != 16:
            raise CardStatus(st.WRONG_LENGTH)
        if pin.tries == 0:
            raise CardStatus(st.PIN_BLOCKED)
        if not pin.enabled:
            raise CardStatus(st.PIN_STATUS_CONFLICT)
        new = data[8:]
        if block_digits(new) is None:
            raise CardStatus(st.WRONG_DATA)
        self._check(pin, data[:8])

        def apply() -> None:
            pin.value = Secret(new)
            pin.verified = True
        self._change(pin, apply)

    def set_enabled(self, key_ref: int, data: bytes, gsm: bool, enable: bool) -> None:
        """DISABLE PIN (enable=False) / ENABLE PIN (enable=True); ADM keys cannot be
        disabled."""
        pin = self._pin(GSM_REFS if gsm else UICC_REFS, key_ref)
        if pin.name.startswith("ADM") or (gsm and pin.name != "PIN1"):
            raise CardStatus(st.PIN_STATUS_CONFLICT)
        if len(data) != 8:
            raise CardStatus(st.WRONG_LENGTH)
        if pin.tries == 0:
            raise CardStatus(st.PIN_BLOCKED)
        if pin.enabled == enable:
            raise CardStatus(st.PIN_STATUS_CONFLICT)
        self._check(pin, data)

        def apply() -> None:
            pin.enabled = enable
            pin.verified = True
        self._change(pin, apply)

    def unblock(self, key_ref: int, data: bytes, gsm: bool) -> None:
        pin = self._pin(GSM_UNBLOCK_REFS if gsm else UICC_REFS, key_ref)
        if pin.puk is None:
            raise CardStatus(st.KEY_NOT_FOUND)
        if not data and not gsm:            # TS 102 221 §11.1.13: query the PUK counter
            if pin.puk_tries == 0:
                raise CardStatus(st.PIN_BLOCKED)
            raise CardStatus(st.wrong_pin(pin.puk_tries))
        if len(data) != 16:
            raise CardStatus(st.WRONG_LENGTH)
        if pin.puk_tries == 0:
            raise CardStatus(st.PIN_BLOCKED)
        new = data[8:]
        if block_digits(new) is None:
            raise CardStatus(st.WRONG_DATA)
        if not hmac.compare_digest(pin.puk.reveal(), data[:8]):
            def spend() -> None:
                pin.puk_tries -= 1
            self._change(pin, spend)
            raise CardStatus(st.wrong_pin(pin.puk_tries))

        def apply() -> None:
            pin.value = Secret(new)
            pin.tries, pin.puk_tries = pin.max_tries, pin.puk_max_tries
            pin.enabled = pin.verified = True
        self._change(pin, apply)
