"""Elementary-file codecs: one frozen dataclass per EF, named as the spec names it.

Every class has ``decode(data)`` / ``encode(size=None)``, its spec clause in the docstring,
class attributes ``NAME``, ``FID``, ``SFI``, ``STRUCTURE``, ``SIZE`` (default file size or
record length) and ``EXAMPLES`` (worked examples as ``(value, hex)`` pairs).  Where a file
lives on a card is the card tree's business (:mod:`simtool.cardtree`), not the codec's.
:data:`EF_CODECS` maps the spec name ("EF.IMSI") to the class.
"""

from __future__ import annotations

from simtool.ef.application import ISIM_AID_PREFIX, USIM_AID_PREFIX, EfDir
from simtool.ef.base import EfCodec, Structure
from simtool.ef.bcd import DECIMAL, DIALLING, decode_bcd, encode_bcd
from simtool.ef.dialling import TON_NPI_INTERNATIONAL, TON_NPI_UNKNOWN, EfAdn, EfMsisdn
from simtool.ef.fcp import (
    Fcp,
    GsmChvStatus,
    PinStatus,
    decode_gsm_response,
    decode_select_response,
)
from simtool.ef.identity import (
    EfAcc,
    EfAd,
    EfIccid,
    EfImsi,
    EfSpn,
    Iccid,
    Imsi,
    OperationMode,
    acc_for_imsi,
    iccid_with_check,
)
from simtool.ef.network import (
    ACCESS_TECHNOLOGY_BITS,
    EfEhplmn,
    EfFplmn,
    EfHplmnwAct,
    EfLoci,
    EfOplmnwAct,
    EfPlmnSel,
    EfPlmnwAct,
    Lai,
    LuStatus,
    Plmn,
    PlmnWithAct,
)
from simtool.ef.isim import (ISIM_SERVICES, AddressType, EfDomain, EfImpi, EfImpu, EfIsimAd,
                             EfIst, EfPcscf)
from simtool.ef.services import SIM_SERVICES, USIM_SERVICES, EfSst, EfUst
from simtool.ef.usim import CellInfo, CellKind, EfNetpar, EfStartHfn, EfThreshold

EF_CODECS: dict[str, type[EfCodec]] = {
    cls.NAME: cls
    for cls in (EfIccid, EfDir, EfImsi, EfAd, EfAcc, EfSpn, EfMsisdn, EfAdn, EfUst, EfSst,
                EfLoci, EfFplmn, EfPlmnSel, EfEhplmn, EfPlmnwAct, EfOplmnwAct, EfHplmnwAct,
                EfStartHfn, EfThreshold, EfNetpar,
                EfImpi, EfDomain, EfImpu, EfIst, EfPcscf, EfIsimAd)
}

__all__ = [
    "ACCESS_TECHNOLOGY_BITS", "DECIMAL", "DIALLING", "EF_CODECS", "ISIM_AID_PREFIX",
    "SIM_SERVICES", "TON_NPI_INTERNATIONAL", "TON_NPI_UNKNOWN", "USIM_AID_PREFIX",
    "USIM_SERVICES", "EfAcc", "EfAd", "EfAdn", "EfCodec", "EfDir", "EfEhplmn", "EfFplmn",
    "EfHplmnwAct", "EfIccid", "EfImsi", "EfLoci", "EfMsisdn", "EfOplmnwAct", "EfPlmnSel",
    "EfPlmnwAct", "EfSpn", "EfSst", "EfUst", "Fcp", "GsmChvStatus", "Iccid", "Imsi", "Lai",
    "LuStatus", "OperationMode", "PinStatus", "Plmn", "PlmnWithAct", "Structure", "acc_for_imsi",
    "decode_bcd", "decode_gsm_response", "decode_select_response", "encode_bcd",
    "iccid_with_check",
    "ISIM_SERVICES", "AddressType", "CellInfo", "CellKind", "EfDomain", "EfImpi", "EfImpu",
    "EfIsimAd", "EfIst", "EfNetpar", "EfPcscf", "EfStartHfn", "EfThreshold",
]
