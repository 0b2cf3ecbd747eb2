"""``EmulatorFuzz``: drives a ``VirtualUicc`` on an image file with an ``ApduSource`` (and vpcd
frames through its frame handler), checks the oracles of docs/reliability.md and returns the
findings, each with the shortest command sequence that shows it on a fresh card."""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from simtool.errors import DataError, DecodeError
from simtool.stk.commands import decode_proactive

from .apdus import CONTROL_LIKE, ApduSource
from .findings import Finding, is_known
from .status_words import (
    command_info,
    followup,
    is_success,
    match_sw,
    may_change_image,
    sw_allowed,
)


#: vpcd's power controls: frames the card answers with nothing
POWER_CONTROLS = (b"\x00", b"\x01", b"\x02")


@dataclass
class Stats:
    apdus: int = 0
    rejected: int = 0
    image_checks: int = 0
    followups: int = 0
    episodes: int = 0
    vpcd_streams: int = 0
    vpcd_frames: int = 0
    fetched: int = 0
    elapsed: float = 0.0
    by_command: Counter = field(default_factory=Counter)
    findings: dict[tuple, Finding] = field(default_factory=dict)

    def unexpected(self) -> list[Finding]:
        return [f for f in self.findings.values() if not is_known(f)]


class _ErrorLog(logging.Handler):
    """ERROR records of the card's logger: ``process`` turns an internal exception into
    6F00 and logs it, so a logged traceback is how a crash shows."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class FakeSocket:
    """What ``VpcdClient.serve`` needs of a socket; the stream arrives in ``chunks``."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks[::-1]
        self.sent = bytearray()

    def recv(self, n: int) -> bytes:
        if not self._chunks:
            return b""
        chunk = self._chunks.pop()
        if len(chunk) > n:
            self._chunks.append(chunk[n:])
        return chunk[:n]

    def sendall(self, data: bytes) -> None:
        self.sent += data

    def setsockopt(self, *args: object) -> None:
        pass


class EmulatorFuzz:
    """Fuzz a VirtualUicc whose image is ``workdir/card.json`` (default image + ``menu`` as
    its STK menu); a fresh card every ``episode`` commands; the image is snapshotted before
    one command in ``snapshot_every``."""

    def __init__(self, seed: int, workdir: Path, *, menu: dict | None = None,
                 episode: int = 2000, snapshot_every: int = 1, vpcd_rate: float = 0.01) -> None:
        from tests.virtual_card import image, uicc, vpcd
        self._image, self._uicc, self._vpcd = image, uicc, vpcd
        self.rng, self.workdir, self.menu = random.Random(seed), Path(workdir), menu
        self.episode, self.snapshot_every, self.vpcd_rate = episode, snapshot_every, vpcd_rate
        self.path = self.workdir / "card.json"
        self.stats = Stats()
        self._log = _ErrorLog()
        self._bare_episode = False
        from simtool.stk.menu import Menu
        from simtool.stk.menufile import encode_menu_file
        from tests.virtual_card.gp import default_gp
        state = image.default_state()
        with_applet = state.gp
        state.gp = default_gp(menu_applet=False)
        self._bare = json.dumps(image.image_document(state), indent=1) + "\n"
        if menu is not None:           # the menu applet with ``menu`` in EF.MENU
            state.gp = with_applet
            state.files[image.EF_MENU] = encode_menu_file(Menu.from_dict(menu), 8192)
        self._initial = json.dumps(image.image_document(state), indent=1) + "\n"

    def _fresh(self, path: Path, bare: bool = False):
        """A new card on a new image: the default one with the menu (``bare``: without)."""
        self._image.write_atomic(path, self._bare if bare else self._initial)
        return self._uicc.VirtualUicc.from_image(path)

    def _state(self, card) -> dict:
        return self._image.image_document(card.image_state())

    def _exchange(self, card, apdu: bytes, path: Path, snapshot: bool,
                  expect: int | None = None) -> tuple[bytes, list[Finding]]:
        """Send one command; its response and the findings it shows.  ``expect``: the data
        length a T=0 follow-up must return."""
        command = command_info(apdu)[0]
        before = (path.read_bytes(), self._state(card)) if snapshot else None
        logged = len(self._log.records)
        try:
            response = card.process(apdu)
        except Exception as exc:  # noqa: BLE001 - the property under test
            return b"\x6f\x00", [Finding("crash", command, apdu, None, f"raised {exc!r}")]
        if not isinstance(response, bytes) or len(response) < 2:
            return b"\x6f\x00", [Finding("sw", command, apdu, None, "no status word")]
        sw = int.from_bytes(response[-2:], "big")
        found = [Finding("crash" if r.exc_info else "error-log", command, apdu, sw,
                         r.getMessage()) for r in self._log.records[logged:]]
        if not sw_allowed(apdu, sw):
            found.append(Finding("sw", command, apdu, sw, "status word not allowed for it"))
        if before is not None and not may_change_image(apdu, sw):
            if path.read_bytes() != before[0]:
                found.append(Finding("image", command, apdu, sw, "a rejected command "
                                     "rewrote the image file"))
            elif self._state(card) != before[1]:
                found.append(Finding("image", command, apdu, sw, "a rejected command "
                                     "changed the card's persistent state"))
        data = response[:-2]
        if data and apdu[1] == 0x12 and match_sw(("9000", "91XX"), sw):
            try:
                decode_proactive(data)
            except DecodeError as exc:
                found.append(Finding("fetch", command, apdu, sw, "the proactive command it "
                                     f"returned does not decode ({type(exc).__name__})"))
        if expect is not None and (not match_sw(("9000", "91XX", "61XX"), sw)
                                   or len(response) - 2 != expect):
            found.append(Finding("procedure", command, apdu, sw, "the T=0 follow-up did not "
                                 "get the data announced by the previous status word"))
        return response, found

    # -- reproducers --------------------------------------------------------------------------

    def replay(self, steps: list[bytes | None], bare: bool = False) -> list[Finding]:
        """Run ``steps`` on a fresh card (None = reset); the findings of the last one."""
        path = self.workdir / "replay.json"
        card, previous = self._fresh(path, bare), (b"", b"")
        for step in steps[:-1]:
            if step is None:
                card.reset()
                previous = (b"", b"")
            else:
                previous = (step, card.process(step))
        nxt = followup(*previous)
        expect = nxt[1] if nxt is not None and nxt[0] == steps[-1] else None
        del self._log.records[:]
        return self._exchange(card, steps[-1], path, True, expect)[1]

    def _replays(self, steps: list[bytes | None], finding: Finding) -> bool:
        return any(f.key() == finding.key() for f in self.replay(steps, finding.bare))

    def _record(self, finding: Finding, history: list[bytes | None]) -> None:
        old = self.stats.findings.get(finding.key())
        if old is not None:
            old.count += 1
            return
        self.stats.findings[finding.key()] = finding
        finding.bare = self._bare_episode
        steps = history + [finding.apdu]
        n = 1                                   # the shortest suffix that reproduces it ...
        while n < len(steps) and not self._replays(steps[-n:], finding):
            n *= 2
        steps = steps[-n:]
        finding.steps = tuple(steps)
        if not self._replays(steps, finding):
            finding.detail += " (did not reproduce from a fresh card)"
            return
        size = len(steps) // 2                  # ... without the chunks it does not need
        while size:
            i = 0
            while i < len(steps) - 1:
                shorter = steps[:i] + steps[i + size:]
                if shorter and shorter[-1] is steps[-1] and self._replays(shorter, finding):
                    steps = shorter
                else:
                    i += size
            size //= 2
        finding.steps = tuple(steps)

    # -- vpcd frames through the client's frame handler ---------------------------------------

    def _vpcd_stream(self, card, source: ApduSource, history: list[bytes | None]) -> None:
        """Frames through ``VpcdClient.serve``: APDUs, controls, empty and cut-short frames,
        in random chunks; what the card saw is appended to ``history``."""
        rng, stream, frames = self.rng, bytearray(), []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            payload = (source.next() if r < 0.6 else b"" if r > 0.9
                       else bytes((rng.choice((0, 1, 2, 4, 4, *CONTROL_LIKE, 0x89)),)))
            stream += len(payload).to_bytes(2, "big") + payload
            frames.append(payload)
        if rng.random() < 0.3:                  # a frame cut short by a closed connection
            stream += rng.randrange(2, 600).to_bytes(2, "big") + rng.randbytes(rng.randrange(2))
        cuts = sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randrange(8))))
        sock = FakeSocket([bytes(stream[a:b]) for a, b in zip([0, *cuts], [*cuts, len(stream)])])
        self.stats.vpcd_streams += 1
        logged = len(self._log.records)
        try:
            self._vpcd.VpcdClient(card).serve(sock)   # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - the property under test
            self._record(Finding("vpcd", "serve", bytes(stream), None, f"raised {exc!r}"), [])
            return
        for record in self._log.records[logged:]:
            self._record(Finding("crash" if record.exc_info else "error-log", "vpcd stream",
                                 bytes(stream), None, record.getMessage()), [])
        out, answers = bytes(sock.sent), []
        while len(out) >= 2:
            n = int.from_bytes(out[:2], "big")
            answers.append(out[2:2 + n])
            out = out[2 + n:]
        # every frame but an empty one and the controls 00/01/02 is answered: a 1-byte frame
        # that is no control is a 1-byte APDU (vpcd would wait for its answer forever)
        expected = [f for f in frames if f and f not in POWER_CONTROLS]
        if len(answers) != len(expected) or out:
            self._record(Finding("vpcd", "serve", bytes(stream), None,
                                 "not one answer per APDU and GET ATR frame"), [])
        answers.reverse()
        for payload in frames:
            self.stats.vpcd_frames += 1
            if payload in POWER_CONTROLS:
                history.append(None)             # power off / on / reset
            if not answers or not payload or payload in POWER_CONTROLS:
                continue
            answer = answers.pop()
            if payload == b"\x04":
                if answer != card.atr:
                    self._record(Finding("vpcd", "GET ATR", payload, None, "not the ATR"), [])
                continue
            self.stats.apdus += 1
            sw = int.from_bytes(answer[-2:], "big") if len(answer) > 1 else None
            if sw is None or not sw_allowed(payload, sw):
                self._record(Finding("sw", command_info(payload)[0], payload, sw,
                                     "status word not allowed for it"), history)
            source.observe(payload, answer)
            history.append(payload)

    # -- the run ------------------------------------------------------------------------------

    def _end_episode(self, card, source: ApduSource) -> None:
        """The image still loads and holds what the card holds; what it FETCHed decodes."""
        try:
            loaded = self._image.load_image(self.path)
        except DataError as exc:
            self._record(Finding("image-load", "end of episode", b"", None, str(exc)), [])
        else:
            if self._image.image_document(loaded) != self._state(card):
                self._record(Finding("image-stale", "end of episode", b"", None,
                                     "the image file differs from the card's state"), [])
        self.stats.fetched += source.fetches

    def run(self, count: int, seconds: float | None = None) -> Stats:
        """Send ``count`` APDUs, or stop after ``seconds``; return the statistics."""
        card_log = logging.getLogger("tests.virtual_card")
        card_log.addHandler(self._log)
        stats, rng = self.stats, self.rng
        start = time.perf_counter()
        deadline = float("inf") if seconds is None else start + seconds
        auth_key = self._fresh(self.path).image_state().auth["auth.usim"]
        try:
            while stats.apdus < count and time.perf_counter() < deadline:
                # one episode in four on a card without STK menu: no applet, INS 10/12/14/C2
                # unknown (6D00)
                self._bare_episode = self.menu is None or stats.episodes % 4 == 3
                card = self._fresh(self.path, self._bare_episode)
                source = ApduSource(rng, auth_key)
                history: list[bytes | None] = []
                previous: tuple[bytes, bytes] = (b"", b"")
                stats.episodes += 1
                end = min(count, stats.apdus + self.episode)
                while stats.apdus < end:
                    if stats.apdus % 512 == 0 and time.perf_counter() > deadline:
                        break
                    r = rng.random()
                    if r < self.vpcd_rate:
                        self._vpcd_stream(card, source, history)
                        previous = (b"", b"")
                        continue
                    if r < self.vpcd_rate + 0.003:
                        card.reset()
                        source.pending, source.fetched = 0, None
                        history.append(None)
                        previous = (b"", b"")
                        continue
                    nxt = followup(*previous)
                    expect = None
                    if nxt is not None and rng.random() < 0.7:
                        apdu, expect = nxt
                        stats.followups += 1
                    else:
                        apdu = source.next()
                    snapshot = stats.apdus % self.snapshot_every == 0
                    response, found = self._exchange(card, apdu, self.path, snapshot, expect)
                    stats.apdus += 1
                    stats.by_command[command_info(apdu)[0]] += 1
                    if not is_success(int.from_bytes(response[-2:], "big")):
                        stats.rejected += 1
                        stats.image_checks += snapshot
                    for finding in found:
                        self._record(finding, history)
                    source.observe(apdu, response)
                    history.append(apdu)
                    previous = (apdu, response)
                self._end_episode(card, source)
        finally:
            card_log.removeHandler(self._log)
            stats.elapsed = time.perf_counter() - start
        return stats
