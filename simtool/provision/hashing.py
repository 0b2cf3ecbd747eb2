"""Argon2id hashes of customer credentials for the panel import, spread over all cores.

Parameters: Argon2id (RFC 9106) with m = 19 MiB (19456 KiB), t = 2, p = 1, a 16-byte random salt
per hash and a 32-byte tag.  This is the OWASP Password Storage Cheat Sheet's baseline for
Argon2id; it is the floor here, and :class:`HashParams` refuses anything weaker in any of the
three costs.  p = 1 because batch hashing already keeps every core busy with one hash each (a
process pool), and the panel that verifies a login spends one core for ~20 ms, which it can
afford under load; the memory cost is what makes GPU/ASIC guessing expensive.

The costs can be raised per profile (``[panel_hash]`` in the profile: ``memory_kib``,
``time_cost``, ``parallelism``), never lowered below that floor.

Short codes stay weak whatever the hash: a 4-digit Plus Kod 4 has 10**4 candidates, and
Idea24's 6-digit subscriber code (the last 6 of the 8 PUK digits) 10**6 — about 12 core-hours
of Argon2id at the floor to find it, which leaves 100 candidates for the card's PUK.  So the
panel import is a secret file (mode 0600; PUK-grade and sealed when a credential comes from
the PUK, see simtool.provision.generate) even though it holds no credential in the clear.

Pepper (optional, ``batch generate --pepper-file``): a 32-byte server-side secret kept by the
panel, never in the panel import.  Each value is hashed as
``Argon2id(hex(HMAC-SHA256(pepper, UTF-8 value)))``; the panel verifies a login the same way::

    candidate = hmac.new(pepper, entered.encode("utf-8"), "sha256").hexdigest()
    argon2.PasswordHasher().verify(stored_phc, candidate)

Without the pepper a stolen panel import cannot be searched at all (the HMAC output is 256
bits); the pepper's key id is in the import (``hash.pepper``) so the panel knows which to use.
"""

from __future__ import annotations

import hashlib
import hmac
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from simtool.errors import DataError
from simtool.secret import Secret

# OWASP Password Storage Cheat Sheet, Argon2id baseline: m=19 MiB, t=2, p=1.
MIN_MEMORY_KIB = 19 * 1024
MIN_TIME_COST = 2
MIN_PARALLELISM = 1
_CHUNK = 32  # hashes per task: few enough to keep the progress bar moving


@dataclass(frozen=True)
class HashParams:
    memory_kib: int = MIN_MEMORY_KIB
    time_cost: int = MIN_TIME_COST
    parallelism: int = MIN_PARALLELISM
    hash_len: int = 32
    salt_len: int = 16

    def __post_init__(self) -> None:
        if (self.memory_kib < MIN_MEMORY_KIB or self.time_cost < MIN_TIME_COST
                or self.parallelism < MIN_PARALLELISM or self.hash_len < 16
                or self.salt_len < 16):
            raise DataError(
                f"Argon2id parameters below the floor (m >= {MIN_MEMORY_KIB} KiB, "
                f"t >= {MIN_TIME_COST}, p >= {MIN_PARALLELISM}, 16-byte salt and tag): "
                "simtool never weakens password hashing")

    def hasher(self) -> PasswordHasher:
        return PasswordHasher(time_cost=self.time_cost, memory_cost=self.memory_kib,
                              parallelism=self.parallelism, hash_len=self.hash_len,
                              salt_len=self.salt_len, type=Type.ID)

    def describe(self) -> dict[str, int | str]:
        return {"algorithm": "argon2id", "memory_kib": self.memory_kib,
                "time_cost": self.time_cost, "parallelism": self.parallelism,
                "salt_bytes": self.salt_len, "hash_bytes": self.hash_len}


DEFAULT_PARAMS = HashParams()


@dataclass(frozen=True)
class HashReport:
    count: int
    workers: int
    seconds: float

    @property
    def rate(self) -> float:
        """Hashes per second."""
        return self.count / self.seconds if self.seconds > 0 else float("inf")


def _hash_chunk(params: HashParams, values: list[str]) -> list[str]:
    """Worker: hash plain values (they cross the process boundary unwrapped, in memory only)."""
    hasher = params.hasher()
    return [hasher.hash(v) for v in values]


def _worker_start() -> None:
    # Ctrl-C is the parent's to handle: it stops the workers at once (_stop_now), and a
    # worker that also saw SIGINT would only print a traceback for the chunk in flight
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """End the workers now and drop the queued chunks.  ``shutdown(wait=True)``, which the
    ``with`` block would do, first hashes every queued chunk: a Ctrl-C then froze the screen
    for as long as the whole batch would have taken."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14+
    if terminate is not None:
        terminate()
        return
    for process in list((pool._processes or {}).values()):  # no public way before 3.14
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


PEPPER_LEN = 32
PEPPER_SCHEME = "hmac-sha256-hex"


def peppered(value: str, pepper: Secret[bytes] | None) -> str:
    """What is given to Argon2id: the value itself, or hex(HMAC-SHA256(pepper, value))."""
    if pepper is None:
        return value
    return hmac.new(pepper.reveal(), value.encode("utf-8"), hashlib.sha256).hexdigest()


def hash_secrets(values: Sequence[Secret[str]], params: HashParams = DEFAULT_PARAMS, *,
                 workers: int | None = None, progress: Callable[[int], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter,
                 pepper: Secret[bytes] | None = None,
                 ) -> tuple[list[str], HashReport]:
    """Argon2id-hash every value (PHC strings ``$argon2id$v=19$m=...``), in order.

    ``workers`` processes (default: every core this process may use) each hash chunks of
    values; ``progress(n)`` is called with the number of hashes finished since the last call.
    ``pepper``: hash :func:`peppered` values (the module's docstring says how a panel checks).
    """
    if pepper is not None and len(pepper) < 16:
        raise DataError("a pepper must be at least 16 bytes")
    workers = max(1, workers or default_workers())
    plain = [peppered(v.reveal(), pepper) for v in values]
    size = max(1, min(_CHUNK, -(-len(plain) // (4 * workers))))  # ≥ 4 chunks per worker
    chunks = [plain[i:i + size] for i in range(0, len(plain), size)]
    start = clock()
    results: list[list[str] | None] = [None] * len(chunks)
    workers = min(workers, max(1, len(chunks)))
    if workers == 1:
        for i, chunk in enumerate(chunks):
            results[i] = _hash_chunk(params, chunk)
            if progress:
                progress(len(chunk))
    else:
        # forkserver: workers never inherit the caller's threads (or its secrets in memory)
        context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                   initializer=_worker_start)
        try:
            futures = {pool.submit(_hash_chunk, params, chunk): i for i, chunk in enumerate(chunks)}
            for future in as_completed(futures):
                i = futures[future]
                results[i] = future.result()
                if progress:
                    progress(len(chunks[i]))
        except BaseException:
            # Ctrl-C (or a failing chunk): nothing of this run is returned, so nothing
            # half-done is kept
            _stop_now(pool)
            raise
        pool.shutdown()
    hashes = [h for chunk in results for h in chunk]  # type: ignore[union-attr]
    return hashes, HashReport(len(hashes), workers, clock() - start)


def verify(phc: str, value: Secret[str], pepper: Secret[bytes] | None = None) -> bool:
    """True when ``value`` (peppered as it was hashed) matches the PHC-format hash ``phc``."""
    try:
        return PasswordHasher().verify(phc, peppered(value.reveal(), pepper))
    except (VerificationError, InvalidHashError):
        return False
