"""Menus for the toolkit tests that need an SS template (GET INPUT → SEND SS).

Milo's own menu no longer sends forwarding codes (seed 000: they are dialled on the customer's
previous phone), so the generic template/SEND SS behaviour is tested on the Milo menu with its
item 7 replaced by a standard forwarding submenu (*21*{number}#, #21#, *#21#)."""

from __future__ import annotations

from pathlib import Path

from simtool.stk.menu import Menu, load_menu

MENUS = Path(__file__).resolve().parents[1] / "provisioning" / "menus"

SS_FORWARDING = {
    "id": 7, "title": "Przekierowania",
    "help": "Przekierowanie wszystkich rozmów na inny numer, odwołanie i sprawdzenie stanu.",
    "items": [
        {"id": 1, "title": "Przekieruj wszystkie", "ss": "*21*{number}#",
         "help": "Przekierowuje wszystkie rozmowy na podany numer (kod *21*numer#).",
         "inputs": [{"name": "number", "label": "numer",
                     "prompt": "Numer, na który przekierować:", "format": "phone",
                     "min_length": 9, "max_length": 15}]},
        {"id": 2, "title": "Odwołaj przekierowanie", "ss": "#21#",
         "help": "Odwołuje przekierowanie wszystkich rozmów (kod #21#)."},
        {"id": 3, "title": "Stan przekierowania", "ss": "*#21#",
         "help": "Sprawdza, czy rozmowy są przekierowane (kod *#21#)."},
    ],
}


def milo_with_ss_forwarding() -> Menu:
    data = load_menu(MENUS / "milo.toml").to_dict()
    data["items"] = [SS_FORWARDING if it["id"] == 7 else it for it in data["items"]]
    return Menu.from_dict(data, source="milo + SS forwarding (tests)")
