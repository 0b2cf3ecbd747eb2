"""CAP file reader (JCVM 3.0.5 chapter 6) on tiny CAP files written here as test data.

The components are built field by field from the JCVM specification's structures (§6.3
Header, §6.4 Directory, §6.5 Applet); the bodies of the other components are opaque to the
reader, so they hold a few bytes with honest tags and sizes.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.errors import DataError
from simtool.gp import cap
from simtool.gp.commands import load_blocks

h = bytes.fromhex
PKG_AID = h("A0000000871005")
APPLET_AID = h("A000000087100501")


def component(tag: int, info: bytes) -> bytes:
    return bytes((tag,)) + len(info).to_bytes(2, "big") + info


def header(aid=PKG_AID, flags=cap.ACC_APPLET, name=b"org/simtool/milo") -> bytes:
    info = cap.MAGIC + bytes((0x02, 0x02, flags, 0x00, 0x01, len(aid))) + aid
    if name is not None:
        info += bytes((len(name),)) + name
    return component(1, info)


def applet(*aids: bytes) -> bytes:
    info = bytes((len(aids),)) + b"".join(bytes((len(a),)) + a + h("0040") for a in aids)
    return component(3, info)


OPAQUE = {"Import": component(4, h("0100" "07A0000000620101")),
          "ConstantPool": component(5, h("0000")),
          "Class": component(6, h("00010203")),
          "Method": component(7, h("00" "188C0001" "7A")),
          "StaticField": component(8, bytes(10)),
          "RefLocation": component(9, h("0000" "0000")),
          "Descriptor": component(11, h("01" "00")),
          "Debug": component(12, h("00"))}


def directory(parts: dict[str, bytes]) -> bytes:
    """component_sizes[12] (its own 31 bytes included), static_field_size_info (4 bytes),
    import_count, applet_count, custom_count."""
    parts = dict(parts, Directory=bytes(3 + 31))
    sizes = b"".join((len(parts[cap.COMPONENTS[t]]) - 3 if cap.COMPONENTS[t] in parts else 0)
                     .to_bytes(2, "big") for t in range(1, 13))
    return component(2, sizes + bytes(4) + h("01" "01" "00"))


def build(parts: dict[str, bytes] | None = None, *, prefix="org/simtool/milo/javacard/",
          drop=(), extra=None) -> bytes:
    if parts is None:
        parts = {"Header": header(), "Applet": applet(APPLET_AID), **OPAQUE}
    parts = {k: v for k, v in parts.items() if k not in drop}
    parts.setdefault("Directory", directory(parts))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for name, data in (extra or parts).items():
            z.writestr(f"{prefix}{name}.cap", data)
    return out.getvalue()


def test_reads_aids_versions_and_load_order():
    c = cap.CapFile.from_bytes(build())
    assert c.package_aid == PKG_AID and c.package_version == (1, 0)
    assert c.package_name == "org/simtool/milo" and c.cap_version == (2, 2)
    assert c.applet_aids == (APPLET_AID,)
    block = c.load_file_data_block()
    order = ["Header", "Directory", "Import", "Applet", "Class", "Method", "StaticField",
             "ConstantPool", "RefLocation"]
    body = b"".join(c.components[n] for n in order)
    assert block == b"\xC4" + bytes((0x81, len(body))) + body
    with_desc = c.load_file_data_block(include_descriptor=True)
    assert with_desc.endswith(OPAQUE["Descriptor"]) and OPAQUE["Debug"] not in with_desc


def test_long_block_uses_two_byte_ber_length_and_loads():
    parts = {"Header": header(), "Applet": applet(APPLET_AID), **OPAQUE,
             "Method": component(7, bytes(600))}
    c = cap.CapFile.from_bytes(build(parts))
    block = c.load_file_data_block()
    assert block[:2] == h("C482") and int.from_bytes(block[2:4], "big") == len(block) - 4
    assert b"".join(a.data for a in load_blocks(block)) == block


def test_library_package_without_applets():
    parts = {"Header": header(flags=cap.ACC_EXPORT, name=None), **OPAQUE,
             "Export": component(10, h("00"))}
    c = cap.CapFile.from_bytes(build(parts))
    assert c.applet_aids == () and c.package_name is None
    assert c.components["Export"] in c.load_file_data_block()


@pytest.mark.parametrize("mutate, named", [
    (lambda: build(drop=("Method",)), "Method component is missing"),
    (lambda: build(extra={"Header": header()[:-1] + b"", **OPAQUE}), "Header component"),
    (lambda: build({"Header": component(1, b"\xCA\xFE\xBA\xBE" + bytes(8)), **OPAQUE}),
     "Header component: no DECAFFED"),
    (lambda: build({"Header": header(), **OPAQUE}), "Applet component is missing"),
    (lambda: build({"Header": header(), "Applet": component(3, h("02" "05A000000001" "0000")),
                    **OPAQUE}), "Applet component"),
    (lambda: build({"Header": header(), "Applet": applet(APPLET_AID), **OPAQUE,
                    "Class": component(5, h("00"))}), "Class component: tag 5"),
    (lambda: build({"Header": header(), "Applet": applet(APPLET_AID), **OPAQUE,
                    "Directory": component(2, bytes(30))}), "Header component: the Directory"),
    (lambda: b"PK not a zip", "not a ZIP"),
])
def test_malformed_cap_names_the_component(mutate, named):
    with pytest.raises(DataError, match=named):
        cap.CapFile.from_bytes(mutate(), source="milo.cap")


def test_size_field_mismatch_named():
    bad = dict(OPAQUE, Method=OPAQUE["Method"] + b"\x00")
    parts = {"Header": header(), "Applet": applet(APPLET_AID), **bad}
    parts["Directory"] = directory(dict(parts, Method=OPAQUE["Method"]))
    with pytest.raises(DataError, match="Method component: size field"):
        cap.CapFile.from_bytes(build(parts))


def test_from_path(tmp_path):
    p = tmp_path / "milo.cap"
    p.write_bytes(build())
    assert cap.CapFile.from_path(p).applet_aids == (APPLET_AID,)
    with pytest.raises(DataError, match="missing.cap"):
        cap.CapFile.from_path(tmp_path / "missing.cap")


@given(st.lists(st.binary(min_size=5, max_size=16), min_size=1, max_size=4),
       st.binary(min_size=5, max_size=16), st.binary(max_size=300))
def test_round_trip_any_aids(aids, pkg, method):
    parts = {"Header": header(aid=pkg), "Applet": applet(*aids), **OPAQUE,
             "Method": component(7, method)}
    c = cap.CapFile.from_bytes(build(parts))
    assert c.package_aid == pkg and c.applet_aids == tuple(aids)
    assert parts["Method"] in c.load_file_data_block()
