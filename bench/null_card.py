"""A do-nothing card for vpcd: answers every APDU with 90 00.

Plugged into the same pcscd + vpcd as the virtual card, it shows what the stack alone allows:
bench.apdu_rate puts the virtual card's APDU rate beside this one's, measured in the same run.
It uses the virtual card's vpcd client (same socket options: TCP_NODELAY, TCP_QUICKACK), so
the difference is the card's own work.

    python -m bench.null_card --vpcd 127.0.0.1:35963 [--ready-file PATH]
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from tests.virtual_card.layout import SJA2_ATR
from tests.virtual_card.vpcd import VpcdClient, parse_address


class NullCard:
    atr = SJA2_ATR

    def process(self, apdu: bytes) -> bytes:  # noqa: ARG002 - every command is answered alike
        return b"\x90\x00"

    def reset(self) -> bytes:
        return self.atr

    def power_off(self) -> None:
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.null_card")
    parser.add_argument("--vpcd", default="127.0.0.1:35963", metavar="HOST:PORT")
    parser.add_argument("--ready-file", type=Path, default=None, metavar="PATH")
    args = parser.parse_args(argv)
    host, port = parse_address(args.vpcd)
    client = VpcdClient(NullCard(), host, port, ready_file=args.ready_file)
    signal.signal(signal.SIGTERM, lambda *_: client.stop())
    signal.signal(signal.SIGINT, lambda *_: client.stop())
    client.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
