"""Skip, or under CI fail, when a component the suite needs is not installed.

On a developer's machine a missing pcscd, vpcd or PostgreSQL server skips the tests that need
it (with the reason and the package to install).  Under ``CI=true`` the same absence fails
those tests: a CI run that skipped them would pass without having tested them.
"""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def missing(why: str) -> None:
    """A required component is absent: skip locally, fail in CI.  Never returns."""
    if in_ci():
        pytest.fail(f"CI=true and a required component is missing: {why}", pytrace=False)
    pytest.skip(why)
