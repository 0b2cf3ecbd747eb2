"""The SIM Toolkit menu as data: titles, items and what each item does.

A :class:`Menu` is what :class:`simtool.stk.applet.MenuApplet` shows with SET UP MENU
(ETSI TS 102 223 §6.6.7).  Each :class:`MenuItem` has one action:

* :class:`Ussd` — SEND USSD of a fixed string (``*108#``), 3GPP TS 31.111 §6.4.12;
* :class:`Ss` — SEND SS of a supplementary-service string (``#21#``), TS 31.111 §6.4.11;
* :class:`Template` — an SS/USSD string with placeholders (``*21*{number}#``) filled by GET
  INPUT prompts (TS 102 223 §6.6.3), each validated (:class:`InputField`);
* :class:`Submenu` — a SELECT ITEM of more items (TS 102 223 §6.6.8);
* :class:`Explain` — a DISPLAY TEXT (TS 102 223 §6.6.1);
* :class:`Call` — a SET UP CALL (TS 102 223 §6.6.12).

Menus live in ``provisioning/menus/<name>.toml``; :func:`load_menu` reads one and raises
:class:`~simtool.errors.DataError` naming the file and the item on malformed data, or
:class:`~simtool.errors.EncodeError` naming the item whose text makes a command too long.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simtool.datadir import named_file, provisioning_dir, read_toml
from simtool.errors import DataError, EncodeError

INPUT_FORMATS = ("digits", "phone", "hhmm", "trunk")
_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
#: A USSD string as a menu sends it (TS 22.030 §6.5.3.2): starts with * or #, ends with #.
_USSD = re.compile(r"[*#][0-9*#]*#")
#: An SS control string (TS 22.030 §6.5.2): procedure, 2-3 digit service code, SI fields.
_SS = re.compile(r"(\*\*|##|\*#|\*|#)[0-9]{2,3}(\*\+?[0-9]*){0,3}#")
_PHONE = re.compile(r"\+?[0-9]+")
_TRUNK = re.compile(r"0[1-9][0-9]{8}")


@dataclass(frozen=True)
class Ussd:
    code: str


@dataclass(frozen=True)
class Ss:
    code: str


@dataclass(frozen=True)
class InputField:
    """One GET INPUT of a template: digits only (TS 102 223 §6.6.3 qualifier b1 = 0)."""

    name: str
    prompt: str
    min_length: int = 1
    max_length: int = 20
    format: str = "digits"  # digits | phone (+ allowed first) | hhmm (a 24-hour time) |
    #                         trunk (0 + area code + number, 10 digits)
    label: str | None = None  # how the code shows the field in explanations ("numer")
    default: str | None = None

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not acceptable: ``"length"``, ``"digits"``, ``"time"``; or None."""
        if not self.min_length <= len(value) <= self.max_length:
            return "length"
        if self.format == "phone":
            return None if _PHONE.fullmatch(value) else "digits"
        if self.format == "trunk":  # a full national number: 0 + area code + number (seed 002)
            return None if _TRUNK.fullmatch(value) else "trunk"
        if not value.isascii() or not value.isdigit():
            return "digits"
        if self.format == "hhmm" and (len(value) != 4 or int(value[:2]) > 23
                                      or int(value[2:]) > 59):
            return "time"
        return None

    @property
    def shown_as(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Template:
    """An SS or USSD string with ``{name}`` placeholders, one :class:`InputField` each."""

    service: str  # "ss" | "ussd"
    code: str
    inputs: tuple[InputField, ...]

    def render(self, values: Mapping[str, str]) -> str:
        return _PLACEHOLDER.sub(lambda m: values[m.group(1)], self.code)

    def shown(self) -> str:
        """The code with each placeholder replaced by its label: ``*21*numer#``."""
        labels = {f.name: f.shown_as for f in self.inputs}
        return self.render(labels)


@dataclass(frozen=True)
class Submenu:
    items: tuple[MenuItem, ...]


@dataclass(frozen=True)
class Explain:
    text: str


@dataclass(frozen=True)
class Call:
    number: str


Action = Ussd | Ss | Template | Submenu | Explain | Call


@dataclass(frozen=True)
class MenuItem:
    id: int
    title: str
    action: Action
    help: str | None = None

    @property
    def code(self) -> str | None:
        """The string the item sends (templates with their labels), if it sends one."""
        action = self.action
        if isinstance(action, (Ussd, Ss)):
            return action.code
        if isinstance(action, Template):
            return action.shown()
        if isinstance(action, Call):
            return action.number
        return None


@dataclass(frozen=True)
class CallBack:
    """``[call_control]``: the card turns a call to an international number into a USSD
    call-back request (call control by USIM, TS 31.111 §7.3.1.6, "allowed with
    modifications"); ``request`` has a ``{number}`` placeholder (``*104*{number}#``).
    ``alpha`` is shown while the request goes out; ``national`` when a number lacks its
    country code (the call is not allowed)."""

    request: str
    alpha: str = "Zamawiam połączenie zwrotne"
    national: str = "Wybierz numer z kodem kraju, np. +48531234567"

    def render(self, number: str) -> str:
        return self.request.replace("{number}", number)

    @classmethod
    def from_dict(cls, data: Any, where: str) -> CallBack:
        if not isinstance(data, Mapping):
            raise DataError("must be a table", where=where)
        unknown = set(data) - {"request", "alpha", "national"}
        if unknown:
            raise DataError(f"unknown keys {sorted(unknown)}", where=where)
        request = _text(data, "request", where)
        if _PLACEHOLDER.findall(request) != ["number"]:
            raise DataError(f"request {request!r} needs exactly one {{number}}", where=where)
        if not _USSD.fullmatch(request.replace("{number}", "+48531234567").replace("+", "")):
            raise DataError(f"request {request!r} is not a USSD string (*...#)", where=where)
        kw = {k: _text(data, k, where) for k in ("alpha", "national") if k in data}
        return cls(request, **kw)

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request, "alpha": self.alpha, "national": self.national}


@dataclass(frozen=True)
class Menu:
    title: str
    items: tuple[MenuItem, ...]
    call_control: CallBack | None = None

    def item(self, item_id: int) -> MenuItem | None:
        return next((it for it in self.items if it.id == item_id), None)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "menu") -> Menu:
        """Build and check a menu; errors name ``source`` and the item."""
        if not isinstance(data, Mapping):
            raise DataError("a menu must be a table", where=source)
        title = _text(data, "title", source)
        unknown = set(data) - {"title", "items", "call_control"}
        if unknown:
            raise DataError(f"unknown keys {sorted(unknown)}", where=source)
        cc = data.get("call_control")
        menu = cls(title, _items(data.get("items"), source, ""),
                   None if cc is None else CallBack.from_dict(cc, f"{source}: call_control"))
        check_fits(menu, source=source)
        return menu

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"title": self.title,
                               "items": [_item_dict(it) for it in self.items]}
        if self.call_control is not None:
            out["call_control"] = self.call_control.to_dict()
        return out

    @classmethod
    def load(cls, path: str | Path) -> Menu:
        return load_menu(path)


def menus_dir() -> Path:
    """``provisioning/menus`` (simtool.datadir)."""
    return provisioning_dir() / "menus"


def load_named_menu(name: str) -> Menu:
    """``provisioning/menus/<name>.toml`` (the ``menu = "<name>"`` of a profile)."""
    return load_menu(named_file(menus_dir(), name, "menu"))


def load_menu(path: str | Path) -> Menu:
    """Read ``provisioning/menus/<name>.toml``."""
    return Menu.from_dict(read_toml(path, "menu"), source=str(path))


# --- parsing -------------------------------------------------------------------------------

_ACTION_KEYS = ("ussd", "ss", "items", "explain", "call")
_ITEM_KEYS = {"id", "title", "help", "inputs", *_ACTION_KEYS}
_INPUT_KEYS = {"name", "prompt", "min_length", "max_length", "format", "label", "default"}


def _text(table: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> Any:
    value = table.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{key!r} must be a non-empty string", where=where)
    return value


def _int(table: Mapping[str, Any], key: str, where: str, default: int, low: int,
         high: int) -> int:
    value = table.get(key, default)
    if type(value) is not int or not low <= value <= high:
        raise DataError(f"{key!r} must be an integer {low}..{high}, got {value!r}", where=where)
    return value


def _items(raw: Any, source: str, prefix: str) -> tuple[MenuItem, ...]:
    where = f"{source}: item {prefix.rstrip('.')}" if prefix else source
    if not isinstance(raw, list) or not raw:
        raise DataError("'items' must be a non-empty array of tables", where=where)
    items: list[MenuItem] = []
    for n, table in enumerate(raw, 1):
        item = _item(table, source, prefix, n)
        if any(it.id == item.id for it in items):
            raise DataError(f"duplicate item id {item.id}", where=f"{source}: item {prefix}{n}")
        items.append(item)
    return tuple(items)


def _item(table: Any, source: str, prefix: str, n: int) -> MenuItem:
    where = f"{source}: item {prefix}{n}"
    if not isinstance(table, Mapping):
        raise DataError("an item must be a table", where=where)
    item_id = _int(table, "id", where, -1, 1, 255)
    where = f"{source}: item {prefix}{item_id}"
    title = _text(table, "title", where)
    where = f"{where} {title!r}"
    unknown = set(table) - _ITEM_KEYS
    if unknown:
        raise DataError(f"unknown keys {sorted(unknown)}", where=where)
    kinds = [k for k in _ACTION_KEYS if k in table]
    if len(kinds) != 1:
        raise DataError("an item needs exactly one of " + ", ".join(_ACTION_KEYS)
                        + (f" (has {', '.join(kinds)})" if kinds else ""), where=where)
    kind = kinds[0]
    if "inputs" in table and kind not in ("ussd", "ss"):
        raise DataError("'inputs' only go with an ussd or ss template", where=where)
    action: Action
    if kind == "items":
        action = Submenu(_items(table["items"], source, f"{prefix}{item_id}."))
    elif kind == "explain":
        action = Explain(_text(table, "explain", where))
    elif kind == "call":
        number = _text(table, "call", where)
        if not _PHONE.fullmatch(number):
            raise DataError(f"call number {number!r} must be digits (optionally +)", where=where)
        action = Call(number)
    else:
        action = _code_action(kind, _text(table, kind, where), table.get("inputs"), where)
    return MenuItem(item_id, title, action, _text(table, "help", where, optional=True))


def _code_action(kind: str, code: str, raw_inputs: Any, where: str) -> Action:
    names = _PLACEHOLDER.findall(code)
    if raw_inputs is None and not names:
        _check_code(kind, code, where)
        return Ussd(code) if kind == "ussd" else Ss(code)
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise DataError(f"code {code!r} has placeholders {names} but no 'inputs'", where=where)
    fields = tuple(_input(t, f"{where} input {i}") for i, t in enumerate(raw_inputs, 1))
    declared = [f.name for f in fields]
    if sorted(declared) != sorted(names) or len(set(names)) != len(names):
        raise DataError(f"placeholders {names} of {code!r} do not match the inputs {declared}",
                        where=where)
    template = Template(kind, code, fields)
    # The smallest and the largest valid answers must both give a well-formed string.
    for pick in (min, max):
        sample = {f.name: _sample(f, pick(f.min_length, f.max_length)) for f in fields}
        _check_code(kind, template.render(sample), where)
    return template


def _sample(field: InputField, length: int) -> str:
    if field.format == "hhmm":
        return "0630"
    if field.format == "trunk":
        return "0322015880"
    return ("+" + "4" * (length - 1)) if field.format == "phone" and length > 1 else "4" * length


def _check_code(kind: str, code: str, where: str) -> None:
    pattern = _USSD if kind == "ussd" else _SS
    if not pattern.fullmatch(code):
        what = "a USSD string (*...# or #...#)" if kind == "ussd" else \
            "an SS string (procedure, service code, *fields, #)"
        raise DataError(f"{code!r} is not {what}", where=where)


def _input(table: Any, where: str) -> InputField:
    if not isinstance(table, Mapping):
        raise DataError("an input must be a table", where=where)
    unknown = set(table) - _INPUT_KEYS
    if unknown:
        raise DataError(f"unknown keys {sorted(unknown)}", where=where)
    name = _text(table, "name", where)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise DataError(f"input name {name!r} must be lower-case letters, digits, _",
                        where=where)
    fmt = table.get("format", "digits")
    if fmt not in INPUT_FORMATS:
        raise DataError(f"format {fmt!r} must be one of {', '.join(INPUT_FORMATS)}",
                        where=where)
    default_len = 4 if fmt == "hhmm" else None
    lo = _int(table, "min_length", where, default_len or 1, 1, 160)
    hi = _int(table, "max_length", where, default_len or 20, 1, 160)
    if lo > hi:
        raise DataError(f"min_length {lo} > max_length {hi}", where=where)
    field = InputField(name, _text(table, "prompt", where), lo, hi, fmt,
                       _text(table, "label", where, optional=True),
                       _text(table, "default", where, optional=True))
    if field.default is not None and field.problem(field.default):
        raise DataError(f"default {field.default!r} is not a valid answer", where=where)
    return field


# --- writing ---------------------------------------------------------------------------------


def _item_dict(item: MenuItem) -> dict[str, Any]:
    out: dict[str, Any] = {"id": item.id, "title": item.title}
    if item.help is not None:
        out["help"] = item.help
    action = item.action
    if isinstance(action, Ussd):
        out["ussd"] = action.code
    elif isinstance(action, Ss):
        out["ss"] = action.code
    elif isinstance(action, Template):
        out[action.service] = action.code
        out["inputs"] = [_input_dict(f) for f in action.inputs]
    elif isinstance(action, Submenu):
        out["items"] = [_item_dict(it) for it in action.items]
    elif isinstance(action, Explain):
        out["explain"] = action.text
    else:
        out["call"] = action.number
    return out


def _input_dict(field: InputField) -> dict[str, Any]:
    out: dict[str, Any] = {"name": field.name, "prompt": field.prompt,
                           "min_length": field.min_length, "max_length": field.max_length,
                           "format": field.format}
    if field.label is not None:
        out["label"] = field.label
    if field.default is not None:
        out["default"] = field.default
    return out


# --- size checks -------------------------------------------------------------------------------


def check_fits(menu: Menu, *, source: str = "menu") -> None:
    """Encode every command the applet can build from ``menu``; EncodeError names the item.

    TS 102 223 §6.6: each proactive command must fit one FETCH response."""
    from simtool.stk.commands import DisplayText, GetInput, SelectItem, SetUpMenu
    from simtool.stk.objects import Item

    def attempt(build: Any, where: str) -> None:
        try:
            build().encode()
        except EncodeError as exc:  # also a text outside UCS2
            raise EncodeError(str(exc), where=where) from None

    def walk(items: tuple[MenuItem, ...], prefix: str) -> None:
        for it in items:
            where = f"{source}: item {prefix}{it.id} {it.title!r}"
            attempt(lambda: Item.from_text(it.id, it.title), where)
            action = it.action
            if isinstance(action, Submenu):
                attempt(lambda: SelectItem.of(it.title, [(s.id, s.title) for s in action.items],
                                              help_available=True), source)
                walk(action.items, f"{prefix}{it.id}.")
            elif isinstance(action, Template):
                for f in action.inputs:
                    attempt(lambda: GetInput.of(f.prompt, f.min_length, f.max_length,
                                                help_available=True, default=f.default), where)
            elif isinstance(action, Explain):
                attempt(lambda: DisplayText.of(action.text), where)
            if it.help is not None:
                attempt(lambda: DisplayText.of(it.help or ""), where)

    walk(menu.items, "")
    attempt(lambda: SetUpMenu.of(menu.title, [(i.id, i.title) for i in menu.items],
                                 help_available=True), source)
