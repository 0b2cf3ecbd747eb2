"""What the toolkit side of simtool says to a person: the texts of the card's menu applet
(:mod:`simtool.stk.applet`) and of the handset simulator (:mod:`simtool.stk.handset`).

The texts are operator data, not code: ``provisioning/texts/<language>.toml`` (Polish,
``pl``, is what the seed operators' cards speak).  Both objects are injected; without one,
:func:`default_texts` reads ``pl`` once.  A text file must give every key, each text may use
only the ``{placeholders}`` its field names, and a malformed file is a
:class:`~simtool.errors.DataError` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import functools
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from simtool.datadir import named_file, provisioning_dir, read_toml
from simtool.errors import DataError

DEFAULT_LANGUAGE = "pl"


def _placeholders(*names: str) -> Any:
    return field(metadata={"placeholders": frozenset(names)})


@dataclass(frozen=True)
class AppletTexts:
    """The menu applet's texts (DISPLAY TEXT, SET UP CALL confirmation, CALL CONTROL alpha)."""

    network_unable: str = _placeholders()
    ss_error: str = _placeholders("code", "reason", "error")
    ussd_error: str = _placeholders("code", "reason", "error")
    unknown_error: str = _placeholders()
    not_supported: str = _placeholders("code")
    call_yourself: str = _placeholders("code")
    failed: str = _placeholders("code", "result")
    sent: str = _placeholders("code")
    ss_done: str = _placeholders("code")
    help: str = _placeholders("title", "code")
    unknown_item: str = _placeholders()
    input_length: str = _placeholders("min", "max")
    input_digits: str = _placeholders()
    input_time: str = _placeholders()
    input_trunk: str = _placeholders()
    call_confirm: str = _placeholders("code")
    own_number_unknown: str = _placeholders()
    #: SS / USSD error code (TS 24.080 §4.5) -> its name for the user
    network_errors: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "network_errors",
                           MappingProxyType(dict(self.network_errors)))


@dataclass(frozen=True)
class HandsetTexts:
    """The handset simulator's own messages (calls, call back)."""

    call_not_allowed: str = _placeholders()
    calling: str = _placeholders("number")
    callback_requested: str = _placeholders()
    incoming_callback: str = _placeholders("number")
    call_billed: str = _placeholders("number", "seconds", "billed", "increment", "cost")


@dataclass(frozen=True)
class Texts:
    """One language's texts for the toolkit."""

    applet: AppletTexts
    handset: HandsetTexts


def texts_dir() -> Path:
    return provisioning_dir() / "texts"


def load_named_texts(language: str) -> Texts:
    """``provisioning/texts/<language>.toml``."""
    return load_texts(named_file(texts_dir(), language, "texts"))


def load_texts(path: str | Path) -> Texts:
    return texts_from_dict(read_toml(path, "texts"), where=str(path))


def texts_from_dict(data: Mapping[str, Any], *, where: str = "texts") -> Texts:
    _keys(data, {"applet", "handset"}, where)
    applet = dict(_table(data, "applet", where))
    errors = applet.pop("network_errors", None)
    if errors is None:
        raise DataError("missing table", where=f"{where}: applet.network_errors")
    if not isinstance(errors, dict):
        raise DataError("must be a table", where=f"{where}: applet.network_errors")
    network_errors = {}
    for code, text in errors.items():
        if not code.isdigit() or not 0 <= int(code) <= 255:
            raise DataError("error codes are numbers 0..255",
                            where=f"{where}: applet.network_errors.{code}")
        network_errors[int(code)] = _text(text, frozenset(),
                                          f"{where}: applet.network_errors.{code}")
    return Texts(_strings(AppletTexts, applet, f"{where}: applet",
                          network_errors=network_errors),
                 _strings(HandsetTexts, _table(data, "handset", where), f"{where}: handset"))


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise DataError("must be a table", where=f"{where}: {key}")
    return value


def _keys(data: Mapping[str, Any], wanted: set[str], where: str) -> None:
    missing, unknown = wanted - set(data), set(data) - wanted
    if missing:
        raise DataError(f"missing keys {sorted(missing)}", where=where)
    if unknown:
        raise DataError(f"unknown keys {sorted(unknown)}", where=where)


def _strings(cls: type, data: Mapping[str, Any], where: str, **extra: Any) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in extra}
    _keys(data, set(fields), where)
    values = {name: _text(data[name], f.metadata["placeholders"], f"{where}.{name}")
              for name, f in fields.items()}
    return cls(**values, **extra)


def _text(value: Any, placeholders: frozenset[str], where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DataError("must be a non-empty string", where=where)
    try:
        used = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
    except ValueError as exc:
        raise DataError(f"malformed {{placeholder}}: {exc}", where=where) from None
    wrong = used - placeholders
    if wrong:
        allowed = ", ".join(f"{{{n}}}" for n in sorted(placeholders)) or "none"
        raise DataError(f"unknown placeholders {sorted(wrong)} (allowed: {allowed})",
                        where=where)
    return value


@functools.cache
def default_texts() -> Texts:
    """The ``pl`` texts, read once."""
    return load_named_texts(DEFAULT_LANGUAGE)
