"""Behaviour of the EF value types beyond the worked examples: validation, errors, helpers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import luhn

from simtool.ef import (
    USIM_SERVICES,
    SIM_SERVICES,
    EfAcc,
    EfAd,
    EfDir,
    EfFplmn,
    EfIccid,
    EfImsi,
    EfLoci,
    EfMsisdn,
    EfPlmnwAct,
    EfSpn,
    EfSst,
    EfUst,
    Iccid,
    Imsi,
    LuStatus,
    OperationMode,
    Plmn,
    PlmnWithAct,
    acc_for_imsi,
    decode_bcd,
    encode_bcd,
    iccid_with_check,
)
from simtool.errors import DataError, DecodeError, EncodeError

# --- ICCID (sim-facts §3.1) ---------------------------------------------------------------------


def test_iccid_check_digit_worked_example():
    assert iccid_with_check("894801123456789012") == Iccid("8948011234567890128")


@pytest.mark.parametrize("iccid", ["8948011234567890128", "8988211000000467343",
                                   "89445310150011013678"])
def test_real_iccids_pass_luhn(iccid):
    assert Iccid(iccid).check_digit_valid


def test_luhn_check_on_decode_is_optional():
    raw = EfIccid(Iccid("8948011234567890127")).encode()  # wrong check digit
    assert EfIccid.decode(raw).iccid.digits == "8948011234567890127"
    with pytest.raises(DecodeError, match="Luhn"):
        EfIccid.decode(raw, check_luhn=True)
    assert EfIccid.decode(EfIccid(Iccid("8948011234567890128")).encode(), check_luhn=True)


@given(st.text("0123456789", min_size=1, max_size=19))
def test_iccid_with_check_is_luhn_valid(payload):
    iccid = iccid_with_check(payload)
    assert iccid.digits[:-1] == payload and luhn.is_valid(iccid.digits)


@pytest.mark.parametrize("bad", ["", "12a4", "1" * 21, "１２３"])
def test_iccid_validation(bad):
    with pytest.raises(DataError):
        Iccid(bad)


def test_empty_iccid_file():
    with pytest.raises(DecodeError, match="empty"):
        EfIccid.decode(b"\xff" * 10)
    with pytest.raises(DecodeError):
        EfIccid.decode(bytes.fromhex("98841021436587092AF8"))  # nibble A


# --- IMSI (sim-facts §3.2) ----------------------------------------------------------------------


def test_imsi_plmn_and_mcc():
    imsi = Imsi("260011234567890")
    assert imsi.mcc == "260" and imsi.plmn(2) == Plmn("260", "01")
    assert Imsi("334020123456789").plmn(3) == Plmn("334", "020")


@pytest.mark.parametrize("raw,why", [
    ("FFFFFFFFFFFFFFFFFF", "empty"),
    ("092906102143658709", "length"),
    ("082106102143658709", "parity"),  # says even, 15 digits follow
    ("0829061021436587F9", "parity"),  # says odd, 14 digits follow
    ("082A06102143658709", "type"),
])
def test_imsi_decode_errors(raw, why):
    with pytest.raises(DecodeError, match=why):
        EfImsi.decode(bytes.fromhex(raw))


@pytest.mark.parametrize("bad", ["12345", "1" * 16, "26001abc"])
def test_imsi_validation(bad):
    with pytest.raises(DataError):
        Imsi(bad)


# --- EF.AD, EF.ACC, EF.SPN ------------------------------------------------------------------


def test_ad_fields():
    ad = EfAd.decode(bytes.fromhex("81000103"))
    assert ad.op_mode is OperationMode.TYPE_APPROVAL_SPECIFIC
    assert ad.ciphering_indicator and ad.mnc_length == 3
    assert EfAd.decode(bytes.fromhex("7F000002")).op_mode == 0x7F  # unknown mode kept


def test_ad_errors():
    with pytest.raises(DecodeError):
        EfAd.decode(b"\x00\x00")
    with pytest.raises(EncodeError):
        EfAd(mnc_length=16).encode()


@pytest.mark.parametrize("imsi,hexdata", [("260011234567890", "0001"), ("999700000053011", "0002"),
                                          ("999700000053015", "0020"), ("26001123456787", "0080"),
                                          ("26001123456788", "0100"), ("260011234567899", "0200")])
def test_acc_for_imsi(imsi, hexdata):
    assert acc_for_imsi(imsi).encode() == bytes.fromhex(hexdata)
    assert acc_for_imsi(Imsi(imsi)) == acc_for_imsi(imsi)


def test_acc_validation():
    with pytest.raises(EncodeError):
        EfAcc(frozenset({16}))
    assert EfAcc({3, 4}).classes == frozenset({3, 4})


def test_spn_flags_and_limit():
    spn = EfSpn.decode(bytes.fromhex("03506C6179FFFFFFFFFFFFFFFFFFFFFFFF"))
    assert spn.show_plmn_name and spn.spn_optional_when_roaming and spn.name == "Play"
    with pytest.raises(EncodeError, match="16-byte"):
        EfSpn("Doładowanie konta").encode(size=17)


# --- MSISDN (sim-facts §3.4) ----------------------------------------------------------------


def test_msisdn_ton_follows_plus():
    assert EfMsisdn("+48600123456").ton_npi == 0x91
    assert EfMsisdn("600123456").ton_npi == 0x81
    assert EfMsisdn("").ton_npi is None
    assert EfMsisdn("+48600123456").digits == "48600123456"


@pytest.mark.parametrize("number,ton", [("+4860", 0x81), ("4860", 0x91), ("48-60", None),
                                        ("+", None), ("1" * 21, None), ("4+8", None)])
def test_msisdn_validation(number, ton):
    with pytest.raises(EncodeError):
        EfMsisdn(number, ton_npi=ton)


def test_msisdn_star_hash_and_empty_record():
    raw = EfMsisdn("*100#").encode(size=14)
    assert raw[:5] == bytes.fromhex("04811A00FB")
    empty = EfMsisdn.decode(b"\xff" * 28)
    assert empty.number == "" and empty.alpha == "" and not empty.number


def test_msisdn_decode_errors():
    with pytest.raises(DecodeError):
        EfMsisdn.decode(b"\xff" * 13)
    with pytest.raises(DecodeError):
        EfMsisdn.decode(bytes.fromhex("0C91") + b"\x11" * 12)  # BCD length 12 > 11
    with pytest.raises(EncodeError, match="14"):
        EfMsisdn("123").encode(size=10)
    with pytest.raises(EncodeError):
        EfMsisdn("123", "Eigene Rufnummer").encode(size=20)  # alpha needs 16, X = 6


# --- PLMN lists and LOCI -----------------------------------------------------------------------


def test_plmn_parse():
    assert Plmn.parse("260-01") == Plmn.parse("26001") == Plmn("260", "01")
    assert Plmn.parse("334/020") == Plmn.parse("334020") == Plmn("334", "020")
    assert str(Plmn("260", "01")) == "260-01"
    with pytest.raises(DataError):
        Plmn.parse("26")
    with pytest.raises(DecodeError):
        Plmn.from_bytes(bytes.fromhex("A2F010"))


def test_fplmn_errors():
    with pytest.raises(EncodeError):
        EfFplmn(tuple(Plmn("260", f"0{i}") for i in range(5))).encode(size=12)
    with pytest.raises(DecodeError):
        EfFplmn.decode(b"\xff" * 4)


def test_plmnwact_unused_entries_and_errors():
    raw = bytes.fromhex("62F010C080" "FFFFFFFFFF" "22F8600080")  # FF-filled unused entry too
    value = EfPlmnwAct.decode(raw)
    assert value.entries == (PlmnWithAct(Plmn("260", "01"), {"UTRAN", "E-UTRAN", "GSM"}),
                             PlmnWithAct(Plmn("228", "06"), {"GSM"}))
    with pytest.raises(EncodeError, match="unknown access"):
        EfPlmnwAct((PlmnWithAct(Plmn("260", "01"), {"LTE"}),)).encode()
    with pytest.raises(EncodeError):
        value.encode(size=12)
    with pytest.raises(DecodeError):
        EfPlmnwAct.decode(b"\xff" * 7)


def test_loci_status():
    loci = EfLoci.decode(bytes.fromhex("7802570222F81009780002"))
    assert loci.lu_status is LuStatus.PLMN_NOT_ALLOWED and loci.lai.lac == 0x0978
    with pytest.raises(EncodeError):
        EfLoci(tmsi=b"\x00").encode()


# --- service tables ---------------------------------------------------------------------------


def test_service_names():
    assert len(USIM_SERVICES) >= 130 and all(n in USIM_SERVICES for n in range(1, 131))
    assert USIM_SERVICES[2].startswith("Fixed Dialling Numbers")
    assert USIM_SERVICES[19] == "Service Provider Name" and USIM_SERVICES[21] == "MSISDN"
    assert set(SIM_SERVICES) == set(range(1, 60))
    assert SIM_SERVICES[29] == "Proactive SIM"
    ust = EfUst.decode(bytes.fromhex("0200140001"))
    assert 19 in ust and 20 not in ust
    assert ust.named()[1] == (19, "Service Provider Name")


def test_sst_enabled_needs_both_bits():
    sst = EfSst.decode(bytes.fromhex("07"))
    assert sst.enabled == frozenset({1}) and sst.allocated == frozenset({1, 2})
    assert sst.named() == [(1, "CHV1 disable function")]


def test_service_table_errors():
    with pytest.raises(EncodeError):
        EfUst(frozenset({0}))
    with pytest.raises(EncodeError):
        EfUst(frozenset({17})).encode(size=2)


# --- EF.DIR and BCD -------------------------------------------------------------------------------


def test_dir_flags_and_errors():
    usim = EfDir.decode(bytes.fromhex("61114F07A0000000871002" "50065553494D2031") + b"\xff" * 4)
    assert usim.is_usim and not usim.is_isim and usim.label == "USIM 1"
    assert EfDir.is_empty_record(b"\xff" * 10)
    with pytest.raises(DecodeError):
        EfDir.decode(b"\xff" * 10)
    with pytest.raises(DecodeError):
        EfDir.decode(bytes.fromhex("6203500141"))
    with pytest.raises(DecodeError):
        EfDir.decode(bytes.fromhex("6103500141"))  # no AID


def test_bcd_helpers():
    assert encode_bcd("12345") == bytes.fromhex("2143F5")
    assert decode_bcd(bytes.fromhex("2143F5FF")) == "12345"
    with pytest.raises(EncodeError):
        encode_bcd("12*")
    with pytest.raises(DecodeError):
        decode_bcd(bytes.fromhex("A1"))
