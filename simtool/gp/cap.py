"""Java Card CAP files: components, AIDs and the load file data block.

A CAP file is a ZIP (JAR) holding one file per component, ``<package path>/javacard/<Name>.cap``
(Java Card Virtual Machine Specification 3.0.5, chapter 6 "The CAP File Format").  Each
component is ``u1 tag, u2 size, u1 info[size]`` (§6.1).  This module reads:

* the Header component (§6.3): magic ``DECAFFED``, CAP format version, flags, the package's
  version and AID, its name (CAP format 2.2 and later);
* the Applet component (§6.5): the AID of each applet;
* the Directory component (§6.4): the size of every component, checked against the files;
* the load file data block that INSTALL [for load] / LOAD carry (GP Card Specification 2.3
  §11.6.2.3): tag ``C4``, a BER length, and the components in the order §6.2 prescribes for
  the card — Header, Directory, Import, Applet, Class, Method, StaticField, Export,
  ConstantPool, ReferenceLocation, then Descriptor.  Debug is never sent; Descriptor is
  optional (most cards load without it; GlobalPlatformPro and pySim leave it out unless asked).

A malformed CAP raises :class:`~simtool.errors.DataError` naming the component at fault.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from simtool.errors import DataError

#: JCVM 3.0.5 §6.1 Table 6-1: component tags and the file names the converter writes
COMPONENTS = {
    1: "Header", 2: "Directory", 3: "Applet", 4: "Import", 5: "ConstantPool", 6: "Class",
    7: "Method", 8: "StaticField", 9: "RefLocation", 10: "Export", 11: "Descriptor", 12: "Debug",
}
TAGS = {name: tag for tag, name in COMPONENTS.items()}

#: JCVM 3.0.5 §6.2: the order in which the components are sent to the card
LOAD_ORDER = ("Header", "Directory", "Import", "Applet", "Class", "Method", "StaticField",
              "Export", "ConstantPool", "RefLocation")

#: always present in a CAP file (§6.2); Applet and Export depend on the Header's flags
REQUIRED = ("Header", "Directory", "Import", "ConstantPool", "Class", "Method", "StaticField",
            "RefLocation")

MAGIC = bytes.fromhex("DECAFFED")
ACC_INT, ACC_EXPORT, ACC_APPLET = 0x01, 0x02, 0x04


def _ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    if size > 3:
        raise DataError(f"load file data block of {n} bytes is too large")
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


@dataclass(frozen=True)
class CapFile:
    """A parsed CAP file.  ``components`` maps the component name to its full bytes (tag, size
    and info), in the CAP's own file order."""

    source: str
    package_aid: bytes
    package_version: tuple[int, int]
    package_name: str | None
    cap_version: tuple[int, int]
    flags: int
    applet_aids: tuple[bytes, ...]
    components: dict[str, bytes]

    def load_file_data_block(self, *, include_descriptor: bool = False) -> bytes:
        """``C4`` ‖ BER length ‖ the components in the load order of JCVM §6.2."""
        names = list(LOAD_ORDER) + (["Descriptor"] if include_descriptor else [])
        body = b"".join(self.components[n] for n in names if n in self.components)
        return b"\xC4" + _ber_length(len(body)) + body

    @classmethod
    def from_path(cls, path: str | Path) -> CapFile:
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise DataError(f"cannot read the CAP file: {e.strerror}", where=str(path)) from None
        return cls.from_bytes(raw, source=str(path))

    @classmethod
    def from_bytes(cls, raw: bytes, *, source: str = "CAP file") -> CapFile:
        try:
            archive = zipfile.ZipFile(io.BytesIO(raw))
        except zipfile.BadZipFile:
            raise DataError("not a CAP file: not a ZIP archive", where=source) from None
        components: dict[str, bytes] = {}
        with archive:
            for info in archive.infolist():
                name = info.filename.rsplit("/", 1)[-1]
                if not name.endswith(".cap") or name[:-4] not in TAGS:
                    continue
                comp = name[:-4]
                if comp in components:
                    raise DataError(f"two {comp} components (a CAP file holds one package)",
                                    where=source)
                try:
                    components[comp] = archive.read(info)
                except (zipfile.BadZipFile, OSError, RuntimeError) as e:
                    raise DataError(f"{comp} component unreadable: {e}", where=source) from None
        return cls._parse(components, source)

    @classmethod
    def _parse(cls, components: dict[str, bytes], source: str) -> CapFile:
        for comp, data in components.items():
            where = f"{source}: {comp} component"
            if len(data) < 3:
                raise DataError(f"{len(data)} bytes, shorter than its tag and size", where=where)
            if data[0] != TAGS[comp]:
                raise DataError(f"tag {data[0]} where {TAGS[comp]} belongs", where=where)
            size = int.from_bytes(data[1:3], "big")
            if size != len(data) - 3:
                raise DataError(f"size field says {size} bytes, the file holds {len(data) - 3}",
                                where=where)
        for comp in REQUIRED:
            if comp not in components:
                raise DataError(f"the {comp} component is missing", where=source)
        header = components["Header"][3:]
        where = f"{source}: Header component"
        if len(header) < 10 or header[:4] != MAGIC:
            raise DataError("no DECAFFED magic", where=where)
        minor, major, flags = header[4], header[5], header[6]
        pminor, pmajor, aid_len = header[7], header[8], header[9]
        aid = header[10:10 + aid_len]
        if not 5 <= aid_len <= 16 or len(aid) != aid_len:
            raise DataError(f"package AID of {aid_len} bytes (5..16, within the component)",
                            where=where)
        name = None
        rest = header[10 + aid_len:]
        if rest:
            if rest[0] != len(rest) - 1:
                raise DataError("package name length does not match the component", where=where)
            try:
                name = rest[1:].decode("ascii")
            except UnicodeDecodeError:
                raise DataError("package name is not ASCII", where=where) from None
        if flags & ACC_APPLET and "Applet" not in components:
            raise DataError("the Header says ACC_APPLET but the Applet component is missing",
                            where=source)
        if flags & ACC_EXPORT and "Export" not in components:
            raise DataError("the Header says ACC_EXPORT but the Export component is missing",
                            where=source)
        applets = cls._applets(components.get("Applet"), source)
        cls._check_directory(components, (major, minor), source)
        return cls(source, bytes(aid), (pmajor, pminor), name, (major, minor), flags, applets,
                   components)

    @staticmethod
    def _applets(data: bytes | None, source: str) -> tuple[bytes, ...]:
        if data is None:
            return ()
        where = f"{source}: Applet component"
        info, pos = data[3:], 1
        if not info:
            raise DataError("no applet count", where=where)
        aids = []
        for n in range(info[0]):
            if pos >= len(info):
                raise DataError(f"applet {n + 1} runs past the end", where=where)
            length = info[pos]
            aid = info[pos + 1:pos + 1 + length]
            if not 5 <= length <= 16 or len(aid) != length or pos + 1 + length + 2 > len(info):
                raise DataError(f"applet {n + 1}: AID of {length} bytes does not fit", where=where)
            aids.append(bytes(aid))
            pos += 1 + length + 2  # AID, install_method_offset u2
        if pos != len(info):
            raise DataError(f"{len(info) - pos} bytes after the last applet", where=where)
        return tuple(aids)

    @staticmethod
    def _check_directory(components: dict[str, bytes], version: tuple[int, int],
                         source: str) -> None:
        """JCVM §6.4: component_sizes[] (11 entries before CAP 2.2, 12 since) must match."""
        info = components["Directory"][3:]
        count = 12 if version >= (2, 2) else 11
        if len(info) < 2 * count:
            raise DataError(f"{len(info)} bytes cannot hold {count} component sizes",
                            where=f"{source}: Directory component")
        for tag in range(1, 12):  # the Debug size is not checked: converters leave it 0
            declared = int.from_bytes(info[2 * (tag - 1):2 * tag], "big")
            comp = COMPONENTS[tag]
            actual = len(components[comp]) - 3 if comp in components else 0
            if declared != actual:
                raise DataError(f"the Directory gives it {declared} bytes, the file holds {actual}",
                                where=f"{source}: {comp} component")
