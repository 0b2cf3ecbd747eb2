"""FCP templates (ETSI TS 102 221 §11.1.1.3) and GSM SELECT responses (TS 51.011 §9.2.1)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.apdu.tlv import Tlv
from simtool.ef import Fcp, PinStatus, Structure, decode_gsm_response, decode_select_response
from simtool.ef.fcp import FCP_EXAMPLES, GSM_RESPONSE_EXAMPLES
from simtool.errors import DecodeError, EncodeError


@pytest.mark.parametrize("fcp,hexdata", FCP_EXAMPLES)
def test_fcp_examples_both_ways(fcp, hexdata):
    raw = bytes.fromhex(hexdata)
    assert Fcp.decode(raw) == fcp
    assert decode_select_response(raw) == fcp
    assert fcp.encode() == raw


@pytest.mark.parametrize("fcp,hexdata", GSM_RESPONSE_EXAMPLES)
def test_gsm_response_examples(fcp, hexdata):
    assert decode_select_response(bytes.fromhex(hexdata), gsm=True) == fcp


def test_mf_and_adf_pin_states():
    mf = Fcp.decode(bytes.fromhex(FCP_EXAMPLES[0][1]))
    assert mf.is_df and mf.structure is Structure.DF and mf.fid_text == "3F00"
    assert mf.enabled_pins == frozenset({0x0A, 0x0B})  # PIN1 disabled on this card
    adf = Fcp.decode(bytes.fromhex(FCP_EXAMPLES[1][1]))
    assert adf.df_name.startswith(bytes.fromhex("A0000000871002"))
    assert adf.enabled_pins == frozenset({0x81, 0x0A, 0x0B}) and adf.sfi is None


def test_ef_sizes_and_sfi():
    imsi = Fcp.decode(bytes.fromhex(FCP_EXAMPLES[2][1]))
    assert imsi.structure is Structure.TRANSPARENT and imsi.size == 9 and imsi.sfi == 0x07
    ecc = Fcp.decode(bytes.fromhex(FCP_EXAMPLES[3][1]))
    assert ecc.structure is Structure.LINEAR_FIXED
    assert (ecc.record_length, ecc.record_count, ecc.sfi) == (14, 2, 0x01)
    assert Fcp(fid=0x6F46).sfi == 0x06  # no tag 88: the FID's five low bits
    assert Fcp(fid=0x6F46, short_file_id=b"").sfi is None  # 88 00: no SFI
    assert Fcp(0x79).structure is Structure.BER_TLV and Fcp(0x46).structure is Structure.CYCLIC


def test_usage_qualifier_and_unknown_tags_round_trip():
    fcp = Fcp(0x78, fid=0x7FF0, pin_status=(PinStatus(0x01, True, 0x08), PinStatus(0x81, False)),
              other=(Tlv(0xC9, b"\x01"),))
    raw = fcp.encode()
    # C6: PS_DO 80 (first PIN enabled), usage qualifier 08 before key reference 01, then 81
    assert raw == bytes.fromhex("6219" "82027821" "83027FF0"
                                "C60C" "900180" "950108" "830101" "830181" "C90101")
    assert Fcp.decode(raw) == fcp


def test_gsm_chv_counters():
    mf = decode_gsm_response(bytes.fromhex(GSM_RESPONSE_EXAMPLES[0][1]))
    assert mf.gsm_chv.chv1 == 3 and mf.gsm_chv.unblock_chv1 == 10
    assert mf.enabled_pins == frozenset({0x02})  # CHV1 disabled (file characteristics b8)
    msisdn = decode_gsm_response(bytes.fromhex(GSM_RESPONSE_EXAMPLES[1][1]))
    assert msisdn.record_count * msisdn.record_length == msisdn.size == 52


@pytest.mark.parametrize("raw", [
    "", "6F00", "6203830100", "62028300", "62048201", "6203820141",
    "62058A020000" "8202", "6206C6049001830A",
])
def test_fcp_decode_errors(raw):
    with pytest.raises(DecodeError):
        Fcp.decode(bytes.fromhex(raw))


@pytest.mark.parametrize("raw", ["00", "000000346F40030011FFFF0102011A",
                                 "000000346F40040011FFFF010205", "000000346F40040011FFFF01020100"])
def test_gsm_decode_errors(raw):
    with pytest.raises(DecodeError):
        decode_gsm_response(bytes.fromhex(raw))


def test_fcp_encode_errors():
    with pytest.raises(EncodeError):
        Fcp(fid=0x10000).encode()
    with pytest.raises(EncodeError):
        Fcp(0x42, record_count=3).encode()


pins = st.lists(st.builds(PinStatus, st.integers(0, 255), st.booleans(),
                          st.one_of(st.none(), st.integers(0, 255))), max_size=10).map(tuple)
fcps = st.builds(
    Fcp,
    file_descriptor=st.sampled_from([0x41, 0x01, 0x42, 0x46, 0x78, 0x38, 0x79]),
    record_length=st.one_of(st.none(), st.integers(0, 0xFFFF)),
    fid=st.one_of(st.none(), st.integers(0, 0xFFFF)),
    df_name=st.one_of(st.none(), st.binary(min_size=1, max_size=16)),
    life_cycle=st.one_of(st.none(), st.integers(0, 255)),
    security_referenced=st.one_of(st.none(), st.binary(min_size=1, max_size=6)),
    pin_status=st.one_of(st.none(), pins),
    size=st.one_of(st.none(), st.integers(0, 0xFFFFFF)),
    short_file_id=st.one_of(st.none(), st.just(b""),
                            st.integers(1, 30).map(lambda s: bytes([s << 3]))),
)


@given(fcps, st.integers(0, 255))
def test_fcp_round_trip(fcp, count):
    if fcp.record_length is not None:
        fcp = Fcp(**{**fcp.__dict__, "record_count": count})
    assert Fcp.decode(fcp.encode()) == fcp


@given(st.binary(max_size=60))
def test_fcp_decode_raises_only_decode_error(raw):
    for gsm in (False, True):
        try:
            decode_select_response(raw, gsm=gsm)
        except DecodeError:
            pass
