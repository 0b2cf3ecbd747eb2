"""A card's IMS identities, derived from its numbers (3GPP TS 23.003 §13).

* the home network domain name: the operator's (a profile's ``ims_domain``), or the one
  §13.2 builds from the IMSI's PLMN, ``ims.mnc<MNC, 3 digits>.mcc<MCC>.3gppnetwork.org``;
* the private user identity (IMPI), an NAI ``<IMSI>@<domain>`` (the form of §13.3);
* the public user identity (IMPU), a SIP URI with the subscriber's E.164 number as its user
  part, ``sip:+<MSISDN>@<domain>`` (§13.4).

These go into ADF.ISIM's EF.DOMAIN, EF.IMPI and EF.IMPU (TS 31.103 §4.2.2-§4.2.4).
"""

from __future__ import annotations

import re

from simtool.errors import DataError

_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})+")
_3GPP = re.compile(r"ims\.mnc(\d{3})\.mcc(\d{3})\.3gppnetwork\.org", re.IGNORECASE)
#: longest domain simtool writes: the identities must fit EF.IMPI / EF.IMPU (128 bytes, the
#: tag and length included) with a 15-digit IMSI or MSISDN
MAX_DOMAIN = 100


def home_domain(mcc: str, mnc: str) -> str:
    """The home network domain name of TS 23.003 §13.2 (a two-digit MNC gets a leading 0)."""
    return f"ims.mnc{int(mnc):03d}.mcc{mcc}.3gppnetwork.org"


def check_domain(domain: str, mcc: str, mnc: str) -> str:
    """``domain`` if it is a domain name simtool can write; a 3GPP one (…3gppnetwork.org) must
    name the batch's own MCC and MNC.  DataError (its reason only) otherwise."""
    if len(domain) > MAX_DOMAIN or not _DOMAIN.fullmatch(domain):
        raise DataError(f"{domain[:40]!r} is not a domain name of at most {MAX_DOMAIN} "
                        "characters (letters, digits, hyphens, dots)")
    m = _3GPP.fullmatch(domain)
    if m is not None and (int(m.group(1)), m.group(2)) != (int(mnc), mcc):
        raise DataError(f"{domain} is the 3GPP domain of MCC {m.group(2)} MNC {m.group(1)}, "
                        f"not of this network ({home_domain(mcc, mnc)}, TS 23.003 §13.2)")
    return domain


def read_domain(reader, key: tuple[str, ...], mcc: str, mnc: str) -> str | None:
    """The optional IMS domain at ``key`` of a profile or batch.toml being read (its reader's
    ``get``/``fail`` name the line), checked against the network's MCC/MNC."""
    domain = reader.get(key, str, None)
    if domain is not None:
        try:
            check_domain(domain, mcc, mnc)
        except DataError as exc:
            raise reader.fail(key, str(exc)) from None
    return domain


def private_identity(imsi: str, domain: str) -> str:
    """The IMPI ``<IMSI>@<domain>`` (TS 23.003 §13.3)."""
    return f"{imsi}@{domain}"


def public_identity(msisdn: str, domain: str) -> str:
    """The IMPU ``sip:+<MSISDN>@<domain>`` (TS 23.003 §13.4)."""
    return f"sip:+{msisdn.lstrip('+')}@{domain}"
