"""The exceptions simtool raises.  The CLI maps each class to one message and exit code.

Exit codes (documented in README.md and ``simtool --help``):

====  =====================================================================
0     success
1     a card answered with an error (wrong PIN, file not found, ...) or cannot do what
      was asked (NotSupported: a GSM-only SIM asked for its USIM, ...)
2     usage error (bad option or argument; click's own code)
3     no PC/SC service, no reader, no card, or the card was removed
4     bad input data (a malformed file, hex string, profile or batch), or a file
      that cannot be written (disk full, permissions)
5     a safety refusal (ADM tries too low, unknown card type, ...)
6     the provisioning journal's database cannot be reached (PostgreSQL down or
      refusing, a SQLite journal locked by another station past the wait)
====  =====================================================================
"""

from __future__ import annotations


class SimtoolError(Exception):
    """Base of every error simtool raises on purpose."""

    exit_code = 1


# --- input data ------------------------------------------------------------


class DataError(SimtoolError, ValueError):
    """Malformed input: a byte string, hex text, file or profile that cannot be used.

    ``where`` names the file/line/field at fault when known.
    """

    exit_code = 4

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class DecodeError(DataError):
    """Bytes that do not decode as the codec's spec says."""


class EncodeError(DataError):
    """A value that does not fit the encoding (too long, bad character, out of range)."""


# --- transport ---------------------------------------------------------------


class TransportError(SimtoolError):
    """Nothing to talk to: PC/SC down, no reader, no card, card gone."""

    exit_code = 3


class PcscUnavailable(TransportError):
    pass


class NoReader(TransportError):
    pass


class NoCard(TransportError):
    pass


class CardRemoved(TransportError):
    """The card went away in the middle of a command.  ``step`` names what was being done."""

    def __init__(self, message: str = "card removed", *, step: str | None = None) -> None:
        self.step = step
        super().__init__(f"{message} during {step}" if step else message)


# --- card answered with an error -----------------------------------------------


class CardError(SimtoolError):
    """The card answered a command with a status word that means failure, or its answers
    show it cannot do what was asked.

    ``sw`` is the status word the card sent, never one simtool made up: None when the card
    sent none for this failure (simtool knew before sending, or a successful answer showed
    it, e.g. an EF.DIR that lists no USIM)."""

    exit_code = 1

    def __init__(self, sw: int | None, command: str, message: str | None = None) -> None:
        from simtool.apdu.sw import describe  # local: errors must import without apdu

        self.sw = sw
        self.command = command
        if sw is None:
            super().__init__(f"{command}: {message or 'failed'}")
        else:
            super().__init__(f"{command}: {sw:04X} {message or describe(sw)}")


class WrongPin(CardError):
    def __init__(self, sw: int, command: str, tries_left: int) -> None:
        self.tries_left = tries_left
        text = (f"wrong PIN/key, {tries_left} tries left" if tries_left
                else "wrong PIN/key, now blocked (no tries left; unblock with the PUK)")
        super().__init__(sw, command, text)


class PinBlocked(CardError):
    def __init__(self, sw: int, command: str) -> None:
        super().__init__(sw, command, "blocked: no tries left")


class SecurityNotSatisfied(CardError):
    pass


class FileNotFound(CardError):
    pass


class RecordNotFound(CardError):
    pass


class WrongLength(CardError):
    pass


class NotSupported(CardError):
    """The card does not support what was asked (exit 1, like any refusal by the card): an
    INS, CLA or function it refuses (6Dxx, 6Exx, 68xx, 6A81, with that ``sw``), or an
    application it does not have: a GSM-only SIM (CLA A0) asked to select by AID, or a card
    whose EF.DIR is missing or lists no USIM.  ``sw`` is None when the card sent no status
    word for it (see :class:`CardError`)."""


class AuthenticationFailed(CardError):
    """AUTHENTICATE failed with a MAC error (98 62)."""


# --- secure channels and OTA (GlobalPlatform SCP02/SCP03, ETSI TS 102 225) -----------------


class SecureChannelError(SimtoolError):
    """A secure channel or OTA check failed on the host's side: the card proved no knowledge
    of the keys, or a MAC/checksum/counter in its answer does not verify."""

    exit_code = 1


class CryptogramMismatch(SecureChannelError):
    """The card cryptogram of INITIALIZE UPDATE does not verify: wrong key set or version.
    Raised before EXTERNAL AUTHENTICATE is sent, so no card retry counter has moved."""


class MacMismatch(SecureChannelError):
    """A C-MAC, R-MAC or OTA cryptographic checksum does not verify (tampered or wrong key)."""


class CounterMismatch(SecureChannelError):
    """An OTA response packet carries another counter than the command it answers (a replay)."""


class PorError(SecureChannelError):
    """An OTA Proof of Receipt whose response status code is not "PoR OK"
    (ETSI TS 102 225 §5.2.2 Table 6).  ``status`` is the code, ``meaning`` its text."""

    def __init__(self, status: int, meaning: str) -> None:
        self.status = status
        self.meaning = meaning
        super().__init__(f"OTA PoR status {status:02X}: {meaning}")


# --- safety refusals -----------------------------------------------------------


class SafetyRefusal(SimtoolError):
    """simtool refused to do something that could damage a card or leak a secret."""

    exit_code = 5


class AdmTriesTooLow(SafetyRefusal):
    def __init__(self, tries_left: int, minimum: int) -> None:
        self.tries_left = tries_left
        self.minimum = minimum
        super().__init__(
            f"ADM1 has {tries_left} tries left, below the safe minimum of {minimum}: "
            "refusing to VERIFY (a blocked ADM1 cannot be recovered)"
        )


class UnknownCardType(SafetyRefusal):
    pass


# --- the provisioning journal ----------------------------------------------------


class JournalError(SimtoolError):
    """The provisioning journal refused an operation (wrong state, refused card) or its
    database failed.  Bad journal data, not a card's answer: exit 4."""

    exit_code = 4


class JournalConflict(JournalError):
    """Values that another record of the journal already holds (an ICCID, IMSI or MSISDN
    issued to another batch, or an index loaded before with other values)."""


class JournalCorrupt(JournalError):
    """The journal's database is not a journal: a damaged or foreign SQLite file."""


class JournalUnavailable(JournalError):
    """The journal's database cannot be reached: the PostgreSQL server is down, refuses the
    connection or dropped it, or a SQLite journal stayed locked past the wait."""

    exit_code = 6
