"""Status words SW1 SW2 of UICC and GSM SIM cards.

Covers every status word of ETSI TS 102 221 §10.2.1 (UICC, CLA 00/80) and of 3GPP TS 51.011
§9.4 (GSM SIM, CLA A0), plus the ISO/IEC 7816-4 meaning of ``62 84``.  Fixed values are
members of :class:`SW`; parametrised ones (``61 xx``, ``6C xx``, ``63 Cx``, ``91 xx``,
``92 0x``, ``9E xx``, ``9F xx`` ...) are rendered with their value by :func:`describe`.
"""

from __future__ import annotations

from enum import IntEnum


class SW(IntEnum):
    """Status words with a fixed value."""

    # TS 102 221 §10.2.1.1 normal processing / §10.2.1.2 postponed processing
    OK = 0x9000
    TOOLKIT_BUSY = 0x9300
    # TS 102 221 §10.2.1.3 warnings
    WARNING_NO_INFO = 0x6200
    DATA_MAY_BE_CORRUPTED = 0x6281
    END_OF_FILE = 0x6282
    FILE_INVALIDATED = 0x6283
    FCI_NOT_FORMATTED = 0x6284  # ISO/IEC 7816-4; not used by TS 102 221
    FILE_TERMINATED = 0x6285
    MORE_DATA_AVAILABLE = 0x62F1
    MORE_DATA_AVAILABLE_PROACTIVE_PENDING = 0x62F2
    RESPONSE_DATA_AVAILABLE = 0x62F3
    MORE_DATA_EXPECTED = 0x63F1
    MORE_DATA_EXPECTED_PROACTIVE_PENDING = 0x63F2
    # TS 102 221 §10.2.1.4 execution errors
    EXECUTION_ERROR = 0x6400
    EXECUTION_ERROR_MEMORY_CHANGED = 0x6500
    MEMORY_PROBLEM = 0x6581
    # TS 102 221 §10.2.1.5 checking errors
    WRONG_LENGTH = 0x6700
    CLA_FUNCTION_NOT_SUPPORTED = 0x6800
    LOGICAL_CHANNEL_NOT_SUPPORTED = 0x6881
    SECURE_MESSAGING_NOT_SUPPORTED = 0x6882
    COMMAND_NOT_ALLOWED = 0x6900
    INCOMPATIBLE_FILE_STRUCTURE = 0x6981
    SECURITY_NOT_SATISFIED = 0x6982
    PIN_BLOCKED = 0x6983
    REFERENCED_DATA_INVALIDATED = 0x6984
    CONDITIONS_NOT_SATISFIED = 0x6985
    NO_EF_SELECTED = 0x6986
    SECURE_CHANNEL_NOT_SATISFIED = 0x6989
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    NOT_ENOUGH_MEMORY = 0x6A84
    INCORRECT_P1_P2 = 0x6A86
    LC_INCONSISTENT_WITH_P1_P2 = 0x6A87
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    WRONG_P1_P2 = 0x6B00
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    TECHNICAL_PROBLEM = 0x6F00
    # TS 102 221 §10.2.1.6 application errors
    MAX_VALUE_REACHED = 0x9850
    AUTHENTICATION_ERROR = 0x9862
    SECURITY_SESSION_EXPIRED = 0x9863
    SUSPENSION_TIME_TOO_LONG = 0x9864
    # TS 51.011 §9.4.3 memory management
    GSM_MEMORY_PROBLEM = 0x9240
    # TS 51.011 §9.4.4 referencing management
    GSM_NO_EF_SELECTED = 0x9400
    GSM_OUT_OF_RANGE = 0x9402
    GSM_FILE_NOT_FOUND = 0x9404
    GSM_FILE_INCONSISTENT = 0x9408
    # TS 51.011 §9.4.5 security management
    GSM_NO_CHV_INITIALISED = 0x9802
    GSM_ACCESS_NOT_FULFILLED = 0x9804
    GSM_CHV_STATUS_CONTRADICTION = 0x9808
    GSM_INVALIDATION_CONTRADICTION = 0x9810
    GSM_CHV_BLOCKED = 0x9840


class SW1(IntEnum):
    """SW1 of the status words whose SW2 is a number (a length, a count)."""

    RESPONSE_AVAILABLE = 0x61       # TS 102 221 §7.3.1.1.4: xx bytes for GET RESPONSE
    WRONG_LE = 0x6C                 # TS 102 221 Table 7.1: the exact Le is xx
    PROACTIVE_PENDING = 0x91        # TS 102 221 §10.2.1.1: FETCH xx bytes
    GSM_RESPONSE_AVAILABLE = 0x9F   # TS 51.011 §9.4.1


#: 63Cx: a PIN command's counter, x tries left (TS 102 221 §10.2.1.3, §11.1.9).
PIN_TRIES_LEFT = 0x63C0


_FIXED: dict[int, str] = {
    SW.OK: "normal ending of the command",
    SW.TOOLKIT_BUSY: "SIM Application Toolkit busy: command cannot be executed now, "
    "other commands are allowed",
    SW.WARNING_NO_INFO: "warning: no information given, non-volatile memory unchanged",
    SW.DATA_MAY_BE_CORRUPTED: "warning: part of the returned data may be corrupted",
    SW.END_OF_FILE: "warning: end of file/record reached before reading Le bytes, "
    "or unsuccessful search",
    SW.FILE_INVALIDATED: "warning: selected file invalidated (deactivated)",
    SW.FCI_NOT_FORMATTED: "warning: file control information not formatted per ISO 7816-4",
    SW.FILE_TERMINATED: "warning: selected file in termination state",
    SW.MORE_DATA_AVAILABLE: "warning: more data available",
    SW.MORE_DATA_AVAILABLE_PROACTIVE_PENDING: "warning: more data available and a proactive "
    "command is pending",
    SW.RESPONSE_DATA_AVAILABLE: "warning: response data available",
    SW.MORE_DATA_EXPECTED: "warning: more data expected",
    SW.MORE_DATA_EXPECTED_PROACTIVE_PENDING: "warning: more data expected and a proactive "
    "command is pending",
    SW.EXECUTION_ERROR: "execution error: no information given, non-volatile memory unchanged",
    SW.EXECUTION_ERROR_MEMORY_CHANGED: "execution error: no information given, "
    "non-volatile memory changed",
    SW.MEMORY_PROBLEM: "execution error: memory problem",
    SW.WRONG_LENGTH: "wrong length (Lc/P3 wrong)",
    SW.CLA_FUNCTION_NOT_SUPPORTED: "function in CLA not supported, no information given",
    SW.LOGICAL_CHANNEL_NOT_SUPPORTED: "logical channel not supported",
    SW.SECURE_MESSAGING_NOT_SUPPORTED: "secure messaging not supported",
    SW.COMMAND_NOT_ALLOWED: "command not allowed, no information given",
    SW.INCOMPATIBLE_FILE_STRUCTURE: "command incompatible with file structure",
    SW.SECURITY_NOT_SATISFIED: "security status not satisfied (PIN/ADM access condition)",
    SW.PIN_BLOCKED: "authentication/PIN method blocked",
    SW.REFERENCED_DATA_INVALIDATED: "referenced data invalidated",
    SW.CONDITIONS_NOT_SATISFIED: "conditions of use not satisfied",
    SW.NO_EF_SELECTED: "command not allowed: no EF selected",
    SW.SECURE_CHANNEL_NOT_SATISFIED: "command not allowed: secure channel security not satisfied",
    SW.WRONG_DATA: "incorrect parameters in the data field",
    SW.FUNCTION_NOT_SUPPORTED: "function not supported",
    SW.FILE_NOT_FOUND: "file or application not found",
    SW.RECORD_NOT_FOUND: "record not found",
    SW.NOT_ENOUGH_MEMORY: "not enough memory space",
    SW.INCORRECT_P1_P2: "incorrect parameters P1 to P2",
    SW.LC_INCONSISTENT_WITH_P1_P2: "Lc inconsistent with P1 to P2",
    SW.REFERENCED_DATA_NOT_FOUND: "referenced data not found",
    SW.WRONG_P1_P2: "wrong parameter(s) P1-P2",
    SW.INS_NOT_SUPPORTED: "instruction code not supported or invalid",
    SW.CLA_NOT_SUPPORTED: "class not supported",
    SW.TECHNICAL_PROBLEM: "technical problem, no precise diagnosis",
    SW.MAX_VALUE_REACHED: "INCREASE cannot be performed: maximum value reached",
    SW.AUTHENTICATION_ERROR: "authentication error, application specific (e.g. MAC failure)",
    SW.SECURITY_SESSION_EXPIRED: "security session or association expired",
    SW.SUSPENSION_TIME_TOO_LONG: "minimum UICC suspension time is too long",
    SW.GSM_MEMORY_PROBLEM: "memory problem (GSM)",
    SW.GSM_NO_EF_SELECTED: "no EF selected (GSM)",
    SW.GSM_OUT_OF_RANGE: "out of range: invalid address or record (GSM)",
    SW.GSM_FILE_NOT_FOUND: "file ID or pattern not found (GSM)",
    SW.GSM_FILE_INCONSISTENT: "file inconsistent with the command (GSM)",
    SW.GSM_NO_CHV_INITIALISED: "no CHV initialised (GSM)",
    SW.GSM_ACCESS_NOT_FULFILLED: "access condition not fulfilled: wrong CHV (at least one "
    "attempt left) or authentication failed (GSM)",
    SW.GSM_CHV_STATUS_CONTRADICTION: "in contradiction with CHV status (GSM)",
    SW.GSM_INVALIDATION_CONTRADICTION: "in contradiction with invalidation status (GSM)",
    SW.GSM_CHV_BLOCKED: "CHV or UNBLOCK CHV blocked: no attempt left (GSM)",
}

#: Class of each SW1 (ISO/IEC 7816-4 §5.1.3, TS 102 221 §10.2.1, TS 51.011 §9.4), used for
#: unknown status words.
_SW1_CLASS: dict[int, str] = {
    0x61: "normal processing: response bytes available",
    0x62: "warning: non-volatile memory unchanged",
    0x63: "warning: non-volatile memory changed",
    0x64: "execution error: non-volatile memory unchanged",
    0x65: "execution error: non-volatile memory changed",
    0x66: "execution error: security related",
    0x67: "checking error: wrong length",
    0x68: "checking error: functions in CLA not supported",
    0x69: "checking error: command not allowed",
    0x6A: "checking error: wrong parameters",
    0x6B: "checking error: wrong parameters P1-P2",
    0x6C: "checking error: wrong Le",
    0x6D: "checking error: instruction not supported",
    0x6E: "checking error: class not supported",
    0x6F: "checking error: no precise diagnosis",
    0x90: "normal processing",
    0x91: "normal processing: proactive command pending",
    0x92: "normal processing: memory management / data transfer",
    0x93: "postponed processing",
    0x94: "referencing management error (GSM)",
    0x98: "security management / application error",
    0x9E: "normal processing: SIM data download error",
    0x9F: "normal processing: response data available",
}


#: SW1 values after which the answer continues in the next exchange, the T=0 follow-up status
#: words: 61xx → GET RESPONSE, 6Cxx → the command again with Le = xx (TS 102 221 §7.3.1.1.4,
#: Table 7.1), 9Fxx → GET RESPONSE on a GSM SIM (TS 51.011 §9.4.1).  The one set:
#: :class:`simtool.apdu.channel.Channel` follows them up, the tracer keeps a redacted answer
#: redacted across them.
FOLLOW_UP_SW1 = frozenset({0x61, 0x6C, 0x9F})


def _n256(xx: int) -> int:
    return xx or 256


def _describe_parametrised(sw1: int, sw2: int) -> str | None:
    if sw1 == 0x61:  # TS 102 221 §7.3.1.1.4, Table 7.1
        return f"{_n256(sw2)} response bytes still available (GET RESPONSE)"
    if sw1 == 0x6C:  # TS 102 221 Table 7.1
        return f"wrong Le: the exact length is {_n256(sw2)}"
    if sw1 == 0x9F:  # TS 51.011 §9.4.1
        return f"normal ending, {_n256(sw2)} bytes of response data available (GET RESPONSE)"
    if sw1 == 0x9E:  # TS 51.011 §9.4.1
        return f"SIM data download error, {_n256(sw2)} bytes of response data available"
    if sw1 == 0x91:  # TS 102 221 §10.2.1.1, TS 102 223 §6.3
        return f"normal ending, proactive command of {sw2} bytes pending (FETCH)"
    if sw1 == 0x92:
        if sw2 <= 0x0F:  # TS 51.011 §9.4.3
            return f"normal ending after {sw2} internal update retries"
        # TS 102 221 §10.2.1.1
        return f"normal ending, extra information about a data transfer session ({sw2:02X})"
    if sw1 == 0x63 and sw2 & 0xF0 == 0xC0:  # TS 102 221 §10.2.1.3, §11.1.9
        x = sw2 & 0x0F
        return (
            f"PIN/key wrong or counter queried: {x} tries left "
            f"(other commands: done after {x} internal retries)"
        )
    if sw1 == 0x67:  # TS 102 221 §10.2.1.5; TS 51.011 §9.4.6
        return f"wrong length / incorrect P3 (command-dependent detail {sw2:02X})"
    if sw1 == 0x6F:
        return f"technical problem (command-dependent detail {sw2:02X})"
    if sw1 == 0x6B:  # TS 51.011 §9.4.6
        return f"incorrect parameter P1 or P2 (GSM, detail {sw2:02X})"
    if sw1 == 0x6D:
        return f"instruction code not supported (GSM, detail {sw2:02X})"
    if sw1 == 0x6E:
        return f"wrong instruction class (GSM, detail {sw2:02X})"
    return None


def describe(sw: int) -> str:
    """A human description of ``sw``; never raises.

    >>> describe(0x6A82)
    'file or application not found'
    >>> describe(0x6A99)
    'unknown status 6A99 (checking error: wrong parameters)'
    """
    if not isinstance(sw, int):
        return f"invalid status word {sw!r}"
    if not 0 <= sw <= 0xFFFF:
        return f"invalid status word {sw!r} (not 16 bits)"
    text = _FIXED.get(sw)
    if text is not None:
        return text
    sw1, sw2 = sw >> 8, sw & 0xFF
    text = _describe_parametrised(sw1, sw2)
    if text is not None:
        return text
    cls = _SW1_CLASS.get(sw1, "SW1 outside the ISO/IEC 7816-4 status classes")
    return f"unknown status {sw:04X} ({cls})"


def is_success(sw: int) -> bool:
    """True for normal endings and warnings.

    9000, 91xx, 92xx (except 9240, GSM memory problem), 61xx and 9Fxx (response data still to
    be fetched), and the 62xx/63xx warnings.  ``63 Cx`` counts as success here; callers that
    sent a PIN command interpret it as a wrong PIN (TS 102 221 §10.2.1.3).
    """
    sw1 = sw >> 8
    if sw == 0x9000 or sw1 in (0x91, 0x61, 0x9F, 0x62, 0x63):
        return True
    return sw1 == 0x92 and sw != 0x9240


def proactive_pending(sw: int) -> int | None:
    """Length of the pending proactive command for ``91 xx`` (TS 102 221 §10.2.1.1), else None.

    ``91 00`` announces nothing to FETCH and gives None.
    """
    if sw >> 8 == 0x91 and sw & 0xFF:
        return sw & 0xFF
    return None
