"""Every EF codec: its worked examples both ways, and decode(encode(x)) == x for random x."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simtool.ef import (
    ACCESS_TECHNOLOGY_BITS,
    DIALLING,
    EF_CODECS,
    EfAcc,
    EfAd,
    EfAdn,
    EfCodec,
    EfDir,
    EfEhplmn,
    EfFplmn,
    EfHplmnwAct,
    EfIccid,
    EfImsi,
    EfLoci,
    EfMsisdn,
    EfOplmnwAct,
    EfPlmnSel,
    EfPlmnwAct,
    EfSpn,
    EfSst,
    EfUst,
    AddressType,
    CellInfo,
    CellKind,
    EfDomain,
    EfImpi,
    EfImpu,
    EfIsimAd,
    EfIst,
    EfNetpar,
    EfPcscf,
    EfStartHfn,
    EfThreshold,
    Iccid,
    Imsi,
    Lai,
    Plmn,
    PlmnWithAct,
    Structure,
)
from simtool.ef.network import PLMN_EXAMPLES
from simtool.errors import DecodeError
from simtool.text import encode_alpha

EXAMPLES = [(name, obj, hx) for name, cls in EF_CODECS.items() for obj, hx in cls.EXAMPLES]


@pytest.mark.parametrize("name,obj,hexdata", EXAMPLES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(EXAMPLES)])
def test_worked_examples_both_ways(name, obj, hexdata):
    cls = EF_CODECS[name]
    raw = bytes.fromhex(hexdata)
    assert cls.decode(raw) == obj
    assert obj.encode(size=len(raw)) == raw


@pytest.mark.parametrize("name", sorted(EF_CODECS))
def test_registry_entries_are_complete(name):
    cls = EF_CODECS[name]
    assert issubclass(cls, EfCodec) and cls.NAME == name
    assert 0x2F00 <= cls.FID <= 0x6FFF and cls.SIZE > 0
    assert not hasattr(cls, "LOCATIONS"), "where a file lives is the card tree's (simtool/cardtree/)"
    assert cls.EXAMPLES, "every codec carries worked examples"
    assert cls.CLAUSE and cls.CLAUSE.split()[0] in (cls.__doc__ or "") + cls.CLAUSE


def test_registry_fids():
    fids = {name: cls.FID for name, cls in EF_CODECS.items()}
    assert fids["EF.ICCID"] == 0x2FE2 and fids["EF.DIR"] == 0x2F00
    assert fids["EF.IMSI"] == 0x6F07 and fids["EF.AD"] == 0x6FAD and fids["EF.ACC"] == 0x6F78
    assert fids["EF.UST"] == fids["EF.SST"] == 0x6F38
    assert EF_CODECS["EF.MSISDN"].STRUCTURE is Structure.LINEAR_FIXED
    # TS 51.011 §10.3.4 (DF.GSM only, no SFI); TS 31.102 §4.2.84 (SFI 1D)
    assert (fids["EF.PLMNsel"], EfPlmnSel.SFI, EfPlmnSel.SIZE) == (0x6F30, None, 24)
    assert (fids["EF.EHPLMN"], EfEhplmn.SFI) == (0x6FD9, 0x1D)


def test_plmn_lists_are_distinct_files_of_one_coding():
    raw = bytes.fromhex("62F010" + "FF" * 9)
    sel, eh, fplmn = EfPlmnSel.decode(raw), EfEhplmn.decode(raw), EfFplmn.decode(raw)
    assert sel.plmns == eh.plmns == fplmn.plmns == (Plmn("260", "01"),)
    assert type(sel) is EfPlmnSel and sel != eh and sel != fplmn
    with pytest.raises(DecodeError, match="EF.PLMNsel is 4 bytes"):
        EfPlmnSel.decode(raw[:4])


@pytest.mark.parametrize("plmn,hexdata", PLMN_EXAMPLES)
def test_plmn_examples(plmn, hexdata):
    assert plmn.to_bytes() == bytes.fromhex(hexdata)
    assert Plmn.from_bytes(bytes.fromhex(hexdata)) == plmn


# --- strategies ---------------------------------------------------------------------------------

digits = st.text(alphabet="0123456789", min_size=1)
plmns = st.builds(Plmn, st.text(alphabet="0123456789", min_size=3, max_size=3),
                  st.text(alphabet="0123456789", min_size=2, max_size=3))
alpha_text = st.text(alphabet=st.sampled_from("Saldo konta@$_€{}ąćęłńóśźżŁÓŹ0123"), max_size=8)
acts = st.frozensets(st.sampled_from(sorted(ACCESS_TECHNOLOGY_BITS)))


def _msisdn_numbers():
    body = st.text(alphabet=DIALLING, min_size=1, max_size=20)
    return st.one_of(st.just(""), body, body.map(lambda d: "+" + d))


def _msisdn(cls):
    def build(number, alpha, plain_ton, ccp, ext):
        ton = None if not number else (0x91 if number.startswith("+") else plain_ton)
        return cls(number, alpha, ton, ccp, ext)
    return st.builds(build, _msisdn_numbers(), alpha_text, st.sampled_from([0x81, 0xA1, 0xB1]),
                     st.integers(0, 255), st.integers(0, 255))


STRATEGIES = {
    "EF.ICCID": st.builds(EfIccid, st.builds(Iccid, st.text("0123456789", min_size=1,
                                                           max_size=20))),
    "EF.IMSI": st.builds(EfImsi, st.builds(Imsi, st.text("0123456789", min_size=6,
                                                         max_size=15))),
    "EF.AD": st.one_of(
        st.builds(EfAd, st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 15),
                  st.binary(max_size=3)),
        st.builds(EfAd, st.integers(0, 255), st.integers(0, 0xFFFF), st.none())),
    "EF.ACC": st.builds(EfAcc, st.frozensets(st.integers(0, 15))),
    "EF.SPN": st.builds(EfSpn, alpha_text.filter(lambda t: len(encode_alpha(t)) <= 16),
                        st.integers(0, 255)),
    "EF.MSISDN": _msisdn(EfMsisdn),
    "EF.ADN": _msisdn(EfAdn),
    "EF.UST": st.builds(EfUst, st.frozensets(st.integers(1, 160))),
    "EF.SST": st.builds(EfSst, st.frozensets(st.integers(1, 60)),
                        st.frozensets(st.integers(1, 60))),
    "EF.LOCI": st.builds(EfLoci, st.binary(min_size=4, max_size=4),
                         st.builds(Lai, st.one_of(st.none(), plmns), st.integers(0, 0xFFFF)),
                         st.integers(0, 255), st.integers(0, 255)),
    "EF.FPLMN": st.builds(EfFplmn, st.lists(plmns, max_size=6).map(tuple)),
    "EF.PLMNsel": st.builds(EfPlmnSel, st.lists(plmns, max_size=10).map(tuple)),
    "EF.EHPLMN": st.builds(EfEhplmn, st.lists(plmns, max_size=6).map(tuple)),
    "EF.DIR": st.builds(EfDir, st.binary(min_size=1, max_size=16),
                        st.one_of(st.none(), alpha_text),
                        st.sampled_from([b"", bytes.fromhex("730EA00C80011781025F608203454150")])),
}
_entries = st.lists(st.builds(PlmnWithAct, plmns, acts), max_size=6).map(tuple)
# ADF.ISIM (TS 31.103 §4.2) and the USIM's START-HFN / THRESHOLD / NETPAR (TS 31.102 §4.2)
_identities = st.one_of(st.none(), st.text(min_size=1, max_size=100))
_words = st.lists(st.integers(0, 0xFFFF), max_size=4).map(tuple)
STRATEGIES.update({
    "EF.IMPI": st.builds(EfImpi, _identities),
    "EF.DOMAIN": st.builds(EfDomain, _identities),
    "EF.IMPU": st.builds(EfImpu, _identities),
    "EF.IST": st.builds(EfIst, st.frozensets(st.integers(1, 40))),
    "EF.P-CSCF": st.one_of(
        st.builds(EfPcscf, st.one_of(st.none(), st.text(max_size=40))),
        st.integers(0, 2**32 - 1).map(
            lambda n: EfPcscf(str(ipaddress.IPv4Address(n)), AddressType.IPV4)),
        st.integers(0, 2**128 - 1).map(
            lambda n: EfPcscf(str(ipaddress.IPv6Address(n)), AddressType.IPV6))),
    "EF.AD (ISIM)": st.builds(EfIsimAd, st.integers(0, 255), st.integers(0, 0xFFFF),
                              st.binary(max_size=3)),
    "EF.START-HFN": st.builds(EfStartHfn, st.integers(0, 0xFFFFF), st.integers(0, 0xFFFFF)),
    "EF.THRESHOLD": st.builds(EfThreshold, st.integers(0, 0xFFFFF)),
    "EF.NETPAR": st.builds(EfNetpar, st.lists(st.builds(
        CellInfo, st.sampled_from(list(CellKind)), _words,
        st.lists(_words, max_size=2).map(tuple)), max_size=3).map(tuple)),
})
for _cls in (EfPlmnwAct, EfOplmnwAct, EfHplmnwAct):
    STRATEGIES[_cls.NAME] = st.builds(_cls, _entries)


def test_every_codec_has_a_strategy():
    assert set(STRATEGIES) == set(EF_CODECS)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_round_trip(name):
    cls = EF_CODECS[name]

    @given(STRATEGIES[name])
    def check(value):
        raw = value.encode()
        assert cls.decode(raw) == value
        # padded to a larger file: whole unused entries for the PLMN lists
        extra = 5 if issubclass(cls, EfPlmnwAct) else 3
        if cls not in (EfAd, EfIsimAd):  # EF.AD keeps the bytes after its fields as RFU data
            assert cls.decode(value.encode(size=len(raw) + extra)) == value

    check()


@pytest.mark.parametrize("name", sorted(EF_CODECS))
def test_decode_raises_only_decode_error(name):
    cls = EF_CODECS[name]

    @given(st.binary(max_size=40))
    def check(raw):
        try:
            cls.decode(raw)
        except DecodeError:
            pass

    check()
