"""Structured mutation: edits drawn as ``(kind, position, value)`` triples, so hypothesis can
draw (and shrink) them and a seeded ``random.Random`` can draw them too (``random_ops``)."""

from __future__ import annotations

import random

INTERESTING = (0x00, 0x01, 0x02, 0x04, 0x7F, 0x80, 0x81, 0x82, 0x83, 0xFE, 0xFF)
N_KINDS = 9
Op = tuple[int, int, int]


def mutate(data: bytes, ops: list[Op]) -> bytes:
    """Apply edits: 0 flip a bit, 1 set an interesting byte, 2 insert a byte, 3 delete a byte,
    4 truncate, 5 duplicate a slice, 6 insert a block, 7 nudge a byte by -3..+3, 8 set a byte
    to the length of what follows it (±2) — the last two hit length fields."""
    buf = bytearray(data)
    for kind, pos, val in ops:
        n = len(buf)
        i = pos % (n + 1)
        j = pos % n if n else 0
        kind %= N_KINDS
        if kind == 2:
            buf.insert(i, val & 0xFF)
        elif kind == 4:
            del buf[i:]
        elif kind == 6:
            buf[i:i] = bytes((val * (k + 3) + 0x35) & 0xFF for k in range(val % 17))
        elif not n:
            continue
        elif kind == 0:
            buf[j] ^= 1 << (val & 7)
        elif kind == 1:
            buf[j] = INTERESTING[val % len(INTERESTING)]
        elif kind == 3:
            del buf[j]
        elif kind == 5:
            buf[j:j] = buf[j:j + 1 + val % 8]
        elif kind == 7:
            buf[j] = (buf[j] + val % 7 - 3) & 0xFF
        else:
            buf[j] = (n - j - 1 + val % 5 - 2) & 0xFF
    return bytes(buf)


TEXT_ATOMS = ('"', "'", "=", "[", "]", "{", "}", "\n", "#", ",", ".", "\\", "0", "9", "*", "+",
              "-", "a", "ą", "€", "\x00", "\t", " ", "[[", "]]", '"""', "\ud800", "😀", "\r")
VALUE_ATOMS = ("0", "-1", "1", "99999999999999999999999", "1e400", "nan", "inf", "3.5", '""',
               '"x"', "true", "[]", "{}", "[1, 2]", '"*#06#"', '"\\u0000"', "1979-05-27")


def mutate_text(text: str, ops: list[Op]) -> str:
    """Apply text edits: 0 delete a char, 1 insert an atom, 2 delete a line, 3 duplicate a line,
    4 swap two lines, 5 replace a value after '=' by another, 6 truncate, 7 replace a char."""
    for kind, pos, val in ops:
        kind %= 8
        n = len(text)
        i = pos % (n + 1)
        lines = text.split("\n")
        k = pos % len(lines)
        if kind == 0 and n:
            text = text[:i] + text[i + 1:]
        elif kind == 1:
            text = text[:i] + TEXT_ATOMS[val % len(TEXT_ATOMS)] + text[i:]
        elif kind == 2:
            del lines[k]
            text = "\n".join(lines)
        elif kind == 3:
            lines.insert(k, lines[k])
            text = "\n".join(lines)
        elif kind == 4 and k + 1 < len(lines):
            lines[k], lines[k + 1] = lines[k + 1], lines[k]
            text = "\n".join(lines)
        elif kind == 5:
            key, eq, _ = lines[k].partition("=")
            if eq:
                lines[k] = f"{key}= {VALUE_ATOMS[val % len(VALUE_ATOMS)]}"
                text = "\n".join(lines)
        elif kind == 6:
            text = text[:i]
        elif kind == 7 and n:
            text = text[:i] + TEXT_ATOMS[val % len(TEXT_ATOMS)] + text[i + 1:]
    return text


def random_ops(rng: random.Random, max_ops: int = 4) -> list[Op]:
    return [(rng.randrange(N_KINDS), rng.randrange(1 << 16), rng.randrange(256))
            for _ in range(rng.randint(1, max_ops))]
