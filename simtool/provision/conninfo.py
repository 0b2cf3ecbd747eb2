"""Passwords out of libpq connection strings, wherever they are printed.

libpq takes a password in four written forms (PostgreSQL manual, "Connection Strings"):

* URI user info: ``postgresql://user:secret@host/db``
* URI query parameter, first or later: ``postgresql://host/db?password=secret`` and
  ``...?sslmode=require&password=secret`` (keywords may be percent-encoded: ``pass%77ord``)
* key/value conninfo, bare or single-quoted with backslash escapes:
  ``host=db password=secret``, ``password = 'se cr\\'et'``

:func:`redact_conninfo` replaces the password of every such form in any text (an error
message, a URL, a whole log line) by ``***``.  It errs towards hiding too much: an unusual URL
may lose more than its password, never keep it.  Passwords that never appear in a string
(``PGPASSWORD``, ``PGPASSFILE``, ``~/.pgpass``) need no redaction and are the forms to prefer.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

# user:password@ in a URI: everything from the colon after the user to the last "@" of the
# token (libpq stops at the first "@", a careless URL may hold more; hide all of it)
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s\"']*:)[^\s\"']*@")
# ?password=... / &password=... (the keyword possibly percent-encoded)
_QUERY = re.compile(r"(?P<head>[?&](?P<key>[^=&\s\"'#]+)=)(?P<value>[^&\s\"'#]*)")
# password=value or password = 'quoted \' value' in key/value conninfo
_KEYVALUE = re.compile(r"(?P<head>(?<![\w?&%])password\s*=\s*)"
                       r"(?P<value>'(?:[^'\\]|\\.)*'?|[^\s'&]+)", re.IGNORECASE)


def _query(match: re.Match[str]) -> str:
    if unquote(match["key"]).strip().lower() == "password":
        return match["head"] + MASK
    return match[0]


def redact_conninfo(text: str) -> str:
    """``text`` with the password of every libpq URI or conninfo in it replaced by ``***``."""
    text = _USERINFO.sub(lambda m: m["head"] + MASK + "@", text)
    text = _QUERY.sub(_query, text)
    return _KEYVALUE.sub(lambda m: m["head"] + MASK, text)


def has_password(conninfo: str) -> bool:
    """True when ``conninfo`` carries a password in one of the written forms."""
    return redact_conninfo(conninfo) != conninfo
