"""Hypothesis strategies for hostile removal-request files (used by test_fuzz.py).

Every strategy produces a ``FuzzFile``: the bytes of one input file, the name it is
given on disk (the suffix matters to the readers) and ``kind``, a short account of
how it was made, so a failure says which mutations led to it.

Text files start from a valid table (or feed) and are mutated at three levels:
cells and rows, serialisation (delimiters, quoting, line endings, BOMs) and bytes
(encodings, NULs, flips, truncation). Workbooks are written with openpyxl in
memory and then damaged: truncated, flipped, zip central directory broken, or an
XML part inside rewritten with broken text.

``SAFE`` strategies are fit to run in the test process. The ``dangerous=True``
variants may also ask a reader for absurd amounts of memory (a cell at the far
corner of a sheet, zip sizes that lie), so they are only run in a subprocess with
a memory cap.
"""

from __future__ import annotations

import hashlib
import io
import re
import struct
import warnings
import zipfile
from dataclasses import dataclass

import openpyxl
from conftest import REQUEST_HEADER, RETURN_ADDRESS
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

TEXT_SUFFIXES = (".txt", ".tsv", ".csv")
BOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods", ".xlsb")
# SKUs of the inventory in test_fuzz.py (the same as tests/conftest.py), plus one unknown.
SKUS = ("00123", "ABC-1", "123456789012", "SKU-4", "NOT-IN-SNAPSHOT")
ADDRESS_FIELDS = tuple(k for k in RETURN_ADDRESS if k != "RemovalDisposition")
REPR_LIMIT = 4000


@dataclass(frozen=True)
class FuzzFile:
    """One generated input file."""

    name: str
    data: bytes
    kind: str

    @property
    def suffix(self) -> str:
        return self.name[self.name.rfind(".") :] if "." in self.name else ""

    def __repr__(self) -> str:
        if len(self.data) <= REPR_LIMIT:
            shown = repr(self.data)
        else:
            digest = hashlib.sha256(self.data).hexdigest()[:16]
            shown = f"<{len(self.data):,} bytes sha256 {digest}… head {self.data[:200]!r}>"
        return f"FuzzFile(name={self.name!r}, kind={self.kind!r}, data={shown})"

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:  # hypothesis' printer
        printer.text(repr(self))  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------

FORMULAS = (
    "=1+1",
    "=A1",
    "+1",
    "-1",
    "@SUM(A1:A2)",
    "=cmd|' /C calc'!A0",
    '=HYPERLINK("http://example.invalid","x")',
    "=-2+3",
    "\t=1",
    "\r=1",
    '="00123"',
    "+SKU-4",
    "=1/0",
    "#DIV/0!",
    "#N/A",
    "#REF!",
)
QUOTEY = ('"', '""', '"abc', 'abc"', 'a"b', '"a,b"', "'00123", '"\n"', '"""', "'", "`")
# rich's markup, which a cell quoted in a terminal message must not be read as, and
# terminal control sequences, which must not reach the terminal.
MARKUP = ("[/b]", "A[/]", "[bold]x", "[red]SKU[/red]", "[link=http://x]y", "\\[b]", "[")
MARKUP += ("A\x1b[2K\x1b[1A", "\x1b]0;title\x07", "x\x9b31m", "\x08\x08ok")
SPECIAL = (
    "",
    " ",
    "\x00",
    "\ufeff",
    "\u200b",
    "\u00a0",
    "\r",
    "\n",
    "\r\n",
    "\t",
    ",",
    ";",
    "NaN",
    "nan",
    "None",
    "NULL",
    "null",
    "TRUE",
    "1e308",
    "1e309",
    "-1e309",
    "inf",
    "-inf",
    "-1",
    "0",
    "1.0",
    "1.5",
    "1,5",
    "1 000",
    "1_000",
    "0x10",
    "٣",
    "１２",
    "²",
    "Ⅻ",
    "99999999999999999999999",
    "-0",
    "-0.0",
    "+5",
    "00",
    "2026-11-26",
    "P.O. Box 12",
    "APO",
    "PR",
    "XX",
    "\ud7ff",
    "\U0001f4a9",
    "e\u0301",
    "\u202e",
    "\x1b[31m",
    "\x7f",
    "\x0b\x0c",
    "\x85",
    "\u2028",
    "\u2029",
    "Return",
    "Disposal",
    "Liquidations",
    "return ",
    "RETURN",
)


def _repeat(seed: str, size: int) -> str:
    return (seed * (size // len(seed) + 1))[:size]


def huge_cells(max_size: int = 200_000) -> st.SearchStrategy[str]:
    """A long cell (1 KB .. max_size chars) built from a short repeated seed."""
    seed = st.one_of(
        st.sampled_from(("x", "9", "é", '"', ",", "\t", "ab\n", "\x00")),
        st.text(min_size=1, max_size=4),
    )
    return st.builds(_repeat, seed, st.integers(1_000, max_size))


def cell_values(huge: bool = True) -> st.SearchStrategy[str]:
    """Any cell text a hostile file may hold."""
    options = [
        st.sampled_from(SPECIAL),
        st.sampled_from(FORMULAS),
        st.sampled_from(QUOTEY),
        st.sampled_from(MARKUP),
        st.sampled_from(SKUS),
        st.text(max_size=40),
        st.text(alphabet=st.characters(codec="ascii"), max_size=20),
        st.from_regex(r"[A-Za-z0-9\-_. ]{0,60}", fullmatch=True),
    ]
    if huge:
        options.append(huge_cells())
    return st.one_of(*options)


HEADER_VARIANTS = (
    "sku",
    "SKU",
    "Seller SKU",
    "msku",
    "merchant_sku",
    "MERCHANT SKU",
    "merchant-sku",
    "\ufeffMerchantSKU",
    " MerchantSKU ",
    "order id",
    "Removal Order ID",
    "disposition",
    "Method of Removal",
    "fulfillable quantity",
    "unfulfillable quantity",
    "FNSKU",
    "fnsku",
    "MerchantSKU",
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "SellableQuantity",
    "UnsellableQuantity",
    "AddressCountryCode",
    "Notes",
    "",
    "Unnamed: 3",
    "MerchantSKU\x00",
    "Merchant\u200bSKU",
    "MerchantŠKU",
)


# ---------------------------------------------------------------------------
# Valid starting tables
# ---------------------------------------------------------------------------


@st.composite
def valid_rows(draw: st.DrawFn, max_orders: int = 3) -> list[dict[str, str]]:
    """A few orders of one or more lines, mostly valid against the fuzz inventory."""
    rows: list[dict[str, str]] = []
    for o in range(draw(st.integers(1, max_orders))):
        disposal = draw(st.booleans())
        head = {"MerchantRemovalOrderID": f"FZ-{o + 1}"}
        head.update({"RemovalDisposition": "Disposal"} if disposal else RETURN_ADDRESS)
        for line in range(draw(st.integers(1, 3))):
            row = dict(head) if line == 0 or draw(st.booleans()) else {}
            row["MerchantRemovalOrderID"] = head["MerchantRemovalOrderID"]
            row["MerchantSKU"] = draw(st.sampled_from(SKUS))
            row["SellableQuantity"] = draw(st.sampled_from(("1", "0", "2", "5")))
            row["UnsellableQuantity"] = draw(st.sampled_from(("0", "1", "")))
            rows.append(row)
    return rows


@st.composite
def base_grid(draw: st.DrawFn) -> tuple[list[list[str]], str]:
    """A valid request as a grid of text cells: the template table, or a one-order feed."""
    rows = draw(valid_rows())
    if draw(st.integers(0, 4)) == 0:
        first = rows[0]
        grid = [[k, first.get(k, "")] for k in ("MerchantRemovalOrderID", "RemovalDisposition")]
        if first.get("RemovalDisposition") == "Return":
            grid += [[k, first[k]] for k in ADDRESS_FIELDS]
        grid.append([])
        grid.append(["MerchantSKU", "SellableQuantity", "UnsellableQuantity"])
        grid += [
            [r["MerchantSKU"], r["SellableQuantity"], r["UnsellableQuantity"]]
            for r in rows
            if r["MerchantRemovalOrderID"] == first["MerchantRemovalOrderID"]
        ]
        return grid, "feed"
    header = list(REQUEST_HEADER)
    if draw(st.booleans()):
        # Only the required columns plus the order id, in a shuffled order.
        header = draw(
            st.permutations(
                [
                    "MerchantRemovalOrderID",
                    "RemovalDisposition",
                    "MerchantSKU",
                    "SellableQuantity",
                    "UnsellableQuantity",
                ]
            )
        )
    return [list(header)] + [[r.get(h, "") for h in header] for r in rows], "table"


# ---------------------------------------------------------------------------
# Grid mutations (cells, rows, headers)
# ---------------------------------------------------------------------------


def _pick(draw: st.DrawFn, n: int) -> int:
    return draw(st.integers(0, max(n - 1, 0)))


GRID_OPS = (
    "set-cell",
    "set-cell",
    "set-cell",
    "rename-header",
    "duplicate-header",
    "drop-column",
    "add-column",
    "ragged",
    "blank-row",
    "duplicate-row",
    "title-row",
    "swap-rows",
    "repeat-rows",
    "drop-header",
)


@st.composite
def mutated_grid(
    draw: st.DrawFn, huge: bool = True, dangerous: bool = False
) -> tuple[list[list[str]], str]:
    """A valid grid after 0-6 cell, row and header mutations.

    ``dangerous`` adds "wide-row": one row with up to a million more (empty) cells.
    """
    grid, shape = draw(base_grid())
    grid = [list(r) for r in grid]
    ops: list[str] = []
    choices = GRID_OPS + (("wide-row",) if dangerous else ())
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(choices))
        ops.append(op)
        width = max((len(r) for r in grid), default=0)
        if op == "wide-row" and grid:
            r = _pick(draw, len(grid))
            grid[r] = grid[r] + [""] * draw(st.integers(1_000, 1_000_000))
        elif op == "set-cell" and grid:
            r = _pick(draw, len(grid))
            if not grid[r]:
                grid[r] = [""]
            grid[r][_pick(draw, len(grid[r]))] = draw(cell_values(huge))
        elif op == "rename-header" and grid and grid[0]:
            grid[0][_pick(draw, len(grid[0]))] = draw(
                st.one_of(st.sampled_from(HEADER_VARIANTS), st.text(max_size=20))
            )
        elif op == "duplicate-header" and grid and len(grid[0]) > 1:
            i, j = _pick(draw, len(grid[0])), _pick(draw, len(grid[0]))
            grid[0][j] = grid[0][i]
        elif op == "drop-column" and width:
            c = _pick(draw, width)
            grid = [r[:c] + r[c + 1 :] for r in grid]
        elif op == "add-column":
            c = draw(st.integers(0, width))
            head = draw(st.one_of(st.sampled_from(HEADER_VARIANTS), st.text(max_size=12)))
            grid = [
                r[:c] + [head if i == 0 else draw(cell_values(False))] + r[c:]
                for i, r in enumerate(grid)
            ]
        elif op == "ragged" and grid:
            r = _pick(draw, len(grid))
            if draw(st.booleans()):
                grid[r] = grid[r][: draw(st.integers(0, len(grid[r])))]
            else:
                grid[r] = grid[r] + draw(st.lists(cell_values(False), min_size=1, max_size=40))
        elif op == "blank-row":
            at = draw(st.integers(0, len(grid)))
            grid.insert(at, draw(st.sampled_from(([], [""], ["", ""], [" "], ["\t"]))))
        elif op == "duplicate-row" and grid:
            r = _pick(draw, len(grid))
            grid.insert(draw(st.integers(0, len(grid))), list(grid[r]))
        elif op == "title-row":
            grid.insert(0, [draw(cell_values(False))])
        elif op == "swap-rows" and len(grid) > 2:
            i, j = _pick(draw, len(grid)), _pick(draw, len(grid))
            grid[i], grid[j] = grid[j], grid[i]
        elif op == "repeat-rows" and len(grid) > 1:
            r = draw(st.integers(1, len(grid) - 1))
            grid[r + 1 : r + 1] = [list(grid[r]) for _ in range(draw(st.integers(1, 300)))]
        elif op == "drop-header" and grid:
            grid.pop(0)
    return grid, f"{shape} ops={','.join(ops) or '-'}"


# ---------------------------------------------------------------------------
# Text serialisation and bytes
# ---------------------------------------------------------------------------

DELIMITER_MODES = ("\t", ",", ";", "mixed", "|", " ")
QUOTING_MODES = ("none", "minimal", "all", "unbalanced", "embedded")
EOL_MODES = ("\n", "\r\n", "\r", "mixed")
ENCODINGS = (
    "utf-8",
    "utf-8-sig",
    "utf-16",
    "utf-16-be-bom",
    "utf-16-le",
    "utf-32",
    "cp1252",
    "latin-1",
    "mac-roman",
    "shift_jis",
)
BYTE_MARKS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00", b"\x00\x00", b"\r", b"\x1a")


def _quote(cell: str, delimiter: str, mode: str) -> str:
    if mode == "all":
        return '"' + cell.replace('"', '""') + '"'
    if mode == "minimal" and any(ch in cell for ch in (delimiter, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


@st.composite
def serialised_text(draw: st.DrawFn, grid: list[list[str]]) -> tuple[str, str]:
    delimiter_mode = draw(st.sampled_from(DELIMITER_MODES))
    quoting = draw(st.sampled_from(QUOTING_MODES))
    eol_mode = draw(st.sampled_from(EOL_MODES))
    lines: list[str] = []
    for row in grid:
        delimiter = (
            draw(st.sampled_from(("\t", ",", ";"))) if delimiter_mode == "mixed" else delimiter_mode
        )
        lines.append(delimiter.join(_quote(c, delimiter, quoting) for c in row))
    if quoting == "unbalanced" and lines:
        r = _pick(draw, len(lines))
        at = draw(st.integers(0, len(lines[r])))
        lines[r] = lines[r][:at] + '"' + lines[r][at:]
    if quoting == "embedded" and lines:
        r = _pick(draw, len(lines))
        at = draw(st.integers(0, len(lines[r])))
        lines[r] = (
            lines[r][:at] + draw(st.sampled_from(('"x"', 'a"b"c', '""', '"\n"'))) + lines[r][at:]
        )
    parts: list[str] = []
    for line in lines:
        eol = draw(st.sampled_from(("\n", "\r\n", "\r"))) if eol_mode == "mixed" else eol_mode
        parts.append(line + eol)
    text = "".join(parts)
    if draw(st.booleans()):
        text = text.rstrip("\r\n")
    marks = draw(st.lists(st.integers(0, max(len(text), 0)), max_size=2))
    for at in marks:  # BOM characters in odd places
        text = text[:at] + "\ufeff" + text[at:]
    kind = f"delim={delimiter_mode!r} quote={quoting} eol={eol_mode!r} bom-chars={len(marks)}"
    return text, kind


def encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be", errors="replace")
    if encoding in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-32"):
        return text.encode(encoding, errors="surrogatepass")
    return text.encode(encoding, errors="replace")


@st.composite
def byte_mutations(draw: st.DrawFn, data: bytes) -> tuple[bytes, str]:
    ops: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(("insert-mark", "insert-bytes", "flip", "truncate", "nul")))
        at = draw(st.integers(0, len(data)))
        if op == "insert-mark":
            data = data[:at] + draw(st.sampled_from(BYTE_MARKS)) + data[at:]
        elif op == "insert-bytes":
            data = data[:at] + draw(st.binary(min_size=1, max_size=16)) + data[at:]
        elif op == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]
        elif op == "truncate":
            data = data[:at]
        elif op == "nul":
            data = data[:at] + b"\x00" * draw(st.integers(1, 4)) + data[at:]
        ops.append(op)
    return data, ",".join(ops) or "-"


@st.composite
def text_files(draw: st.DrawFn, huge: bool = True, dangerous: bool = False) -> FuzzFile:
    """A request text file: a valid table, mutated at cell, text and byte level."""
    grid, grid_kind = draw(mutated_grid(huge, dangerous))
    text, text_kind = draw(serialised_text(grid))
    encoding = draw(st.sampled_from(ENCODINGS))
    data, byte_kind = draw(byte_mutations(encode(text, encoding)))
    suffix = draw(st.sampled_from(TEXT_SUFFIXES + TEXT_SUFFIXES + (".xlsx", ".xls", ".TXT")))
    kind = f"text {grid_kind} {text_kind} enc={encoding} bytes={byte_kind}"
    return FuzzFile("request" + suffix, data, kind)


MAGIC_PREFIXES = (
    b"",
    b"",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"PK\x03\x04",
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
    b"\x1f\x8b",
    b"\t\t\t",
    b"MerchantSKU\tSellableQuantity\tUnsellableQuantity\n",
    b"MerchantRemovalOrderID\tX\n",
)


@st.composite
def random_files(draw: st.DrawFn) -> FuzzFile:
    """Fully random bytes, sometimes behind a file signature or a header line."""
    prefix = draw(st.sampled_from(MAGIC_PREFIXES))
    data = prefix + draw(st.binary(max_size=3000))
    suffix = draw(st.sampled_from(TEXT_SUFFIXES + BOOK_SUFFIXES))
    return FuzzFile("random" + suffix, data, f"random prefix={prefix[:12]!r}")


# ---------------------------------------------------------------------------
# Workbooks
# ---------------------------------------------------------------------------

SHEET_TITLES = (
    "Removal Request",
    "removal request ",
    "REMOVAL REQUEST",
    "Sheet1",
    "Données",
    "リクエスト",
    "Sheet 2",
    "x" * 31,
)
SHEET_PATH = "xl/worksheets/sheet1.xml"
STRINGS_PATH = "xl/sharedStrings.xml"
PARTS = (
    SHEET_PATH,
    SHEET_PATH,
    STRINGS_PATH,
    STRINGS_PATH,
    "xl/workbook.xml",
    "[Content_Types].xml",
    "xl/_rels/workbook.xml.rels",
    "xl/styles.xml",
    "_rels/.rels",
)
_INLINE_CELL = re.compile(
    rb'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"><is><t(?: [^>]*)?>(.*?)</t></is></c>',
    re.S,
)
_INLINE_EMPTY = re.compile(
    rb'<c r="([A-Z]+[0-9]+)"((?: s="[0-9]+")?) t="inlineStr"\s*(?:/>|><is><t\s*/></is></c>)'
)
SST_NS = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
SST_TYPE = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
SST_CONTENT = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


ZIP_TIME = (2026, 1, 1, 0, 0, 0)
CORE_PROPERTIES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
    b'xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>fuzz</dc:creator>'
    b"</cp:coreProperties>"
)


def _read_zip(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return [(info, book.read(info.filename)) for info in book.infolist()]


def _write_zip(entries: list[tuple[zipfile.ZipInfo, bytes]], stored: bool = False) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are one of the mutations
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
            for info, data in entries:
                # A fixed time: the same draws must give the same bytes (hypothesis replays).
                info = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
                info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
                book.writestr(info, data)
    return out.getvalue()


def to_shared_strings(data: bytes) -> bytes:
    """Move openpyxl's inline strings into xl/sharedStrings.xml, as Excel writes them."""
    entries = _read_zip(data)
    strings: list[bytes] = []
    index: dict[bytes, int] = {}

    def shared(match: re.Match[bytes]) -> bytes:
        text = match.group(3) if match.re is _INLINE_CELL else b""
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return b'<c r="%s"%s t="s"><v>%d</v></c>' % (match.group(1), match.group(2), index[text])

    out: list[tuple[zipfile.ZipInfo, bytes]] = []
    for info, part in entries:
        if info.filename.startswith("xl/worksheets/sheet"):
            part = _INLINE_EMPTY.sub(shared, _INLINE_CELL.sub(shared, part))
        out.append((info, part))
    sst = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="%s" count="%d" '
        b'uniqueCount="%d">'
        % (SST_NS, len(strings), len(strings))
        + b"".join(b'<si><t xml:space="preserve">%s</t></si>' % s for s in strings)
        + b"</sst>"
    )
    fixed: list[tuple[zipfile.ZipInfo, bytes]] = []
    for info, part in out:
        if info.filename == "[Content_Types].xml":
            part = part.replace(
                b"</Types>",
                b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/></Types>'
                % SST_CONTENT,
            )
        elif info.filename == "xl/_rels/workbook.xml.rels":
            part = part.replace(
                b"</Relationships>",
                b'<Relationship Type="%s" Target="sharedStrings.xml" Id="rIdSst"/>'
                b"</Relationships>" % SST_TYPE,
            )
        fixed.append((info, part))
    fixed.append((zipfile.ZipInfo(STRINGS_PATH, date_time=ZIP_TIME), sst))
    return _write_zip(fixed)


def _clean(value: object) -> object:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def typed_cell(text: str) -> st.SearchStrategy[object]:
    """The cell as text, or as a number, bool, date or blank, as a spreadsheet may type it."""
    import datetime as dt

    options: list[st.SearchStrategy[object]] = [st.just(text), st.just(text)]
    if re.fullmatch(r"-?[0-9]{1,15}", text):
        options += [st.just(int(text)), st.just(float(text))]
    options += [
        st.floats(allow_nan=True, allow_infinity=True),
        st.integers(-(2**63), 2**63 - 1),
        st.booleans(),
        st.just(None),
        st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 1, 1)),
        st.dates(min_value=dt.date(1900, 3, 1)),
        st.times(),
    ]
    return st.one_of(*options)


def build_xlsx(
    grid: list[list[object]],
    title: str,
    extra: list[tuple[str, str]],
    origin: tuple[int, int] = (1, 1),
    formulas: bool = False,
) -> bytes:
    """A workbook with the grid on one sheet (at ``origin``) and other sheets around it."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            cell = sheet.cell(row=origin[0] + i, column=origin[1] + j, value=_clean(value))
            if isinstance(value, str) and value.startswith("=") and not formulas:
                cell.data_type = "s"
    for n, (name, state) in enumerate(extra):
        other = book.create_sheet(f"{name[:25]} {n}", index=n % 2)
        other.sheet_state = state
        other["A1"] = "Notes"
    buffer = io.BytesIO()
    book.save(buffer)
    # openpyxl stamps the current time into docProps/core.xml and the zip entries.
    entries = [
        (info, CORE_PROPERTIES if info.filename == "docProps/core.xml" else part)
        for info, part in _read_zip(buffer.getvalue())
    ]
    return _write_zip(entries)


@st.composite
def valid_workbooks(draw: st.DrawFn, huge: bool = True) -> tuple[bytes, str]:
    grid, grid_kind = draw(mutated_grid(huge))
    if draw(st.booleans()):
        typed: list[list[object]] = [[draw(typed_cell(c)) for c in row] for row in grid]
    else:
        typed = [list(row) for row in grid]
    title = draw(st.sampled_from(SHEET_TITLES))
    extra = draw(
        st.lists(
            st.tuples(st.sampled_from(SHEET_TITLES), st.sampled_from(("visible", "hidden"))),
            max_size=2,
        )
    )
    origin = draw(st.sampled_from(((1, 1), (1, 1), (3, 2), (1, 5))))
    formulas = draw(st.booleans())
    data = build_xlsx(typed, title, extra, origin, formulas)
    shared = draw(st.booleans())
    if shared:
        data = to_shared_strings(data)
    kind = f"xlsx {grid_kind} sheet={title!r} extra={len(extra)} origin={origin} sst={shared}"
    return data, kind


def _eocd(data: bytes) -> int:
    return data.rfind(b"PK\x05\x06")


@st.composite
def central_directory_damage(draw: st.DrawFn, data: bytes, dangerous: bool) -> tuple[bytes, str]:
    eocd = _eocd(data)
    if eocd < 0 or eocd + 22 > len(data):
        return data, "cd:none"
    # An earlier damage may have left any offset there: keep it inside the file.
    cd_offset = min(struct.unpack_from("<I", data, eocd + 16)[0], eocd)
    choices = ["garble", "count", "offset", "size", "drop-eocd", "cut-cd", "entry-field", "comment"]
    how = draw(st.sampled_from(choices))
    buf = bytearray(data)
    if how == "garble":
        start = draw(st.integers(cd_offset, eocd + 21))
        junk = draw(st.binary(min_size=1, max_size=32))
        buf[start : start + len(junk)] = junk
    elif how == "count":
        struct.pack_into(
            "<HH", buf, eocd + 8, draw(st.integers(0, 0xFFFF)), draw(st.integers(0, 0xFFFF))
        )
    elif how == "offset":
        struct.pack_into("<I", buf, eocd + 16, draw(st.integers(0, 0xFFFFFFFF)))
    elif how == "size":
        struct.pack_into("<I", buf, eocd + 12, draw(st.integers(0, 0xFFFFFFFF)))
    elif how == "drop-eocd":
        del buf[eocd:]
    elif how == "cut-cd":
        cut = draw(st.integers(cd_offset, eocd))
        buf = buf[:cut] + buf[eocd:]
    elif how == "entry-field":
        starts = [m.start() for m in re.finditer(rb"PK\x01\x02", bytes(buf[cd_offset:eocd]))]
        starts = [a for a in starts if cd_offset + a + 46 <= len(buf)]
        if starts:
            at = cd_offset + draw(st.sampled_from(starts))
            # compressed size, uncompressed size, name length, extra length, local offset,
            # compression method, crc
            field = draw(
                st.sampled_from(
                    ((20, "I"), (24, "I"), (28, "H"), (30, "H"), (42, "I"), (10, "H"), (16, "I"))
                )
            )
            offset, fmt = field
            if offset == 24 and not dangerous:
                value = draw(st.integers(0, 1 << 20))
            else:
                value = draw(st.integers(0, 0xFFFF if fmt == "H" else 0xFFFFFFFF))
            struct.pack_into("<" + fmt, buf, at + offset, value)
            how += f"@+{offset}"
    elif how == "comment":
        comment = draw(st.binary(max_size=200))
        struct.pack_into("<H", buf, eocd + 20, draw(st.integers(0, 0xFFFF)))
        buf += comment
    return bytes(buf), f"cd:{how}"


XML_JUNK = (
    b"<",
    b">",
    b"&",
    b"&bogus;",
    b"&#0;",
    b"&#xD800;",
    b"]]>",
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b"<c>",
    b"</row>",
    b"<row>",
    b'<c r="A1" t="s"><v>99999</v></c>',
    b'<c r="B2" t="e"><v>#N/A</v></c>',
    b'<c r="C3" t="b"><v>2</v></c>',
    b'<c r="D4" t="d"><v>not a date</v></c>',
    b'<c r="E5" t="n"><v>1e999</v></c>',
    b'<c t="str"><v>no ref</v></c>',
    b"<si><t>extra</t></si>",
    b'<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>',
    b"<?xml-stylesheet href='x'?>",
    b"<!-- -- -->",
    b"<![CDATA[x]]>",
)
SAFE_REFS = (
    b"",
    b"A0",
    b"0A",
    b"a1",
    b"A",
    b"1",
    b"-1",
    b"A-1",
    b"AAAA1",
    b"XFD1",
    b"A5000",
    b"ZZ99",
)
DANGEROUS_REFS = (
    b"XFD1048576",
    b"A1048576",
    b"XFD65536",
    b"A4294967295",
    b"ZZZZZZ1",
    b"A99999999999",
)
ATTR_VALUES = (b"", b"s", b"n", b"e", b"b", b"d", b"str", b"inlineStr", b"zz", b"-1", b"99999")
V_VALUES = (
    b"",
    b"-1",
    b"99999999",
    b"1e999",
    b"NaN",
    b"abc",
    b"0x1",
    b"1.5",
    b"-0",
    b"\xe2\x80\xae",
)


@st.composite
def xml_damage(draw: st.DrawFn, part: bytes, dangerous: bool) -> tuple[bytes, str]:
    how = draw(
        st.sampled_from(
            (
                "truncate",
                "delete-span",
                "insert",
                "insert",
                "ref",
                "type",
                "value",
                "drop-closing",
                "declaration",
                "random",
            )
            + (("count", "count") if dangerous else ())
        )
    )
    n = len(part)
    if how == "truncate":
        part = part[: draw(st.integers(0, n))]
    elif how == "delete-span":
        i = draw(st.integers(0, n))
        part = part[:i] + part[i + draw(st.integers(1, 200)) :]
    elif how == "insert":
        i = draw(st.integers(0, n))
        part = part[:i] + draw(st.sampled_from(XML_JUNK)) + part[i:]
    elif how == "ref":
        refs = SAFE_REFS + (DANGEROUS_REFS if dangerous else ())
        matches = list(re.finditer(rb' (?:r|ref|sqref)="([^"]*)"', part))
        if matches:
            m = draw(st.sampled_from(matches))
            part = part[: m.start(1)] + draw(st.sampled_from(refs)) + part[m.end(1) :]
    elif how == "type":
        matches = list(re.finditer(rb' t="([^"]*)"', part))
        if matches:
            m = draw(st.sampled_from(matches))
            part = part[: m.start(1)] + draw(st.sampled_from(ATTR_VALUES)) + part[m.end(1) :]
    elif how == "value":
        matches = list(re.finditer(rb"<v>([^<]*)</v>", part))
        if matches:
            m = draw(st.sampled_from(matches))
            part = part[: m.start(1)] + draw(st.sampled_from(V_VALUES)) + part[m.end(1) :]
    elif how == "drop-closing":
        closers = re.findall(rb"</[A-Za-z:]+>", part)
        if closers:
            part = part.replace(draw(st.sampled_from(closers)), b"", 1)
    elif how == "declaration":
        part = draw(
            st.sampled_from(
                (
                    b'<?xml version="1.0" encoding="UTF-16"?>',
                    b'<?xml version="1.0" encoding="EBCDIC"?>',
                    b'<?xml version="2.0"?>',
                    b"\xef\xbb\xbf",
                    b"\xff\xfe",
                    b"  \n",
                )
            )
        ) + re.sub(rb"^<\?xml[^>]*\?>\s*", b"", part)
    elif how == "count":
        matches = list(re.finditer(rb' (?:count|uniqueCount)="([^"]*)"', part))
        if matches:
            m = draw(st.sampled_from(matches))
            value = draw(st.sampled_from((b"4000000000", b"99999999999999999999", b"-1")))
            part = part[: m.start(1)] + value + part[m.end(1) :]
    elif how == "random":
        i = draw(st.integers(0, n))
        part = part[:i] + draw(st.binary(min_size=1, max_size=64)) + part[i:]
    return part, how


@st.composite
def part_damage(draw: st.DrawFn, data: bytes, dangerous: bool) -> tuple[bytes, str]:
    entries = _read_zip(data)
    names = [info.filename for info, _ in entries]
    target = draw(st.sampled_from([p for p in PARTS if p in names] or names))
    action = draw(st.sampled_from(("xml", "xml", "xml", "remove", "duplicate", "empty")))
    out: list[tuple[zipfile.ZipInfo, bytes]] = []
    how = action
    for info, part in entries:
        if info.filename != target:
            out.append((info, part))
        elif action == "xml":
            damaged, how = draw(xml_damage(part, dangerous))
            out.append((info, damaged))
        elif action == "duplicate":
            out += [(info, part), (info, draw(xml_damage(part, dangerous))[0])]
        elif action == "empty":
            out.append((info, b""))
    stored = draw(st.booleans())
    return _write_zip(out, stored=stored), f"part:{target}:{how} stored={stored}"


@st.composite
def workbook_files(draw: st.DrawFn, dangerous: bool = False, huge: bool = True) -> FuzzFile:
    """A valid .xlsx from openpyxl, then damaged (or not) in one or two ways."""
    data, kind = draw(valid_workbooks(huge))
    damage: list[str] = []
    for _ in range(draw(st.integers(0, 2))):
        how = draw(st.sampled_from(("truncate", "flip", "cd", "part", "part")))
        if how == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
            damage.append("truncate")
        elif how == "flip" and data:
            buf = bytearray(data)
            for _ in range(draw(st.integers(1, 8))):
                buf[draw(st.integers(0, len(buf) - 1))] ^= draw(st.integers(1, 255))
            data = bytes(buf)
            damage.append("flip")
        elif how == "cd":
            data, done = draw(central_directory_damage(data, dangerous))
            damage.append(done)
        elif how == "part":
            try:
                data, done = draw(part_damage(data, dangerous))
            except Exception:  # an earlier damage broke the zip: BadZipFile, zlib.error, ...
                done = "part:unreadable-zip"
            damage.append(done)
    suffix = draw(st.sampled_from((".xlsx", ".xlsx", ".xlsx", ".xlsm", ".xls", ".ods", ".csv")))
    return FuzzFile("book" + suffix, data, f"{kind} damage={','.join(damage) or '-'}")


def far_reference_workbook(ref: str = "XFD1048576") -> FuzzFile:
    """A tiny valid workbook with one more cell at ``ref``: a reader must not allocate the
    whole grid up to it."""
    data = build_xlsx(
        [["MerchantSKU", "SellableQuantity", "UnsellableQuantity"], ["SKU-4", "1", "0"]],
        "Sheet1",
        [],
    )
    entries = _read_zip(data)
    out = []
    for info, part in entries:
        if info.filename == SHEET_PATH:
            part = part.replace(b'r="C2"', f'r="{ref}"'.encode())
        out.append((info, part))
    return FuzzFile("far.xlsx", _write_zip(out), f"xlsx far cell {ref}")


def shared_string_count_workbook(count: str = "4000000000") -> FuzzFile:
    """A tiny valid workbook whose sharedStrings.xml claims ``count`` unique strings: a
    reader must not reserve room for them all up front."""
    data = to_shared_strings(
        build_xlsx(
            [["MerchantSKU", "SellableQuantity", "UnsellableQuantity"], ["SKU-4", "1", "0"]],
            "Sheet1",
            [],
        )
    )
    out = []
    for info, part in _read_zip(data):
        if info.filename == STRINGS_PATH:
            part = re.sub(rb'uniqueCount="[0-9]+"', f'uniqueCount="{count}"'.encode(), part)
        out.append((info, part))
    return FuzzFile("sst.xlsx", _write_zip(out), f"xlsx sharedStrings uniqueCount={count}")


def huge_cell_text_file(size: int = 131_073, suffix: str = ".txt") -> FuzzFile:
    """A valid table whose ShippingNotes cell holds ``size`` characters (Python's csv module
    refuses fields over 131,072 by default)."""
    delimiter = "," if suffix == ".csv" else "\t"
    row = ["FZ-1", "Disposal"] + [""] * 9 + ["x" * size, "SKU-4", "1", "0"]
    text = delimiter.join(REQUEST_HEADER) + "\r\n" + delimiter.join(row) + "\r\n"
    return FuzzFile("huge" + suffix, text.encode(), f"text ShippingNotes of {size:,} chars")


def quantity_text_file(quantity: str, column: str = "SellableQuantity") -> FuzzFile:
    """A valid one-line Return order for SKU 00123 (10 sellable) with ``quantity`` in
    ``column``."""
    row = {**RETURN_ADDRESS, "MerchantRemovalOrderID": "FZ-1", "MerchantSKU": "00123"}
    row.update({"SellableQuantity": "1", "UnsellableQuantity": "0", column: quantity})
    lines = ["\t".join(REQUEST_HEADER), "\t".join(row.get(h, "") for h in REQUEST_HEADER)]
    data = ("\r\n".join(lines) + "\r\n").encode()
    return FuzzFile("quantity.txt", data, f"text {column}={quantity[:30]}… ({len(quantity)} chars)")


def wide_text_file(columns: int = 500_000, suffix: str = ".txt") -> FuzzFile:
    """A valid header and one data row followed by ``columns`` empty cells (1 byte each)."""
    delimiter = "," if suffix == ".csv" else "\t"
    header = delimiter.join(REQUEST_HEADER)
    row = delimiter.join(["FZ-1", "Disposal"] + [""] * 10 + ["SKU-4", "1", "0"])
    data = f"{header}\r\n{row}{delimiter * columns}\r\n".encode()
    return FuzzFile("wide" + suffix, data, f"text one row with {columns:,} more empty cells")
