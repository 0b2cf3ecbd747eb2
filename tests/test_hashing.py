"""simtool.provision.hashing: Argon2id at the floor (OWASP's baseline, m = 19456 KiB, t = 2,
p = 1), never weaker, the parameters read back from the hashes themselves."""

from __future__ import annotations

import os

import argon2
import pytest

from simtool.errors import DataError
from simtool.provision import hashing
from simtool.provision.hashing import (DEFAULT_PARAMS, HashParams, HashReport, hash_secrets,
                                       verify)
from simtool.secret import Secret

FLOOR_MESSAGE = ("Argon2id parameters below the floor (m >= 19456 KiB, t >= 2, p >= 1, "
                 "16-byte salt and tag): simtool never weakens password hashing")


def test_the_floor_is_owasps_baseline():
    assert (hashing.MIN_MEMORY_KIB, hashing.MIN_TIME_COST, hashing.MIN_PARALLELISM) == \
        (19456, 2, 1)
    assert DEFAULT_PARAMS == HashParams(19456, 2, 1, 32, 16)


@pytest.mark.parametrize("weaker", [dict(memory_kib=19455), dict(time_cost=1),
                                    dict(parallelism=0), dict(hash_len=15), dict(salt_len=15)])
def test_weaker_parameters_are_refused(weaker):
    with pytest.raises(DataError) as info:
        HashParams(**weaker)
    assert str(info.value) == FLOOR_MESSAGE


def test_parameters_at_or_above_the_floor_are_taken():
    HashParams(memory_kib=19456, time_cost=2, parallelism=1, hash_len=16, salt_len=16)
    HashParams(memory_kib=65536, time_cost=3, parallelism=4)


def test_the_hash_carries_exactly_the_parameters_asked_for():
    # none of these is argon2-cffi's default, so each must have been passed on
    params = HashParams(memory_kib=19457, time_cost=4, parallelism=2, hash_len=20, salt_len=17)
    phc = params.hasher().hash("0123456789")
    assert argon2.extract_parameters(phc) == argon2.Parameters(
        type=argon2.Type.ID, version=19, salt_len=17, hash_len=20, time_cost=4,
        memory_cost=19457, parallelism=2)
    assert params.describe() == {"algorithm": "argon2id", "memory_kib": 19457, "time_cost": 4,
                                 "parallelism": 2, "salt_bytes": 17, "hash_bytes": 20}


def test_hash_secrets_in_one_process_keeps_order_and_reports_progress():
    values = [Secret(f"{i:04d}") for i in range(10)]
    progress: list[int] = []
    ticks = iter([100.0, 102.5])
    hashes, report = hash_secrets(values, workers=1, progress=progress.append,
                                  clock=lambda: next(ticks))
    assert len(hashes) == 10 and len(set(hashes)) == 10
    for phc, value in zip(hashes, values, strict=True):
        assert verify(phc, value)
        assert argon2.extract_parameters(phc) == argon2.extract_parameters(hashes[0])
    # chunks of ceil(10 / (4 × 1 worker)) = 3: at least 4 progress steps per worker
    assert progress == [3, 3, 3, 1]
    assert report == HashReport(count=10, workers=1, seconds=2.5)
    assert report.rate == 4.0


def test_hash_secrets_on_a_pool_keeps_order():
    values = [Secret(f"pin{i}") for i in range(5)]
    progress: list[int] = []
    hashes, report = hash_secrets(values, workers=2, progress=progress.append)
    assert [verify(h, v) for h, v in zip(hashes, values, strict=True)] == [True] * 5
    assert not verify(hashes[0], values[1])
    # ceil(5 / 8) = 1 value per chunk, 5 chunks, 2 workers
    assert sorted(progress) == [1] * 5 and report.workers == 2 and report.count == 5


def test_the_pool_starts_workers_from_a_forkserver(monkeypatch):
    """Workers must not be forks of the caller (they would inherit its threads and every secret
    in its memory): the pool gets a forkserver context."""
    seen = []
    real = hashing.ProcessPoolExecutor

    def pool(*args, **kw):
        context = kw.get("mp_context")
        seen.append(context.get_start_method() if context is not None else None)
        return real(*args, **kw)

    monkeypatch.setattr(hashing, "ProcessPoolExecutor", pool)
    hash_secrets([Secret("1111"), Secret("2222")], workers=2)
    assert seen == ["forkserver"]


def test_workers_never_exceed_the_chunks():
    hashes, report = hash_secrets([Secret("1234")], workers=8)
    assert len(hashes) == 1 and report.workers == 1


def test_rate_of_an_instant_run_is_infinite():
    assert HashReport(count=3, workers=1, seconds=0).rate == float("inf")
    assert HashReport(count=3, workers=1, seconds=2).rate == 1.5


def test_verify_refuses_wrong_values_and_malformed_hashes():
    phc = DEFAULT_PARAMS.hasher().hash("2468")
    assert verify(phc, Secret("2468")) is True
    assert verify(phc, Secret("2469")) is False
    assert verify("not a hash", Secret("2468")) is False
    assert verify(phc.replace("$argon2id$", "$argon2xx$"), Secret("2468")) is False


def test_default_workers_is_every_core_this_process_may_use():
    assert hashing.default_workers() == len(os.sched_getaffinity(0))
