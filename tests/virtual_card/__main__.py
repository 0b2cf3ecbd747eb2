"""``python -m tests.virtual_card [--vpcd HOST:PORT] [--image FILE] [--ready-file PATH]``

Runs the virtual card as a vpcd client, so pcscd shows it in reader ``Virtual PCD 00 00``
(port 35963) or ``Virtual PCD 00 01`` (port 35964).  Without ``--image`` the built-in default
image is used in memory; with it the image is loaded (created from the default if missing)
and every acknowledged change is written back before the card answers.  SIGTERM / SIGINT stop
it cleanly (exit 0); a bad image exits 2.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from simtool.errors import DataError

from .latency import LatencyModel, SlowCard
from .uicc import VirtualUicc
from .vpcd import VpcdClient, parse_address

log = logging.getLogger("tests.virtual_card")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.virtual_card",
                                     description="virtual sysmoISIM-SJA2-like card for vpcd")
    parser.add_argument("--vpcd", default="127.0.0.1:35963", metavar="HOST:PORT",
                        help="where vpcd listens (default 127.0.0.1:35963)")
    parser.add_argument("--image", type=Path, default=None, metavar="FILE",
                        help="card image (JSON); created from the default if missing")
    parser.add_argument("--ready-file", type=Path, default=None, metavar="PATH",
                        help="written once the card is connected to vpcd")
    timing = parser.add_argument_group(
        "real-card timing (tests/virtual_card/latency.py; off unless --latency or a figure)")
    timing.add_argument("--latency", action="store_true",
                        help="answer as slowly as a sysmoISIM-SJA2 in a USB reader would")
    defaults = LatencyModel()
    for flag, field, unit in (("--apdu-ms", "apdu_ms", "ms per APDU"),
                              ("--byte-us", "byte_us", "µs per byte on the wire"),
                              ("--write-ms", "write_ms", "ms per non-volatile write"),
                              ("--auth-ms", "auth_ms", "ms per AUTHENTICATE")):
        timing.add_argument(flag, dest=field, type=float, default=None, metavar="N",
                            help=f"{unit} (model: {getattr(defaults, field):g})")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(stream=sys.stderr, level=args.log_level,
                        format="%(asctime)s virtual-card %(levelname)s %(message)s")
    try:
        host, port = parse_address(args.vpcd)
    except ValueError as exc:
        parser.error(str(exc))
    try:
        card = VirtualUicc.from_image(args.image)
    except (DataError, OSError) as exc:
        log.error("cannot use the card image: %s", exc)
        return 2
    log.info("card ready (ATR %s, image %s)", card.atr.hex().upper(),
             args.image if args.image else "built-in, in memory")
    figures = {f: getattr(args, f) for f in ("apdu_ms", "byte_us", "write_ms", "auth_ms")
               if getattr(args, f) is not None}
    if args.latency or figures:
        model = LatencyModel(**figures)
        card = SlowCard(card, model)
        log.info("real-card timing: %s", model)
    client = VpcdClient(card, host, port, ready_file=args.ready_file)

    def stop(signum, frame):  # noqa: ARG001 - signal handler signature
        log.info("stopping on signal %d", signum)
        client.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    client.run()
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
