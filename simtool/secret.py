"""A value that never prints itself.

Ki, OPc, OP, ADM keys, PINs, PUKs and panel passwords travel through simtool wrapped in
:class:`Secret`, so a stray ``repr``, f-string, log line or exception message shows
``Secret(***)`` instead of the key.  Only :meth:`Secret.reveal` gives the value back, and
only code that must put it on the wire or into an encrypted file calls it.
"""

from __future__ import annotations

import hmac
from typing import Generic, TypeVar

T = TypeVar("T", bytes, str)


class Secret(Generic[T]):
    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        if isinstance(value, Secret):  # pragma: no cover - defensive
            value = value.reveal()
        object.__setattr__(self, "_value", value)

    def reveal(self) -> T:
        return self._value

    def __setattr__(self, name, value):  # immutable
        raise AttributeError("Secret is immutable")

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return "Secret(***)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        a, b = self._value, other._value
        if type(a) is not type(b):
            return False
        if isinstance(a, str):
            a, b = a.encode(), b.encode()
        return hmac.compare_digest(a, b)

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __reduce__(self):
        raise TypeError("a Secret is not pickled; reveal() it explicitly where a copy is meant")
