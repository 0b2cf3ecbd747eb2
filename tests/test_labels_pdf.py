"""The label sheet printed by a real browser: headless Chromium renders ``labels.html`` to PDF;
the PDF must be A4 at 100 % (every label where its sheet layout puts it, on every page), its
barcodes must decode (``pdftoppm`` + ``zbarimg``) to the numbers printed under them, and its
text (``pdftotext``) must carry the login, the web address and the grouped password.

Needs the Debian packages chromium, poppler-utils and zbar-tools (scripts/bootstrap.sh installs
them): skipped when one is missing, failed instead under ``CI=true``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from simtool.provision import labels
from simtool.provision.sealed import read_text
from simtool.provision.batchdir import read_records
from simtool.provision.generate import generate_batch
from simtool.provision.profile import load_profile

from .test_exports import NOW, SeededRandom

PT_PER_MM = 72 / 25.4
TOOLS = ("chromium", "pdftoppm", "pdftotext", "pdfinfo", "zbarimg")


def _tools() -> dict[str, str]:
    found = {t: shutil.which(t) for t in TOOLS}
    missing = [t for t, p in found.items() if p is None]
    if missing:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"missing {', '.join(missing)} (scripts/bootstrap.sh installs chromium, "
                        "poppler-utils and zbar-tools)")
        pytest.skip(f"missing {', '.join(missing)}")
    return found  # type: ignore[return-value]


def _render(tools, html_path, tmp_path):
    pdf = tmp_path / "labels.pdf"
    subprocess.run(
        [tools["chromium"], "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}",
         f"--print-to-pdf={pdf}", html_path.as_uri()],
        check=True, capture_output=True, timeout=120)
    return pdf


def _words(tools, pdf):
    """Every word of the PDF with its page and box (points, origin top-left)."""
    out = subprocess.run([tools["pdftotext"], "-bbox", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    root = ET.fromstring(re.sub(r"<!DOCTYPE[^>]*>", "", out).replace(
        'xmlns="http://www.w3.org/1999/xhtml"', ""))
    words = []
    for n, page in enumerate(root.iter("page"), 1):
        for w in page.iter("word"):
            words.append((n, w.text, *(float(w.get(k)) for k in ("xMin", "yMin", "xMax",
                                                                  "yMax"))))
    return words


@pytest.mark.parametrize("sheet", ["a4-3x7", "a4-3x8"])
def test_label_pdf_is_exact_and_its_barcodes_decode(tmp_path, sheet):
    tools = _tools()
    layout = labels.SHEETS[sheet]
    count = layout.per_page + 4  # a second page, partly filled
    out = tmp_path / "b"
    generate_batch(load_profile("milo"), count, out, rng=SeededRandom(8), now=NOW,
                   panel_import=False, label_sheet=sheet)
    printer = out / "exports/printer"
    recs = list(read_records(out / "records.jsonl"))
    pdf = _render(tools, printer / "labels.html", tmp_path)

    info = subprocess.run([tools["pdfinfo"], str(pdf)], check=True, capture_output=True,
                          text=True).stdout
    assert re.search(r"^Pages:\s+2$", info, re.M), info
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info).groups())
    assert abs(w - 210 * PT_PER_MM) < 1.0 and abs(h - 297 * PT_PER_MM) < 1.0

    # 100 % and the same grid on every page: each label's ICCID line is centred in the label
    # the layout places, to 0.5 mm (a 98.6 % shrink moves the third column by 2.4 mm)
    words = _words(tools, pdf)
    for slot, rec in enumerate(recs):
        page = slot // layout.per_page + 1
        left, top = layout.position(slot)
        (x0, y0, x1, y1), = [(a, b, c, d) for p, t, a, b, c, d in words
                             if p == page and t == rec.iccid]
        (i0,), = [(a,) for p, t, a, b, c, d in words
                  if p == page and t == "ICCID" and abs(b - y0) < 1 and 0 < x0 - c < 20]
        centre = (i0 + x1) / 2 / PT_PER_MM
        assert abs(centre - (left + layout.label_width / 2)) < 0.5, (slot, centre)
        assert top < y0 / PT_PER_MM and y1 / PT_PER_MM < top + layout.label_height, slot

    # the barcodes decode to the printed numbers, page by page
    subprocess.run([tools["pdftoppm"], "-r", "300", "-png", str(pdf), str(tmp_path / "page")],
                   check=True)
    for page in (1, 2):
        png = next(tmp_path.glob(f"page-{page}.png"))
        decoded = subprocess.run([tools["zbarimg"], "-q", "--raw", str(png)],
                                 capture_output=True, text=True).stdout.split()
        on_page = recs[(page - 1) * layout.per_page:page * layout.per_page]
        assert sorted(decoded) == sorted(r.barcode.reveal() for r in on_page)

    # the text: login, web address, the number grouped with its password set apart
    text = subprocess.run([tools["pdftotext"], "-raw", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    rows = list(csv.DictReader(io.StringIO(read_text(printer / "cards.csv").reveal())))
    for rec, row in zip(recs, rows, strict=True):
        number = rec.barcode.reveal()
        grouped = (" ".join(re.findall(".{1,4}", number[:-10])) + " " +
                   number[-10:-5] + " " + number[-5:])
        assert grouped in text
        assert f"Login: {rec.msisdn}" in text and row["panel_password"] == number[-10:]
    assert text.count("www.milotelecom.pl") == count


def test_sheet_layouts_fit_their_paper_exactly():
    for layout in labels.SHEETS.values():
        right = layout.left + (layout.columns - 1) * layout.pitch_x + layout.label_width
        bottom = layout.top + (layout.rows - 1) * layout.pitch_y + layout.label_height
        assert abs(right + layout.left - layout.page_width) < 0.05, layout.name
        assert abs(bottom + layout.top - layout.page_height) < 0.05, layout.name
        assert layout.pitch_x >= layout.label_width and layout.pitch_y >= layout.label_height


def test_sheet_choices_of_the_cli_are_the_layouts():
    from simtool.cli.batch import generate

    option = next(p for p in generate.params if p.name == "label_sheet")
    assert list(option.type.choices) == list(labels.SHEETS)


def test_printed_number_is_grouped_with_the_password_apart():
    assert labels.printed_number_parts("0000000000019884616631", password=True) == \
        ("0000 0000 0001", "98846 16631")
    assert labels.printed_number_parts("8948011234567890128", password=False) == \
        ("8948 0112 3456 7890 128", "")
    assert labels.web_address("https://www.milotelecom.pl/") == "www.milotelecom.pl"


def test_a_new_page_every_sheet_and_no_heading(tmp_path):
    layout = labels.SHEETS["a4-2x7"]
    out = tmp_path / "b"
    generate_batch(load_profile("plus"), 15, out, rng=SeededRandom(3), now=NOW,
                   panel_import=False, label_sheet="a4-2x7")
    html = (out / "exports/printer/labels.html").read_text()
    assert html.count('<section class="sheet"') == 2 and "<h1" not in html
    assert "margin: 0;" in html and "size: 210mm 297mm" in html
    # slot 14 is the first label of page 2: the same place as slot 0
    assert html.split('<div class="label" ')[15].startswith(
        f'style="left:{layout.left:.2f}mm;top:{layout.top:.2f}mm"')
    assert "Login:" not in html and "Hasło" not in html  # Plus has no panel password


def test_profile_label_section_is_validated():
    from simtool.errors import DataError
    from simtool.provision.profile import parse_profile, profile_path

    text = profile_path("milo").read_text()
    assert parse_profile(text, "milo.toml").label_web == "www.milotelecom.pl"
    bad = text.replace('sheet = "a4-3x7"', 'sheet = "a4-4x10"')
    with pytest.raises(DataError, match=r"milo\.toml:\d+: label\.sheet: unknown sheet"):
        parse_profile(bad, "milo.toml")
    with pytest.raises(DataError, match="label"):
        parse_profile(text.replace("[label]\n", "[label]\nborders = true\n"), "milo.toml")
