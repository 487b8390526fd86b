"""file-too-large (SPEC section 4): bytes on disk, rows, and what a workbook expands to.

The zip bomb is written by this module, not stored: a valid xlsx whose sheet holds one
cell of 2 GiB of "x", a couple of MB on disk. Its deflate stream is built from one
compressed block repeated (each block ends in a full flush, so the copies are identical
and independent) and its CRC from the CRC of that block (crc32_combine, as in zlib), so
building it takes milliseconds and never holds more than a few MB.

Without the guard in readers/workbook.py calamine inflates that cell into one buffer:
"memory allocation of 2112356352 bytes failed" and the whole process aborts.
"""

from __future__ import annotations

import json
import resource
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import REQUEST_HEADER, RETURN_ADDRESS, codes, request_rows
from openpyxl import Workbook

from removal_batch.core.settings import Settings, settings_from_mapping
from removal_batch.readers import ReadError, ReadLimits, read_table
from removal_batch.readers.workbook import EXCEL_CELL_CHARS, check_zip

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hostile"
SHARED_STRINGS_POC = CORPUS / "poi-poc-shared-strings.xlsx"
MIB = 1 << 20
# Address space, not memory: Arrow's allocator reserves 1 GiB of it at its first
# allocation and each thread's malloc arena 64 MiB, so a plain check of a small file
# spans 1.5-1.6 GiB. A 2 GiB bomb materialised even once would still not fit.
MEMORY_CAP = 2048 * MIB
GOOD = {
    **RETURN_ADDRESS,
    "MerchantSKU": "00123",
    "SellableQuantity": "1",
    "UnsellableQuantity": "0",
}


# --- building zips by hand ---------------------------------------------------------------

_POLY = 0xEDB88320


def _multmodp(a: int, b: int) -> int:
    """a * b modulo the CRC-32 polynomial (reflected bit order), as in zlib's crc32.c."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if a & (m - 1) == 0:
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


_X2N = [1 << 30]  # x^(2^k) modulo the polynomial
for _ in range(31):
    _X2N.append(_multmodp(_X2N[-1], _X2N[-1]))


def _x8nmodp(n: int) -> int:
    """x^(8n): appending n zero bytes, as a polynomial multiplier."""
    p, k = 1 << 31, 3
    while n:
        if n & 1:
            p = _multmodp(_X2N[k & 31], p)
        n >>= 1
        k += 1
    return p


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """CRC-32 of A + B from the CRC of A, the CRC of B and the length of B."""
    return _multmodp(_x8nmodp(len2), crc1) ^ crc2


def crc32_repeat(block: bytes, times: int) -> int:
    out, power, size = 0, zlib.crc32(block), len(block)
    while times:
        if times & 1:
            out = crc32_combine(out, power, size)
        power = crc32_combine(power, power, size)
        size *= 2
        times >>= 1
    return out


Stream = tuple[bytes, int, int]  # raw deflate data, CRC-32, uncompressed size


def _deflate(data: bytes, flush: int = zlib.Z_FINISH) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(flush)


def deflate_repeated(prefix: bytes, block: bytes, times: int, suffix: bytes) -> Stream:
    """The raw deflate stream of prefix + block * times + suffix, without building it."""
    piece = _deflate(block, zlib.Z_FULL_FLUSH)
    data = _deflate(prefix, zlib.Z_FULL_FLUSH) + piece * times + _deflate(suffix)
    crc = crc32_combine(zlib.crc32(prefix), crc32_repeat(block, times), len(block) * times)
    crc = crc32_combine(crc, zlib.crc32(suffix), len(suffix))
    return data, crc, len(prefix) + len(block) * times + len(suffix)


def write_zip(path: Path, parts: dict[str, bytes | Stream]) -> Path:
    """A zip of deflated parts (sizes under 4 GiB, so no zip64 needed)."""
    body, directory = bytearray(), bytearray()
    for name, part in parts.items():
        data, crc, size = (
            (_deflate(part), zlib.crc32(part), len(part)) if isinstance(part, bytes) else part
        )
        raw = name.encode()
        fixed = struct.pack("<HHHHHLLL", 20, 0, 8, 0, 0x21, crc, len(data), size)
        directory += b"PK\x01\x02" + struct.pack("<H", 20) + fixed
        directory += struct.pack("<HHHHHLL", len(raw), 0, 0, 0, 0, 0, len(body)) + raw
        body += b"PK\x03\x04" + fixed + struct.pack("<HH", len(raw), 0) + raw + data
    end = struct.pack("<HHHHLLH", 0, 0, len(parts), len(parts), len(directory), len(body), 0)
    path.write_bytes(bytes(body + directory + b"PK\x05\x06" + end))
    return path


_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def xlsx_parts(sheet: bytes | Stream, shared_strings: bytes | None = None) -> dict:
    """The parts of a minimal xlsx with one sheet, 'Removal Request'."""
    overrides = f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    overrides += (
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    )
    rels = f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    if shared_strings is not None:
        overrides += (
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/>'
        )
        rels += f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    package = "http://schemas.openxmlformats.org/package/2006"
    parts: dict[str, bytes | Stream] = {
        "[Content_Types].xml": (
            f'<Types xmlns="{package}/content-types">'
            f'<Default Extension="rels" ContentType="{package}/relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f"{overrides}</Types>"
        ).encode(),
        "_rels/.rels": (
            f'<Relationships xmlns="{package}/relationships"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<workbook {_NS} xmlns:r="{_REL}"><sheets>'
            '<sheet name="Removal Request" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<Relationships xmlns="{package}/relationships">{rels}</Relationships>'
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    return parts


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


_HEADER_ROW = '<row r="1">' + "".join(
    _inline(f"{chr(65 + i)}1", name) for i, name in enumerate(REQUEST_HEADER)
)
_SHEET_HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>'.encode()


def write_bomb(path: Path, mib: int, block_mib: int = 4) -> Path:
    """A valid xlsx: the request header, then cell A2 holding ``mib`` MiB of "x"."""
    head = _SHEET_HEAD + (_HEADER_ROW + '</row><row r="2"><c r="A2" t="inlineStr"><is><t>').encode()
    tail = b"</t></is></c></row></sheetData></worksheet>"
    sheet = deflate_repeated(head, b"x" * (block_mib * MIB), mib // block_mib, tail)
    return write_zip(path, xlsx_parts(sheet))


def write_shared_strings_workbook(path: Path, strings: list[str], raw: bool = False) -> Path:
    """An xlsx whose cells A1.. use shared strings 0..; ``raw`` strings are XML already."""
    items = "".join(f"<si><t>{s if raw else _escape(s)}</t></si>" for s in strings)
    shared = f'<sst {_NS} count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'
    cells = "".join(
        f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{i}</v></c></row>' for i in range(len(strings))
    )
    sheet = _SHEET_HEAD + f"{cells}</sheetData></worksheet>".encode()
    return write_zip(path, xlsx_parts(sheet, shared.encode()))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def write_request_workbook(path: Path, rows: int) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "Removal Request"
    for row in request_rows([{**GOOD, "MerchantRemovalOrderID": f"R{i}"} for i in range(rows)]):
        sheet.append(row)
    book.save(path)
    return path


def _read(path: Path, limits: ReadLimits | None = None) -> ReadError:
    with pytest.raises(ReadError) as caught:
        read_table(path, lambda table: True, limits or ReadLimits())
    return caught.value


# --- the zip bomb ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bomb(tmp_path_factory.mktemp("bomb") / "bomb.xlsx", 2048)


def test_bomb_is_small_on_disk_and_declares_gigabytes(bomb: Path) -> None:
    assert bomb.stat().st_size < 3 * MIB
    with zipfile.ZipFile(bomb) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        assert sheet.file_size > 2 << 30
        with archive.open(sheet) as stream:
            assert stream.read(MIB).startswith(_SHEET_HEAD)


def test_a_small_bomb_is_a_real_workbook(tmp_path: Path) -> None:
    """The same construction at 8 MiB: calamine reads it, so the big one would be read."""
    path = write_bomb(tmp_path / "small.xlsx", 8)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every CRC right
    table = read_table(path, lambda table: True)
    assert list(table.cells.iloc[0, :3]) == REQUEST_HEADER[:3]
    assert table.cells.iloc[1, 0] == "x" * (8 * MIB)


def test_bomb_is_refused_in_well_under_a_second(bomb: Path) -> None:
    started = time.perf_counter()
    error = _read(bomb)
    elapsed = time.perf_counter() - started
    assert error.code == "file-too-large"
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    assert "would expand to 2,048 MB" in error.message
    assert "the limit is 500 MB" in error.message
    assert "smaller copy" in error.message


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _check_capped(
    path: Path, inventory: Path, timeout: int = 60
) -> subprocess.CompletedProcess[str]:
    """``check PATH --json`` as a user runs it, under MEMORY_CAP: a spike aborts the
    process (an exit code other than 1)."""
    return subprocess.run(
        [sys.executable, "-m", "removal_batch", "check", str(path)]
        + ["--inventory", str(inventory), "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_cap_memory,
    )


def test_bomb_is_refused_by_the_command_without_a_memory_spike(bomb: Path, inventory: Path) -> None:
    # No bound on the time: one of 5 s failed on a loaded CI machine (5.9 s). The memory
    # cap is what tells a bomb inflated from one refused unread.
    proc = _check_capped(bomb, inventory)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == 1, proc.stderr[-2000:]
    (entry,) = json.loads(proc.stdout)["inputs"]
    assert entry["counts_by_code"] == {"file-too-large": 1}
    assert entry["status"] == "rejected"


def test_bomb_under_the_size_limit_is_refused_by_its_compression_ratio(tmp_path: Path) -> None:
    path = write_bomb(tmp_path / "ratio.xlsx", 64)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.getinfo("xl/worksheets/sheet1.xml")
        assert sheet.file_size > 1000 * sheet.compress_size
    error = _read(path)  # 64 MiB is under the default 500 MB
    assert error.code == "file-too-large"
    assert "would expand to 64 MB" in error.message
    assert "zip bomb" in error.message
    assert "xl/worksheets/sheet1.xml" in error.message


def test_a_zip_that_cannot_be_opened_is_still_unreadable(tmp_path: Path) -> None:
    whole = write_request_workbook(tmp_path / "whole.xlsx", 3).read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole[: len(whole) // 2])  # no central directory
    check_zip(cut, ReadLimits(max_uncompressed_bytes=1))  # nothing to judge: left to calamine
    assert _read(cut).code == "file-unreadable"


# --- limits from the settings ------------------------------------------------------------


def test_the_default_size_limit_reads_as_it_is_set(tmp_path: Path) -> None:
    """100 MB, as SPEC and the workbook limit's "500 MB" say it: the text reader said
    "100.0 MB", its own formatter differing from the workbook reader's (review H4)."""
    path = tmp_path / "big.txt"
    with path.open("wb") as out:
        out.truncate(150 * 1024 * 1024)  # sparse: nothing is written
    error = _read(path)
    assert error.code == "file-too-large"
    assert error.message.startswith(
        "The file is 150 MB; the limit is 100 MB (max_file_bytes in the settings)."
    )
    # One byte over read "100 MB; the limit is 100 MB": the figures in bytes then.
    with path.open("r+b") as out:
        out.truncate(100 * 1024 * 1024 + 1)
    error = _read(path)
    assert error.message.startswith("The file is 104,857,601 bytes; the limit is 104,857,600")


def test_max_uncompressed_bytes_from_settings(tmp_path: Path, check) -> None:
    path = write_request_workbook(tmp_path / "ok.xlsx", 3)
    assert check(path).exit_code == 0
    small = settings_from_mapping({"max_uncompressed_bytes": 5000})
    result = check(path, settings=small)
    assert codes(result) == {"file-too-large"}
    (message,) = result.problems["message"]
    assert "would expand to" in message
    assert "the limit is 5,000 bytes (max_uncompressed_bytes in the settings)" in message


def test_bytes_on_disk_limit_for_a_workbook(tmp_path: Path, check) -> None:
    path = write_request_workbook(tmp_path / "ok.xlsx", 3)
    result = check(path, settings=Settings(max_file_bytes=1000))
    assert codes(result) == {"file-too-large"}
    assert "the limit is 1,000 bytes" in result.problems["message"][0]


def test_row_limit_for_a_workbook(tmp_path: Path, check) -> None:
    # A few rows over: read, then counted.
    path = write_request_workbook(tmp_path / "thirty.xlsx", 30)
    result = check(path, settings=Settings(max_rows=5))
    assert codes(result) == {"file-too-large"}
    # Counted rows are shown, all rejected (the table said 0 beside "has 30 request rows").
    (outcome,) = result.files
    assert (outcome.rows, outcome.accepted, outcome.rejected) == (30, 0, 30)
    assert "(max_rows in the settings)" in result.problems["message"][0]
    # Far over: refused from the sheet's dimensions, before the rows are read.
    path = write_request_workbook(tmp_path / "many.xlsx", 300)
    error = _read(path, ReadLimits(max_rows=5))
    assert error.code == "file-too-large"
    assert "301 rows" in error.message and "(max_rows in the settings)" in error.message


def test_a_row_limit_over_32_bits_reads_a_workbook(tmp_path: Path, check) -> None:
    """calamine counts rows in 32 bits: max_rows = 5,000,000,000 made every workbook
    'damaged' (number too large to fit in target type), blaming the user's file for a
    setting (review H1)."""
    path = write_request_workbook(tmp_path / "ok.xlsx", 3)
    result = check(path, settings=settings_from_mapping({"max_rows": 5_000_000_000}))
    assert codes(result) == set()
    assert result.files[0].rows == 3


# --- one long shared string in many cells ------------------------------------------------


@pytest.mark.skipif(not SHARED_STRINGS_POC.is_file(), reason=f"corpus not at {CORPUS}")
def test_shared_strings_poc_is_too_large_and_refused_fast(check) -> None:
    started = time.perf_counter()
    error = _read(SHARED_STRINGS_POC)
    elapsed = time.perf_counter() - started
    assert error.code == "file-too-large"
    assert f"{EXCEL_CELL_CHARS:,} characters" in error.message
    assert elapsed < 1.0, f"took {elapsed:.2f}s"
    assert codes(check(SHARED_STRINGS_POC)) == {"file-too-large"}


def test_a_shared_string_under_the_cell_limit_in_many_cells_is_refused(tmp_path: Path) -> None:
    """Each string under Excel's cell limit, but one used in thousands of cells: a 473 KB
    workbook (32,000 characters in 20,000 cells) took 4 GB and 80 s to read. The text the
    cells would hold is counted against max_uncompressed_bytes; here a 2,000-character
    string in 3,000 cells (6 MB of text) against a 5 MB limit, and the default."""
    shared = f'<sst {_NS} count="3000" uniqueCount="2"><si><t>{"z" * 2000}</t></si>'
    shared += "<si><t>short</t></si></sst>"
    rows = "".join(
        f'<row r="{r}"><c r="A{r}" t="s"><v>0</v></c><c r="B{r}" t="s"><v>1</v></c></row>'
        for r in range(1, 3001)
    )
    sheet = _SHEET_HEAD + f"{rows}</sheetData></worksheet>".encode()
    path = write_zip(tmp_path / "many.xlsx", xlsx_parts(sheet, shared.encode()))
    error = _read(path, ReadLimits(max_uncompressed_bytes=5 * MIB))
    assert error.code == "file-too-large"
    assert error.message.startswith("The workbook's cells would hold 5.8 MB of text once read")
    assert "(max_uncompressed_bytes in the settings)" in error.message
    assert read_table(path, lambda table: True).height == 3000


def test_one_long_shared_string_in_many_cells_is_refused(tmp_path: Path, inventory: Path) -> None:
    """The corpus file done right (its rows are numbered from 0, so calamine rejects it
    anyway): one 1 MB shared string in 12,000 cells, 45 KB on disk. Without the guard
    calamine aborts the process copying the string into every cell."""
    shared = f'<sst {_NS} count="12000" uniqueCount="1"><si><t>{"z" * MIB}</t></si></sst>'
    rows = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}" t="s"><v>0</v></c>' for c in "ABC") + "</row>"
        for r in range(1, 4001)
    )
    sheet = _SHEET_HEAD + f"{rows}</sheetData></worksheet>".encode()
    path = write_zip(tmp_path / "poc.xlsx", xlsx_parts(sheet, shared.encode()))
    assert path.stat().st_size < 100_000
    started = time.perf_counter()
    assert _read(path).code == "file-too-large"
    assert time.perf_counter() - started < 1.0
    proc = _check_capped(path, inventory)
    assert proc.returncode == 1, proc.stderr[-2000:]
    (entry,) = json.loads(proc.stdout)["inputs"]
    assert entry["counts_by_code"] == {"file-too-large": 1}


LIMIT = EXCEL_CELL_CHARS


@pytest.mark.parametrize(
    ("strings", "refused"),
    [
        (["a" * LIMIT], False),
        (["a" * (LIMIT + 1)], True),
        (["é" * 30_000], False),  # 60,000 bytes, 30,000 characters
        (["a" * 30_000 + "&" * 2_000], False),  # 40,000 bytes as XML, 32,000 characters
        (["&" * (LIMIT + 1)], True),
        (["x" * 200] * 8_000 + ["b" * (LIMIT + 1)], True),  # past the first 1 MB chunk
        (["c" * 500_000], True),  # longer than any run the scan keeps
        (["short", "b" * (LIMIT + 1), "short"], True),
    ],
    ids=["at-limit", "over", "multibyte", "entities", "entities-over", "late", "huge", "middle"],
)
def test_shared_string_over_excels_cell_limit(tmp_path: Path, strings, refused: bool) -> None:
    path = write_shared_strings_workbook(tmp_path / "s.xlsx", strings)
    if refused:
        error = _read(path)
        assert error.code == "file-too-large"
        assert "32,767 characters" in error.message
    else:
        table = read_table(path, lambda table: True)
        assert list(table.cells.iloc[:, 0]) == strings


def test_shared_string_in_cdata_over_the_limit(tmp_path: Path) -> None:
    path = write_shared_strings_workbook(
        tmp_path / "cdata.xlsx", [f"<![CDATA[{'d' * (LIMIT + 1)}]]>"], raw=True
    )
    with pytest.raises(ReadError, match="32,767 characters"):
        check_zip(path, ReadLimits())


def test_shared_strings_scan_leaves_large_normal_parts_alone(tmp_path: Path) -> None:
    # 2 MB of ordinary strings (two chunks and more): scanned, accepted.
    strings = [f"SKU-{i:07d} & note <{i}>" for i in range(60_000)]
    path = write_shared_strings_workbook(tmp_path / "normal.xlsx", strings)
    check_zip(path, ReadLimits())


def test_a_file_too_big_for_memory_is_that_files_problem(
    tmp_path: Path, check, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 66 MB CSV of 4,000 rows padded to 16,384 columns ran out of a 3 GB cap while
    being shaped, and the whole check ended as an internal error (exit 3). Out of memory
    on one file is that file's file-too-large; the other files are checked as ever."""
    import removal_batch.pipeline as pipeline
    from removal_batch.core.raw_table import RawTable
    from removal_batch.core.shape import ShapeResult

    good = tmp_path / "a.txt"
    good.write_text("\n".join("\t".join(r) for r in request_rows([GOOD])) + "\n")
    wide = tmp_path / "b.csv"
    wide.write_text("\n".join(",".join(r) for r in request_rows([GOOD])) + "\n")
    shape = pipeline.recognise_request

    def out_of_memory_on_the_wide_one(raw: RawTable) -> ShapeResult:
        if raw.file == "b.csv":
            raise MemoryError
        return shape(raw)

    monkeypatch.setattr(pipeline, "recognise_request", out_of_memory_on_the_wide_one)
    result = check(good, wide)
    by_file = {f.name: f for f in result.files}
    assert by_file["a.txt"].status == "accepted"
    assert by_file["b.csv"].status == "rejected"
    assert set(result.problems.loc[result.problems["file"] == "b.csv", "code"]) == {
        "file-too-large"
    }
    assert result.exit_code == 1


@pytest.mark.slow
def test_a_csv_padded_to_excels_last_column_is_checked_within_a_memory_cap(
    tmp_path: Path, inventory: Path
) -> None:
    """4,000 requests on rows Excel carried to column XFD (66 MB, 16,384 cells a line)
    took about 4.2 GB at the peak and 60 s, and under a 3 GB cap the file was refused as
    too large; read without its empty columns it takes a few hundred MB."""
    header = ",".join(REQUEST_HEADER) + "," * (16_384 - len(REQUEST_HEADER))
    cells = [GOOD.get(h, "") for h in REQUEST_HEADER]
    cells[REQUEST_HEADER.index("MerchantSKU")] = "SKU-4"
    cells[REQUEST_HEADER.index("SellableQuantity")] = "0"
    cells[REQUEST_HEADER.index("UnsellableQuantity")] = "0"
    padding = "," * (16_384 - len(cells))
    lines = [header] + [f"P{i}," + ",".join(cells[1:]) + padding for i in range(4_000)]
    path = tmp_path / "padded.csv"
    path.write_text("\r\n".join(lines) + "\r\n")
    proc = _check_capped(path, inventory, timeout=120)
    assert "Traceback" not in proc.stderr
    (entry,) = json.loads(proc.stdout)["inputs"]
    assert "file-too-large" not in entry["counts_by_code"]
    assert entry["rows"] == 4_000
