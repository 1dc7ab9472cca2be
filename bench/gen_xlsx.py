#!/usr/bin/env python3
"""Generate a big price-list workbook for `make bench`, streaming (stdlib).

usage: gen_xlsx.py OUT.xlsx ROWS [--strings shared|inline] [--seed N]

One worksheet "Прайс", a header row and ROWS data rows of 8 columns:
  SKU           number cell (100000 + i), as suppliers' article numbers are
  Product Name  Cyrillic text, unique per row
  Price, Cost   number cells with kopecks
  Stock         integer number cell
  Barcode       13-digit EAN-13 as a NUMBER cell (4600000000000 + i)
  Category, Brand  text from small sets

--strings shared: text goes through xl/sharedStrings.xml (as Excel and
LibreOffice write it): ROWS unique names + a few dozen repeated strings, so
a million rows is a million unique shared strings.
--strings inline: t="inlineStr" cells (as XlsxWriter's constant_memory mode
and many report generators write them), no shared-strings part.

Nothing is held per row: parts are written through ZipFile.open(..., "w")
in blocks, the shared strings are regenerated from the same seed.
"""
import argparse
import itertools
import random
import zipfile

WORDS = ["Линза", "Оправа", "Футляр", "Салфетка", "Покрытие", "Прогрессивная",
         "антиблик", "металлическая", "детская", "Классик", "Премиум", "1.67"]
CATS = ["Линзы", "Оправы", "Аксессуары", "Покрытия"]
BRANDS = ["Essilor", "Zeiss", "Hoya", "Rodenstock", "Nikon"]
HEADERS = ["SKU", "Product Name", "Price", "Cost", "Stock", "Barcode",
           "Category", "Brand"]
COLS = "ABCDEFGH"

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
BLOCK = 5000


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def names(rows, seed):
    rnd = random.Random(seed)
    for i in range(rows):
        yield " ".join(rnd.choice(WORDS) for _ in range(3)) + " %d" % i


FIXED = HEADERS + CATS + BRANDS   # shared-string indexes 0.. len(FIXED)-1
IDX = {s: i for i, s in enumerate(FIXED)}


def meta_parts(shared):
    ct = ('<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
          '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
          '<Default Extension="xml" ContentType="application/xml"/>'
          '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
          '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
          '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
          + ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
             if shared else '') + '</Types>')
    rels = ('<Relationships xmlns="%s"><Relationship Id="rId1" Type="%s/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>' % (PKG, REL))
    wb = ('<workbook xmlns="%s" xmlns:r="%s"><sheets><sheet name="Прайс" sheetId="1" '
          'r:id="rId1"/></sheets></workbook>' % (MAIN, REL))
    wbrels = ('<Relationships xmlns="%s">'
              '<Relationship Id="rId1" Type="%s/worksheet" Target="worksheets/sheet1.xml"/>'
              '<Relationship Id="rId2" Type="%s/styles" Target="styles.xml"/>'
              % (PKG, REL, REL)
              + ('<Relationship Id="rId3" Type="%s/sharedStrings" Target="sharedStrings.xml"/>'
                 % REL if shared else '') + '</Relationships>')
    styles = ('<styleSheet xmlns="%s"><fonts count="1"><font/></fonts><fills count="1">'
              '<fill/></fills><borders count="1"><border/></borders><cellXfs count="2">'
              '<xf numFmtId="0"/><xf numFmtId="4"/></cellXfs></styleSheet>' % MAIN)
    return [("[Content_Types].xml", ct), ("_rels/.rels", rels), ("xl/workbook.xml", wb),
            ("xl/_rels/workbook.xml.rels", wbrels), ("xl/styles.xml", styles)]


def write_sst(z, rows, seed):
    with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as f:
        f.write((DECL + '<sst xmlns="%s" count="%d" uniqueCount="%d">'
                 % (MAIN, 3 * rows + len(HEADERS), rows + len(FIXED))).encode())
        f.write("".join("<si><t>%s</t></si>" % esc(s) for s in FIXED).encode())
        buf = []
        for name in names(rows, seed):
            buf.append("<si><t>%s</t></si>" % esc(name))
            if len(buf) >= BLOCK:
                f.write("".join(buf).encode())
                buf.clear()
        f.write(("".join(buf) + "</sst>").encode())


def write_sheet(z, rows, seed, shared):
    rnd = random.Random(seed + 1)
    if shared:
        def text(ref, s, idx):
            return '<c r="%s" t="s"><v>%d</v></c>' % (ref, idx)
    else:
        def text(ref, s, idx):
            return '<c r="%s" t="inlineStr"><is><t>%s</t></is></c>' % (ref, esc(s))
    with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
        f.write((DECL + '<worksheet xmlns="%s" xmlns:r="%s"><dimension ref="A1:H%d"/>'
                 '<sheetData>' % (MAIN, REL, rows + 1)).encode())
        f.write(('<row r="1">%s</row>' % "".join(
            text("%s1" % COLS[i], h, IDX[h]) for i, h in enumerate(HEADERS))).encode())
        buf = []
        # shared mode refers to names by index: no need to make them again
        for i, name in enumerate(names(rows, seed) if not shared
                                 else itertools.repeat("", rows)):
            r = i + 2
            price = rnd.randint(100, 500000)
            cat, brand = rnd.choice(CATS), rnd.choice(BRANDS)
            buf.append(
                '<row r="%d"><c r="A%d"><v>%d</v></c>%s<c r="C%d" s="1"><v>%d.%02d</v></c>'
                '<c r="D%d" s="1"><v>%d</v></c><c r="E%d"><v>%d</v></c>'
                '<c r="F%d"><v>%d</v></c>%s%s</row>' % (
                    r, r, 100000 + i, text("B%d" % r, name, len(FIXED) + i),
                    r, price // 100, price % 100, r, price // 200,
                    r, rnd.randint(0, 500), r, 4600000000000 + i,
                    text("G%d" % r, cat, IDX[cat]), text("H%d" % r, brand, IDX[brand])))
            if len(buf) >= BLOCK:
                f.write("".join(buf).encode())
                buf.clear()
        f.write(("".join(buf) + "</sheetData></worksheet>").encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("rows", type=int)
    ap.add_argument("--strings", choices=("shared", "inline"), default="shared")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    shared = a.strings == "shared"
    with zipfile.ZipFile(a.out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
        for name, xml in meta_parts(shared):
            z.writestr(name, DECL + xml)
        if shared:
            write_sst(z, a.rows, a.seed)
        write_sheet(z, a.rows, a.seed, shared)


if __name__ == "__main__":
    main()
