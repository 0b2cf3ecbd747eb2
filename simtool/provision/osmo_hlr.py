"""Loading a batch's ``osmo-hlr.vty`` into OsmoHLR so that a second run changes nothing.

OsmoHLR's VTY has no "create if missing": ``subscriber imsi X create`` answers
"% Subscriber already exists" for a known IMSI, and ``update aud3g milenage …`` rewrites the
subscriber's 3G key row, which resets its SQN to 0 (osmo-hlr 1.5, ``hlr_vty_subscr.c``).  Fed
twice into the VTY, the script would make every card's next authentication look like a replay.

So the loader asks ``show subscriber imsi X`` first (OsmoHLR prints MSISDN, K and OPC there)
and sends only what is missing or different: nothing for a subscriber already present with the
same keys and number.  :func:`plan_commands` is that decision, sans I/O; :class:`VtyClient`
is the telnet-like TCP connection to the VTY (default 127.0.0.1:4258).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum

from simtool.errors import DataError, SimtoolError
from simtool.secret import Secret

DEFAULT_VTY = ("127.0.0.1", 4258)


class HlrError(SimtoolError):
    """OsmoHLR refused a command or could not be reached (exit code 1)."""

    exit_code = 1


@dataclass(frozen=True)
class HlrSubscriber:
    """One subscriber of the script: what OsmoHLR must hold for this IMSI."""

    imsi: str
    msisdn: str | None
    k: Secret[str] = field(repr=False)  # 32 lower-case hex digits
    opc: Secret[str] = field(repr=False)


@dataclass(frozen=True)
class HlrState:
    """What ``show subscriber imsi X`` says about a present subscriber."""

    msisdn: str | None
    k: Secret[str] | None = field(repr=False)
    opc: Secret[str] | None = field(repr=False)


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"  # MSISDN changed, keys kept (SQN kept)
    REKEYED = "rekeyed"  # different K/OPc: new key row, SQN starts again at 0
    UNCHANGED = "unchanged"


# --- the script ----------------------------------------------------------------------------------

_CREATE = re.compile(r"subscriber imsi (\d{5,15}) create")
_MSISDN = re.compile(r"subscriber imsi (\d{5,15}) update msisdn (\d{1,15})")
_AUD3G = re.compile(r"subscriber imsi (\d{5,15}) update aud3g milenage k ([0-9a-fA-F]{32}) "
                    r"opc ([0-9a-fA-F]{32})")


def parse_script(text: str, *, where: str = "osmo-hlr.vty") -> list[HlrSubscriber]:
    """The subscribers of a script written by :mod:`simtool.provision.exports`: comment lines
    (``!``), ``enable`` and the three commands per IMSI.  DataError names the line (never its
    keys) for anything else."""
    order: list[str] = []
    msisdn: dict[str, str] = {}
    keys: dict[str, tuple[str, str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("!") or line == "enable":
            continue
        if m := _CREATE.fullmatch(line):
            if m[1] in order:
                raise DataError(f"IMSI {m[1]} is created twice", where=f"{where}:{number}")
            order.append(m[1])
        elif m := _MSISDN.fullmatch(line):
            msisdn[m[1]] = m[2]
        elif m := _AUD3G.fullmatch(line):
            keys[m[1]] = (m[2].lower(), m[3].lower())
        else:
            raise DataError("not a line of simtool's OsmoHLR script", where=f"{where}:{number}")
    missing = [imsi for imsi in order if imsi not in keys]
    if missing:
        raise DataError(f"IMSI {missing[0]} has no 'update aud3g' line", where=where)
    return [HlrSubscriber(imsi, msisdn.get(imsi), Secret(keys[imsi][0]), Secret(keys[imsi][1]))
            for imsi in order]


# --- the decision --------------------------------------------------------------------------------

_SHOW_MSISDN = re.compile(r"^\s*MSISDN: (\S+)\s*$", re.M)
_SHOW_K = re.compile(r"^\s*K=([0-9a-fA-F]+)\s*$", re.M)
_SHOW_OPC = re.compile(r"^\s*OPC=([0-9a-fA-F]+)\s*$", re.M)


def parse_show(output: str) -> HlrState | None:
    """``show subscriber imsi X``'s answer: None when OsmoHLR has no such subscriber."""
    if "% No subscriber" in output:
        return None
    m = _SHOW_MSISDN.search(output)
    if m is None:
        raise HlrError("unexpected answer to 'show subscriber' (no MSISDN line)")
    k, opc = _SHOW_K.search(output), _SHOW_OPC.search(output)
    return HlrState(None if m[1] == "none" else m[1],
                    Secret(k[1].lower()) if k else None, Secret(opc[1].lower()) if opc else None)


def _aud3g(sub: HlrSubscriber) -> str:
    return (f"subscriber imsi {sub.imsi} update aud3g milenage k {sub.k.reveal()} "
            f"opc {sub.opc.reveal()}")


def plan_commands(sub: HlrSubscriber, state: HlrState | None) -> tuple[Outcome, list[str]]:
    """The VTY commands that make OsmoHLR hold ``sub``, given what it holds now.

    ``update aud3g`` is sent only when K or OPc differ (or there is no 3G key): it resets SQN.
    """
    if state is None:
        cmds = [f"subscriber imsi {sub.imsi} create"]
        if sub.msisdn:
            cmds.append(f"subscriber imsi {sub.imsi} update msisdn {sub.msisdn}")
        return Outcome.CREATED, cmds + [_aud3g(sub)]
    cmds = []
    if sub.msisdn and state.msisdn != sub.msisdn:
        cmds.append(f"subscriber imsi {sub.imsi} update msisdn {sub.msisdn}")
    if state.k != sub.k or state.opc != sub.opc:
        return Outcome.REKEYED, cmds + [_aud3g(sub)]
    return (Outcome.UPDATED if cmds else Outcome.UNCHANGED), cmds


# --- the VTY connection --------------------------------------------------------------------------

IAC = 0xFF
_SB, _SE = 0xFA, 0xF0
_HEX_KEY = re.compile(r"[0-9a-fA-F]{16,}")


def strip_telnet(data: bytes) -> bytes:
    """``data`` without telnet negotiation (RFC 854: IAC WILL/WONT/DO/DONT x, IAC SB … IAC SE);
    the VTY needs no answer to its WILL ECHO / WILL SGA / DONT LINEMODE."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b != IAC:
            out.append(b)
            i += 1
        elif i + 1 < len(data) and data[i + 1] == IAC:
            out.append(IAC)
            i += 2
        elif i + 1 < len(data) and data[i + 1] == _SB:
            end = data.find(bytes([IAC, _SE]), i + 2)
            i = len(data) if end < 0 else end + 2
        else:
            i += 3
    return bytes(out)


class VtyClient:
    """A line-at-a-time session with an Osmocom VTY: send a command, read up to the prompt."""

    def __init__(self, host: str = DEFAULT_VTY[0], port: int = DEFAULT_VTY[1], *,
                 timeout: float = 10.0) -> None:
        self.where = f"{host}:{port}"
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise HlrError(f"cannot reach the OsmoHLR VTY at {self.where}: "
                           f"{exc.strerror or exc}") from None
        self._buf = b""
        banner = self._read_until_prompt(re.compile(rb"\n?([^\r\n]+)[>#] $"))
        self.prompt_name = banner.rsplit("\n", 1)[-1][:-2].strip()
        self.command("enable")

    def _read_until_prompt(self, prompt: re.Pattern[bytes]) -> str:
        while True:
            text = strip_telnet(self._buf)
            if prompt.search(text):
                self._buf = b""
                return text.decode("utf-8", "replace")
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                raise HlrError(f"OsmoHLR VTY at {self.where}: {exc.strerror or exc}") from None
            if not chunk:
                raise HlrError(f"OsmoHLR VTY at {self.where} closed the connection")
            self._buf += chunk

    def command(self, line: str) -> str:
        """The VTY's answer to ``line`` (the echo and the prompt removed)."""
        self._sock.sendall(line.encode() + b"\n")
        prompt = re.compile(rb"\r?\n?" + re.escape(self.prompt_name.encode()) + rb"[>#] $")
        text = self._read_until_prompt(prompt)
        lines = text.replace("\r", "").split("\n")
        if lines and lines[0].strip() == line.strip():
            lines = lines[1:]  # the VTY echoes what it reads
        return "\n".join(lines[:-1]).strip("\n")

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> VtyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _refused(line: str, answer: str) -> HlrError:
    # the command names the subscriber; a key in the answer ("% Invalid value for K: '…'") not
    what = " ".join(line.split()[:4])
    reason = next((ln for ln in answer.splitlines() if ln.startswith("%")), answer)
    return HlrError(f"OsmoHLR refused '{what} …': {_HEX_KEY.sub('…', reason).strip()}")


def load(subscribers: Iterable[HlrSubscriber], vty: VtyClient) -> Iterator[tuple[str, Outcome]]:
    """Bring every subscriber into OsmoHLR; yields (IMSI, outcome) as it goes.  HlrError on
    the first answer starting with '%' other than the ones each step expects."""
    for sub in subscribers:
        state = parse_show(vty.command(f"show subscriber imsi {sub.imsi}"))
        outcome, cmds = plan_commands(sub, state)
        for line in cmds:
            answer = vty.command(line)
            ok = ("% Created subscriber" in answer if line.endswith(" create")
                  else "% Updated subscriber" in answer if " update msisdn " in line
                  else not answer.lstrip().startswith("%"))
            if not ok:
                raise _refused(line, answer)
        yield sub.imsi, outcome
