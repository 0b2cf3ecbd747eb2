"""``simtool`` running in the background (e.g. ``batch program`` waiting for cards), with its
stdout and stderr lines arriving on queues, for end-to-end tests that act while it runs."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading

from tests.harness import REPO

LINE_TIMEOUT = 60


class BackgroundCli:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "simtool", *args], cwd=REPO,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.stderr: list[str] = []
        for stream, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, q), daemon=True).start()

    @staticmethod
    def _pump(stream, q: queue.Queue) -> None:
        for line in stream:
            q.put(line)
        q.put("")  # end of stream

    def _err_line(self) -> str:
        line = self.err.get(timeout=LINE_TIMEOUT)
        self.stderr.append(line)
        if not line:
            raise AssertionError("CLI ended early:\n" + self.stop()[-3000:])
        return line

    def result(self, skip: tuple[str, ...] = ()) -> dict:
        """The next per-card JSON result whose outcome is not in ``skip``."""
        while True:
            try:
                line = self.out.get(timeout=LINE_TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no result in {LINE_TIMEOUT} s:\n{self.stop()[-3000:]}")
            if not line:
                raise AssertionError("CLI ended early:\n" + self.stop()[-3000:])
            obj = json.loads(line)
            if "summary" not in obj and obj.get("outcome") not in skip:
                return obj

    def stderr_until(self, text: str) -> None:
        while text not in self._err_line():
            pass

    def apdus(self, n: int) -> None:
        """Wait until the --trace log shows the n-th command APDU on its way to the card."""
        seen = 0
        while seen < n:
            seen += self._err_line().startswith(">> ")

    def stop(self, timeout: float = 10) -> str:
        """Ctrl-C if still running; return everything it wrote on stderr."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self._drain()

    def finish(self, timeout: float = LINE_TIMEOUT) -> str:
        """Wait for it to end by itself (Ctrl-C after ``timeout``); return its stderr."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return self.stop()
        return self._drain()

    def _drain(self) -> str:
        while True:
            try:
                line = self.err.get(timeout=5)
            except queue.Empty:
                break
            if not line:
                break
            self.stderr.append(line)
        return "".join(self.stderr)
