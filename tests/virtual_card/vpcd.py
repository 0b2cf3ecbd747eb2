"""A vpcd client: plugs a card object into vsmartcard's virtual reader driver of pcscd.

vpcd listens (127.0.0.1:35963 for reader ``Virtual PCD 00 00``) and the card connects as a
TCP client.  Every message is a 2-byte big-endian length and a payload; a 1-byte payload is a
control (00 power off, 01 power on, 02 reset, 04 get ATR — answered with the ATR), a longer one
a command APDU, answered with the response APDU.

vpcd frames a 1-byte command APDU exactly as a control, so the two cannot be told apart: the
four control values 00, 01, 02 and 04 are taken as controls (a 1-byte APDU with one of those
values gets no status word, as vpcd expects none), and every other 1-byte frame is a command
APDU too short to parse, answered 6700 (wrong length, ISO/IEC 7816-4 §5.6).  Leaving such a
frame unanswered would hang vpcd, and with it every PC/SC client of the reader.

Speed: vpcd writes length and payload with two send calls on a socket without TCP_NODELAY;
unless the card ACKs at once, Nagle's algorithm meets delayed ACK and each APDU costs ~40 ms.
So the card sets TCP_NODELAY and re-arms TCP_QUICKACK (not sticky on Linux) after every recv
(../shared/reference/pcsc-vpcd.md: ~20 → ~6000 APDU/s).

The client reconnects with backoff when vpcd goes away, and survives any frame content.
Logs never carry APDU data: only headers, lengths and status words.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from pathlib import Path

log = logging.getLogger("tests.virtual_card")

CTRL_POWER_OFF, CTRL_POWER_ON, CTRL_RESET, CTRL_GET_ATR = 0x00, 0x01, 0x02, 0x04
_QUICKACK = getattr(socket, "TCP_QUICKACK", None)


class ConnectionClosed(Exception):
    pass


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``PORT``) → (host, port); ValueError with a clear message."""
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "127.0.0.1", text
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"not a HOST:PORT address: {text!r}") from None
    if not 0 < number < 65536:
        raise ValueError(f"port out of range: {number}")
    return (host or "127.0.0.1"), number


class VpcdClient:
    def __init__(self, card, host: str = "127.0.0.1", port: int = 35963, *,
                 ready_file: Path | None = None, max_backoff: float = 5.0) -> None:
        self.card = card
        self.host, self.port = host, port
        self.ready_file = ready_file
        self.max_backoff = max_backoff
        self.connections = 0
        self._buf = bytearray()
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._quickack = False

    def stop(self) -> None:
        """Make run() return: the APDU in progress is answered, then the connection closes.
        Safe to call from a signal handler or another thread."""
        self._stop.set()
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def run(self) -> None:
        """Connect, serve, reconnect with backoff — until stop() is called."""
        delay = 0.1
        while not self._stop.is_set():
            try:
                sock = socket.create_connection((self.host, self.port), timeout=5)
            except OSError as exc:
                log.info("vpcd at %s:%d not reachable (%s); retrying in %.1f s",
                         self.host, self.port, exc.strerror or exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_backoff)
                continue
            delay = 0.1
            self._sock = sock
            try:
                if not self._stop.is_set():
                    self._connected(sock)
                    self.serve(sock)
                    if not self._stop.is_set():
                        log.info("vpcd closed the connection; reconnecting")
            except OSError as exc:
                if not self._stop.is_set():
                    log.warning("vpcd connection lost (%s); reconnecting", exc.strerror or exc)
            finally:
                self._sock = None
                sock.close()
                self.card.power_off()

    def _connected(self, sock: socket.socket) -> None:
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections += 1
        log.info("connected to vpcd at %s:%d", self.host, self.port)
        if self.ready_file is not None and self.connections == 1:
            self.ready_file.write_text(f"{os.getpid()}\n")

    def _recv(self, sock: socket.socket, n: int) -> bytes:
        buf = self._buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionClosed
            if self._quickack:             # not sticky on Linux: re-arm after every read
                sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            buf += chunk
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def serve(self, sock: socket.socket) -> None:
        """Answer frames on one connection until vpcd closes it."""
        self._buf.clear()
        self._quickack = _QUICKACK is not None and getattr(sock, "family", None) in (
            socket.AF_INET, socket.AF_INET6)
        card = self.card
        try:
            while True:
                length = int.from_bytes(self._recv(sock, 2), "big")
                payload = self._recv(sock, length)
                if length > 1:
                    response = card.process(payload)
                    if log.isEnabledFor(logging.DEBUG):
                        log.debug("APDU %s (%d bytes) -> %d bytes, SW %s", payload[:4].hex(),
                                  length, len(response) - 2, response[-2:].hex())
                    sock.sendall(len(response).to_bytes(2, "big") + response)
                elif length == 1:
                    self._control(sock, payload[0])
                else:
                    log.warning("vpcd sent an empty frame; ignored")
        except ConnectionClosed:
            return

    def _control(self, sock: socket.socket, code: int) -> None:
        card = self.card
        if code == CTRL_GET_ATR:
            sock.sendall(len(card.atr).to_bytes(2, "big") + card.atr)
        elif code == CTRL_POWER_OFF:
            card.power_off()
            log.info("power off")
        elif code in (CTRL_POWER_ON, CTRL_RESET):
            card.reset()
            log.info("power on" if code == CTRL_POWER_ON else "reset")
        else:
            # not a control: a 1-byte command APDU (see the module docstring); the card's own
            # parser answers it (6700), so vpcd, which waits for an answer, is never left hanging
            response = card.process(bytes((code,)))
            log.info("1-byte APDU %02X -> SW %s", code, response[-2:].hex())
            sock.sendall(len(response).to_bytes(2, "big") + response)
