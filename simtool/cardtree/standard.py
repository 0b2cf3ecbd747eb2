"""The standard files, declared once: MF, DF.TELECOM, DF.GSM, DF.CDMA, ADF.USIM, ADF.ISIM and
their EFs (:data:`COMMON`), and simtool's menu applet file (:data:`EF_MENU`).

Sources: ETSI TS 102 221 §13 (MF files), 3GPP TS 31.102 §4.2/§4.4 (ADF.USIM; every file it
marks mandatory is here), TS 31.103 §4.2 (ADF.ISIM), TS 51.011 §10 (DF.GSM, DF.TELECOM),
3GPP2 C.S0023 (DF.CDMA).  The tree holds every DF and EF a real sysmoISIM-SJA2 has (its
pySim-shell export), with that card's sizes and record counts; simtool's own sizes only where a
codec or a profile needs them (EF.DIR, EF.ADN, EF.MSISDN, the ISIM identities).
"""

from __future__ import annotations

from dataclasses import replace

from simtool.cardtree.model import (ALW_ADM, ALW_PIN, ARR_RULES, ISIM_AID, MF_FID,
                                    PIN_ADM, PIN_PIN, PIN_PIN2, USIM_AID, Access, CardTree,
                                    DfNode, EfNode, ef, raw)
from simtool.ef.application import EfDir
from simtool.ef.base import EfCodec, Structure
from simtool.ef.dialling import EfAdn, EfMsisdn
from simtool.ef.identity import EfAcc, EfAd, EfIccid, EfImsi, EfSpn
from simtool.ef.isim import EfDomain, EfImpi, EfImpu, EfIsimAd, EfIst, EfPcscf
from simtool.ef.network import (EfEhplmn, EfFplmn, EfHplmnwAct, EfLoci, EfOplmnwAct, EfPlmnSel,
                                EfPlmnwAct)
from simtool.ef.services import EfSst, EfUst
from simtool.ef.usim import EfNetpar, EfStartHfn, EfThreshold


def _gsm(codec: type[EfCodec], access: Access, **kw) -> EfNode:
    return ef(codec, access, sfi=False, **kw)


#: Files DF.GSM/DF.TELECOM and ADF.USIM both have, that simtool keeps as bytes: declared once
#: (the ADF.USIM place adds its SFI, or its own size or access where the two differ).  Sizes
#: and record counts are a real sysmoISIM-SJA2's; access as TS 51.011 §10 / TS 31.102 §4.2
#: give it (where they leave a choice, as the real card has it).
_HPPLMN = raw("EF.HPPLMN", 0x6F31, PIN_ADM, 1)
_SMSP = raw("EF.SMSP", 0x6F42, PIN_PIN, 52, records=2)
_GID1 = raw("EF.GID1", 0x6F3E, PIN_ADM, 10)
_GID2 = raw("EF.GID2", 0x6F3F, PIN_ADM, 10)
# advice of charge (TS 51.011 §10.3.6/7/11, TS 31.102 §4.2.6/7/9)
_ACMMAX = raw("EF.ACMmax", 0x6F37, PIN_PIN2, 3)
_ACM = raw("EF.ACM", 0x6F39, PIN_PIN2, 3, records=20, structure=Structure.CYCLIC)
_PUCT = raw("EF.PUCT", 0x6F41, PIN_PIN, 5)
# cell broadcast (TS 51.011 §10.3.13/26/28, TS 31.102 §4.2.14/20/29)
_CBMI = raw("EF.CBMI", 0x6F45, PIN_PIN, 20)
_CBMID = raw("EF.CBMID", 0x6F48, PIN_ADM, 20)
_CBMIR = raw("EF.CBMIR", 0x6F50, PIN_PIN, 20)
_DCK = raw("EF.DCK", 0x6F2C, PIN_PIN, 16)
_CNL = raw("EF.CNL", 0x6F32, PIN_ADM, 24)
# voice group call and broadcast, eMLPP (TS 51.011 §10.3.19-25, TS 31.102 §4.2.22-25)
_VGCS = raw("EF.VGCS", 0x6FB1, PIN_ADM, 40)
_VGCSS = raw("EF.VGCSS", 0x6FB2, PIN_PIN, 7)
_VBS = raw("EF.VBS", 0x6FB3, PIN_ADM, 40)
_VBSS = raw("EF.VBSS", 0x6FB4, PIN_PIN, 7)
_EMLPP = raw("EF.eMLPP", 0x6FB5, PIN_ADM, 2)
_AAEM = raw("EF.AAeM", 0x6FB6, PIN_PIN, 1)
# network names, mailbox, message waiting, call forwarding, MMS (TS 51.011 §10.3.41-55,
# TS 31.102 §4.2.58-70)
_PNN = raw("EF.PNN", 0x6FC5, PIN_ADM, 24, records=10)
_OPL = raw("EF.OPL", 0x6FC6, PIN_ADM, 8, records=1)
_MBDN = raw("EF.MBDN", 0x6FC7, PIN_PIN, 24, records=10)
_EXT6 = raw("EF.EXT6", 0x6FC8, PIN_PIN, 13, records=10)
_MBI = raw("EF.MBI", 0x6FC9, PIN_PIN, 4, records=10)
_MWIS = raw("EF.MWIS", 0x6FCA, PIN_PIN, 5, records=4)
_CFIS = raw("EF.CFIS", 0x6FCB, PIN_PIN, 16, records=4)
_EXT7 = raw("EF.EXT7", 0x6FCC, PIN_PIN, 13, records=4)
_SPDI = raw("EF.SPDI", 0x6FCD, PIN_ADM, 33)
_MMSN = raw("EF.MMSN", 0x6FCE, PIN_PIN, 24, records=4)
_EXT8 = raw("EF.EXT8", 0x6FCF, PIN_PIN, 64, records=4)
_MMSICP = raw("EF.MMSICP", 0x6FD0, PIN_ADM, 32)
_MMSUP = raw("EF.MMSUP", 0x6FD1, PIN_ADM, 64, records=4)
_MMSUCP = raw("EF.MMSUCP", 0x6FD2, PIN_PIN, 256)
# dialling numbers and short messages (TS 51.011 §10.5, TS 31.102 §4.2.24-41)
_FDN = raw("EF.FDN", 0x6F3B, PIN_PIN2, 28, records=20)
_SMS = raw("EF.SMS", 0x6F3C, PIN_PIN, 176, records=30)
_SMSS = raw("EF.SMSS", 0x6F43, PIN_PIN, 2)
_SMSR = raw("EF.SMSR", 0x6F47, PIN_PIN, 30, records=20)
_SDN = raw("EF.SDN", 0x6F49, PIN_ADM, 34, records=20)
_EXT2 = raw("EF.EXT2", 0x6F4B, PIN_PIN2, 13, records=16)
_EXT3 = raw("EF.EXT3", 0x6F4C, PIN_ADM, 13, records=16)
_BDN = raw("EF.BDN", 0x6F4D, PIN_PIN2, 29, records=10)
_CMI = raw("EF.CMI", 0x6F58, PIN_ADM, 11, records=10)
#: ADF.USIM's and ADF.ISIM's (TS 31.102 §4.2.83, TS 31.103 §4.2.17: 1 byte, b1 = 'From'
#: header of the preferred identity)
_FROM_PREFERRED = raw("EF.FromPreferred", 0x6FF7, PIN_ADM, 1)
#: GBA NAF key centre addresses (TS 31.102 §4.2.87, TS 31.103 §4.2.13)
_NAFKCA = raw("EF.NAFKCA", 0x6FDD, PIN_ADM, 32, records=2)
#: an application's EF.ARR (TS 31.102 §4.2.47 SFI 17, TS 31.103 §4.2.8 SFI 06)
_ADF_ARR = raw("EF.ARR", 0x6F06, ALW_ADM, 56, records=len(ARR_RULES))

MF = DfNode("MF", MF_FID, (
    ef(EfDir, ALW_ADM, size=32, records=2),
    ef(EfIccid, ALW_ADM),
    raw("EF.PL", 0x2F05, ALW_PIN, 10, sfi=0x05),
    raw("EF.ARR", 0x2F06, ALW_ADM, 56, records=len(ARR_RULES), sfi=0x06),
    # TS 102 221 §13.5: UICC maximum power consumption
    raw("EF.UMPC", 0x2F08, ALW_ADM, 5, sfi=0x08),
    DfNode("DF.TELECOM", 0x7F10, (
        _gsm(EfAdn, PIN_PIN, records=10),
        _FDN,
        _SMS,
        # TS 51.011 §10.5.4: capability configuration parameters 2 (the USIM's EF.CCP2)
        raw("EF.ECCP", 0x6F4F, PIN_PIN, 15, records=20),
        _gsm(EfMsisdn, PIN_PIN, records=2),
        _SMSP,
        _SMSS,
        raw("EF.LND", 0x6F44, PIN_PIN, 34, records=20, structure=Structure.CYCLIC),
        _SDN,
        raw("EF.EXT1", 0x6F4A, PIN_PIN, 13, records=10),
        _EXT2,
        _EXT3,
        _BDN,
        _SMSR,
        _CMI,
        # TS 31.102 §4.4.2: the phone book (EF.PBR says where its files are; none yet)
        DfNode("DF.PHONEBOOK", 0x5F3A, (
            raw("EF.PBR", 0x4F30, PIN_ADM, 69, records=1),
            raw("EF.PSC", 0x4F22, PIN_PIN, 4),
            raw("EF.CC", 0x4F23, PIN_PIN, 2),
            raw("EF.PUID", 0x4F24, PIN_PIN, 2),
        )),
        # TS 31.102 §4.6.x: mission critical services and V2X.  The SJA2 keeps EF.MCS_CONFIG
        # and EF.V2X_CONFIG transparent where the spec has BER-TLV files; so does this tree.
        DfNode("DF.MCS", 0x5F3D, (
            raw("EF.MST", 0x4F01, PIN_ADM, 4, sfi=0x01),
            raw("EF.MCS_CONFIG", 0x4F02, PIN_ADM, 256, sfi=0x02),
        )),
        DfNode("DF.V2X", 0x5F3E, (
            raw("EF.VST", 0x4F01, PIN_ADM, 3, sfi=0x01),
            raw("EF.V2X_CONFIG", 0x4F02, PIN_ADM, 100, sfi=0x02),
        )),
    )),
    DfNode("DF.GSM", 0x7F20, (
        raw("EF.LP", 0x6F05, ALW_PIN, 5),
        _gsm(EfImsi, PIN_ADM),
        raw("EF.Kc", 0x6F20, PIN_PIN, 9),
        _gsm(EfPlmnSel, PIN_PIN, size=60),
        _HPPLMN,
        _ACMMAX,
        _gsm(EfSst, PIN_ADM),
        _ACM,
        _GID1,
        _GID2,
        _gsm(EfSpn, ALW_ADM),
        _PUCT,
        _CBMI,
        raw("EF.BCCH", 0x6F74, PIN_PIN, 16),
        _gsm(EfAcc, PIN_ADM),
        _gsm(EfFplmn, PIN_PIN),
        _gsm(EfLoci, PIN_PIN),
        _gsm(EfAd, ALW_ADM),
        raw("EF.Phase", 0x6FAE, ALW_ADM, 1),
        _VGCS,
        _VGCSS,
        _VBS,
        _VBSS,
        _EMLPP,
        _AAEM,
        _CBMID,
        raw("EF.ECC", 0x6FB7, ALW_ADM, 15),
        _CBMIR,
        _DCK,
        _CNL,
        raw("EF.NIA", 0x6F51, PIN_ADM, 21, records=5),
        raw("EF.KcGPRS", 0x6F52, PIN_PIN, 9),
        raw("EF.LOCIGPRS", 0x6F53, PIN_PIN, 14),
        raw("EF.SUME", 0x6F54, PIN_ADM, 21),
        _gsm(EfPlmnwAct, PIN_PIN, size=60),
        _gsm(EfOplmnwAct, PIN_ADM, size=60),
        _gsm(EfHplmnwAct, PIN_ADM, size=60),
        raw("EF.InvScan", 0x6F64, PIN_ADM, 1),
        _PNN,
        _OPL,
        _MBDN,
        _MBI,
        _MWIS,
        _CFIS,
        _EXT6,
        _EXT7,
        _SPDI,
        _MMSN,
        _EXT8,
        _MMSICP,
        _MMSUP,
        _MMSUCP,
    )),
    # 3GPP2 C.S0023 §3.4: the R-UIM's DF.CDMA, as the real SJA2 carries it (service table,
    # home service provider name, administrative data, short messages)
    DfNode("DF.CDMA", 0x7F25, (
        raw("EF.CST", 0x6F32, PIN_ADM, 12),
        raw("EF.SPN", 0x6F41, PIN_ADM, 35),
        raw("EF.AD", 0x6F43, PIN_ADM, 3),
        replace(_SMS, size=255),
    )),
    DfNode("ADF.USIM", None, (
        raw("EF.LI", 0x6F05, ALW_PIN, 10, sfi=0x02),
        replace(_ADF_ARR, sfi=0x17),
        ef(EfImsi, PIN_ADM),
        raw("EF.Keys", 0x6F08, PIN_PIN, 33, sfi=0x08),
        raw("EF.KeysPS", 0x6F09, PIN_PIN, 33, sfi=0x09),
        replace(_HPPLMN, sfi=0x12),
        _ACMMAX,
        ef(EfUst, PIN_ADM, size=20),
        replace(_ACM, sfi=0x1C),
        _GID1,
        _GID2,
        _PUCT,
        _CBMI,
        replace(_CBMID, sfi=0x0E),
        _CBMIR,
        _FDN,
        _SMS,
        _gsm(EfMsisdn, PIN_PIN, records=2),
        _SMSP,
        _SMSS,
        _SDN,
        _EXT2,
        _EXT3,
        _SMSR,
        # TS 31.102 §4.2.33-36: incoming/outgoing call information and timers
        raw("EF.ICI", 0x6F80, PIN_PIN, 30, records=1, sfi=0x14, structure=Structure.CYCLIC),
        raw("EF.OCI", 0x6F81, PIN_PIN, 30, records=1, sfi=0x15, structure=Structure.CYCLIC),
        raw("EF.ICT", 0x6F82, PIN_PIN, 3, records=1, structure=Structure.CYCLIC),
        raw("EF.OCT", 0x6F83, PIN_PIN, 3, records=1, structure=Structure.CYCLIC),
        raw("EF.EXT5", 0x6F4E, PIN_PIN, 13, records=10),
        raw("EF.CCP2", 0x6F4F, PIN_PIN, 15, records=5, sfi=0x16),
        _EMLPP,
        _AAEM,
        _BDN,
        _CMI,
        _gsm(EfSpn, ALW_ADM),
        raw("EF.EST", 0x6F56, PIN_PIN2, 1, sfi=0x05),
        raw("EF.ACL", 0x6F57, PIN_PIN2, 256),
        _DCK,
        _CNL,
        ef(EfPlmnwAct, PIN_PIN, size=60),
        ef(EfOplmnwAct, PIN_ADM, size=60),
        ef(EfHplmnwAct, PIN_ADM, size=60),
        raw("EF.PSLOCI", 0x6F73, PIN_PIN, 14, sfi=0x0C),
        ef(EfAcc, PIN_ADM),
        ef(EfFplmn, PIN_PIN),
        ef(EfLoci, PIN_PIN),
        ef(EfAd, ALW_ADM),
        raw("EF.ECC", 0x6FB7, ALW_ADM, 4, records=5, sfi=0x01),
        ef(EfEhplmn, PIN_ADM),
        # TS 31.102 §4.2.51, §4.2.52, §4.2.57: mandatory, read by the terminal at UTRAN start
        ef(EfStartHfn, PIN_PIN),
        ef(EfThreshold, PIN_ADM),
        ef(EfNetpar, PIN_PIN),
        replace(_PNN, sfi=0x19),
        replace(_OPL, sfi=0x1A),
        _MBDN,
        _EXT6,
        _MBI,
        _MWIS,
        _CFIS,
        _EXT7,
        replace(_SPDI, sfi=0x1B),
        _MMSN,
        _EXT8,
        _MMSICP,
        _MMSUP,
        _MMSUCP,
        raw("EF.NIA", 0x6FD3, PIN_ADM, 21, records=4),
        _VGCS,
        _VGCSS,
        _VBS,
        _VBSS,
        raw("EF.VGCSCA", 0x6FD4, PIN_ADM, 20),
        raw("EF.VBSCA", 0x6FD5, PIN_ADM, 20),
        # TS 31.102 §4.2.79-87: GBA and MBMS keys, EHPLMN presentation, NAF key centres
        raw("EF.GBABP", 0x6FD6, PIN_PIN, 64),
        raw("EF.MSK", 0x6FD7, PIN_PIN, 20, records=10),
        raw("EF.MUK", 0x6FD8, PIN_PIN, 40, records=1),
        raw("EF.GBANL", 0x6FDA, PIN_PIN, 128, records=2),
        raw("EF.EHPLMNPI", 0x6FDB, PIN_ADM, 1),
        _NAFKCA,
        raw("EF.SPNI", 0x6FDE, PIN_ADM, 30),
        raw("EF.PNNI", 0x6FDF, PIN_ADM, 30, records=3),
        raw("EF.NCP-IP", 0x6FE2, PIN_ADM, 100, records=3),
        # TS 31.102 §4.2.91, §4.2.92: EPS location and NAS security context
        raw("EF.EPSLOCI", 0x6FE3, PIN_PIN, 18, sfi=0x1E),
        raw("EF.EPSNSC", 0x6FE4, PIN_PIN, 54, records=1, sfi=0x18),
        raw("EF.UFC", 0x6FE6, ALW_ADM, 64),
        raw("EF.NASCONFIG", 0x6FE8, PIN_ADM, 128),
        raw("EF.PWS", 0x6FEC, PIN_ADM, 3),
        raw("EF.FDNURI", 0x6FED, PIN_PIN2, 128, records=10),
        raw("EF.BDNURI", 0x6FEE, PIN_PIN2, 128, records=10),
        raw("EF.SDNURI", 0x6FEF, PIN_ADM, 128, records=10),
        raw("EF.IPS", 0x6FF1, PIN_PIN, 4, records=5, structure=Structure.CYCLIC),
        # TS 31.102 §4.2.102-105: ePDG identifiers and selection, normal and emergency
        raw("EF.ePDGId", 0x6FF3, PIN_ADM, 60),
        raw("EF.ePDGSelection", 0x6FF4, PIN_ADM, 21),
        raw("EF.ePDGIdEm", 0x6FF5, PIN_ADM, 60),
        raw("EF.ePDGSelectionEm", 0x6FF6, PIN_ADM, 21),
        _FROM_PREFERRED,
        DfNode("DF.GSM-ACCESS", 0x5F3B, (
            raw("EF.Kc", 0x4F20, PIN_PIN, 9, sfi=0x01),
            raw("EF.KcGPRS", 0x4F52, PIN_PIN, 9, sfi=0x02),
            raw("EF.CPBCCH", 0x4F63, PIN_PIN, 16),
            raw("EF.InvScan", 0x4F64, PIN_ADM, 1),
        )),
        # TS 31.102 §4.4.5: WLAN (the SJA2 has no EF.UPLMNWLAN, WRI, HWSIDL, ... in it)
        DfNode("DF.WLAN", 0x5F40, (
            raw("EF.Pseudo", 0x4F41, PIN_PIN, 20, sfi=0x01),
            raw("EF.OPLMNWLAN", 0x4F43, PIN_ADM, 60, sfi=0x03),
            raw("EF.UWSIDL", 0x4F44, PIN_PIN, 33, records=10, sfi=0x04),
            raw("EF.OWSIDL", 0x4F45, PIN_ADM, 33, records=10, sfi=0x05),
        )),
        # TS 31.102 §4.4.6: home (e)NodeB closed subscriber groups
        DfNode("DF.HNB", 0x5F50, (
            raw("EF.ACSGL", 0x4F81, PIN_PIN, 50, records=1, sfi=0x01),
            raw("EF.CSGT", 0x4F82, PIN_PIN, 30, records=1, sfi=0x02),
            raw("EF.HNBN", 0x4F83, PIN_PIN, 30, records=1, sfi=0x03),
            raw("EF.OCSGL", 0x4F84, PIN_ADM, 50, records=1, sfi=0x04),
            raw("EF.OCSGT", 0x4F85, PIN_ADM, 30, records=1, sfi=0x05),
            raw("EF.OHNBN", 0x4F86, PIN_ADM, 30, records=1, sfi=0x06),
        )),
        # TS 31.102 §4.4.8: ProSe; the SJA2 has the DF and none of its files
        DfNode("DF.ProSe", 0x5F90),
        # TS 31.102 §4.4.11: 5GS (the SJA2 has the files up to EF.Routing_Indicator)
        DfNode("DF.5GS", 0x5FC0, (
            raw("EF.5GS3GPPLOCI", 0x4F01, PIN_PIN, 20, sfi=0x01),
            raw("EF.5GSN3GPPLOCI", 0x4F02, PIN_PIN, 20, sfi=0x02),
            raw("EF.5GS3GPPNSC", 0x4F03, PIN_PIN, 64, records=1, sfi=0x03),
            raw("EF.5GSN3GPPNSC", 0x4F04, PIN_PIN, 64, records=1, sfi=0x04),
            raw("EF.5GAUTHKEYS", 0x4F05, PIN_PIN, 68, sfi=0x05),
            raw("EF.UAC_AIC", 0x4F06, PIN_ADM, 4, sfi=0x06),
            raw("EF.SUCI_Calc_Info", 0x4F07, PIN_ADM, 100, sfi=0x07),
            raw("EF.OPL5G", 0x4F08, PIN_ADM, 10, records=10, sfi=0x08),
            raw("EF.SUPI_NAI", 0x4F09, PIN_ADM, 100, sfi=0x09),
            raw("EF.Routing_Indicator", 0x4F0A, PIN_ADM, 4, sfi=0x0A),
        )),
    ), aid=USIM_AID),
    # TS 31.103 §4.2: IMPI, DOMAIN, IMPU, AD and ARR are mandatory; IST and P-CSCF (service 1)
    # as an IMS operator provisions them.  Identity sizes are simtool's (room for a 3GPP
    # domain name, TS 23.003 §13); the vendor's sizes were not consulted.  The GBA, IARI and
    # configuration files as the real SJA2 has them (EF.IMSConfigData and EF.XCAPConfigData
    # transparent where TS 31.103 §4.2.19/20 has BER-TLV files).
    DfNode("ADF.ISIM", None, (
        ef(EfImpi, PIN_ADM),
        ef(EfDomain, PIN_ADM),
        ef(EfImpu, PIN_ADM, records=3),
        ef(EfIsimAd, ALW_ADM, name="EF.AD"),
        replace(_ADF_ARR, sfi=0x06),
        ef(EfIst, PIN_ADM),
        ef(EfPcscf, PIN_ADM, records=3),
        raw("EF.GBABP", 0x6FD5, PIN_PIN, 64),
        raw("EF.GBANL", 0x6FD7, PIN_PIN, 128, records=8),
        replace(_NAFKCA, size=128, records=8),
        raw("EF.UICCIARI", 0x6FE7, PIN_ADM, 64, records=8),
        _FROM_PREFERRED,
        raw("EF.IMSConfigData", 0x6FF8, PIN_ADM, 255),
        raw("EF.XCAPConfigData", 0x6FFC, PIN_ADM, 255),
    ), aid=ISIM_AID),
))

#: The standard files every card simtool knows has (card types add their own).
COMMON = CardTree(MF)

#: simtool's STK menu applet keeps its menu (``simtool.stk.menufile``) in this transparent EF
#: of ADF.USIM, a proprietary FID clear of the SJA2's own AF20..AF33; read always, updated with
#: ADM1 or over OTA RFM.
EF_MENU = raw("EF.MENU", 0xAF50, ALW_ADM, 8192)
