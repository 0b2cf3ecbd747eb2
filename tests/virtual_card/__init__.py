"""A virtual UICC for tests and CI: a sans-I/O card (:class:`VirtualUicc`), its JSON card
image, and a vpcd client so pcscd sees it as a card in a reader (``python -m tests.virtual_card``).
"""

from .uicc import VirtualUicc

__all__ = ["VirtualUicc"]
