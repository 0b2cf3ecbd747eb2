"""A real card's timing, for benchmarks: the virtual card answers as slowly as a real one.

The model charges every APDU a fixed cost, every byte on the wire a transfer time, and every
command that writes the card's non-volatile memory a write cost:

    delay = apdu_ms + (command bytes + response bytes + 1 procedure byte) x byte_us
            + write_ms (UPDATE BINARY/RECORD, a PIN command with data: its counter is written)
            + auth_ms (AUTHENTICATE: Milenage on the card, and its SQN written)

The defaults model a sysmoISIM-SJA2 in a USB CCID reader:

* ``byte_us = 48``: T=0 characters are 12 etu (start bit, 8 data bits, parity, 2 etu guard
  time; ISO/IEC 7816-3 §7.2).  The SJA2's ATR offers TA1 = 96 (Fi 512, Di 32: 16 clock cycles
  per etu); at a 4 MHz reader clock that is 4 µs per etu.  A reader that stays at the default
  Fi/Di 372/1 at 3.57 MHz (104 µs per etu) is ``byte_us = 1250``.
* ``write_ms = 5``: one EEPROM page write.  Smart-card EEPROM takes 3-10 ms per page write
  (Gemalto's chipware notes), Microchip's CryptoMemory datasheet gives ~5 ms per write cycle.
* ``apdu_ms = 3``: command dispatch in the card OS plus the reader's USB round trip (a CCID
  bulk-out/bulk-in pair at 1 ms full-speed frames), an assumption, not a measurement.
* ``auth_ms = 10``: AUTHENTICATE runs Milenage (six AES-128 blocks) in the card's crypto
  co-processor and writes the SQN; an assumption of the same order as an EEPROM write.

A real SJA2 measured with ``simtool --trace`` can replace these: every figure is an option of
``python -m tests.virtual_card``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

WRITE_INS = frozenset({0xD6, 0xDC, 0xE2})           # UPDATE BINARY, UPDATE RECORD, APPEND RECORD
PIN_INS = frozenset({0x20, 0x24, 0x26, 0x28, 0x2C})  # VERIFY, CHANGE, DISABLE, ENABLE, UNBLOCK
AUTH_INS = frozenset({0x88, 0x89})


@dataclass(frozen=True)
class LatencyModel:
    apdu_ms: float = 3.0
    byte_us: float = 48.0
    write_ms: float = 5.0
    auth_ms: float = 10.0

    def delay(self, command: bytes, response: bytes) -> float:
        """Seconds this exchange takes on the modelled card."""
        ms = self.apdu_ms + (len(command) + len(response) + 1) * self.byte_us / 1000
        ins = command[1] if len(command) > 1 else None
        if ins in WRITE_INS or (ins in PIN_INS and len(command) > 5):
            ms += self.write_ms
        elif ins in AUTH_INS:
            ms += self.auth_ms
        return ms / 1000


class SlowCard:
    """A card object that answers after the model's delay (everything else passes through)."""

    def __init__(self, card, model: LatencyModel, sleep=time.sleep) -> None:
        self._card = card
        self.model = model
        self._sleep = sleep

    def process(self, apdu: bytes) -> bytes:
        response = self._card.process(apdu)
        self._sleep(self.model.delay(apdu, response))
        return response

    def __getattr__(self, name: str):
        return getattr(self._card, name)
