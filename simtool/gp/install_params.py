"""The install parameters field of INSTALL [for install] (GP Card Specification 2.3
§11.5.2.3.7 Table 11-49) and the toolkit application specific parameters it carries for a
UICC toolkit applet (ETSI TS 102 226 §8.2.1.3.2.1, tag ``CA`` in the system specific
parameters ``EF``).  :mod:`simtool.gp.commands` builds the INSTALL command around them."""

from __future__ import annotations

from dataclasses import dataclass

from simtool.apdu.tlv import ber_decode_all, ber_encode
from simtool.errors import DecodeError, EncodeError


def _lv(value: bytes) -> bytes:
    if len(value) > 255:
        raise EncodeError(f"a length-value field of {len(value)} bytes exceeds 255")
    return bytes((len(value),)) + bytes(value)


@dataclass(frozen=True)
class MenuEntry:
    """A menu entry of a toolkit application (TS 102 226 §8.2.1.3.2.1): its position in the
    SET UP MENU list and its item identifier (``00``: the UICC chooses)."""

    position: int
    identifier: int


@dataclass(frozen=True)
class ToolkitParameters:
    """Toolkit application specific parameters, tag ``CA`` in the system specific parameters
    of INSTALL [for install] (ETSI TS 102 226 §8.2.1.3.2.1):

    ====================================================  ======
    priority level of the toolkit application instance    1
    maximum number of timers                              1
    maximum text length for a menu entry                  1
    maximum number of menu entries (n)                    1
    position and identifier of each menu entry            2 × n
    maximum number of channels                            1
    length of the minimum security level field (m)        1
    minimum security level (MSL)                          m
    length of the TAR values field (3 × t)                1
    TAR values                                            3 × t
    maximum number of services (optional)                 1
    ====================================================  ======
    """

    priority: int = 0x01
    max_timers: int = 0
    max_menu_text_length: int = 0
    menu_entries: tuple[MenuEntry, ...] = ()
    max_channels: int = 0
    minimum_security_level: bytes = b""
    tar_values: tuple[bytes, ...] = ()
    max_services: int | None = None

    def encode(self) -> bytes:
        ints = [self.priority, self.max_timers, self.max_menu_text_length, self.max_channels]
        if self.max_services is not None:
            ints.append(self.max_services)
        for e in self.menu_entries:
            ints += [e.position, e.identifier]
        if any(type(v) is not int or not 0 <= v <= 255 for v in ints):
            raise EncodeError("toolkit parameters are single bytes (0..255)")
        if any(len(t) != 3 for t in self.tar_values):
            raise EncodeError("a TAR value is 3 bytes (ETSI TS 101 220 §D)")
        out = bytes((self.priority, self.max_timers, self.max_menu_text_length,
                     len(self.menu_entries)))
        out += b"".join(bytes((e.position, e.identifier)) for e in self.menu_entries)
        out += bytes((self.max_channels,)) + _lv(self.minimum_security_level)
        out += _lv(b"".join(self.tar_values))
        if self.max_services is not None:
            out += bytes((self.max_services,))
        return out

    @classmethod
    def decode(cls, data: bytes) -> ToolkitParameters:
        data, where = bytes(data), "toolkit application specific parameters (CA)"

        def need(pos: int, n: int, what: str) -> None:
            if pos + n > len(data):
                raise DecodeError(f"{what} runs past the end ({len(data)} bytes)", where=where)

        need(0, 4, "the fixed part")
        prio, timers, text, n = data[0], data[1], data[2], data[3]
        pos = 4
        need(pos, 2 * n + 2, f"{n} menu entries and the channels")
        entries = tuple(MenuEntry(data[pos + 2 * i], data[pos + 2 * i + 1]) for i in range(n))
        pos += 2 * n
        channels, m = data[pos], data[pos + 1]
        pos += 2
        need(pos, m + 1, "the minimum security level")
        msl = data[pos:pos + m]
        pos += m
        t = data[pos]
        pos += 1
        if t % 3:
            raise DecodeError(f"TAR values field of {t} bytes is not a multiple of 3", where=where)
        need(pos, t, "the TAR values")
        tars = tuple(data[pos + i:pos + i + 3] for i in range(0, t, 3))
        pos += t
        services = None
        if pos < len(data):
            services = data[pos]
            pos += 1
        if pos != len(data):
            raise DecodeError(f"{len(data) - pos} bytes after the last field", where=where)
        return cls(prio, timers, text, entries, channels, msl, tars, services)


@dataclass(frozen=True)
class InstallParameters:
    """The install parameters field (GP 2.3 §11.5.2.3.7 Table 11-49): ``C9`` application
    specific parameters (always present, maybe empty) and ``EF`` system specific parameters:
    ``C8`` non-volatile and ``C7`` volatile memory quotas (2 bytes each), ``CA`` the toolkit
    parameters (a :class:`ToolkitParameters` or raw bytes)."""

    application_specific: bytes = b""
    non_volatile_memory_quota: int | None = None
    volatile_memory_quota: int | None = None
    toolkit: ToolkitParameters | bytes | None = None

    def encode(self) -> bytes:
        system = b""
        for tag, quota in ((0xC8, self.non_volatile_memory_quota),
                           (0xC7, self.volatile_memory_quota)):
            if quota is not None:
                if not 0 <= quota <= 0xFFFF:
                    raise EncodeError(f"memory quota {quota} does not fit 2 bytes")
                system += ber_encode(tag, quota.to_bytes(2, "big"))
        if self.toolkit is not None:
            value = (self.toolkit.encode() if isinstance(self.toolkit, ToolkitParameters)
                     else bytes(self.toolkit))
            system += ber_encode(0xCA, value)
        out = ber_encode(0xC9, self.application_specific)
        return out + (ber_encode(0xEF, system) if system else b"")

    @classmethod
    def decode(cls, data: bytes) -> InstallParameters:
        top = {t.tag: t.value for t in ber_decode_all(data)}
        if 0xC9 not in top:
            raise DecodeError("install parameters without C9", where="INSTALL parameters")
        system = {t.tag: t.value for t in ber_decode_all(top.get(0xEF, b""))}
        quota = {tag: int.from_bytes(system[tag], "big") for tag in (0xC7, 0xC8) if tag in system}
        toolkit = ToolkitParameters.decode(system[0xCA]) if 0xCA in system else None
        return cls(top[0xC9], quota.get(0xC8), quota.get(0xC7), toolkit)
