"""The STK menu as card data: the content of EF.MENU, the menu applet's file.

One applet serves every operator: what it shows lives in a transparent EF, written by
``simtool`` from ``provisioning/menus/<name>.toml`` (:class:`simtool.stk.menu.Menu`) and read by
the applet at every TERMINAL PROFILE.  The format is simtool's own; it is BER-TLV
(ISO/IEC 7816-4 §5.2, lengths ``xx`` / ``81 xx`` / ``82 xx xx``), self-delimiting, with a
version byte for whatever changes it later (a reader refuses a version or a tag it does not
know rather than show half a menu), and every text is an alpha field in the card's alphabet as
:func:`simtool.text.encode_alpha` codes it (ETSI TS 102 221 Annex A: the GSM default alphabet
unpacked when every character fits, else the shortest UCS2 form 80 / 81 / 82)::

    E1 L  menu file
      80 01 version (01)
      8F 10 content digest (optional): the first 16 bytes of SHA-256 over every byte of the
            E1 value after this object
      81 L  menu title
      A2 L  call control (optional): 80 request, 81 alpha, 82 national
      A3 L  item, repeated in menu order:
        80 01 item identifier (1..255)
        81 L  item title
        82 L  help text (optional)
        and exactly one action:
        90 L  USSD string            91 L  SS string
        92 L  number to call          93 L  text to show
        B4 L  template: 80 01 service (00 SS, 01 USSD), 81 L code with {name} placeholders,
              A5 L input, repeated: 80 name, 81 prompt, 82 01 min length, 83 01 max length,
                   84 01 format (00 digits, 01 phone, 02 hhmm, 03 trunk), 85 label (optional),
                   86 default (optional)
        B6 L  sub-menu: A3 items as above
    FF ... padding to the end of the file

An erased file (all FF) holds no menu: :func:`decode_menu_file` returns None.  Anything else
that is not this format raises :class:`~simtool.errors.DecodeError` naming the object.

The digest makes the file's first bytes (its *header*: E1 L, version, digest) name its whole
content.  A writer that writes the header last (:func:`update_apdus`,
:mod:`simtool.provision.menuwrite`) can then tell a card that already holds a menu by reading
:data:`HEADER_MAX` bytes, and a write cut short leaves the old header, whose digest no longer
matches what follows: the reader refuses such a file (DecodeError) instead of showing half of
two menus.
"""

from __future__ import annotations

import hashlib

from simtool.apdu.command import CommandApdu
from simtool.apdu.tlv import Tlv, ber_decode, ber_decode_all, ber_encode
from simtool.cardtree import EF_MENU
from simtool.errors import DecodeError, EncodeError
from simtool.stk.menu import (INPUT_FORMATS, Action, Call, CallBack, Explain, InputField, Menu,
                              MenuItem, Ss, Submenu, Template, Ussd)
from simtool.text import decode_alpha, encode_alpha

VERSION = 1
FILE_TAG = 0xE1
DIGEST_TAG = 0x8F
DIGEST_LENGTH = 16
#: The longest header: E1 82 xx xx, 80 01 01, 8F 10 + the digest.
HEADER_MAX = 4 + 3 + 2 + DIGEST_LENGTH
#: EF.MENU's place and size: :data:`simtool.cardtree.EF_MENU`.
EF_MENU_FID = EF_MENU.fid
EF_MENU_SIZE = EF_MENU.size

_ACTION_TAGS = {Ussd: 0x90, Ss: 0x91, Call: 0x92, Explain: 0x93}


def _text(tag: int, text: str) -> bytes:
    return ber_encode(tag, encode_alpha(text))


def _byte(tag: int, value: int) -> bytes:
    return ber_encode(tag, bytes((value,)))


def _input(field: InputField) -> bytes:
    body = (_text(0x80, field.name) + _text(0x81, field.prompt)
            + _byte(0x82, field.min_length) + _byte(0x83, field.max_length)
            + _byte(0x84, INPUT_FORMATS.index(field.format)))
    if field.label is not None:
        body += _text(0x85, field.label)
    if field.default is not None:
        body += _text(0x86, field.default)
    return ber_encode(0xA5, body)


def _action(action: Action) -> bytes:
    if isinstance(action, (Ussd, Ss)):
        return _text(_ACTION_TAGS[type(action)], action.code)
    if isinstance(action, Call):
        return _text(0x92, action.number)
    if isinstance(action, Explain):
        return _text(0x93, action.text)
    if isinstance(action, Template):
        return ber_encode(0xB4, _byte(0x80, 1 if action.service == "ussd" else 0)
                          + _text(0x81, action.code)
                          + b"".join(_input(f) for f in action.inputs))
    return ber_encode(0xB6, b"".join(_item(it) for it in action.items))


def _item(item: MenuItem) -> bytes:
    body = _byte(0x80, item.id) + _text(0x81, item.title)
    if item.help is not None:
        body += _text(0x82, item.help)
    return ber_encode(0xA3, body + _action(item.action))


def menu_digest(rest: bytes) -> bytes:
    """The content digest (8F) of the E1 value bytes that follow it."""
    return hashlib.sha256(rest).digest()[:DIGEST_LENGTH]


def encode_menu(menu: Menu, *, digest: bool = True) -> bytes:
    """The EF.MENU content of ``menu``, unpadded (EncodeError on a text outside UCS2); with
    its content digest unless ``digest=False``."""
    body = _text(0x81, menu.title)
    cc = menu.call_control
    if cc is not None:
        body += ber_encode(0xA2, _text(0x80, cc.request) + _text(0x81, cc.alpha)
                           + _text(0x82, cc.national))
    body += b"".join(_item(it) for it in menu.items)
    head = _byte(0x80, VERSION)
    if digest:
        head += ber_encode(DIGEST_TAG, menu_digest(body))
    return ber_encode(FILE_TAG, head + body)


def header_length(content: bytes) -> int:
    """How many leading bytes of an encoded menu file are its header (E1 L, version, the
    digest when there is one); DecodeError when ``content`` does not start as a menu file."""
    if len(content) < 2 or content[0] != FILE_TAG:
        raise DecodeError("EF.MENU: no menu file header")
    first = content[1]
    size = 1 if first < 0x80 else 1 + (first & 0x7F)
    pos = 1 + size + 3                              # E1 L, 80 01 01
    if content[pos:pos + 2] == bytes((DIGEST_TAG, DIGEST_LENGTH)):
        pos += 2 + DIGEST_LENGTH
    if len(content) < pos:
        raise DecodeError("EF.MENU: header cut short")
    return pos


def stored_length(head: bytes) -> int | None:
    """The length of the menu file whose first bytes are ``head`` (E1 tag, length and the
    length's bytes); None when ``head`` does not start with an E1 object."""
    if len(head) < 2 or head[0] != FILE_TAG:
        return None
    first = head[1]
    if first < 0x80:
        return 2 + first
    n = first & 0x7F
    if not 1 <= n <= 2 or len(head) < 2 + n:
        return None
    return 2 + n + int.from_bytes(head[2:2 + n], "big")


def encode_menu_file(menu: Menu, size: int = EF_MENU_SIZE) -> bytes:
    """``menu`` padded with FF to a ``size``-byte EF; EncodeError when it does not fit."""
    data = encode_menu(menu)
    if len(data) > size:
        raise EncodeError(f"menu {menu.title!r} needs {len(data)} bytes, EF.MENU holds {size}")
    return data + b"\xff" * (size - len(data))


def update_apdus(menu: Menu, size: int = EF_MENU_SIZE, block: int = 200) -> list[CommandApdu]:
    """SELECT EF.MENU (from ADF.USIM, no answer data) and UPDATE BINARY of the whole file,
    ``block`` bytes each, the header last: the script that writes ``menu`` (over ADM1 or OTA
    RFM).  A script cut short leaves the old header, so no reader takes the file for the new
    menu (see the module's docstring)."""
    content = encode_menu_file(menu, size)
    head = header_length(content)
    out = [CommandApdu(0x00, 0xA4, 0x00, 0x0C, EF_MENU_FID.to_bytes(2, "big"))]
    for offset in range(head, len(content), block):
        out.append(CommandApdu(0x00, 0xD6, offset >> 8, offset & 0xFF,
                               content[offset:offset + block]))
    out.append(CommandApdu(0x00, 0xD6, 0x00, 0x00, content[:head]))
    return out


# --- decoding --------------------------------------------------------------------------------


class _Fields:
    """The objects of one template by tag (each tag once), with the template's name."""

    def __init__(self, value: bytes, where: str, repeated: tuple[int, ...] = ()) -> None:
        self.where = where
        self.single: dict[int, bytes] = {}
        self.many: list[Tlv] = []
        for obj in _objects(value, where):
            if obj.tag in repeated:
                self.many.append(obj)
            elif obj.tag in self.single:
                raise DecodeError(f"{where}: tag {obj.tag:02X} twice")
            else:
                self.single[obj.tag] = obj.value

    def text(self, tag: int, *, optional: bool = False) -> str | None:
        raw = self.single.get(tag)
        if raw is None:
            if optional:
                return None
            raise DecodeError(f"{self.where}: tag {tag:02X} missing")
        try:
            text = decode_alpha(raw)
        except DecodeError as exc:
            raise DecodeError(f"{self.where}: tag {tag:02X}: {exc}") from None
        if not text:
            raise DecodeError(f"{self.where}: tag {tag:02X} is empty")
        return text

    def required_text(self, tag: int) -> str:
        text = self.text(tag)
        assert text is not None
        return text

    def byte(self, tag: int) -> int:
        raw = self.single.get(tag)
        if raw is None or len(raw) != 1:
            raise DecodeError(f"{self.where}: tag {tag:02X} must be one byte")
        return raw[0]


def _objects(value: bytes, where: str) -> list[Tlv]:
    try:
        return ber_decode_all(value)
    except DecodeError as exc:
        raise DecodeError(f"{where}: {exc}") from None


def _decode_input(value: bytes, where: str) -> InputField:
    f = _Fields(value, where)
    fmt = f.byte(0x84)
    if fmt >= len(INPUT_FORMATS):
        raise DecodeError(f"{where}: input format {fmt:02X} unknown")
    return InputField(f.required_text(0x80), f.required_text(0x81), f.byte(0x82),
                      f.byte(0x83), INPUT_FORMATS[fmt], f.text(0x85, optional=True),
                      f.text(0x86, optional=True))


def _decode_items(objects: list[Tlv], where: str) -> tuple[MenuItem, ...]:
    items = []
    for obj in objects:
        if obj.tag != 0xA3:
            raise DecodeError(f"{where}: tag {obj.tag:02X} where an item (A3) belongs")
        items.append(_decode_item(obj.value, f"{where} item {len(items) + 1}"))
    if not items:
        raise DecodeError(f"{where}: no items")
    return tuple(items)


def _decode_item(value: bytes, where: str) -> MenuItem:
    f = _Fields(value, where)
    item_id = f.byte(0x80)
    actions = [tag for tag in f.single if tag not in (0x80, 0x81, 0x82)]
    if len(actions) != 1:
        raise DecodeError(f"{where}: needs exactly one action, has "
                          f"{' '.join(f'{t:02X}' for t in actions) or 'none'}")
    tag = actions[0]
    action: Action
    if tag == 0x90:
        action = Ussd(f.required_text(tag))
    elif tag == 0x91:
        action = Ss(f.required_text(tag))
    elif tag == 0x92:
        action = Call(f.required_text(tag))
    elif tag == 0x93:
        action = Explain(f.required_text(tag))
    elif tag == 0xB4:
        t = _Fields(f.single[tag], f"{where} template", repeated=(0xA5,))
        service = t.byte(0x80)
        if service > 1:
            raise DecodeError(f"{where} template: service {service:02X} unknown")
        inputs = tuple(_decode_input(obj.value, f"{where} input {n}")
                       for n, obj in enumerate(t.many, 1))
        action = Template("ussd" if service else "ss", t.required_text(0x81), inputs)
    elif tag == 0xB6:
        action = Submenu(_decode_items(_objects(f.single[tag], where), where))
    else:
        raise DecodeError(f"{where}: unknown action tag {tag:02X}")
    return MenuItem(item_id, f.required_text(0x81), action, f.text(0x82, optional=True))


def decode_menu_file(data: bytes) -> Menu | None:
    """EF.MENU content -> the menu; None for an erased file (all FF)."""
    data = bytes(data)
    if not data.strip(b"\xff"):
        return None
    try:
        outer, rest = ber_decode(data)
    except DecodeError as exc:
        raise DecodeError(f"EF.MENU: {exc}") from None
    if outer.tag != FILE_TAG:
        raise DecodeError(f"EF.MENU: starts with tag {outer.tag:02X}, not {FILE_TAG:02X}")
    if rest.strip(b"\xff"):
        raise DecodeError("EF.MENU: data after the menu where FF padding belongs")
    where = "EF.MENU"
    # the digest first: a file written in part is named as such, whatever its bytes parse as
    value = bytes(outer.value)
    lead = bytes((0x80, 1, VERSION, DIGEST_TAG, DIGEST_LENGTH))
    if value.startswith(lead) and len(value) >= len(lead) + DIGEST_LENGTH:
        digest = value[len(lead):len(lead) + DIGEST_LENGTH]
        if digest != menu_digest(value[len(lead) + DIGEST_LENGTH:]):
            raise DecodeError(f"{where}: the content digest (8F) does not match the menu: "
                              "the file was written only in part")
    objects = _objects(outer.value, where)
    if len(objects) < 2 or objects[0].tag != 0x80:
        raise DecodeError(f"{where}: must start with version (80) and title (81)")
    if objects[0].value != bytes((VERSION,)):
        raise DecodeError(f"{where}: version {objects[0].value.hex().upper()} unknown "
                          f"(this simtool reads {VERSION:02X})")
    if objects[1].tag == DIGEST_TAG:
        if len(objects[1].value) != DIGEST_LENGTH:
            raise DecodeError(f"{where}: the content digest (8F) must be {DIGEST_LENGTH} bytes")
        objects = objects[:1] + objects[2:]          # checked above
    if len(objects) < 2 or objects[0].tag != 0x80 or objects[1].tag != 0x81:
        raise DecodeError(f"{where}: must start with version (80) and title (81)")
    head = _Fields(ber_encode(0x81, objects[1].value), where)
    title = head.required_text(0x81)
    rest_objects = objects[2:]
    call_control = None
    if rest_objects and rest_objects[0].tag == 0xA2:
        cc = _Fields(rest_objects[0].value, f"{where} call control")
        call_control = CallBack(cc.required_text(0x80), cc.required_text(0x81),
                                cc.required_text(0x82))
        rest_objects = rest_objects[1:]
    return Menu(title, _decode_items(rest_objects, where), call_control)
