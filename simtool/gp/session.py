"""A GlobalPlatform session over the one transport seam: SELECT the ISD, open SCP02 / SCP03,
then every command wrapped (C-MAC, C-DEC) and every answer unwrapped (R-MAC) through a
:class:`simtool.apdu.channel.Channel` (which follows 61xx / 6Cxx), its status word checked.

Keys and the card's retry rule: a wrong key set is found out on the host's side, from the
card cryptogram of INITIALIZE UPDATE (:class:`~simtool.errors.CryptogramMismatch`), before
EXTERNAL AUTHENTICATE is sent, so no try of the card's authentication counter is spent; a card
whose counter has run out answers INITIALIZE UPDATE with 6983 (authentication method blocked)
and the session stops there (:class:`GpKeysBlocked`).  Commands carrying keys (EXTERNAL
AUTHENTICATE, PUT KEY) are sent ``secret`` so that traces redact them.

Before INITIALIZE UPDATE the session asks the card how many failed authentications it still
allows (GET DATA :data:`KEY_TRIES_TAG`, outside the secure channel) and refuses to go on below
:data:`MIN_KEY_TRIES` (:class:`GpKeyTriesTooLow`, exit 5), as ``verify_adm`` does for ADM1: with
one try left, one more mistake (a key set that passes the cryptogram check yet fails, a C-MAC
broken in transit) would lock the ISD for good.  GlobalPlatform defines no data object for the
counter; the tag is simtool's choice, which the virtual card answers.  A card that does not know
it answers 6A88 (or anything but 9000): the counter counts as unknown, and the cryptogram check
above is what keeps a wrong key set from costing a try.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from simtool.apdu.channel import Channel, card_error
from simtool.apdu.command import CommandApdu, ResponseApdu
from simtool.apdu.tlv import ber_decode_all
from simtool.errors import (AuthenticationFailed, CardError, DecodeError, SafetyRefusal,
                            SecureChannelError)
from simtool.gp import scp02, scp03
from simtool.gp.cap import CapFile
from simtool.gp.commands import (ISD_AID, Cplc, KeyInformation, Privileges, RegistryEntry,
                                 StatusSubset, delete, get_data, get_status, install_for_install,
                                 install_for_load, key_check_value, load_blocks,
                                 parse_get_status, parse_key_information,
                                 parse_put_key_response, put_key, select)
from simtool.gp.install_params import InstallParameters
from simtool.secret import Secret

Keys = scp02.Scp02Keys | scp03.Scp03Keys
#: C-MAC and C-DECRYPTION: every command authenticated, its data (keys, load files) hidden
DEFAULT_LEVEL = scp03.SecurityLevel.C_MAC | scp03.SecurityLevel.C_DECRYPTION


#: GET DATA tag of the ISD's authentication retry counter (one byte: failed EXTERNAL
#: AUTHENTICATEs the card still allows).  A proprietary tag (ISO/IEC 7816-4 private class DF),
#: simtool's choice: GlobalPlatform 2.3 leaves the counter to the card (§11.8).
KEY_TRIES_TAG = 0xDF71
#: Fewer tries left than this: no INITIALIZE UPDATE (as ``CardType.adm_min_tries`` for ADM1).
MIN_KEY_TRIES = 2


class GpKeysBlocked(CardError):
    """INITIALIZE UPDATE answered 6983: the card's key retry counter is exhausted."""


class GpKeyTriesTooLow(SafetyRefusal):
    def __init__(self, tries_left: int, minimum: int) -> None:
        self.tries_left = tries_left
        self.minimum = minimum
        super().__init__(
            f"the ISD allows {tries_left} more failed authentication(s), below the safe "
            f"minimum of {minimum}: refusing to open a secure channel (a locked ISD cannot "
            "be recovered)")


@dataclass(frozen=True)
class Registry:
    isd: tuple[RegistryEntry, ...]
    applications: tuple[RegistryEntry, ...]
    load_files: tuple[RegistryEntry, ...]


class GpSession:
    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self._secure: scp02.SecureChannel | scp03.SecureChannel | None = None
        self.keys: Keys | None = None

    def __repr__(self) -> str:
        return f"GpSession(open={self._secure is not None})"

    def select_isd(self, aid: bytes = ISD_AID) -> bytes:
        self._secure = None
        return bytes(self.channel.send(select(aid), name="SELECT ISD").data)

    def key_tries(self) -> int | None:
        """The ISD's authentication tries left (GET DATA :data:`KEY_TRIES_TAG`, no secure
        channel); None when the card does not tell."""
        r = self.channel.send(get_data(KEY_TRIES_TAG), check=False, name="GET DATA tries")
        if r.sw != 0x9000:
            return None
        try:
            objects = ber_decode_all(bytes(r.data))
        except DecodeError:
            return None
        for obj in objects:
            if obj.tag == KEY_TRIES_TAG and len(obj.value) == 1:
                return obj.value[0]
        return None

    def open(self, keys: Keys, level: int = DEFAULT_LEVEL, *,
             host_challenge: bytes | None = None, min_tries: int = MIN_KEY_TRIES) -> None:
        """Retry counter check, INITIALIZE UPDATE, card cryptogram check, EXTERNAL
        AUTHENTICATE.  Call right after :meth:`select_isd`."""
        tries = self.key_tries()
        if tries is not None and tries < min_tries:
            raise GpKeyTriesTooLow(tries, min_tries)
        challenge = host_challenge or secrets.token_bytes(8)
        hs: scp02.Scp02Handshake | scp03.Scp03Handshake
        if isinstance(keys, scp02.Scp02Keys):
            hs = scp02.Scp02Handshake(keys, challenge)
        else:
            hs = scp03.Scp03Handshake(keys, challenge)
        init = hs.initialize_update()
        r = self.channel.send(init, check=False)
        if r.sw == 0x6983:
            raise GpKeysBlocked(r.sw, "INITIALIZE UPDATE", "the ISD refuses authentication: "
                                "its key retry counter is exhausted")
        if r.sw != 0x9000:
            raise card_error(init, r.sw, f"INITIALIZE UPDATE (key version {keys.version:02X})")
        ext, secure = hs.complete(r.data, level)      # CryptogramMismatch before any try
        answer = self.channel.send(ext, check=False, secret=True)
        if answer.sw != 0x9000:
            raise AuthenticationFailed(answer.sw, "EXTERNAL AUTHENTICATE",
                                       "refused: the card counted a failed authentication")
        self._secure, self.keys = secure, keys

    def send(self, apdu: CommandApdu, *, name: str | None = None,
             secret: bool = False) -> ResponseApdu:
        if self._secure is None:
            raise SecureChannelError("no open secure channel: open() first")
        wrapped = self._secure.wrap(apdu)
        r = self._secure.unwrap(self.channel.send(wrapped, check=False, secret=secret,
                                                  name=name))
        # 6310: more data (GET STATUS); 91xx: done, and the card's toolkit has a proactive
        # command for the terminal (a toolkit applet installed or deleted announces its menu)
        if r.sw not in (0x9000, 0x6310) and r.sw >> 8 != 0x91:
            raise card_error(apdu, r.sw, name)
        return r

    # --- commands

    def get_status(self, subset: StatusSubset) -> list[RegistryEntry]:
        """Every entry, following 6310 "more data" (GP 2.3 §11.4.2.2)."""
        out: list[RegistryEntry] = []
        apdu = get_status(subset)
        for _ in range(64):
            try:
                r = self.send(apdu, name=f"GET STATUS {int(subset):02X}")
            except CardError as exc:
                if exc.sw == 0x6A88:
                    return out                      # referenced data not found: none
                raise
            out += parse_get_status(r.data)
            if r.sw != 0x6310:
                return out
            apdu = get_status(subset, next_occurrence=True)
        return out

    def registry(self) -> Registry:
        return Registry(tuple(self.get_status(StatusSubset.ISD)),
                        tuple(self.get_status(StatusSubset.APPLICATIONS)),
                        tuple(self.get_status(StatusSubset.LOAD_FILES_AND_MODULES)))

    def key_information(self) -> list[KeyInformation]:
        return parse_key_information(self.send(get_data(0x00E0), name="GET DATA E0").data)

    def cplc(self) -> Cplc | None:
        try:
            return Cplc.decode(self.send(get_data(0x9F7F), name="GET DATA 9F7F").data)
        except CardError:
            return None

    def load(self, cap: CapFile, *, block_size: int = 200) -> int:
        """INSTALL [for load] and the LOAD blocks; the number of blocks."""
        self.send(install_for_load(cap.package_aid), name="INSTALL [for load]")
        blocks = load_blocks(cap.load_file_data_block(), block_size)
        for n, block in enumerate(blocks):
            self.send(block, name=f"LOAD block {n}")
        return len(blocks)

    def install(self, load_file_aid: bytes, module_aid: bytes, application_aid: bytes, *,
                parameters: InstallParameters = InstallParameters(),
                privileges: Privileges = Privileges(b"\x00")) -> None:
        self.send(install_for_install(load_file_aid, module_aid, application_aid,
                                      parameters=parameters, privileges=privileges),
                  name="INSTALL [for install and make selectable]")

    def delete(self, aid: bytes, *, related: bool = False) -> None:
        self.send(delete(aid, related=related), name="DELETE")

    def put_key(self, new_version: int, keys: Sequence[Secret], *,
                replace_version: int = 0) -> tuple[int, tuple[bytes, ...]]:
        """PUT KEY of a whole key set (ENC, MAC, DEK), checked against the KCVs the card
        answers."""
        assert self._secure is not None
        key_type = 0x80 if isinstance(self.keys, scp02.Scp02Keys) else 0x88
        apdu = put_key(new_version, keys, key_type, self._secure.encrypt_key,
                       replace_version=replace_version)
        kvn, kcvs = parse_put_key_response(self.send(apdu, name="PUT KEY", secret=True).data)
        expected = tuple(key_check_value(key_type, k) for k in keys)
        if kvn != new_version or kcvs != expected:
            raise SecureChannelError(f"PUT KEY answered version {kvn:02X} and check values "
                                     "that do not match the keys sent")
        return kvn, kcvs
