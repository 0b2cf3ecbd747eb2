"""GlobalPlatform card content management APDUs (GP Card Specification 2.3 §11), sans-I/O.

Builders return :class:`~simtool.apdu.command.CommandApdu` in the clear (class byte ``80`` or
``00``); a :class:`~simtool.gp.scp03.SecureChannel` wraps them.  Parsers take response data
and return frozen dataclasses.

=========================================  ===================================================
SELECT (the ISD)                           GP 2.3 §11.9, ISO/IEC 7816-4 §11.2.2
GET STATUS, response format 2 (tags)       GP 2.3 §11.4, Table 11-36
GET DATA: CPLC (9F7F), key info (00E0)     GP 2.3 §11.3, §H.6 (CPLC), §11.3.3.1 Table 11-35
INSTALL [for load]                         GP 2.3 §11.5.2.3.1 Table 11-48
LOAD                                       GP 2.3 §11.6
INSTALL [for install and make selectable]  GP 2.3 §11.5.2.3.2 Tables 11-49/11-50
  parameters (C9, EF, toolkit CA)          simtool.gp.install_params
DELETE                                     GP 2.3 §11.2
PUT KEY, key check values                  GP 2.3 §11.8, Amendment D §7.2
=========================================  ===================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from simtool.apdu.command import CommandApdu
from simtool.apdu.tlv import ber_decode_all, ber_encode, encode_length
from simtool.errors import DecodeError, EncodeError
from simtool.gp.crypto import aes_ecb, tdes_ecb
from simtool.gp.install_params import InstallParameters, MenuEntry, ToolkitParameters
from simtool.secret import Secret

#: the Issuer Security Domain's AID (GP 2.3 §F.2; older cards use A0000000030000)
ISD_AID = bytes.fromhex("A000000151000000")

INS_DELETE = 0xE4
INS_GET_DATA = 0xCA
INS_GET_STATUS = 0xF2
INS_INSTALL = 0xE6
INS_LOAD = 0xE8
INS_PUT_KEY = 0xD8


def _aid(aid: bytes, what: str = "AID") -> bytes:
    aid = bytes(aid)
    if not 5 <= len(aid) <= 16:
        raise EncodeError(f"{what} {aid.hex().upper() or '(empty)'} must be 5..16 bytes long")
    return aid


def _lv(value: bytes) -> bytes:
    if len(value) > 255:
        raise EncodeError(f"a length-value field of {len(value)} bytes exceeds 255")
    return bytes((len(value),)) + bytes(value)


def select(aid: bytes = ISD_AID) -> CommandApdu:
    """SELECT by DF name, first or only occurrence, FCI returned: ``00 A4 04 00 Lc AID 00``."""
    return CommandApdu(0x00, 0xA4, 0x04, 0x00, _aid(aid), 256)


# --- GET STATUS ------------------------------------------------------------------------------


class StatusSubset(IntEnum):
    """P1 of GET STATUS (GP 2.3 §11.4.2.1 Table 11-34)."""

    ISD = 0x80
    APPLICATIONS = 0x40  # applications and supplementary security domains
    LOAD_FILES = 0x20
    LOAD_FILES_AND_MODULES = 0x10


def get_status(subset: StatusSubset, *, next_occurrence: bool = False,
               aid_prefix: bytes = b"") -> CommandApdu:
    """GET STATUS with the search criterion ``4F`` (an AID prefix, empty for all) and the
    tag-based response format (P2 b2 = 1); ``next_occurrence`` after a ``63 10``."""
    p2 = 0x02 | (0x01 if next_occurrence else 0x00)
    return CommandApdu(0x80, INS_GET_STATUS, int(StatusSubset(subset)), p2,
                       ber_encode(0x4F, bytes(aid_prefix)), 256)


#: GP 2.3 §11.1.1 Tables 11-3 … 11-6: life cycle coding per kind of registry entry
_LIFE_CYCLES = {
    StatusSubset.ISD: {0x01: "OP_READY", 0x07: "INITIALIZED", 0x0F: "SECURED",
                       0x7F: "CARD_LOCKED", 0xFF: "TERMINATED"},
    StatusSubset.LOAD_FILES: {0x01: "LOADED"},
}


def life_cycle_name(subset: StatusSubset, value: int) -> str:
    """The life cycle state's name as GP 2.3 §11.1.1 spells it."""
    subset = StatusSubset(subset)
    if subset is StatusSubset.LOAD_FILES_AND_MODULES:
        subset = StatusSubset.LOAD_FILES
    table = _LIFE_CYCLES.get(subset)
    if table is not None:
        return table.get(value, f"{value:02X}")
    # applications and security domains (Tables 11-4, 11-5)
    if value & 0x80:
        return "LOCKED"
    if value == 0x03:
        return "INSTALLED"
    if value == 0x07:
        return "SELECTABLE"
    if value & 0x0F == 0x0F:
        return "PERSONALIZED" if value == 0x0F else f"SELECTABLE ({value:02X}, application specific)"
    if value & 0x07 == 0x07:
        return f"SELECTABLE ({value:02X}, application specific)"
    return f"{value:02X}"


#: GP 2.3 §11.1.2 Table 11-7: (byte index, bit mask, name)
_PRIVILEGES = (
    (0, 0x80, "Security Domain"), (0, 0x40, "DAP Verification"),
    (0, 0x20, "Delegated Management"), (0, 0x10, "Card Lock"), (0, 0x08, "Card Terminate"),
    (0, 0x04, "Card Reset"), (0, 0x02, "CVM Management"), (0, 0x01, "Mandated DAP Verification"),
    (1, 0x80, "Trusted Path"), (1, 0x40, "Authorized Management"),
    (1, 0x20, "Token Verification"), (1, 0x10, "Global Delete"), (1, 0x08, "Global Lock"),
    (1, 0x04, "Global Registry"), (1, 0x02, "Final Application"), (1, 0x01, "Global Service"),
    (2, 0x80, "Receipt Generation"), (2, 0x40, "Ciphered Load File Data Block"),
    (2, 0x20, "Contactless Activation"), (2, 0x10, "Contactless Self-Activation"),
)


@dataclass(frozen=True)
class Privileges:
    """Privileges (GP 2.3 §11.1.2): one byte (GP 2.1.1 cards) or three."""

    value: bytes = b"\x00\x00\x00"

    def __post_init__(self) -> None:
        if len(self.value) not in (1, 3):
            raise EncodeError(f"privileges are 1 or 3 bytes, got {len(self.value)}")

    @property
    def names(self) -> tuple[str, ...]:
        v = self.value + bytes(3 - len(self.value))
        return tuple(name for i, mask, name in _PRIVILEGES if v[i] & mask)

    @classmethod
    def from_names(cls, *names: str) -> Privileges:
        v = bytearray(3)
        known = {name.lower(): (i, mask) for i, mask, name in _PRIVILEGES}
        for name in names:
            if name.lower() not in known:
                raise EncodeError(f"unknown privilege {name!r}")
            i, mask = known[name.lower()]
            v[i] |= mask
        return cls(bytes(v))


@dataclass(frozen=True)
class RegistryEntry:
    """One ``E3`` template of a GET STATUS response (GP 2.3 §11.4.3.1 Table 11-36)."""

    aid: bytes
    life_cycle: int
    privileges: Privileges | None = None
    load_file_aid: bytes | None = None          # C4: the application's executable load file
    load_file_version: bytes | None = None      # CE
    module_aids: tuple[bytes, ...] = ()         # 84: executable modules of a load file
    security_domain_aid: bytes | None = None    # CC: associated security domain

    def encode(self) -> bytes:
        out = ber_encode(0x4F, self.aid) + ber_encode(0x9F70, bytes((self.life_cycle,)))
        if self.privileges is not None:
            out += ber_encode(0xC5, self.privileges.value)
        if self.load_file_aid is not None:
            out += ber_encode(0xC4, self.load_file_aid)
        if self.load_file_version is not None:
            out += ber_encode(0xCE, self.load_file_version)
        for m in self.module_aids:
            out += ber_encode(0x84, m)
        if self.security_domain_aid is not None:
            out += ber_encode(0xCC, self.security_domain_aid)
        return ber_encode(0xE3, out)


def parse_get_status(data: bytes) -> list[RegistryEntry]:
    """Decode the ``E3`` templates of a GET STATUS response (format 2)."""
    out = []
    for n, tlv in enumerate(ber_decode_all(data)):
        where = f"GET STATUS entry {n + 1}"
        if tlv.tag != 0xE3:
            raise DecodeError(f"tag {tlv.tag:02X} where an E3 template belongs", where=where)
        fields: dict[int, bytes] = {}
        modules: list[bytes] = []
        for inner in ber_decode_all(tlv.value):
            if inner.tag == 0x84:
                modules.append(inner.value)
            else:
                fields[inner.tag] = inner.value
        if 0x4F not in fields or 0x9F70 not in fields:
            raise DecodeError("an E3 template without its AID (4F) or life cycle (9F70)",
                              where=where)
        if not fields[0x9F70]:
            raise DecodeError("empty life cycle state (9F70)", where=where)
        out.append(RegistryEntry(
            fields[0x4F], fields[0x9F70][0],
            Privileges(fields[0xC5]) if 0xC5 in fields else None,
            fields.get(0xC4), fields.get(0xCE), tuple(modules), fields.get(0xCC)))
    return out


# --- GET DATA ---------------------------------------------------------------------------------


def get_data(tag: int) -> CommandApdu:
    """GET DATA ``80 CA P1 P2 00`` for a one- or two-byte tag (9F7F CPLC, 00E0 key info, 0066
    card data, 0042 IIN, 0045 CIN)."""
    if not 0 <= tag <= 0xFFFF:
        raise EncodeError(f"GET DATA tag {tag!r} is not 1 or 2 bytes")
    return CommandApdu(0x80, INS_GET_DATA, tag >> 8, tag & 0xFF, b"", 256)


#: GP 2.3 Annex H.6 Table H-6 (CPLC data): field names and sizes, 42 bytes in all
_CPLC_FIELDS = (
    ("ic_fabricator", 2), ("ic_type", 2), ("operating_system_id", 2),
    ("operating_system_release_date", 2), ("operating_system_release_level", 2),
    ("ic_fabrication_date", 2), ("ic_serial_number", 4), ("ic_batch_identifier", 2),
    ("ic_module_fabricator", 2), ("ic_module_packaging_date", 2), ("icc_manufacturer", 2),
    ("ic_embedding_date", 2), ("ic_pre_personalizer", 2),
    ("ic_pre_personalization_equipment_date", 2), ("ic_pre_personalization_equipment_id", 4),
    ("ic_personalizer", 2), ("ic_personalization_date", 2),
    ("ic_personalization_equipment_id", 4),
)


@dataclass(frozen=True)
class Cplc:
    """Card Production Life Cycle data (GP 2.3 Annex H.6).  Every field is raw bytes; dates are
    YDDD in BCD (year digit, day of the year)."""

    ic_fabricator: bytes
    ic_type: bytes
    operating_system_id: bytes
    operating_system_release_date: bytes
    operating_system_release_level: bytes
    ic_fabrication_date: bytes
    ic_serial_number: bytes
    ic_batch_identifier: bytes
    ic_module_fabricator: bytes
    ic_module_packaging_date: bytes
    icc_manufacturer: bytes
    ic_embedding_date: bytes
    ic_pre_personalizer: bytes
    ic_pre_personalization_equipment_date: bytes
    ic_pre_personalization_equipment_id: bytes
    ic_personalizer: bytes
    ic_personalization_date: bytes
    ic_personalization_equipment_id: bytes

    @classmethod
    def decode(cls, data: bytes) -> Cplc:
        """Decode the GET DATA response: ``9F7F 2A`` + 42 bytes (or the 42 bytes alone)."""
        data = bytes(data)
        if data[:2] == b"\x9f\x7f":
            tlvs = ber_decode_all(data)
            data = tlvs[0].value
        if len(data) != 42:
            raise DecodeError(f"CPLC data of {len(data)} bytes, GP 2.3 Annex H.6 defines 42",
                              where="GET DATA 9F7F")
        values, pos = {}, 0
        for name, size in _CPLC_FIELDS:
            values[name] = data[pos:pos + size]
            pos += size
        return cls(**values)

    def encode(self) -> bytes:
        return ber_encode(0x9F7F, b"".join(getattr(self, n) for n, _ in _CPLC_FIELDS))


#: GP 2.3 §11.1.8 Table 11-16: key type coding (the common ones)
KEY_TYPES = {0x80: "DES", 0x81: "reserved (3DES)", 0x82: "3DES-CBC", 0x83: "DES-ECB",
             0x84: "DES-CBC", 0x85: "TLS PSK", 0x88: "AES", 0x90: "HMAC-SHA1",
             0x91: "HMAC-SHA1-160", 0xA0: "RSA public exponent e", 0xA1: "RSA modulus N",
             0xA2: "RSA modulus N", 0xFF: "extended format"}


@dataclass(frozen=True)
class KeyInformation:
    """One ``C0`` entry of the key information template (GP 2.3 §11.3.3.1 Table 11-35, basic
    format): key identifier, key version and the (type, length) of each component."""

    key_id: int
    key_version: int
    components: tuple[tuple[int, int], ...]

    def encode(self) -> bytes:
        body = bytes((self.key_id, self.key_version))
        body += b"".join(bytes((t, n)) for t, n in self.components)
        return ber_encode(0xC0, body)


def parse_key_information(data: bytes) -> list[KeyInformation]:
    """Decode GET DATA ``00E0``: the ``E0`` template of ``C0`` entries."""
    tlvs = ber_decode_all(data)
    if len(tlvs) != 1 or tlvs[0].tag != 0xE0:
        raise DecodeError("not a key information template (E0)", where="GET DATA 00E0")
    out = []
    for n, c0 in enumerate(ber_decode_all(tlvs[0].value)):
        v = c0.value
        where = f"key information entry {n + 1}"
        if c0.tag != 0xC0 or len(v) < 2 or len(v) % 2:
            raise DecodeError("a C0 entry is KID, KVN and (type, length) pairs", where=where)
        if len(v) > 2 and v[2] == 0xFF:
            raise DecodeError("the extended key information format is not supported", where=where)
        out.append(KeyInformation(v[0], v[1], tuple((v[i], v[i + 1]) for i in range(2, len(v), 2))))
    return out


# --- INSTALL, LOAD, DELETE -----------------------------------------------------------------


def install_for_load(load_file_aid: bytes, security_domain_aid: bytes = b"", *,
                     load_file_hash: bytes = b"", load_parameters: bytes = b"",
                     token: bytes = b"") -> CommandApdu:
    """INSTALL [for load] ``80 E6 02 00`` (GP 2.3 §11.5.2.3.1 Table 11-48).  An empty SD AID
    means the ISD."""
    data = (_lv(_aid(load_file_aid, "load file AID"))
            + _lv(_aid(security_domain_aid, "security domain AID") if security_domain_aid else b"")
            + _lv(load_file_hash) + _lv(load_parameters) + _lv(token))
    return CommandApdu(0x80, INS_INSTALL, 0x02, 0x00, data, 256)


def load_blocks(load_file_data_block: bytes, block_size: int = 200) -> list[CommandApdu]:
    """The LOAD commands (GP 2.3 §11.6.2) for a load file data block (the ``C4`` TLV from
    :mod:`simtool.gp.cap`): block numbers from 00 in P2, P1 ``80`` on the last block.

    ``block_size`` leaves room for the secure channel: 200 fits SCP03 C-DEC + S16 C-MAC
    (padded to 208 + 16 bytes) and SCP02 (208 + 8)."""
    data = bytes(load_file_data_block)
    if not 1 <= block_size <= 255:
        raise EncodeError(f"LOAD block size {block_size} is outside 1..255")
    if not data:
        raise EncodeError("an empty load file data block")
    chunks = [data[i:i + block_size] for i in range(0, len(data), block_size)]
    if len(chunks) > 256:
        raise EncodeError(f"{len(chunks)} LOAD blocks exceed the 256 block numbers of P2; "
                          "use a larger block size")
    return [CommandApdu(0x80, INS_LOAD, 0x80 if n == len(chunks) - 1 else 0x00, n, chunk, 256)
            for n, chunk in enumerate(chunks)]


def install_for_install(load_file_aid: bytes, module_aid: bytes, application_aid: bytes, *,
                        privileges: Privileges = Privileges(b"\x00"),
                        parameters: InstallParameters = InstallParameters(),
                        token: bytes = b"", make_selectable: bool = True) -> CommandApdu:
    """INSTALL [for install (and make selectable)] ``80 E6 0C 00`` (GP 2.3 §11.5.2.3.2
    Table 11-50); P1 ``04`` without make selectable."""
    data = (_lv(_aid(load_file_aid, "load file AID")) + _lv(_aid(module_aid, "module AID"))
            + _lv(_aid(application_aid, "application AID")) + _lv(privileges.value)
            + _lv(parameters.encode()) + _lv(token))
    return CommandApdu(0x80, INS_INSTALL, 0x0C if make_selectable else 0x04, 0x00, data, 256)


def delete(aid: bytes, *, related: bool = False) -> CommandApdu:
    """DELETE ``80 E4 00 P2 Lc 4F len AID 00`` (GP 2.3 §11.2.2): P2 ``80`` deletes the object
    and its related objects (a load file with its applications)."""
    return CommandApdu(0x80, INS_DELETE, 0x00, 0x80 if related else 0x00,
                       ber_encode(0x4F, _aid(aid)), 256)


# --- PUT KEY -------------------------------------------------------------------------------


def key_check_value(key_type: int, key: Secret) -> bytes:
    """Key check value (GP 2.3 §11.8.2.3.1; Amendment D §7.2.2): the first 3 bytes of the key
    encrypting 8 × ``00`` (DES, ECB) or 16 × ``01`` (AES)."""
    value = key.reveal()
    if key_type == 0x80:
        return tdes_ecb(value, bytes(8))[:3]
    if key_type == 0x88:
        return aes_ecb(value, b"\x01" * 16)[:3]
    raise EncodeError(f"no key check value defined for key type {key_type:02X}")


def put_key(new_version: int, keys: Sequence[Secret], key_type: int,
            encrypt_key: Callable[[Secret], bytes], *, replace_version: int = 0x00,
            first_key_id: int = 0x01) -> CommandApdu:
    """PUT KEY ``80 D8 P1 P2`` (GP 2.3 §11.8.2): a new key set (``replace_version`` 00) or a
    replacement, each key as type ‖ length ‖ key data ‖ 03 ‖ KCV.  DES keys (``80``) carry the
    16 encrypted bytes, AES keys (``88``) their length byte first (Amendment D §7.2.2).
    ``encrypt_key`` is the open channel's :meth:`encrypt_key` (Key-DEK / DEK session key)."""
    if key_type not in (0x80, 0x88):
        raise EncodeError(f"PUT KEY supports key types 80 (DES) and 88 (AES), not {key_type:02X}")
    if not 1 <= new_version <= 0x7F:
        raise EncodeError(f"new key version {new_version} is outside 01..7F")
    if not keys:
        raise EncodeError("PUT KEY without keys")
    data = bytes((new_version,))
    for key in keys:
        block = encrypt_key(key)
        if key_type == 0x88:
            block = bytes((len(key),)) + block
        data += bytes((key_type,)) + encode_length(len(block)) + block
        data += b"\x03" + key_check_value(key_type, key)
    p2 = first_key_id | (0x80 if len(keys) > 1 else 0x00)
    return CommandApdu(0x80, INS_PUT_KEY, replace_version, p2, data, 256)


def parse_put_key_response(data: bytes) -> tuple[int, tuple[bytes, ...]]:
    """The PUT KEY response (GP 2.3 §11.8.3.1): key version number and a 3-byte KCV per key."""
    data = bytes(data)
    if not data or (len(data) - 1) % 3:
        raise DecodeError(f"PUT KEY response of {len(data)} bytes is not KVN + 3-byte KCVs")
    return data[0], tuple(data[i:i + 3] for i in range(1, len(data), 3))


__all__ = [
    "ISD_AID", "StatusSubset", "Privileges", "RegistryEntry", "Cplc", "KeyInformation",
    "MenuEntry", "ToolkitParameters", "InstallParameters", "select", "get_status",
    "parse_get_status", "life_cycle_name", "get_data", "parse_key_information",
    "install_for_load", "load_blocks", "install_for_install", "delete", "key_check_value",
    "put_key", "parse_put_key_response",
]
