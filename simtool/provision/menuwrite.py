"""The ``menu`` step of ``batch program``: EF.MENU (:mod:`simtool.stk.menufile`) written from
the profile's ``provisioning/menus/<menu>.toml`` and read back, at the fewest APDUs.

A menu file starts with a header (E1 L, version, the content digest) that names its whole
content, and the header is written last.  So:

* **read first**: SELECT EF.MENU (7FFF/AF50, its FCP gives the size) and READ BINARY of
  :data:`~simtool.stk.menufile.HEADER_MAX` bytes.  Equal to the new header: the card holds this
  menu, nothing is written (2 APDUs in all).
* **write**: UPDATE BINARY of everything after the header, FF over what is left of the old
  menu (its length is in the old header), then the header; then READ BINARY of all of it,
  compared byte by byte (:class:`~simtool.provision.plan.VerificationFailed` on a difference).
  For the Milo menu (1841 bytes) over an erased file: 2 + 8 + 1 + 8 = 19 APDUs
  (``tests/test_program_apdus.py`` counts both cases).

A card pulled mid-write keeps its old header (the digest of the old menu over a part-new file:
the applet refuses it and shows no menu until the step is done), so the next run rewrites the
file.  The caller marks :data:`MENU_WRITING` in the journal before the first UPDATE: a run that
finds it (and not the step) cannot trust the old header's length, since the cut write may
have reached further, and rewrites the whole file (``resumed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from simtool.card import USIM_AID_PREFIX, Card, TrackedCard
from simtool.cardtree import ADF_FID
from simtool.ef import Structure
from simtool.errors import DataError, FileNotFound, SafetyRefusal
from simtool.provision.plan import VerificationFailed, same_bytes
from simtool.stk.menu import Menu, load_named_menu
from simtool.stk.menufile import (EF_MENU_FID, HEADER_MAX, encode_menu, header_length,
                                  stored_length)

#: EF.MENU from the MF: ADF.USIM (7FFF) / AF50.
MENU_PATH = (ADF_FID, EF_MENU_FID)
#: Marked in the journal before EF.MENU's first UPDATE (see the module's docstring).
MENU_WRITING = "menu:writing"


class MenuFileMissing(SafetyRefusal):
    """The card has no EF.MENU: the profile's menu has nowhere to go (nothing was written)."""


@dataclass(frozen=True)
class MenuContent:
    """The EF.MENU content of one menu (unpadded, with its digest) and the header it starts
    with."""

    name: str
    content: bytes

    @classmethod
    def from_menu(cls, name: str, menu: Menu) -> MenuContent:
        return cls(name, encode_menu(menu))

    @classmethod
    def named(cls, name: str) -> MenuContent:
        """``provisioning/menus/<name>.toml`` (DataError naming the file when it is not a
        menu simtool can encode)."""
        menu = load_named_menu(name)
        try:
            return cls.from_menu(name, menu)
        except DataError as exc:
            raise DataError(f"menu {name!r}: {exc}") from None

    @property
    def header(self) -> bytes:
        return self.content[:header_length(self.content)]


def write_menu(card: Card, menu: MenuContent, *, resumed: bool = False,
               before_write: Callable[[], None] = lambda: None) -> bool:
    """Make EF.MENU hold ``menu``; True when it was written, False when the card already held
    it.  ``before_write`` runs once before the first UPDATE (the journal's mark).

    ``resumed``: an earlier run of this step was cut short on this card (the journal has
    :data:`MENU_WRITING`).  A header equal to the new one then only says that the cut run
    wrote everything before it, so the content is read back; a different header says nothing
    of how far the cut run got, so the whole file is rewritten."""
    current = card.application if isinstance(card, TrackedCard) else None
    if current is not None and not current.startswith(USIM_AID_PREFIX):
        card.select_usim()                   # 7FFF is ADF.USIM again (after the ISIM step)
    try:
        try:
            fcp = card.file_info(card.select_path(MENU_PATH))
        except FileNotFound:                 # 7FFF needs an active USIM: select it, once
            card.select_usim()
            fcp = card.file_info(card.select_path(MENU_PATH))
    except FileNotFound:
        raise MenuFileMissing(
            f"the card has no EF.MENU (7FFF/AF50) for the profile's menu {menu.name!r}: "
            "create it (or install the menu applet that brings it) first") from None
    size = fcp.size or 0
    if fcp.structure is not Structure.TRANSPARENT:
        raise DataError("EF.MENU (7FFF/AF50) is not a transparent EF")
    content = menu.content
    if len(content) > size:
        raise DataError(f"menu {menu.name!r} needs {len(content)} bytes, the card's EF.MENU "
                        f"holds {size}")
    head = card.read_binary(min(HEADER_MAX, size), name="READ BINARY EF.MENU (header)")
    new_head = menu.header
    if same_bytes(head[:len(new_head)], new_head):
        if resumed:
            _check(card, content)
        return False
    # the old menu's bytes that the new one does not cover become FF: none in an erased file
    # (header all FF), all of the file when the old length is not known
    if resumed:
        old = None
    elif not head.strip(b"\xff"):
        old = 0
    else:
        old = stored_length(head)
    end = size if old is None else min(size, max(old, len(content)))
    image = content + b"\xff" * (end - len(content))
    before_write()
    card.update_binary(image[len(new_head):], len(new_head), name="UPDATE BINARY EF.MENU")
    card.update_binary(new_head, 0, name="UPDATE BINARY EF.MENU (header)")
    _check(card, image)
    return True


def _check(card: Card, want: bytes) -> None:
    have = card.read_binary(len(want), name="READ BINARY EF.MENU")
    if not same_bytes(have, want):
        at = next((i for i, (a, b) in enumerate(zip(have, want)) if a != b), len(have))
        raise VerificationFailed(f"EF.MENU (7FFF/AF50) reads back different from byte {at} "
                                 f"of {len(want)}")
