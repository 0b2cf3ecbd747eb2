"""GlobalPlatform APDU builders and parsers (simtool.gp.commands).

Sources of the vectors (facts only):

* [OMFGP] miketlk/omfgp tests/omfgp/scp_test.py: GET STATUS responses of a real card (the ISD
  with privileges 9EFE80, a load file with its module, an application's entry).
* [PYSIM] osmocom pySim tests/unittests/test_globalplatform.py: AES key check values C35280,
  013808, 840DE5 for the keys 000102…0F, 101112…1F, 202122…2F; the install parameters
  ``c900ef1cc8020100c7020100ca12…`` for quotas 256/256 and an 18-byte CA value; a TLS-PSK key
  303132…3F encrypted with the SCP02 DEK session key of its SCP02 trace → 15ABF1FE….
* [GPPRO] GlobalPlatformPro prints the KCV 8BAF47 beside the GP default DES key 404142…4F.
* The CA, CPLC and E0 layouts below are written field by field from ETSI TS 102 226
  §8.2.1.3.2.1 and GP 2.3 Annex H.6 / Table 11-35 as independent oracles.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.command import CommandApdu
from simtool.errors import DecodeError, EncodeError
from simtool.gp import commands as gp
from simtool.gp.scp02 import Scp02Handshake, Scp02Keys
from simtool.secret import Secret

h = bytes.fromhex


def test_select_and_get_status_apdus():
    assert gp.select().to_bytes() == h("00A4040008A00000015100000000")
    assert gp.get_status(gp.StatusSubset.ISD).to_bytes() == h("80F28002024F0000")
    assert gp.get_status(gp.StatusSubset.APPLICATIONS, next_occurrence=True).to_bytes() == \
        h("80F24003024F0000")
    assert gp.get_status(gp.StatusSubset.LOAD_FILES_AND_MODULES,
                         aid_prefix=h("A000000151")).to_bytes() == h("80F2100207" "4F05A00000015100")


ISD = "E3264F08A0000001510000009F700101C5039EFE80C407A0000001515350CC08A000000151000000"
ELF = "E3254F07A00000015153509F700101CE02FFFF8408A000000151535041CC08A000000151000000"
APP = "E32A4F08A0000001510000009F700107C5039EFE80C407A0000000620001CE020100CC08A000000151000000"


def test_parse_get_status_omfgp():
    (isd,) = gp.parse_get_status(h(ISD))
    assert isd.aid == h("A000000151000000") and isd.life_cycle == 0x01
    assert gp.life_cycle_name(gp.StatusSubset.ISD, isd.life_cycle) == "OP_READY"
    assert isd.privileges.names[:5] == ("Security Domain", "Card Lock", "Card Terminate",
                                        "Card Reset", "CVM Management")
    assert "Authorized Management" in isd.privileges.names
    assert isd.load_file_aid == h("A0000001515350")
    (elf, app) = gp.parse_get_status(h(ELF + APP))
    assert elf.module_aids == (h("A000000151535041"),) and elf.load_file_version == h("FFFF")
    assert gp.life_cycle_name(gp.StatusSubset.LOAD_FILES, elf.life_cycle) == "LOADED"
    assert app.life_cycle == 0x07 and app.security_domain_aid == h("A000000151000000")
    # encode mirrors decode byte for byte
    assert b"".join(e.encode() for e in (isd, elf, app)) == h(ISD + ELF + APP)


def test_parse_get_status_errors():
    with pytest.raises(DecodeError, match="entry 1"):
        gp.parse_get_status(h("E2024F00"))
    with pytest.raises(DecodeError, match="9F70"):
        gp.parse_get_status(h("E3034F0100"))


entries = st.builds(
    gp.RegistryEntry, st.binary(min_size=5, max_size=16), st.integers(0, 255),
    st.none() | st.binary(min_size=3, max_size=3).map(gp.Privileges),
    st.none() | st.binary(min_size=5, max_size=16), st.none() | st.binary(max_size=2),
    st.lists(st.binary(min_size=5, max_size=16), max_size=3).map(tuple),
    st.none() | st.binary(min_size=5, max_size=16))


@given(st.lists(entries, max_size=4))
def test_registry_round_trip(items):
    assert gp.parse_get_status(b"".join(e.encode() for e in items)) == items


def test_privileges_names():
    p = gp.Privileges.from_names("Security Domain", "Trusted Path", "Receipt Generation")
    assert p.value == h("808080") and gp.Privileges(p.value).names == (
        "Security Domain", "Trusted Path", "Receipt Generation")
    with pytest.raises(EncodeError):
        gp.Privileges.from_names("root")


CPLC = bytes(range(1, 43))


def test_cplc():
    assert gp.get_data(0x9F7F).to_bytes() == h("80CA9F7F00")
    c = gp.Cplc.decode(h("9F7F2A") + CPLC)
    assert c.ic_fabricator == h("0102") and c.ic_type == h("0304")
    assert c.operating_system_id == h("0506") and c.ic_serial_number == h("0D0E0F10")
    assert c.ic_pre_personalization_equipment_id == h("1F202122")
    assert c.ic_personalization_equipment_id == h("2728292A")
    assert c.encode() == h("9F7F2A") + CPLC and gp.Cplc.decode(CPLC) == c
    with pytest.raises(DecodeError, match="9F7F"):
        gp.Cplc.decode(CPLC[:-1])


def test_key_information_template():
    assert gp.get_data(0x00E0).to_bytes() == h("80CA00E000")
    data = h("E012C00401FF8010C00402FF8010C00403FF8010")
    info = gp.parse_key_information(data)
    assert [(k.key_id, k.key_version, k.components) for k in info] == [
        (1, 0xFF, ((0x80, 16),)), (2, 0xFF, ((0x80, 16),)), (3, 0xFF, ((0x80, 16),))]
    assert h("E012") + b"".join(k.encode() for k in info) == data
    with pytest.raises(DecodeError, match="E0"):
        gp.parse_key_information(h("C00401FF8010"))


def test_install_for_load_and_load_blocks():
    apdu = gp.install_for_load(h("A0000000871005"), gp.ISD_AID)
    assert apdu.to_bytes() == h("80E602001407A00000008710050" "8A000000151000000000000" "00")
    assert gp.install_for_load(h("A0000000871005")).data == h("07A0000000871005" "00000000")
    block = bytes(range(256)) * 2 + b"\xAA"  # 513 bytes
    loads = gp.load_blocks(block, 200)
    assert [(a.p1, a.p2, len(a.data)) for a in loads] == [(0, 0, 200), (0, 1, 200), (0x80, 2, 113)]
    assert b"".join(a.data for a in loads) == block and loads[0].ins == 0xE8
    assert [a.p1 for a in gp.load_blocks(b"\x01")] == [0x80]
    with pytest.raises(EncodeError):
        gp.load_blocks(bytes(300 * 256), 255)


def test_toolkit_parameters_byte_exact():
    # TS 102 226 §8.2.1.3.2.1, field by field
    expected = bytes([
        0x01,              # priority level
        0x02,              # maximum number of timers
        0x10,              # maximum text length for a menu entry
        0x02,              # maximum number of menu entries
        0x01, 0x00,        # position and identifier of the first menu entry
        0x02, 0x05,        # position and identifier of the second
        0x01,              # maximum number of channels
        0x01, 0x12,        # length of the MSL field, MSL (SPI1: CC + counter)
        0x06, 0xB0, 0x00, 0x00, 0xB2, 0x01, 0x00,  # TAR values field: two TARs
    ])
    tp = gp.ToolkitParameters(0x01, 2, 16, (gp.MenuEntry(1, 0), gp.MenuEntry(2, 5)), 1,
                              h("12"), (h("B00000"), h("B20100")))
    assert tp.encode() == expected
    assert gp.ToolkitParameters.decode(expected) == tp
    with_services = tp.encode() + b"\x03"
    assert gp.ToolkitParameters.decode(with_services).max_services == 3


def test_install_parameters_pysim_vector():
    params = gp.InstallParameters(b"", 256, 256, h("010001001505000000000000000000000000"))
    assert params.encode() == h("c900ef1cc8020100c7020100ca12010001001505000000000000000000000000")
    assert gp.InstallParameters().encode() == h("c900")


def test_install_for_install_with_toolkit():
    tp = gp.ToolkitParameters(1, 0, 20, (gp.MenuEntry(0, 0),), 0, b"", (h("4D494C"),))
    params = gp.InstallParameters(h("0102"), toolkit=tp)
    apdu = gp.install_for_install(h("A0000000871005"), h("A000000087100501"),
                                  h("A00000008710050101"), parameters=params)
    ca = h("01001401" "0000" "00" "00" "03" "4D494C")
    install = h("C9020102") + h("EF0E") + h("CA0C") + ca
    assert apdu.p1 == 0x0C and apdu.to_bytes() == (
        h("80E60C00") + bytes((len(apdu.data),)) + h("07A0000000871005" "08A000000087100501"
        "09A00000008710050101" "0100") + bytes((len(install),)) + install + h("00" "00"))
    assert gp.InstallParameters.decode(params.encode()) == params


toolkits = st.builds(
    gp.ToolkitParameters, st.integers(0, 255), st.integers(0, 8), st.integers(0, 255),
    st.lists(st.builds(gp.MenuEntry, st.integers(0, 255), st.integers(0, 255)),
             max_size=6).map(tuple),
    st.integers(0, 7), st.binary(max_size=4),
    st.lists(st.binary(min_size=3, max_size=3), max_size=4).map(tuple),
    st.none() | st.integers(0, 255))


@given(toolkits, st.binary(max_size=20), st.none() | st.integers(0, 0xFFFF))
def test_install_parameters_round_trip(tp, app, quota):
    p = gp.InstallParameters(app, quota, quota, tp)
    assert gp.InstallParameters.decode(p.encode()) == p


def test_toolkit_parameters_malformed():
    with pytest.raises(DecodeError, match="CA"):
        gp.ToolkitParameters.decode(h("01000002"))  # two menu entries announced, none there
    with pytest.raises(DecodeError, match="multiple of 3"):
        gp.ToolkitParameters.decode(h("0100000000" "00" "02B000"))


def test_delete():
    assert gp.delete(h("A0000000871005")).to_bytes() == h("80E40000094F07A000000087100500")
    assert gp.delete(h("A0000000871005"), related=True).to_bytes() == \
        h("80E40080094F07A000000087100500")
    with pytest.raises(EncodeError, match="AID"):
        gp.delete(h("A000"))


AES = [h("000102030405060708090a0b0c0d0e0f"), h("101112131415161718191a1b1c1d1e1f"),
       h("202122232425262728292a2b2c2d2e2f")]


def test_key_check_values():
    assert [gp.key_check_value(0x88, Secret(k)) for k in AES] == [h("C35280"), h("013808"),
                                                                  h("840DE5")]
    assert gp.key_check_value(0x80, Secret(h("404142434445464748494A4B4C4D4E4F"))) == h("8BAF47")


def test_put_key_scp02_dek_vector():
    keys = Scp02Keys(Secret(h("100102030405060708090a0b0c0d0e0f")),
                     Secret(h("101102030405060708090a0b0c0d0e0f")),
                     Secret(h("102102030405060708090a0b0c0d0e0f")), 0x20)
    _, channel = Scp02Handshake(keys, h("40A62C37FA6304F8")).complete(
        h("00000000000000000000700200016B4524ABEE7CF32EA3838BC148F3"))
    assert channel.encrypt_key(Secret(h("303132333435363738393a3b3c3d3e3f"))) == \
        h("15abf1fe16ccc5aa13743394442942cd")
    new = [Secret(h("404142434445464748494A4B4C4D4E4F"))] * 3
    apdu = gp.put_key(0x21, new, 0x80, channel.encrypt_key)
    block = channel.encrypt_key(new[0])
    assert apdu.p1 == 0 and apdu.p2 == 0x81
    assert apdu.data == h("21") + (h("8010") + block + h("038BAF47")) * 3


def test_put_key_aes_layout_and_response():
    enc = lambda k: bytes(len(k))  # noqa: E731 - a stand-in cipher; the layout is under test
    apdu = gp.put_key(0x31, [Secret(k) for k in AES], 0x88, enc, replace_version=0x30)
    assert apdu.p1 == 0x30 and apdu.p2 == 0x81
    assert apdu.data == h("31") + h("881110") + bytes(16) + h("03C35280") + h("881110") + \
        bytes(16) + h("03013808") + h("881110") + bytes(16) + h("03840DE5")
    assert gp.parse_put_key_response(h("31C35280013808840DE5")) == (
        0x31, (h("C35280"), h("013808"), h("840DE5")))
    with pytest.raises(DecodeError):
        gp.parse_put_key_response(h("31C352"))
    with pytest.raises(EncodeError):
        gp.put_key(0x80, [Secret(AES[0])], 0x88, enc)


def test_commands_are_short_apdus():
    for apdu in (gp.select(), gp.get_status(gp.StatusSubset.ISD), gp.delete(gp.ISD_AID)):
        assert CommandApdu.from_bytes(apdu.to_bytes()) == apdu


@given(st.binary(min_size=42, max_size=42))
def test_cplc_round_trip(raw):
    assert gp.Cplc.decode(gp.Cplc.decode(raw).encode()).encode() == h("9F7F2A") + raw


@given(st.lists(st.builds(gp.KeyInformation, st.integers(0, 255), st.integers(0, 255),
                          st.lists(st.tuples(st.sampled_from([0x80, 0x88, 0xA1]),
                                             st.integers(0, 255)), min_size=1, max_size=3)
                          .map(tuple)), min_size=1, max_size=5))
def test_key_information_round_trip(entries):
    body = b"".join(k.encode() for k in entries)
    assert gp.parse_key_information(h("E0") + bytes((len(body),)) + body) == entries
