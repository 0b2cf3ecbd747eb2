"""Service tables: EF.UST (USIM, one bit per service) and EF.SST (SIM, two bits per service)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Self

from simtool.ef.base import EfCodec
from simtool.errors import EncodeError

#: USIM services, 3GPP TS 31.102 §4.2.8 (service n° -> name).
USIM_SERVICES: dict[int, str] = {
    1: "Local Phone Book", 2: "Fixed Dialling Numbers (FDN)", 3: "Extension 2",
    4: "Service Dialling Numbers (SDN)", 5: "Extension 3", 6: "Barred Dialling Numbers (BDN)",
    7: "Extension 4", 8: "Outgoing Call Information (OCI and OCT)",
    9: "Incoming Call Information (ICI and ICT)", 10: "Short Message Storage (SMS)",
    11: "Short Message Status Reports (SMSR)", 12: "Short Message Service Parameters (SMSP)",
    13: "Advice of Charge (AoC)", 14: "Capability Configuration Parameters 2 (CCP2)",
    15: "Cell Broadcast Message Identifier", 16: "Cell Broadcast Message Identifier Ranges",
    17: "Group Identifier Level 1", 18: "Group Identifier Level 2",
    19: "Service Provider Name", 20: "User controlled PLMN selector with Access Technology",
    21: "MSISDN", 22: "Image (IMG)", 23: "Support of Localised Service Areas (SoLSA)",
    24: "Enhanced Multi-Level Precedence and Pre-emption Service",
    25: "Automatic Answer for eMLPP", 26: "RFU", 27: "GSM Access",
    28: "Data download via SMS-PP", 29: "Data download via SMS-CB",
    30: "Call Control by USIM", 31: "MO-SMS Control by USIM", 32: "RUN AT COMMAND command",
    33: "shall be set to 1", 34: "Enabled Services Table", 35: "APN Control List (ACL)",
    36: "Depersonalisation Control Keys", 37: "Co-operative Network List",
    38: "GSM security context", 39: "CPBCCH Information", 40: "Investigation Scan",
    41: "MexE", 42: "Operator controlled PLMN selector with Access Technology",
    43: "HPLMN selector with Access Technology", 44: "Extension 5",
    45: "PLMN Network Name", 46: "Operator PLMN List", 47: "Mailbox Dialling Numbers",
    48: "Message Waiting Indication Status", 49: "Call Forwarding Indication Status",
    50: "Reserved and shall be ignored", 51: "Service Provider Display Information",
    52: "Multimedia Messaging Service (MMS)", 53: "Extension 8",
    54: "Call control on GPRS by USIM", 55: "MMS User Connectivity Parameters",
    56: "Network's indication of alerting in the MS (NIA)",
    57: "VGCS Group Identifier List (EF.VGCS and EF.VGCSS)",
    58: "VBS Group Identifier List (EF.VBS and EF.VBSS)", 59: "Pseudonym",
    60: "User controlled PLMN selector for I-WLAN access",
    61: "Operator controlled PLMN selector for I-WLAN access",
    62: "User controlled WSID list", 63: "Operator controlled WSID list",
    64: "VGCS security", 65: "VBS security", 66: "WLAN Reauthentication Identity",
    67: "Multimedia Messages Storage", 68: "Generic Bootstrapping Architecture (GBA)",
    69: "MBMS security", 70: "Data download via USSD and USSD application mode",
    71: "Equivalent HPLMN", 72: "Additional TERMINAL PROFILE after UICC activation",
    73: "Equivalent HPLMN Presentation Indication", 74: "Last RPLMN Selection Indication",
    75: "OMA BCAST Smart Card Profile", 76: "GBA-based Local Key Establishment Mechanism",
    77: "Terminal Applications", 78: "Service Provider Name Icon",
    79: "PLMN Network Name Icon", 80: "Connectivity Parameters for USIM IP connections",
    81: "Home I-WLAN Specific Identifier List",
    82: "I-WLAN Equivalent HPLMN Presentation Indication",
    83: "I-WLAN HPLMN Priority Indication", 84: "I-WLAN Last Registered PLMN",
    85: "EPS Mobility Management Information",
    86: "Allowed CSG Lists and corresponding indications",
    87: "Call control on EPS PDN connection by USIM", 88: "HPLMN Direct Access",
    89: "eCall Data", 90: "Operator CSG Lists and corresponding indications",
    91: "Support for SM-over-IP", 92: "Support of CSG Display Control",
    93: "Communication Control for IMS by USIM", 94: "Extended Terminal Applications",
    95: "Support of UICC access to IMS", 96: "Non-Access Stratum configuration by USIM",
    97: "PWS configuration by USIM", 98: "RFU", 99: "URI support by UICC",
    100: "Extended EARFCN support", 101: "ProSe", 102: "USAT Application Pairing",
    103: "Media Type support", 104: "IMS call disconnection cause",
    105: "URI support for MO SHORT MESSAGE CONTROL",
    106: "ePDG configuration Information support",
    107: "ePDG configuration Information configured", 108: "ACDC support", 109: "MCPTT",
    110: "ePDG configuration Information for Emergency Service support",
    111: "ePDG configuration Information for Emergency Service configured",
    112: "eCall Data over IMS", 113: "URI support for SMS-PP DOWNLOAD",
    114: "From Preferred", 115: "IMS configuration data", 116: "TV configuration",
    117: "3GPP PS Data Off", 118: "3GPP PS Data Off Service List", 119: "V2X",
    120: "XCAP Configuration Data", 121: "EARFCN list for MTC/NB-IoT UEs",
    122: "5GS Mobility Management Information", 123: "5G Security Parameters",
    124: "Subscription identifier privacy support", 125: "SUCI calculation by the USIM",
    126: "UAC Access Identities support",
    127: "Control plane-based Steering of UE in VPLMN",
    128: "Call control on PDU Session by USIM", 129: "5GS Operator PLMN List",
    130: "Support for SUPI of type NSI or GLI or GCI",
    131: "3GPP PS Data Off separate Home and Roaming lists",
    132: "Support for URSP by USIM", 133: "5G Security Parameters extended",
    134: "MuD and MiD configuration data",
    135: "Support for Trusted non-3GPP access networks by USIM",
    136: "Multiple records of NAS security context storage for multiple registration",
    137: "Pre-configured CAG information list", 138: "SOR-CMCI storage in USIM",
    139: "5G ProSe", 140: "Storage of disaster roaming information in USIM",
    141: "Pre-configured eDRX parameters", 142: "5G NSWO support",
    143: "PWS configuration for SNPN in USIM",
    144: "Multiplier Coefficient for Higher Priority PLMN search via NG-RAN satellite access",
    145: "K_AUSF derivation configuration", 146: "Network Identifier for SNPN (NID)",
}

#: SIM services, 3GPP TS 51.011 §10.3.7 (service n° -> name).
SIM_SERVICES: dict[int, str] = {
    1: "CHV1 disable function", 2: "Abbreviated Dialling Numbers (ADN)",
    3: "Fixed Dialling Numbers (FDN)", 4: "Short Message Storage (SMS)",
    5: "Advice of Charge (AoC)", 6: "Capability Configuration Parameters (CCP)",
    7: "PLMN selector", 8: "RFU", 9: "MSISDN", 10: "Extension 1", 11: "Extension 2",
    12: "SMS Parameters", 13: "Last Number Dialled (LND)",
    14: "Cell Broadcast Message Identifier", 15: "Group Identifier Level 1",
    16: "Group Identifier Level 2", 17: "Service Provider Name",
    18: "Service Dialling Numbers (SDN)", 19: "Extension 3", 20: "RFU",
    21: "VGCS Group Identifier List (EF.VGCS and EF.VGCSS)",
    22: "VBS Group Identifier List (EF.VBS and EF.VBSS)",
    23: "enhanced Multi-Level Precedence and Pre-emption Service",
    24: "Automatic Answer for eMLPP", 25: "Data download via SMS-CB",
    26: "Data download via SMS-PP", 27: "Menu selection", 28: "Call control",
    29: "Proactive SIM", 30: "Cell Broadcast Message Identifier Ranges",
    31: "Barred Dialling Numbers (BDN)", 32: "Extension 4",
    33: "De-personalization Control Keys", 34: "Co-operative Network List",
    35: "Short Message Status Reports", 36: "Network's indication of alerting in the MS",
    37: "Mobile Originated Short Message control by SIM", 38: "GPRS", 39: "Image (IMG)",
    40: "SoLSA (Support of Local Service Area)",
    41: "USSD string data object supported in Call Control", 42: "RUN AT COMMAND command",
    43: "User controlled PLMN Selector with Access Technology",
    44: "Operator controlled PLMN Selector with Access Technology",
    45: "HPLMN Selector with Access Technology", 46: "CPBCCH Information",
    47: "Investigation Scan", 48: "Extended Capability Configuration Parameters",
    49: "MExE", 50: "Reserved and shall be ignored", 51: "PLMN Network Name",
    52: "Operator PLMN List", 53: "Mailbox Dialling Numbers",
    54: "Message Waiting Indication Status", 55: "Call Forwarding Indication Status",
    56: "Service Provider Display Information", 57: "Multimedia Messaging Service (MMS)",
    58: "Extension 8", 59: "MMS User Connectivity Parameters",
}


def _services(values, what: str) -> frozenset[int]:
    out = frozenset(values)
    if any(not isinstance(n, int) or n < 1 for n in out):
        raise EncodeError(f"{what}: service numbers start at 1, got {sorted(out)}")
    return out


@dataclass(frozen=True)
class ServiceTable(EfCodec):
    """A service table (EF.UST, EF.IST): service n is available when bit (n-1) % 8 (b1
    first) of byte (n-1) // 8 is set; padding 00 (not available).  ``SERVICE_NAMES`` names
    the services."""

    FILL = 0x00
    SERVICE_NAMES: ClassVar[dict[int, str]] = {}

    services: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", _services(self.services, self.NAME))

    def __contains__(self, service: int) -> bool:
        return service in self.services

    def named(self) -> list[tuple[int, str]]:
        return [(n, self.SERVICE_NAMES.get(n, "unknown")) for n in sorted(self.services)]

    @classmethod
    def decode(cls, data: bytes) -> Self:
        bits = int.from_bytes(data, "little")
        return cls(frozenset(i + 1 for i in range(8 * len(data)) if bits >> i & 1))

    def encode(self, size: int | None = None) -> bytes:
        top = max(self.services, default=1)
        bits = sum(1 << (n - 1) for n in self.services)
        return self._fit(bits.to_bytes((top + 7) // 8, "little"), size)


@dataclass(frozen=True)
class EfUst(ServiceTable):
    """EF.UST (6F38 in ADF.USIM): service n is available when bit (n-1) % 8 (b1 first) of
    byte (n-1) // 8 is set (3GPP TS 31.102 §4.2.8).  Padding is 00 (= not available)."""

    NAME = "EF.UST"
    FID = 0x6F38
    SFI = 0x04
    SIZE = 19
    CLAUSE = "3GPP TS 31.102 §4.2.8"
    SERVICE_NAMES = USIM_SERVICES


EfUst.EXAMPLES = (
    (EfUst(frozenset({1, 2, 3, 4})), "0F"),
    (EfUst(frozenset({9})), "0001"),
    # FDN, SPN, MSISDN, service 33 ("shall be set to 1")
    (EfUst(frozenset({2, 19, 21, 33})), "0200140001"),
    (EfUst(frozenset()), "000000"),
)


@dataclass(frozen=True)
class EfSst(EfCodec):
    """EF.SST (6F38 in DF.GSM): two bits per service; for service n, byte (n-1) // 4 bit
    2·((n-1) % 4) = allocated, the next bit = activated (3GPP TS 51.011 §10.3.7)."""

    NAME = "EF.SST"
    FID = 0x6F38
    SIZE = 15
    FILL = 0x00
    CLAUSE = "3GPP TS 51.011 §10.3.7"

    allocated: frozenset[int] = field(default_factory=frozenset)
    activated: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allocated", _services(self.allocated, self.NAME))
        object.__setattr__(self, "activated", _services(self.activated, self.NAME))

    @property
    def enabled(self) -> frozenset[int]:
        """Services both allocated and activated."""
        return self.allocated & self.activated

    def named(self) -> list[tuple[int, str]]:
        return [(n, SIM_SERVICES.get(n, "unknown")) for n in sorted(self.enabled)]

    @classmethod
    def decode(cls, data: bytes) -> EfSst:
        bits = int.from_bytes(data, "little")
        count = 4 * len(data)
        return cls(frozenset(n + 1 for n in range(count) if bits >> (2 * n) & 1),
                   frozenset(n + 1 for n in range(count) if bits >> (2 * n + 1) & 1))

    def encode(self, size: int | None = None) -> bytes:
        top = max(self.allocated | self.activated, default=1)
        bits = sum(1 << 2 * (n - 1) for n in self.allocated)
        bits |= sum(1 << 2 * (n - 1) + 1 for n in self.activated)
        return self._fit(bits.to_bytes((top + 3) // 4, "little"), size)


EfSst.EXAMPLES = (
    # CHV1 disable function allocated+activated, ADN allocated only
    (EfSst(frozenset({1, 2}), frozenset({1})), "07"),
    # ADN, SMS, MSISDN, SPN allocated and activated
    (EfSst(frozenset({2, 4, 9, 17}), frozenset({2, 4, 9, 17})), "CC0003000300"),
)
