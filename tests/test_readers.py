"""Readers: every format and encoding ends as the same text table, exactly as typed."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from conftest import (
    INVENTORY_HEADER,
    REQUEST_HEADER,
    RETURN_ADDRESS,
    codes,
    codes_at,
    request_rows,
    write_delimited,
)
from hypothesis import given
from hypothesis import strategies as st

from removal_batch.core.settings import Settings
from removal_batch.core.shape import has_request_header
from removal_batch.readers import read_table

ROW = {
    "MerchantRemovalOrderID": "R1",
    **RETURN_ADDRESS,
    "AddressName": "Zoë Café",
    "MerchantSKU": "00123",
    "SellableQuantity": "1",
    "UnsellableQuantity": "0",
}


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"), ("cp1252", "cp1252")],
)
def test_supported_encodings_read_the_same_text(
    tmp_path: Path, check, encoding: str, expected: str
) -> None:
    path = write_delimited(tmp_path / "r.txt", request_rows([ROW]), encoding=encoding)
    result = check(path)
    assert result.problems.empty
    assert result.files[0].encoding == expected
    assert result.files[0].table.rows["AddressName"][0] == "Zoë Café"


@pytest.mark.parametrize("sep", [",", ";", "\t"])
def test_csv_delimiter_is_detected(tmp_path: Path, check, sep: str) -> None:
    row = {**ROW, "AddressName": "Acme Returns"}
    result = check(write_delimited(tmp_path / "r.csv", request_rows([row]), sep=sep))
    assert result.problems.empty
    assert result.files[0].rows == 1


def test_quoted_cells_with_delimiters_and_newlines(tmp_path: Path, check) -> None:
    header = ",".join(request_rows([])[0])
    line = (
        ',Return,"Acme, Inc.","100 Dock St\nDock 4",,,Reno,US,NV,89502,775-555-0100,'
        '"say ""hi""",00123,1,0'
    )
    path = tmp_path / "q.csv"
    path.write_text(header + "\n" + "R1" + line + "\n")
    result = check(path)
    assert result.problems.empty
    rows = result.files[0].table.rows
    assert rows["AddressName"][0] == "Acme, Inc."
    assert rows["AddressFieldOne"][0] == "100 Dock St\nDock 4"
    assert rows["ShippingNotes"][0] == 'say "hi"'


_STRAY_HEADER = "\t".join(
    ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "SellableQuantity"]
    + ["UnsellableQuantity", "ShippingNotes"]
)
# Rows left empty, as Excel exports them (skipped, but counted): enough of them take a
# file past SMALL_TEXT_CHARS, to Arrow or the slower readers it falls back on.
_PAD = ["\t" * 5] * 60_000


def _large_enough(path: Path, large: bool) -> Path:
    from removal_batch.readers.text import SMALL_TEXT_CHARS

    assert (path.stat().st_size > SMALL_TEXT_CHARS) is large
    return path


@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
@pytest.mark.parametrize("closed", [True, False], ids=["closed-below", "open-to-the-end"])
@pytest.mark.parametrize("sep", ["\t", ",", ";"], ids=["tab", "comma", "semicolon"])
def test_a_stray_quote_that_swallows_rows_refuses_the_file(
    tmp_path: Path, check, large: bool, closed: bool, sep: str
) -> None:
    # A quote typed at the start of line 2's note opened a quoted cell that ran to the
    # next quote mark (line 4's) or the end: the requests of the lines between vanished
    # into the note, and the file was accepted with exit 0.
    lines = [
        _STRAY_HEADER,
        'Q1\tDisposal\t00123\t1\t0\t"Handle with care',
        "Q2\tDisposal\tABC-1\t3\t0",
        "Q3\tDisposal\t00123\t2\t0\t" + ('pallet "B"' if closed else "pallet B"),
        *(_PAD if large else []),
        "Q4\tDisposal\t00123\t1\t0\t",
    ]
    path = tmp_path / ("stray.txt" if sep == "\t" else "stray.csv")
    path.write_text("\r\n".join(line.replace("\t", sep) for line in lines) + "\r\n")
    result = check(_large_enough(path, large))
    assert codes_at(result) == {(2, "F", "file-unreadable")}
    (message,) = result.problems["message"]
    assert message.startswith('The quote mark (") that starts the cell at row 2, column F')
    end = 4 if closed else len(lines)
    ending = "" if closed else " to the end of the file"
    assert f"runs over lines 2-{end}{ending}, so lines 3-{end} were not read as rows" in message
    assert "Remove the stray quote mark, or close it" in message
    assert result.problems["value"].tolist() == ['"Handle with care']
    assert result.exit_code == 1


@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
@pytest.mark.parametrize("sep", ["\t", ",", ";"], ids=["tab", "comma", "semicolon"])
def test_a_stray_quote_closed_in_the_same_column_below_refuses_the_file(
    tmp_path: Path, check, large: bool, sep: str
) -> None:
    """The quote opened in the notes column of row 2 and was closed by the quote that
    starts row 3's note: the swallowed text held a few delimiters on each line, and the
    cells after it still lined up under the header. One order (Q1's SKU with Q2's
    quantity) was read, Q2 vanished, and the file was accepted with exit 0."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "ShippingNotes"]
    header += ["MerchantSKU", "SellableQuantity", "UnsellableQuantity"]
    lines = [
        "\t".join(header),
        'Q1\tDisposal\t"Handle with care\t00123\t1\t0',
        'Q2\tDisposal\t"Fragile"\tABC-1\t2\t0',
        *(_PAD if large else []),
    ]
    path = tmp_path / ("stray.txt" if sep == "\t" else "stray.csv")
    path.write_text("\n".join(line.replace("\t", sep) for line in lines) + "\n")
    result = check(_large_enough(path, large))
    assert codes_at(result) == {(2, "C", "file-unreadable")}
    (message,) = result.problems["message"]
    assert "runs over lines 2-3, so line 3 was not read as a row" in message
    assert result.exit_code == 1


def test_a_stray_quote_is_placed_on_the_line_a_text_editor_shows(tmp_path: Path, check) -> None:
    # A cell holding a break, as Excel writes it, takes two lines: the stray quote below
    # it is on line 4, in the third record.
    path = tmp_path / "lines.txt"
    path.write_text(
        _STRAY_HEADER + "\n"
        'Q1\tDisposal\t00123\t1\t0\t"Two\nlines"\n'
        'Q2\tDisposal\t00123\t1\t0\t"stray\n'
        "Q3\tDisposal\tABC-1\t1\t0\t\n"
    )
    result = check(path)
    assert codes_at(result) == {(4, "F", "file-unreadable")}
    (message,) = result.problems["message"]
    assert "runs over lines 4-5 to the end of the file, so line 5 was not read as a row" in message


def test_the_stray_quote_search_takes_a_very_wide_file(tmp_path: Path, check) -> None:
    """Half of 2,002 columns is more repeats than Arrow's regular expressions take: the
    search for rows a quote swallowed failed, exit 3 (found by the long fuzz run). Here a
    quoted cell holds a line break, on a row of 2,002 cells, so the search runs."""
    wide = '"two\rlines",FZ-1' + "," * 2000
    header = _STRAY_HEADER.replace("\t", ",")
    path = tmp_path / "wide.csv"
    path.write_bytes(f"{wide}\n{header}\nQ1,Disposal,00123,1,0,\n".encode())
    result = check(path)
    assert result.exit_code in (0, 1)
    assert "file-unreadable" not in codes(result)


@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_cells_holding_line_breaks_are_not_stray_quotes(tmp_path: Path, check, large: bool) -> None:
    """As Excel writes a cell holding breaks: quoted, quotes doubled. Commas in the lines
    of a comma-delimited cell are prose, not rows; and a quote left open on the last line
    swallows nothing (read as before: its cell runs to the end of the file)."""
    notes = ['"Dock 4\nReno, NV"', '"Ring, then wait\r\n""Fragile"", glass"', '"three\n\nlines"']
    lines = [
        _STRAY_HEADER.replace("\t", ","),
        *[f"Q{i},Disposal,00123,1,0,{note}" for i, note in enumerate(notes)],
        *[pad.replace("\t", ",") for pad in (_PAD if large else [])],
        'Q9,Disposal,ABC-1,1,0,"left open',
    ]
    path = tmp_path / "breaks.csv"
    path.write_text("\n".join(lines) + "\n")
    result = check(_large_enough(path, large))
    assert result.problems.empty
    assert result.files[0].table.rows["ShippingNotes"].tolist() == [
        "Dock 4\nReno, NV",
        'Ring, then wait\r\n"Fragile", glass',
        "three\n\nlines",
        "left open",  # its break is trimmed off with the cell's spaces
    ]


def test_a_note_of_several_lines_and_commas_is_no_stray_quote(tmp_path: Path, check) -> None:
    """Excel writes a cell holding breaks quoted; an address or a note after its break may
    hold several commas ("Dock 2, Bay 3, Door 7, North side") or a pasted tab. In the
    template's fifteen columns a swallowed row holds far more: the file is read."""
    notes = [
        '"Deliver to rear entrance.\nContacts: Bob, Alice, Tom or Jane, any weekday"',
        '"Bldg 4\nDock 2, Bay 3, Door 7, North side"',
    ]
    header = request_rows([])[0]
    at = header.index("ShippingNotes")
    lines = [",".join(header)]
    for i, note in enumerate(notes):
        cells = [str({**ROW, "MerchantRemovalOrderID": f"R{i}"}.get(h, "")) for h in header]
        cells = [f'"{c}"' if "," in c else c for c in cells]
        cells[at] = note
        lines.append(",".join(cells))
    path = tmp_path / "notes.csv"
    path.write_bytes("\r\n".join(lines).encode() + b"\r\n")
    result = check(path)
    assert result.problems.empty, result.problems["message"].tolist()
    # In a narrow file, three commas are half its columns, and prose holds as many.
    narrow = _STRAY_HEADER.replace("\t", ",") + '\nQ1,Disposal,00123,1,0,"' + notes[1][1:] + "\n"
    (tmp_path / "narrow.csv").write_text(narrow)
    result = check(tmp_path / "narrow.csv")
    assert result.problems.empty, result.problems["message"].tolist()
    assert result.files[0].table.rows["ShippingNotes"].tolist() == [notes[1][1:-1]]
    # As many commas as the row's, each before a space, or numbers with thousands commas:
    # prose all the same (a review's finding).
    for note in ["Attn Receiving, Dock 2, Bay 3, Door 7, North side", "1,000 mats,2,500 straps"]:
        (tmp_path / "narrow.csv").write_text(narrow.replace("Bldg 4", "Call first\n" + note))
        result = check(tmp_path / "narrow.csv")
        assert result.problems.empty, result.problems["message"].tolist()
    # A program's row, with no space after its commas, is still a row: also one whose
    # SKU ends in digits before 3-digit quantities (they are cells, not "200,120,250"),
    # and in a file delimited by semicolons, which group no thousands.
    for row in [
        "Q2,Disposal,ABC-1,3,0,x",
        "Q2,Disposal,SKU-200,120,250,",
        "Disposal,SKU-200,120,250,",
    ]:
        (tmp_path / "narrow.csv").write_text(narrow.replace('"Bldg', '"Bldg\n' + row))
        assert codes_at(check(tmp_path / "narrow.csv")) == {(2, "F", "file-unreadable")}, row
    semi = narrow.replace(",", ";").replace('"Bldg', '"Bldg\nQ2;Disposal;SKU-200;120;250;')
    (tmp_path / "narrow.csv").write_text(semi)
    assert codes_at(check(tmp_path / "narrow.csv")) == {(2, "F", "file-unreadable")}
    tabbed = request_rows([{**ROW, "ShippingNotes": "x"}])
    text = "\r\n".join("\t".join(r) for r in tabbed).replace("\tx", '\t"Fragile\n\tglass"')
    (tmp_path / "tab.txt").write_text(text + "\r\n")
    assert check(tmp_path / "tab.txt").problems.empty


def _read_outcome(data: bytes, suffix: str) -> tuple[object, ...]:
    """What read_table makes of some bytes: its error and place, or its cells."""
    import tempfile

    from removal_batch.readers import ReadError

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"f{suffix}"
        path.write_bytes(data)
        try:
            raw = read_table(path, has_request_header)
        except ReadError as exc:
            return ("error", exc.code, exc.message, exc.row, exc.column, exc.value)
    return ("read", raw.cells.to_numpy(dtype=object).tolist(), raw.row_numbers.tolist())


_QUOTE_CELLS = st.one_of(
    st.sampled_from(["a", "", '"', '"x', 'x"', '""', '"q"', '"a\tb"', '"two\nlines"', "2"]),
    st.text(alphabet='ab ,;"\t\r\n', max_size=5),
)


@given(
    st.lists(st.lists(_QUOTE_CELLS, min_size=1, max_size=4), min_size=1, max_size=6),
    st.sampled_from(["\t", ",", ";"]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_small_and_large_file_readers_agree_on_quote_marks(
    rows: list[list[str]], delimiter: str, eol: str
) -> None:
    """A stray quote mark is refused (or a file read) alike by the csv module and by Arrow
    with its fallbacks: every file is sent down the large-file path once."""
    from removal_batch.readers import text as reader

    data = eol.join(delimiter.join(r) for r in rows).encode()
    suffix = ".txt" if delimiter == "\t" else ".csv"
    small = _read_outcome(data, suffix)
    saved = reader.SMALL_TEXT_CHARS
    reader.SMALL_TEXT_CHARS = 0
    try:
        large = _read_outcome(data, suffix)
    finally:
        reader.SMALL_TEXT_CHARS = saved
    assert small == large


def test_title_rows_and_blank_lines_keep_the_row_numbers(tmp_path: Path, check) -> None:
    rows = [
        ["Removals for November"],
        [""],
        *request_rows([ROW])[:1],
        [""],
        *request_rows([ROW, {**ROW, "MerchantSKU": "ABC-1", "SellableQuantity": "x"}])[1:],
    ]
    result = check(write_delimited(tmp_path / "t.txt", rows))
    assert result.files[0].table.header_row == 3
    assert codes_at(result) == {(6, "N", "value-not-integer")}


def test_header_aliases_and_spelling_variants(tmp_path: Path, check) -> None:
    header = ["Order ID", "disposition", "SKU", "fulfillable_quantity", "Unfulfillable-Quantity"]
    rows = [header, ["R1", "Disposal", "00123", "1", "0"]]
    result = check(write_delimited(tmp_path / "a.csv", rows, sep=","))
    assert result.problems.empty
    assert result.files[0].table.rows["MerchantSKU"][0] == "00123"


@pytest.mark.parametrize(
    "mark",
    ["\u200b", "\u00ad", "\ufeff", "\u2060", "\u200e"],
    ids=["zwsp", "shy", "bom", "wj", "lrm"],
)
def test_an_invisible_character_does_not_hide_a_header(tmp_path: Path, check, mark: str) -> None:
    # Pasted along with a name, it made the column both missing and unknown at once.
    rows = request_rows([ROW])
    at = rows[0].index("MerchantSKU")
    rows[0][at] = "MerchantSKU" + mark
    rows[0][at + 1] = "Sellable" + mark + "Quantity"
    result = check(write_delimited(tmp_path / "h.txt", rows))
    assert result.problems.empty
    assert result.files[0].table.rows["MerchantSKU"][0] == "00123"


def test_bom_does_not_hide_the_first_header(tmp_path: Path, check) -> None:
    path = write_delimited(tmp_path / "b.csv", request_rows([ROW]), sep=",", encoding="utf-8-sig")
    assert check(path).problems.empty


def test_ragged_rows_and_classic_mac_line_endings(tmp_path: Path, check) -> None:
    header = [*REQUEST_HEADER, "Notes"]
    rows = request_rows(
        [ROW, {**ROW, "MerchantRemovalOrderID": "", "MerchantSKU": "ABC-1"}], header=header
    )
    rows[2] = rows[2][:-1]  # the last, empty cell left out, as some exports write
    path = tmp_path / "m.txt"
    path.write_text("\r".join("\t".join(r) for r in rows))
    result = check(path)
    assert result.files[0].rows == 2
    assert set(result.problems["code"]) <= {"header-unknown"}


# The columns of a Disposal request, for the tests of shifted rows.
_DISPOSAL_HEADER = [
    "MerchantRemovalOrderID",
    "RemovalDisposition",
    "MerchantSKU",
    "SellableQuantity",
    "UnsellableQuantity",
]


def _shifted_csv(rows: list[list[str]]) -> str:
    """Rows joined with commas and no quoting, as a hand-made export writes them."""
    return "".join(",".join(r) + "\n" for r in rows)


@pytest.mark.parametrize("size", ["small", "large"])
def test_a_csv_row_shifted_by_an_unquoted_comma_refuses_the_file(
    tmp_path: Path, check, size: str
) -> None:
    """A value holding the delimiter, unquoted, adds a cell: the values after it move one
    column right. With the row's last cell blank nothing stands past the header, and a SKU
    "AB,3" became SKU "AB" with 3 sellable units and the real quantity as unsellable: the
    file passed with quantities no one asked for. Refused whole, naming the row."""
    header = [*_DISPOSAL_HEADER, "ShippingNotes"]
    fill = [["G1", "Disposal", "00123", "1", "0", ""]] * (1 if size == "small" else 12_000)
    rows = [header, *fill, ["G2", "Disposal", "ABC-1,3", "1", "0", ""]]
    path = tmp_path / "shifted.csv"
    path.write_text(_shifted_csv(rows))
    if size == "large":
        assert path.stat().st_size > 256 * 1024  # past the small-file reader
    result = check(path)
    assert result.decision.lines.empty
    refused = result.problems[result.problems["code"] == "file-unreadable"]
    assert refused["row"].tolist() == [len(rows)]
    message = refused["message"].iloc[0]
    assert f"Row {len(rows):,} has more cells than the header row" in message
    assert "comma" in message and "double quotes" in message


def test_rows_padded_alike_and_notes_right_of_a_blank_row_are_no_shift(
    tmp_path: Path, check
) -> None:
    """What a longer record may be without a moved value: every data row padded with the
    same empty cells (the header not), and a note typed right of an otherwise blank row."""
    header = _DISPOSAL_HEADER
    rows = [
        header,
        ["G1", "Disposal", "00123", "1", "0", ""],
        ["", "", "ABC-1", "2", "0", ""],
        ["", "", "", "", "", "", "checked: Ann"],
    ]
    path = tmp_path / "padded.csv"
    path.write_text(_shifted_csv(rows))
    result = check(path)
    assert result.decision.lines["sku"].tolist() == ["00123", "ABC-1"]
    assert set(result.problems["code"]) == {"header-unknown"}


def test_padded_rows_holding_values_past_the_header_are_a_shift(tmp_path: Path, check) -> None:
    """Most rows one cell longer than the header is padding only while that cell is
    empty: a row with a value there moved its values (or holds a column no header names),
    and cannot be told from a shift."""
    header = _DISPOSAL_HEADER
    rows = [
        header,
        ["G1", "Disposal", "00123", "1", "0", ""],
        ["", "", "ABC-1", "2", "0", ""],
        ["G2", "Disposal", "ABC-1,3", "2", "0"],
    ]
    path = tmp_path / "padded.csv"
    path.write_text(_shifted_csv(rows))
    result = check(path)
    assert result.decision.lines.empty
    refused = result.problems[result.problems["code"] == "file-unreadable"]
    assert refused["row"].tolist() == [4]


def test_feed_shape_ends_as_the_same_frame(tmp_path: Path, check) -> None:
    feed = tmp_path / "feed.txt"
    lines = [f"{k}\t{v}" for k, v in {"MerchantRemovalOrderID": "F1", **RETURN_ADDRESS}.items()]
    feed.write_text(
        "\n".join(
            [
                *lines,
                "",
                "MerchantSKU\tSellableQuantity\tUnsellableQuantity",
                "00123\t1\t0",
                "ABC-1\t2\t0",
            ]
        )
        + "\n"
    )
    result = check(feed)
    assert result.problems.empty
    table = result.files[0].table
    assert table.shape == "feed"
    assert list(table.rows["MerchantRemovalOrderID"]) == ["F1", "F1"]
    assert list(table.rows["AddressPostalCode"]) == ["89502", "89502"]
    assert list(table.rows["source_row"]) == [12, 13]


@pytest.mark.parametrize("kind", ["text", "workbook"])
@pytest.mark.parametrize("disposition", ["Return", "Disposal"])
def test_a_feeds_address_line_held_as_a_date_is_refused_once_at_its_key_line(
    tmp_path: Path, check, kind: str, disposition: str
) -> None:
    """A feed holds its address once, on key lines: a unit typed 3-12 that Excel made a date
    (a date cell in the workbook, 12-Mar in the text it saved) is refused there, once, and
    holds the order; a Disposal feed's address is dropped, so it harms nothing."""
    keys = {
        "MerchantRemovalOrderID": "F1",
        **RETURN_ADDRESS,
        "RemovalDisposition": disposition,
        "AddressFieldTwo": "12-Mar",
    }
    rows = [[k, v] for k, v in keys.items()]
    rows += [[], ["MerchantSKU", "SellableQuantity", "UnsellableQuantity"]]
    rows += [["00123", "1", "0"], ["ABC-1", "2", "0"]]
    line = list(keys).index("AddressFieldTwo") + 1
    if kind == "text":
        path = tmp_path / "feed.txt"
        path.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    else:
        book = openpyxl.Workbook()
        for row in rows:
            book.active.append(row)
        book.active.cell(row=line, column=2, value=datetime.datetime(2026, 3, 12))
        path = tmp_path / "feed.xlsx"
        book.save(path)
    result = check(path)
    if disposition == "Disposal":
        assert codes(result) == {"address-ignored"}
        assert list(result.decision.orders["order_id"]) == ["F1"]
        return
    assert codes_at(result) == {(line, "B", "address-required")}
    (said,) = result.problems[result.problems["code"] == "address-required"]["message"]
    assert said.startswith("AddressFieldTwo ")
    assert "Excel turns an address line typed like 3-12" in said
    assert result.decision.orders.empty


def test_feed_without_item_header_says_what_is_missing(tmp_path: Path, check) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("MerchantRemovalOrderID\tF1\nRemovalDisposition\tDisposal\n00123\t1\t0\n")
    assert codes(check(feed)) == {"header-missing"}


_FEED_KEYS = [f"{k}\t{v}" for k, v in {"MerchantRemovalOrderID": "F1", **RETURN_ADDRESS}.items()]
_FEED_SKUS = ["", "MerchantSKU\tSellableQuantity\tUnsellableQuantity", "ABC-1\t2\t0"]


@pytest.mark.parametrize("partial", [False, True])
def test_a_second_order_pasted_into_a_feed_refuses_the_file(
    tmp_path: Path, check, partial: bool
) -> None:
    """A feed holds one order (SPEC 3.1). A second one pasted below the first was read as
    SKU lines of the first: with --allow-partial its SKUs went out under the first order's
    id and disposition, and the second order vanished. The file is refused at the row
    where the second order starts; the SKU header again below the SKUs is the same."""
    second = ["", "MerchantRemovalOrderID\tF2", "RemovalDisposition\tDisposal", *_FEED_SKUS]
    feed = tmp_path / "two.txt"
    feed.write_text("\n".join([*_FEED_KEYS, *_FEED_SKUS, *second]) + "\n")
    result = check(feed, settings=Settings(allow_partial=partial))
    first_sku_row = len(_FEED_KEYS) + 3
    assert codes_at(result) == {(first_sku_row + 2, "A", "header-duplicate")}
    (said,) = result.problems["message"]
    assert "holds the key line MerchantRemovalOrderID: a second order seems to be" in said
    assert result.decision.orders.empty
    again = tmp_path / "again.txt"
    again.write_text("\n".join([*_FEED_KEYS, *_FEED_SKUS, *_FEED_SKUS]) + "\n")
    result = check(again, settings=Settings(allow_partial=partial))
    assert codes_at(result) == {(first_sku_row + 2, "A", "header-duplicate")}
    assert "holds the SKU header of row" in result.problems["message"].iloc[0]


@pytest.mark.parametrize("suffix", [".csv", ".txt"])
def test_a_feed_key_line_with_two_values_refuses_the_file(
    tmp_path: Path, check, suffix: str
) -> None:
    """'AddressFieldOne,12 Main St, Apt 3' in a CSV: only column B was read, and the
    Return went out without its apartment, exit 0. A key line with a value past column B
    refuses the file, at that cell, as a table row with more cells than its header does."""
    sep = "," if suffix == ".csv" else "\t"
    keys = [k.replace("\t", sep) for k in _FEED_KEYS]
    line = next(i for i, k in enumerate(keys) if k.startswith("AddressFieldOne"))
    keys[line] += f"{sep} Apt 3"
    skus = [k.replace("\t", sep) for k in _FEED_SKUS]
    feed = tmp_path / f"comma{suffix}"
    feed.write_text("\n".join([*keys, *skus]) + "\n")
    result = check(feed)
    assert codes_at(result) == {(line + 1, "C", "file-unreadable")}
    (said,) = result.problems["message"]
    assert f"Row {line + 1} gives AddressFieldOne more than one value (" in said
    assert "'Apt 3'" in said and result.decision.orders.empty


def test_a_feed_value_one_tab_too_far_is_named_where_it_is(tmp_path: Path, check) -> None:
    """'RemovalDisposition<TAB><TAB>Disposal': the value sits in column C, and the order
    was told to enter a disposition on its first row, a SKU line."""
    keys = ["MerchantRemovalOrderID\tV1", "RemovalDisposition\t\tDisposal"]
    feed = tmp_path / "feed.txt"
    feed.write_text("\n".join([*keys, *_FEED_SKUS]) + "\n")
    result = check(feed)
    assert codes_at(result) == {(2, "C", "file-unreadable")}
    assert result.problems["message"].tolist() == [
        "Row 2 gives RemovalDisposition its value 'Disposal' in column C, not right after "
        "the name. Write it in column B (after one tab), so that it is read."
    ]


def test_a_feeds_blank_disposition_says_where_to_type_it(tmp_path: Path, check) -> None:
    keys = ["MerchantRemovalOrderID\tV1", "RemovalDisposition\t"]
    feed = tmp_path / "feed.txt"
    feed.write_text("\n".join([*keys, *_FEED_SKUS]) + "\n")
    result = check(feed)
    assert codes_at(result) == {(2, "B", "value-missing")}
    messages = result.problems.loc[result.problems["code"].eq("value-missing"), "message"]
    assert messages.tolist() == [
        "Order V1 has no RemovalDisposition. Enter Return or Disposal after the tab on its "
        "line at the top of the file."
    ]


def test_a_feeds_misspelt_sku_header_is_named_at_its_row(tmp_path: Path, check) -> None:
    """'MerchantSKU<TAB>Qty<TAB>Unsellable Qty' under the key lines was told only "No
    header row found", though the file is plainly a feed: its SKU header row is named."""
    skus = ["", "MerchantSKU\tQty\tUnsellable Qty", "ABC-1\t2\t0"]
    feed = tmp_path / "feed.txt"
    feed.write_text("\n".join([*_FEED_KEYS, *skus]) + "\n")
    result = check(feed)
    row = len(_FEED_KEYS) + 2
    assert codes_at(result) == {(row, "A", "header-missing")}
    (said,) = result.problems["message"]
    assert f"row {row}, which starts the list of SKUs, reads 'MerchantSKU', 'Qty'" in said


def test_only_key_lines_and_blank_lines_stand_above_a_feeds_skus(tmp_path: Path, check) -> None:
    """SPEC 3.1: a feed is its key lines, a blank line, then the SKUs. A line among the
    keys shaped like one but naming no field (a misspelt key, a title) is ignored with a
    warning, as an unknown column of a table is (it had refused the whole file as
    header-missing); a line of another shape (a SKU line above the SKU header) is refused,
    and named."""
    keys = [f"{k}\t{v}" for k, v in {"MerchantRemovalOrderID": "F1", **RETURN_ADDRESS}.items()]
    skus = ["", "MerchantSKU\tSellableQuantity\tUnsellableQuantity", "ABC-1\t2\t0"]
    feed = tmp_path / "feed.txt"
    feed.write_text("\n".join([*keys, *skus]) + "\n")
    assert check(feed).problems.empty
    for extra, message in [
        (
            "Removals for November",
            "Row 1 names 'Removals for November', which is not a "
            "removal field; the line is ignored.",
        ),
        (
            "ShipNotes\tRing twice",
            "Row 1 names 'ShipNotes', which is not a removal field; "
            "the line is ignored. If it was meant as ShippingNotes, write ShippingNotes instead.",
        ),
    ]:
        (tmp_path / "extra.txt").write_text("\n".join([extra, *keys, *skus]) + "\n")
        result = check(tmp_path / "extra.txt")
        assert codes_at(result) == {(1, "A", "header-unknown")}
        assert result.problems["message"].tolist() == [message]
        assert result.decision.orders["order_id"].tolist() == ["F1"]
    # Nor a SKU line of two cells (its unsellable count left out), read as a key.
    (tmp_path / "two.txt").write_text("\n".join([*keys[:2], "ABC-1\t2", *keys[2:], *skus]))
    assert codes(check(tmp_path / "two.txt")) == {"header-missing"}
    stray = tmp_path / "stray.txt"
    stray.write_text("\n".join([*keys[:2], "00123\t1\t0", *keys[2:], *skus]) + "\n")
    result = check(stray)
    assert result.files[0].table is None
    assert codes(result) == {"header-missing"}
    # Named as the stray line it is, not as order columns missing from the SKU header.
    (problem,) = result.problems.itertuples()
    assert (problem.row, problem.column) == (3, "A")
    assert "row 3 ('00123 1 0') is neither a key line nor blank" in problem.message


def _workbook(
    path: Path,
    rows: list[list[object]],
    sheet: str = "Removal Request",
    first: list[list[object]] | None = None,
) -> Path:
    book = openpyxl.Workbook()
    if first is not None:
        book.active.title = "Instructions"
        for row in first:
            book.active.append(row)
        ws = book.create_sheet(sheet)
    else:
        ws = book.active
        ws.title = sheet
    for row in rows:
        ws.append(row)
    book.save(path)
    return path


def test_a_sheet_with_one_key_like_line_is_not_taken_for_a_feed(tmp_path: Path, check) -> None:
    """An instructions sheet whose first cell is a column name ("Disposition") is not a
    one-order feed: the sheet holding the requests is the one read."""
    rows = request_rows([ROW])
    book = _workbook(
        tmp_path / "book.xlsx",
        rows,
        sheet="Requests",
        first=[["Disposition", "Return or Disposal"], ["Fill in the Requests sheet."]],
    )
    result = check(book)
    assert result.files[0].sheet == "Requests"
    assert result.problems.empty


def test_workbook_round_trip_keeps_identifiers_exactly(tmp_path: Path, check) -> None:
    header = request_rows([])[0]
    values = {
        **ROW,
        "MerchantRemovalOrderID": "R1",
        "AddressPostalCode": "02134",
        "AddressStateOrRegion": "MA",
        "ShippingNotes": '=HYPERLINK("x")',
    }
    rows: list[list[object]] = [header]
    rows.append([values.get(h, "") for h in header])
    # A numeric SKU typed as a number, and Excel's numeric quantities.
    rows.append(["", "", "", "", "", "", "", "", "", "", "", "", 123456789012, 5.0, 2])
    rows.append(["", "", "", "", "", "", "", "", "", "", "", "", "Ünïcødé-SKU", None, 1])
    path = _workbook(tmp_path / "r.xlsx", rows)
    # openpyxl stores "=..." as a formula unless told it is a string.
    book = openpyxl.load_workbook(path)
    cell = book["Removal Request"]["L2"]
    cell.value, cell.data_type = '=HYPERLINK("x")', "s"
    book.save(path)
    result = check(path)
    table = result.files[0].table
    assert list(table.rows["MerchantSKU"]) == ["00123", "123456789012", "Ünïcødé-SKU"]
    assert list(table.rows["SellableQuantity"]) == ["1", "5", ""]
    assert table.rows["AddressPostalCode"][0] == "02134"
    assert table.rows["AddressName"][0] == "Zoë Café"
    assert table.rows["ShippingNotes"][0] == '=HYPERLINK("x")'
    assert "nan" not in set(table.rows.to_numpy().ravel())
    assert result.files[0].sheet == "Removal Request"


def test_a_long_number_whose_last_digits_excel_lost_is_no_other_sku(tmp_path: Path) -> None:
    """Excel keeps 15 significant digits: a SKU typed 1234567890123456 into a number
    cell is saved as 1234567890123450, read as that, the snapshot's neighbouring SKU, and
    its units removed. And a program's 9007199254740993 is a double's 9007199254740992.
    Both are refused as a long number that lost its digits; a program's 16 digits that
    Excel could not have changed (not ending in 0, below 2**53) read as written."""
    from removal_batch.core.settings import Settings
    from removal_batch.pipeline import run_batch

    snapshot = write_delimited(
        tmp_path / "inventory.txt",
        [
            list(INVENTORY_HEADER),
            ["1234567890123450", "X1", "B1", "Neighbour", "10", "0", "0"],
            ["1234567890123456", "X2", "B2", "Meant", "10", "0", "0"],
            ["9007199254740992", "X3", "B3", "Neighbour", "10", "0", "0"],
        ],
    )
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    skus = [1234567890123450, 9007199254740993, 1234567890123456]
    rows = [header] + [[f"D{i}", "Disposal", sku, 1, 0] for i, sku in enumerate(skus)]
    result = run_batch([_workbook(tmp_path / "long.xlsx", rows)], snapshot, Settings())
    assert list(result.decision.orders["order_id"]) == ["D2"]
    unknown = result.problems[result.problems["code"].eq("sku-unknown")]
    assert unknown["row"].tolist() == [2, 3]
    assert unknown["message"].str.contains("scientific notation, which loses its digits").all()


def test_an_order_id_whose_last_digits_excel_lost_says_so(tmp_path: Path, check) -> None:
    """An order id typed as a 16-digit number is kept to 15 by Excel and read as Excel
    shows it, 1.23456789012345e+15: refused, as before, but said why, as for a SKU."""
    row = {**ROW, "MerchantRemovalOrderID": 1234567890123450}
    header = request_rows([])[0]
    rows = [header, [row.get(h, "") for h in header]]
    result = check(_workbook(tmp_path / "id.xlsx", rows))
    said = result.problems.loc[result.problems["code"].eq("order-id-invalid"), "message"]
    assert said.tolist() == [
        "MerchantRemovalOrderID '1.23456789012345e+15' is a number Excel turned into "
        "scientific notation, which loses its last digits. Format the column as Text and "
        "type the order id again."
    ]


def test_workbook_picks_the_removal_request_sheet(tmp_path: Path, check) -> None:
    rows = request_rows([ROW])
    path = _workbook(tmp_path / "s.xlsx", rows, first=[["Fill in the next sheet"]])
    result = check(path)
    assert result.files[0].sheet == "Removal Request"
    assert result.problems.empty


def test_the_removal_request_sheet_wins_over_an_earlier_table(tmp_path: Path, check) -> None:
    """SPEC 3.1: the sheet named "Removal Request" is used if it exists, even when an
    earlier sheet (last month's requests, say) has a header too."""
    earlier = request_rows([{**ROW, "MerchantRemovalOrderID": "OLD-1"}])
    path = _workbook(tmp_path / "s.xlsx", request_rows([ROW]), first=earlier)
    result = check(path)
    assert result.files[0].sheet == "Removal Request"
    assert set(result.files[0].table.rows["MerchantRemovalOrderID"]) == {
        ROW["MerchantRemovalOrderID"]
    }


def test_a_hidden_sheet_is_not_read(tmp_path: Path, check) -> None:
    """Only visible sheets count: a hidden first sheet of old requests is passed over."""
    book = openpyxl.Workbook()
    hidden = book.active
    hidden.title = "Archive"
    for row in request_rows([{**ROW, "MerchantRemovalOrderID": "OLD-1"}]):
        hidden.append(row)
    hidden.sheet_state = "hidden"
    current = book.create_sheet("November")
    for row in request_rows([ROW]):
        current.append(row)
    book.active = 1
    book.save(tmp_path / "h.xlsx")
    result = check(tmp_path / "h.xlsx")
    assert result.files[0].sheet == "November"
    assert result.problems.empty


def _book(path: Path, sheets: list[tuple[str, list[list[str]]]], hidden: str = "") -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
        if title == hidden:
            sheet.sheet_state = "hidden"
    book.active = next(i for i, (t, _) in enumerate(sheets) if t != hidden)
    book.save(path)
    return path


def test_the_sheet_with_a_whole_request_header_wins_over_earlier_tables(
    tmp_path: Path, check
) -> None:
    """An inventory report pasted in as the first sheet, or a summary naming SKU and
    quantity columns, has a header too: the first sheet with every required column is
    read, not the whole file refused for the first sheet's sake."""
    inventory = [["sku", "fnsku", "afn-fulfillable-quantity", "afn-unsellable-quantity"]]
    summary = [["MerchantSKU", "SellableQuantity"], ["00123", "1"]]
    for first in (inventory + [["00123", "X1", "5", "0"]], summary):
        path = _book(tmp_path / "w.xlsx", [("First", first), ("Requests", request_rows([ROW]))])
        result = check(path)
        assert result.files[0].sheet == "Requests"
        assert result.problems.empty
        assert result.files[0].other_request_sheets == []


def test_a_second_sheet_of_requests_is_named_as_not_read(tmp_path: Path, check) -> None:
    """One sheet of a workbook is read (SPEC 3.1); requests on another would go unsent
    without a word, so the sheets holding a whole request table are named."""
    later = request_rows([{**ROW, "MerchantRemovalOrderID": "D9"}])
    notes = [["Fill in the Returns sheet"]]
    path = _book(
        tmp_path / "two.xlsx",
        [("Returns", request_rows([ROW])), ("Notes", notes), ("Disposals", later)],
    )
    result = check(path)
    (outcome,) = result.files
    assert outcome.sheet == "Returns" and outcome.other_request_sheets == ["Disposals"]
    from removal_batch.writers.terminal import other_sheets_line

    assert other_sheets_line("two.xlsx", "Returns", ["Disposals"]) == (
        "two.xlsx: only sheet 'Returns' was read; sheet 'Disposals' also holds a request "
        "table, which was not checked or sent. Move those rows into one sheet, or save each "
        "sheet as a file of its own."
    )


def test_a_large_other_sheet_is_not_read_to_name_it(
    tmp_path: Path, check, monkeypatch: pytest.MonkeyPatch
) -> None:
    """calamine parses an .xlsx sheet whole: a sales report of a million rows beside the
    requests cost seconds only to learn it holds none. Sheets over the size are skipped."""
    from removal_batch.readers import workbook
    from removal_batch.readers.sheet_xml import sheet_sizes

    later = request_rows([{**ROW, "MerchantRemovalOrderID": "D9"}])
    path = _book(tmp_path / "two.xlsx", [("Returns", request_rows([ROW])), ("Disposals", later)])
    sizes = sheet_sizes(path)
    assert set(sizes) == {"Returns", "Disposals"} and all(v > 100 for v in sizes.values())
    monkeypatch.setattr(workbook, "OTHER_SHEET_MOST_BYTES", sizes["Disposals"] - 1)
    (outcome,) = check(path).files
    assert outcome.sheet == "Returns" and outcome.other_request_sheets == []


def test_a_hidden_removal_request_sheet_is_still_the_one_read(tmp_path: Path, check) -> None:
    """SPEC 3.1: the sheet named "Removal Request" is used if it exists, hidden or not."""
    path = _book(
        tmp_path / "h.xlsx",
        [("Cover", [["Removals, November"]]), ("Removal Request", request_rows([ROW]))],
        hidden="Removal Request",
    )
    result = check(path)
    assert result.files[0].sheet == "Removal Request"
    assert result.problems.empty


def test_workbook_rows_and_columns_match_excel_with_an_offset_table(tmp_path: Path, check) -> None:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Sheet1"
    header = request_rows([])[0]
    for j, name in enumerate(header):
        ws.cell(row=3, column=2 + j, value=name)
    bad = {**ROW, "SellableQuantity": "x"}
    for j, name in enumerate(header):
        ws.cell(row=4, column=2 + j, value=bad.get(name, "") or None)
    book.save(tmp_path / "o.xlsx")
    result = check(tmp_path / "o.xlsx")
    assert codes_at(result) == {(4, "O", "value-not-integer")}


def test_read_table_never_returns_non_text(tmp_path: Path) -> None:
    import datetime as dt

    path = _workbook(
        tmp_path / "t.xlsx",
        [["MerchantSKU", "SellableQuantity"], [dt.date(2024, 1, 2), 1.5], [True, 1e20]],
    )
    raw = read_table(path, has_request_header)
    assert {type(v) for v in raw.cells.to_numpy().ravel()} == {str}
    assert raw.cells.iloc[1].tolist() == ["2024-01-02", "1.5"]
    assert raw.cells.iloc[2].tolist() == ["TRUE", "1e+20"]


@pytest.mark.parametrize(
    ("text", "delimiter", "quoting"),
    [
        ("a\tb\tc\r\n1\t2\t3\r\n", "\t", False),
        ('a,b\n"x, y","say ""hi"""\n"two\nlines",z\n', ",", True),
        ('sku\tname\n00123\tGadget 12" wide\n', "\t", True),
        ("a;b\r1;\r;2\r", ";", True),
        ("a,b\n,\n ,  \nx,y", ",", True),
        ("only\none\ncolumn\n", "\t", False),
        ("caf\u00e9\tna\u00efve\n\u00fc\u00f1\t\u2603\n", "\t", False),
    ],
)
def test_small_and_large_file_readers_agree(text: str, delimiter: str, quoting: bool) -> None:
    """Small files go through the csv module, large ones through Arrow: same cells."""
    from removal_batch.readers import text as reader

    width = max(len(r) for r in reader._split(text, delimiter, quoting))
    by_arrow = reader._parse_arrow(text.encode(), delimiter, quoting and '"' in text, width)
    by_csv = reader._parse_ragged(text, delimiter, quoting).cells
    assert by_arrow is not None
    assert by_arrow.to_numpy(dtype=object).tolist() == by_csv.to_numpy(dtype=object).tolist()


_CELL_VALUES = st.one_of(
    st.text(max_size=5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**18), max_value=10**18),
    st.booleans(),
    st.none(),
    st.dates(),
    st.datetimes(),
)


@given(st.lists(_CELL_VALUES, min_size=1, max_size=30))
def test_workbook_columns_become_text_as_cell_by_cell(values: list[object]) -> None:
    """The column-at-once conversion gives cell_text's answer for every typed cell."""
    import numpy as np

    from removal_batch.readers.workbook import _column_text, cell_text

    column = np.empty(len(values), dtype=object)
    column[:] = values
    text, dates = _column_text(column)
    assert text.to_pylist() == [cell_text(v) for v in values]
    held = (datetime.date, datetime.time, datetime.timedelta)
    assert dates.tolist() == [i for i, v in enumerate(values) if isinstance(v, held)]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (0.1 + 0.2, "0.3"),  # Excel shows 15 significant digits, not the float's 17
        (1 / 3, "0.333333333333333"),
        (5.0, "5"),
        (123456789012345.0, "123456789012345"),  # 15 digits: all kept as typed
        (1234567890123456.0, "1234567890123456"),  # a program's: Excel makes the last a 0
        # Excel's of a typed 1234567890123456, and a number past 2**53 (2**53 + 2): their
        # last digits may not be the ones typed or written.
        (1234567890123450.0, "1.23456789012345e+15"),
        (9007199254740994.0, "9.00719925474099e+15"),
        (float("nan"), ""),
        (True, "TRUE"),
        (False, "FALSE"),
        (datetime.datetime(2026, 3, 12), "2026-03-12"),  # midnight: the date alone
        (datetime.datetime(2026, 3, 12, 8, 30), "2026-03-12T08:30:00"),
        (None, ""),
    ],
)
def test_a_typed_cell_reads_as_excel_shows_it(value: object, shown: str) -> None:
    from removal_batch.readers.workbook import cell_text

    assert cell_text(value) == shown


@pytest.mark.parametrize("value", [2134.0, 1.5, 1234567890123456.0, 1234567890123450.0, 2.0**60])
def test_an_xls_number_reads_alike_in_a_padded_style(value: float) -> None:
    """An .xls number in a zero-padding or fixed-decimal style is read by xlrd, not
    calamine: its text before the padding is any workbook cell's."""
    from removal_batch.readers.workbook import cell_text
    from removal_batch.readers.xls_cells import _number_text

    assert _number_text(value) == cell_text(value)


def test_a_bom_is_not_part_of_the_first_cell(tmp_path: Path, check) -> None:
    """The first header cell of a small CSV with a BOM reads without it (a message quoting
    an unknown first column would otherwise show an invisible character)."""
    rows = request_rows([ROW])
    rows = [["Notes", *rows[0]], *[["", *r] for r in rows[1:]]]
    result = check(write_delimited(tmp_path / "b.csv", rows, sep=",", encoding="utf-8-sig"))
    assert codes_at(result) == {(1, "A", "header-unknown")}
    assert list(result.problems["value"]) == ["Notes"]


def test_a_table_of_rows_builds_its_frame_only_when_asked() -> None:
    """Small text files keep their rows as lists; the frame, when built, is the same text."""
    from removal_batch.core.raw_table import raw_table_from_rows

    raw = raw_table_from_rows("r.txt", [["a", " b"], ["c"], []])
    assert (raw.height, raw.width) == (3, 2)
    assert raw._cells is None  # nothing asked for the frame yet
    assert raw.cells.to_numpy(dtype=object).tolist() == [["a", " b"], ["c", ""], ["", ""]]
    assert [str(t) for t in raw.cells.dtypes] == ["str", "str"]
    assert (raw.height, raw.width) == (3, 2)
    empty = raw_table_from_rows("e.txt", [])
    assert (empty.height, empty.width) == (0, 0)


@pytest.mark.parametrize("snapshot_text", ["not\tan\tinventory\n", None], ids=["bad", "missing"])
def test_a_workbook_read_begun_before_a_bad_snapshot_leaves_no_process(
    tmp_path: Path, snapshot_text: str | None
) -> None:
    """check starts reading the first workbook in a child process, then the snapshot;
    when the snapshot stops the run (bad, or not there at all), that child is stopped
    and reaped."""
    import os

    from removal_batch.core.settings import Settings
    from removal_batch.pipeline import UsageError, run_batch

    path = _workbook(tmp_path / "r.xlsx", request_rows([ROW]))
    snapshot = tmp_path / "inventory.txt"
    if snapshot_text is not None:
        snapshot.write_text(snapshot_text, encoding="utf-8")
    with pytest.raises(UsageError):
        run_batch([path], snapshot, Settings())
    with pytest.raises(ChildProcessError):  # no child left, running or unreaped
        os.waitpid(-1, os.WNOHANG)


# Whitespace and near-whitespace at either end: ASCII and Unicode spaces, controls, and
# characters whose UTF-8 form starts or ends with a byte that is not printable ASCII.
_EDGE_TEXT = st.text(
    alphabet=st.sampled_from(list('aZ09-_." \t\r\n\x0b\x0c\x1c\x1f\x7f\xa0é\u2003\u3000😀')),
    max_size=6,
)


@given(st.lists(_EDGE_TEXT, min_size=1, max_size=40), st.integers(0, 5))
def test_strip_text_trims_as_pandas_does(values: list[str], skip: int) -> None:
    """strip_text skips the trim when no value can start or end with whitespace; whatever
    the values (and a slice of them, as a table's body is), it gives pandas' result, and
    trim_text tells the values left empty as comparing them with "" does."""
    import pandas as pd

    from removal_batch.core.fields import strip_text, trim_text
    from removal_batch.core.raw_table import TEXT

    series = pd.Series(values, dtype=TEXT).iloc[skip:]
    expected = series.str.strip()
    assert strip_text(series).tolist() == expected.tolist()
    assert trim_text(series).filled.tolist() == expected.ne("").tolist()


@given(st.lists(st.sampled_from(["A1", "", " ", "\t", "B 2 "]), min_size=1, max_size=12))
def test_long_and_short_tables_keep_the_same_rows_and_numbers(skus: list[str]) -> None:
    """Tables over SMALL_TABLE_ROWS are stripped column by column, shorter ones as one
    array; with blank rows among them or none, both keep the same rows under the same row
    numbers."""
    from removal_batch.core import shape
    from removal_batch.core.raw_table import raw_table_from_rows

    rows = request_rows([{**ROW, "MerchantSKU": sku} if sku.strip() else {} for sku in skus])
    frames = []
    for limit in (0, 10_000):  # every table long, then every table short
        original, shape.SMALL_TABLE_ROWS = shape.SMALL_TABLE_ROWS, limit
        try:
            table = shape.recognise_request(raw_table_from_rows("t.txt", rows)).table
        finally:
            shape.SMALL_TABLE_ROWS = original
        frames.append(None if table is None else table.rows)
    kept = [n + 2 for n, sku in enumerate(skus) if sku.strip()]
    if not kept:  # nothing but blank rows: no table either way (file-empty)
        assert frames == [None, None]
        return
    long, short = frames
    assert long is not None and short is not None
    assert long.to_numpy(dtype=object).tolist() == short.to_numpy(dtype=object).tolist()
    assert long["source_row"].tolist() == kept


@given(
    st.lists(st.lists(st.one_of(st.none(), _EDGE_TEXT), max_size=8), min_size=1, max_size=4),
    st.integers(0, 5),
    st.booleans(),
)
def test_non_empty_reads_the_offsets_as_comparing_with_empty_does(
    chunks: list[list[str | None]], skip: int, large: bool
) -> None:
    """non_empty reads lengths off the Arrow offsets: for missing values, a slice, several
    chunks and both offset widths it tells what comparing with "" does."""
    import pandas as pd
    import pyarrow as pa

    from removal_batch.core.fields import non_empty
    from removal_batch.core.raw_table import TEXT

    kind = pa.large_string() if large else pa.string()
    array = pa.chunked_array([pa.array(c, type=kind) for c in chunks], type=kind)
    series = pd.Series(pd.array(array, dtype=TEXT)).iloc[skip:]
    expected = series.fillna("").ne("").tolist()
    assert non_empty(series).tolist() == expected
    # A value marked missing whose bytes are still in the data buffer is empty too.
    filled = pa.array(["ab", "cd", ""], type=kind)
    masked = pa.Array.from_buffers(
        kind, 3, [pa.py_buffer(bytes([0b101])), *filled.buffers()[1:]], null_count=1
    )
    assert non_empty(pd.Series(pd.array(masked, dtype=TEXT))).tolist() == [True, False, False]


def test_strip_text_takes_the_trim_for_any_unsafe_edge() -> None:
    import pandas as pd

    from removal_batch.core.fields import strip_text
    from removal_batch.core.raw_table import TEXT

    plain = pd.Series(["A1", "b", "", "x y"], dtype=TEXT)
    assert strip_text(plain) is plain  # nothing to trim: the values themselves
    for edge in (" A1", "A1\t", "\u00a0A1", "A1\u3000", "\x1fA1"):
        values = pd.Series(["B2", edge], dtype=TEXT)
        assert strip_text(values) is not values  # the real trim was taken
        assert strip_text(values).tolist() == values.str.strip().tolist()


def _large_text(tail: str) -> str:
    """A text file past the small-file size, whose last row (``tail``) lies far beyond
    the head that delimiter and header detection decode."""
    from removal_batch.readers.text import PEEK_CHARS

    rows = ["MerchantSKU\tSellableQuantity"]
    rows += [f"SKU-{i:07d}\t1" for i in range(PEEK_CHARS // 12)]
    return "\n".join([*rows, tail]) + "\n"


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252"), ("utf-16", "utf-16")],
)
def test_a_large_file_is_decoded_whole_where_it_is_not_utf8(
    tmp_path: Path, encoding: str, expected: str
) -> None:
    """A large UTF-8 file goes to Arrow as bytes with only its head decoded; the encoding
    is still judged on the whole file: an 'é' beyond the head makes a cp1252 file cp1252."""
    text = _large_text("Caf\u00e9-\u00e9t\u00e9\t2")
    path = tmp_path / "big.txt"
    path.write_bytes(text.encode(encoding))
    raw = read_table(path, has_request_header)
    assert raw.encoding == expected
    assert raw.height == text.count("\n")
    assert raw.cells.iloc[-1].tolist() == ["Caf\u00e9-\u00e9t\u00e9", "2"]
    assert raw.cells.iloc[1].tolist() == ["SKU-0000000", "1"]


def test_a_large_file_valid_in_no_supported_encoding_is_refused(tmp_path: Path) -> None:
    from removal_batch.readers import ReadError

    path = tmp_path / "big.txt"
    # 0x81 is undefined in cp1252 and a stray continuation byte in UTF-8.
    head = _large_text("X").encode()
    path.write_bytes(head + b"bad\x81\t1\n")
    with pytest.raises(ReadError) as caught:
        read_table(path, has_request_header)
    assert caught.value.code == "file-encoding"
    # Where a text editor shows it: a line, not a byte offset counted from 0.
    line = head.count(b"\n") + 1
    assert caught.value.row == line
    assert caught.value.message.startswith(f"Line {line:,} holds a byte (0x81, the file's byte")


def test_a_large_file_of_blank_lines_is_empty_unless_text_follows(tmp_path: Path) -> None:
    from removal_batch.readers import ReadError
    from removal_batch.readers.text import PEEK_CHARS

    path = tmp_path / "blank.txt"
    path.write_bytes(b" \t\n" * PEEK_CHARS)
    with pytest.raises(ReadError) as caught:
        read_table(path, has_request_header)
    assert caught.value.code == "file-empty"
    # Text after a head of spaces: the file is not empty.
    path.write_bytes(
        b" " * (PEEK_CHARS + 10) + "\nMerchantSKU\tSellableQuantity\n\u00e9\t1\n".encode()
    )
    raw = read_table(path, has_request_header)
    assert raw.cells.iloc[-1].tolist() == ["\u00e9", "1"]


@given(
    st.lists(
        st.one_of(
            st.binary(max_size=4),
            st.sampled_from(
                [b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\xef\xbb\xbf"]
            ),
            st.text(max_size=3).map(str.encode),
        ),
        max_size=8,
    ).map(b"".join)
)
def test_arrow_judges_utf8_as_python_does(data: bytes) -> None:
    """A large file's UTF-8 is checked by Arrow in place, not by decoding it: the verdict
    is Python's, surrogates, overlong forms and cut sequences included."""
    from removal_batch.readers.text import _valid_utf8

    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        valid = False
    else:
        valid = True
    assert _valid_utf8(data) == valid


@given(
    st.lists(st.sampled_from([10, 13, 0, 65, 255]), max_size=300).map(bytes),
    st.sampled_from([10, 13, 0, 255]),
)
def test_byte_count_matches_bytes_count_across_slices(data: bytes, value: int) -> None:
    """The newline count that guards a huge file's parse: numpy, slice by slice (slices of
    7 bytes here, so values fall on every kind of boundary), equals bytes.count."""
    from removal_batch.readers import text

    saved = text.COUNT_SLICE
    text.COUNT_SLICE = 7
    try:
        assert text._count_byte(data, value) == data.count(bytes([value]))
    finally:
        text.COUNT_SLICE = saved


@pytest.mark.parametrize("blank_lines", [False, True], ids=["arrow", "c-parser"])
def test_a_large_text_file_reports_the_rows_a_text_editor_shows(
    tmp_path: Path, check, blank_lines: bool
) -> None:
    """Files over SMALL_TEXT_CHARS are read by Arrow (or, with empty lines among the rows,
    pandas' C parser), not the csv module: their row numbers must still be the editor's."""
    from removal_batch.readers.text import SMALL_TEXT_CHARS

    header = (
        "MerchantRemovalOrderID\tRemovalDisposition\tMerchantSKU\tSellableQuantity\t"
        "UnsellableQuantity\n"
    )
    line = "\t\t\t\t\n"  # as Excel exports rows left empty: skipped, but counted
    count = SMALL_TEXT_CHARS // len(line) + 10
    lines = ["D1\tDisposal\tSKU-4\t1\t0\n", *[line] * count]
    lines[count - 5] = "D2\tDisposal\tSKU-4\tmany\t0\n"  # row count - 3: list index + 2
    if blank_lines:
        lines.insert(100, "\n")  # an empty line is a row too: the bad one moves down
    path = tmp_path / "large.txt"
    path.write_text(header + "".join(lines))
    assert path.stat().st_size > SMALL_TEXT_CHARS
    result = check(path)
    bad_row = count - 3 + (1 if blank_lines else 0)
    bad = result.problems[result.problems["code"].eq("value-not-integer")]
    assert bad[["row", "column", "value"]].values.tolist() == [[bad_row, "D", "many"]]


@pytest.mark.parametrize("name", ["saved-as.xls", "saved-as.txt", "saved-as.csv"])
def test_a_workbook_under_another_name_is_read_by_its_content(tmp_path: Path, name: str) -> None:
    # Renamed by hand or by an export: Excel opens it (after a warning), so do we.
    sample = Path(__file__).resolve().parents[1] / "sample_files" / "inbox"
    original = sample / "removal-request-2026-11.xlsx"
    renamed = tmp_path / name
    renamed.write_bytes(original.read_bytes())
    expected = read_table(original, has_request_header)
    raw = read_table(renamed, has_request_header)
    assert raw.sheet == expected.sheet == "Removal Request"
    assert raw.cells.equals(expected.cells)
    assert list(raw.row_numbers) == list(expected.row_numbers)


def test_numbers_in_excels_zip_code_format_read_with_their_zeros(tmp_path: Path, check) -> None:
    """Excel's advice for ZIP codes is the Zip Code format (00000): the cell holds 2134 and
    shows 02134. The cell is read as shown, on the request sheet even when it is the
    second, and a SKU in a 00000 column finds the snapshot's 00123. A ZIP typed as text,
    and a number in an ordinary cell, are read as they are."""
    header = request_rows([])[0]
    zip_col, sku_col = header.index("AddressPostalCode"), header.index("MerchantSKU")
    first = {**ROW, "AddressStateOrRegion": "MA", "AddressPostalCode": 2134, "MerchantSKU": 123}
    second = {**first, "MerchantRemovalOrderID": "R2", "AddressPostalCode": 21341234}
    typed = {**first, "MerchantRemovalOrderID": "R3", "AddressPostalCode": "2134"}
    plain = {**first, "MerchantRemovalOrderID": "R4", "AddressPostalCode": 2134}
    rows: list[list[object]] = [header] + [
        [r.get(h, "") for h in header] for r in (first, second, typed, plain)
    ]
    # A padded number on the first sheet, at the same place: it must not lend its format.
    path = _workbook(tmp_path / "z.xlsx", rows, first=[["note"], [7]])
    book = openpyxl.load_workbook(path)
    book["Instructions"]["A2"].number_format = "00000"
    sheet = book["Removal Request"]
    zip_letter = openpyxl.utils.get_column_letter(zip_col + 1)
    sku_letter = openpyxl.utils.get_column_letter(sku_col + 1)
    for row in (2, 4):
        sheet[f"{zip_letter}{row}"].number_format = "00000"
    sheet[f"{zip_letter}3"].number_format = "00000\\-0000"
    for row in (2, 3, 4, 5):
        sheet[f"{sku_letter}{row}"].number_format = "00000"
    book.save(path)
    result = check(path)
    table = result.files[0].table.rows
    assert list(table["AddressPostalCode"]) == ["02134", "02134-1234", "2134", "2134"]
    assert list(table["MerchantSKU"]) == ["00123"] * 4
    assert codes_at(result) == {
        (4, zip_letter, "postal-code-invalid"),
        (5, zip_letter, "postal-code-invalid"),
    }


def test_a_sku_in_excels_number_format_reads_with_its_trailing_zeros(tmp_path: Path) -> None:
    """A SKU typed 1.50 into a cell of Excel's Number format (0.00, built-in: styles.xml
    names it by id alone) is held as 1.5 and shown 1.50. Read as 1.5, it took the
    snapshot's other product "1.5"; read as shown, it is "1.50". A fraction the format
    rounds (1.505 shown 1.51) keeps the digits typed, and a whole number in it reads as
    that integer (SPEC 3.1: 2, not 2.00)."""
    from removal_batch.core.settings import Settings
    from removal_batch.pipeline import run_batch

    snapshot = write_delimited(
        tmp_path / "inventory.txt",
        [
            list(INVENTORY_HEADER),
            ["1.5", "X1", "B1", "Other", "10", "0", "0"],
            ["1.50", "X2", "B2", "Meant", "10", "0", "0"],
            ["2", "X3", "B3", "Two", "10", "0", "0"],
            ["001.25", "X4", "B4", "Padded", "10", "0", "0"],
        ],
    )
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    rows: list[list[object]] = [header]
    cells = [(1.5, "0.00"), (1.505, "0.00"), (2, "0.00"), (1.25, "000.00"), (0.1 + 0.2, "0.00")]
    rows += [[f"D{i}", "Disposal", sku, 1, 0] for i, (sku, _) in enumerate(cells)]
    path = _workbook(tmp_path / "d.xlsx", rows)
    book = openpyxl.load_workbook(path)
    for i, (_, code) in enumerate(cells):
        book["Removal Request"].cell(row=i + 2, column=3).number_format = code
    book.save(path)
    result = run_batch([path], snapshot, Settings())
    skus = result.files[0].table.rows["MerchantSKU"]
    assert list(skus) == ["1.50", "1.505", "2", "001.25", "0.30"]
    unknown = {(row, column) for row, column, code in codes_at(result) if code == "sku-unknown"}
    assert unknown == {(3, "C"), (6, "C")}  # 1.505 and 0.30: in no snapshot row


@pytest.mark.parametrize(
    ("code", "groups", "separators"),
    [
        ("00000", (5,), []),
        ("00000\\-0000", (5, 4), ["-"]),
        ('000"-"00"-"0000', (3, 2, 4), ["-", "-"]),
        ("000 000", (3, 3), [" "]),
        ("0", None, None),
        ("0.00", (1,), []),  # fixed decimals: (see the test just above)
        ("000.00", (3,), []),
        ("#,##0.00", None, None),
        ("#,##0", None, None),
        ("@", None, None),
        # The first section is the one for the positive numbers read here.
        ("00000;[Red]-00000", (5,), []),
        ("00000;-00000", (5,), []),
        ('"0"0000', (5,), []),
        ("00000_)", (5,), []),
        ("[$-409]00000", (5,), []),
        ("[<=9999999]###-####;(###) ###-####", None, None),
    ],
)
def test_only_formats_of_zeros_and_separators_pad(
    code: str, groups: tuple[int, ...] | None, separators: list[str] | None
) -> None:
    from removal_batch.readers.sheet_xml import padding_of

    found = padding_of(code)
    if groups is None:
        assert found is None
    else:
        assert found is not None
        assert (found.groups, list(found.separators)) == (groups, separators)


def test_a_conditional_zip_format_pads_each_number_by_its_section() -> None:
    """[<=99999]00000;00000-0000, the format Microsoft suggests for a column of ZIP and
    ZIP+4 codes: Excel shows 02134 and 02134-1234, and they were read as 2134 and
    21341234, refused as zeros lost (review H0)."""
    import pandas as pd

    from removal_batch.readers.sheet_xml import pad_like_excel, padding_of

    padding = padding_of("[<=99999]00000;00000-0000")
    assert padding is not None
    values = pd.Series(["2134", "21341234", "99999", "100000", "2134.5", ""])
    assert list(pad_like_excel(values, padding)) == [
        "02134",
        "02134-1234",
        "99999",
        "00010-0000",
        "2134.5",
        "",
    ]
    # A second section that is not zeros: the numbers failing the condition stay as read.
    other = padding_of("[<=99999]00000;General")
    assert other is not None
    assert list(pad_like_excel(pd.Series(["2134", "21341234"]), other)) == ["02134", "21341234"]


def test_a_conditional_zip_format_in_a_workbook(tmp_path: Path, check) -> None:
    header = request_rows([])[0]
    zip_col = header.index("AddressPostalCode")
    first = {**ROW, "AddressStateOrRegion": "MA", "AddressPostalCode": 2134}
    second = {**first, "MerchantRemovalOrderID": "R2", "AddressPostalCode": 21341234}
    rows: list[list[object]] = [header] + [[r.get(h, "") for h in header] for r in (first, second)]
    path = _workbook(tmp_path / "z.xlsx", rows)
    book = openpyxl.load_workbook(path)
    letter = openpyxl.utils.get_column_letter(zip_col + 1)
    for row in (2, 3):
        book["Removal Request"][f"{letter}{row}"].number_format = "[<=99999]00000;00000-0000"
    book.save(path)
    result = check(path)
    assert list(result.files[0].table.rows["AddressPostalCode"]) == ["02134", "02134-1234"]
    assert codes_at(result) == set()


def test_a_format_of_two_conditions_pads_by_the_third_section() -> None:
    """Excel's Japanese postal code format (Format Cells > Special), [<=999]000;
    [<=9999]000-00;000-0000: 1000001 shows as 100-0001 by its third section. The second
    section was applied to every number failing the first, and 1000001 read 10000-01, a
    postal code refused with a value the user cannot find in the sheet."""
    import pandas as pd

    from removal_batch.readers.sheet_xml import pad_like_excel, padding_of

    padding = padding_of("[<=999]000;[<=9999]000\\-00;000\\-0000")
    assert padding is not None
    values = pd.Series(["1000001", "1234", "12", "99999999", "5.5"])
    assert list(pad_like_excel(values, padding)) == [
        "100-0001",
        "012-34",
        "012",
        "9999-9999",
        "5.5",
    ]


def test_literal_text_around_the_digits_reads_as_shown(tmp_path: Path, check) -> None:
    """A custom format with text around its zeros shows the number with that text:
    "R"000 shows the order id 7 typed as R007, and 0000"3" the SKU 12 as 00123. They were
    read as 7 (an order sent under an id the user never sees) and 12 (refused as an
    unknown SKU, a value not in the sheet). A quantity's unit (0" pcs") stays a number."""
    header = request_rows([])[0]
    line = {**ROW, "AddressStateOrRegion": "MA", "MerchantRemovalOrderID": 7}
    line |= {"MerchantSKU": 12, "SellableQuantity": 1}
    rows: list[list[object]] = [header, [line.get(h, "") for h in header]]
    path = _workbook(tmp_path / "f.xlsx", rows)
    book = openpyxl.load_workbook(path)
    formats = {
        "MerchantRemovalOrderID": '"R"000',
        "MerchantSKU": '0000"3"',
        "SellableQuantity": '0" pcs"',
    }
    for name, code in formats.items():
        letter = openpyxl.utils.get_column_letter(header.index(name) + 1)
        book["Removal Request"][f"{letter}2"].number_format = code
    book.save(path)
    result = check(path)
    rows_read = result.files[0].table.rows
    assert rows_read["MerchantRemovalOrderID"].iloc[0] == "R007"
    assert rows_read["MerchantSKU"].iloc[0] == "00123"
    assert rows_read["SellableQuantity"].iloc[0] == "1"
    assert codes_at(result) == set()


def test_padding_shows_digits_as_excel_does() -> None:
    import pandas as pd

    from removal_batch.readers.sheet_xml import Padding, pad_like_excel

    values = pd.Series(["2134", "21341234", "1234567890", "2134.5", "-5", "", "77777"])
    assert list(pad_like_excel(values, Padding((5,), ()))) == [
        "02134",
        "21341234",
        "1234567890",
        "2134.5",
        "-5",
        "",
        "77777",
    ]
    assert list(pad_like_excel(values, Padding((5, 4), ("-",)))) == [
        "00000-2134",
        "02134-1234",
        "123456-7890",
        "2134.5",
        "-5",
        "",
        "00007-7777",
    ]
    assert list(pad_like_excel(pd.Series(["123456789"]), Padding((3, 2, 4), ("-", "-")))) == [
        "123-45-6789"
    ]


def test_padded_cells_are_found_by_style_and_place_in_the_sheet_xml() -> None:
    from removal_batch.readers.sheet_xml import Padding, _cells_with_styles

    sheet = (
        b'<row r="1"><c r="A1" s="1"/><c r="B1" s="1"><v>5</v></c>'
        b'<c r="C1" s="1" t="s"><v>0</v></c><c r="D1" s="2"><v>6</v></c></row>'
        b'<row r="9"><x:c r="AA9" t="n" s="3"><x:v>7</x:v></x:c><c r="E9" s="11"><v>8</v></c></row>'
    )
    found = _cells_with_styles(sheet, {1: Padding((5,), ()), 3: Padding((5, 4), ("-",))})
    assert found is not None
    # Not the empty A1, the text C1, D1 (another style) or E9 (style 11, not 1).
    places = zip(found.rows, found.columns, found.format_ids, strict=True)
    assert list(places) == [(0, 1, 0), (8, 26, 1)]
    assert [f.groups for f in found.formats] == [(5,), (5, 4)]


def test_a_damaged_sheet_cannot_make_the_padding_scan_quadratic() -> None:
    """Tags never closed: each scan stops at the next "<", so 2 MB of them take
    milliseconds (unbounded, every "<c " would be read to the end: hours)."""
    import subprocess
    import sys

    code = (
        "from removal_batch.readers.sheet_xml import Padding as P, _cells_with_styles as f;"
        'assert f(b\'<c r="A1" s="1" \' * 200_000, {1: ((5,), [])}) is None'
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_columns_hidden_in_excel_are_read_and_named(tmp_path: Path, inventory: Path) -> None:
    """A hidden column is read like the others: a quantity or an address no one looking
    at the sheet sees would be sent. The terminal and summary.json name the hidden columns
    read as a field (a hidden column of notes is nobody's concern)."""
    import json

    from click.testing import CliRunner

    from removal_batch.cli import main

    header = [*REQUEST_HEADER, "Notes"]
    lines = [{**ROW, "MerchantSKU": "SKU-4", "SellableQuantity": "3", "Notes": "x"}]
    path = _workbook(tmp_path / "c.xlsx", request_rows(lines, header=header))
    book = openpyxl.load_workbook(path)
    sheet = book["Removal Request"]
    sellable = header.index("SellableQuantity") + 1
    for index in (sellable, len(header)):  # N, and P (Notes)
        sheet.column_dimensions[openpyxl.utils.get_column_letter(index)].hidden = True
    book.save(path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["check", str(path), "--inventory", str(inventory), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    (entry,) = json.loads((out / "summary.json").read_text())["inputs"]
    assert entry["hidden_columns"] == {"N": "SellableQuantity"}
    said = " ".join(result.output.split())
    assert (
        "c.xlsx: column N (SellableQuantity) is hidden in the workbook, and was read like "
        "every other column. Unhide it to see what was sent." in said
    )


def test_rows_hidden_in_excel_are_read_and_named(tmp_path: Path, inventory: Path) -> None:
    """Hidden rows (by hand or by a filter) are in the file: they are checked and sent like
    the others, and the terminal and summary.json name them, since a user may have hidden
    rows already sent. A hidden title row above the header is no request row."""
    import json

    from click.testing import CliRunner

    from removal_batch.cli import main

    lines = [{**ROW, "MerchantRemovalOrderID": f"R{i}", "MerchantSKU": "SKU-4"} for i in range(8)]
    path = _workbook(tmp_path / "h.xlsx", [["Removals, November"], *request_rows(lines)])
    book = openpyxl.load_workbook(path)
    sheet = book["Removal Request"]
    for row in (1, 4, 5, 8):
        sheet.row_dimensions[row].hidden = True
    book.save(path)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        main, ["check", str(path), "--inventory", str(inventory), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    (entry,) = summary["inputs"]
    assert entry["accepted"] == 8 and entry["hidden_rows"] == [[4, 5], [8, 8]]
    assert len(summary["orders"]) == 8
    said = " ".join(result.output.split())
    assert (
        "h.xlsx: rows 4-5 and 8 are hidden in the workbook (by hand or by a filter), and were "
        "checked like every other row. Delete from the file any row that must not be sent." in said
    )


def test_row_runs_are_said_as_people_write_them() -> None:
    from removal_batch.core.wording import row_runs, rows_said

    assert row_runs([8, 4, 5, 5]) == [(4, 5), (8, 8)]
    assert rows_said([7]) == "row 7"
    assert rows_said([4, 5, 8]) == "rows 4-5 and 8"
    many = list(range(2, 40, 2))
    assert rows_said(many) == "rows 2, 4, 6, 8, 10 and 14 more runs of rows"


def test_spreadsheet_errors_and_uncalculated_formulas_are_not_blank(tmp_path: Path, check) -> None:
    """calamine reads an error cell (#N/A) and a formula with no saved result as blank: a
    blank quantity is 0 and a blank order id joins the order above, so the line would go
    out wrong. They read as Excel shows them (the error, '=' and the formula), at their
    cells, and a row of nothing but such formulas (outside calamine's range) is not lost."""
    header = request_rows([])[0]
    letter = {h: openpyxl.utils.get_column_letter(i + 1) for i, h in enumerate(header)}
    lines = [{**ROW, "MerchantRemovalOrderID": f"R{i}", "MerchantSKU": "SKU-4"} for i in range(3)]
    path = _workbook(tmp_path / "e.xlsx", request_rows(lines))
    book = openpyxl.load_workbook(path)
    sheet = book["Removal Request"]
    sheet[f"{letter['MerchantRemovalOrderID']}3"] = "#N/A"  # openpyxl stores an error cell
    sheet[f"{letter['UnsellableQuantity']}4"] = "=1/0"
    sheet[f"{letter['AddressName']}4"] = "=VLOOKUP(A4,Addresses!A:B,2,FALSE)"
    for column in header:
        sheet[f"{letter[column]}5"] = f"={letter[column]}2"
    book.save(path)
    result = check(path)
    rows = result.files[0].table.rows
    assert list(rows["source_row"]) == [2, 3, 4, 5]
    assert list(rows["MerchantRemovalOrderID"]) == ["R0", "#N/A", "R2", "#NOT CALCULATED =A2"]
    assert rows["UnsellableQuantity"].iloc[2] == "#NOT CALCULATED =1/0"
    assert codes_at(result) >= {
        (3, letter["MerchantRemovalOrderID"], "order-id-invalid"),
        (4, letter["UnsellableQuantity"], "value-not-integer"),
        (4, letter["AddressName"], "value-missing"),
        (5, letter["MerchantRemovalOrderID"], "order-id-invalid"),
        (5, letter["SellableQuantity"], "value-not-integer"),
    }
    assert list(result.decision.orders["order_id"]) == ["R0"]
    said = " ".join(result.problems["message"])
    assert "MerchantRemovalOrderID holds the spreadsheet error #N/A, not a value" in said
    assert "AddressName holds the formula '=VLOOKUP(A4,Addresses!A:B,2,FALSE)' but not" in said


def test_unvalued_cells_are_found_in_the_sheet_xml() -> None:
    """Errors with and without their formula, formulas with no <v> or an empty one, and
    not: a formula with its result, an empty text result, a cell with no formula."""
    from removal_batch.readers.sheet_xml import _unvalued_cells

    sheet = (
        b'<x:row r="2"><x:c r="A2" t="e"><x:f>VLOOKUP(Z1,Y:Y,1)</x:f><x:v>#N/A</x:v></x:c>'
        b'<c r="B2" t="e"><v>#REF!</v></c><c r="C2"><f>1+1</f></c><c r="D2"><f>A2&amp;B2</f>'
        b'<v/></c><c r="E2" s="3"><f t="shared" si="0"/><v></v></c>'
        b'<c r="F2"><f>1+1</f><v>2</v></c><c r="G2" t="str"><f>""</f><v></v></c>'
        b'<c r="H2"><v>5</v></c><c r="I2" t="str"><f>A1</f></c></x:row>'
    )
    found = _unvalued_cells(sheet)
    assert found is not None
    placed = list(zip(found.rows.tolist(), found.columns.tolist(), found.texts, strict=True))
    assert placed == [
        (1, 0, "#N/A"),
        (1, 1, "#REF!"),
        (1, 2, "#NOT CALCULATED =1+1"),
        (1, 3, "#NOT CALCULATED =A2&B2"),
        (1, 4, "#NOT CALCULATED =..."),
        (1, 8, "#NOT CALCULATED =A1"),
    ]
    assert _unvalued_cells(b'<c r="A1"><f>1+1</f><v>2</v></c>') is None
    long_text = b'<c r="A1" t="str"><f>REPT("x",5000)</f><v>' + b"x" * 5000 + b"</v></c>"
    assert _unvalued_cells(long_text) is None  # a long saved result is a result too


def _parts_changed(source: Path, target: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """A copy of a workbook with each part passed through ``change(name, bytes)``: how
    other programs lay out what openpyxl writes."""
    import zipfile

    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for item in original.infolist():
            copy.writestr(item, change(item.filename, original.read(item)))
    return target


def test_formulas_of_a_workbook_calculated_on_opening_are_not_values(tmp_path: Path, check) -> None:
    """xlsxwriter cannot calculate: it saves 0 as every formula's result and sets
    fullCalcOnLoad, so that Excel shows the right values. The 0 was read as the quantity
    (orders written, exit 0), and a formula's SKU as '0' (a review's finding)."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "SellableQuantity"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Removal Request"
    sheet.append([*header, "UnsellableQuantity"])
    sheet.append(["X1", "Disposal", "SKU-4", "=2+3", 0])
    sheet.append(["X2", "Disposal", '="ABC"&"-1"', 1, 0])
    plain = tmp_path / "plain.xlsx"
    book.save(plain)

    def as_xlsxwriter_saves(name: str, data: bytes) -> bytes:
        if name.startswith("xl/worksheets/sheet"):
            return re.sub(rb"</f>(<v\s*/>|<v></v>)?", b"</f><v>0</v>", data)
        if name == "xl/workbook.xml":
            return data.replace(b"</workbook>", b'<calcPr fullCalcOnLoad="1"/></workbook>')
        return data

    made = _parts_changed(plain, tmp_path / "xlsxwriter-like.xlsx", as_xlsxwriter_saves)
    rows = check(made).files[0].table.rows
    assert rows["SellableQuantity"].tolist() == ["#NOT CALCULATED =2+3", "1"]
    assert rows["MerchantSKU"].tolist() == ["SKU-4", '#NOT CALCULATED ="ABC"&"-1"']
    result = check(made)
    assert codes_at(result) == {(2, "D", "value-not-integer"), (3, "C", "sku-unknown")}
    assert result.decision.orders.empty
    # A result other than the placeholder 0 was calculated by the program that saved it.
    from removal_batch.readers.sheet_xml import _unvalued_cells

    cells = (
        b'<c r="A1"><f>2+3</f><v>0</v></c><c r="B1"><f>1+1</f><v>2</v></c><c r="C1"><f>X</f></c>'
    )
    found = _unvalued_cells(cells, stale=True)
    assert found is not None and found.columns.tolist() == [0, 2]


def _without_references(name: str, data: bytes) -> bytes:
    """A sheet part with its cells' and rows' r="..." taken out, as Power BI writes it."""
    if name.startswith("xl/worksheets/sheet"):
        return re.sub(rb'(<(?:c|row)) r="[A-Z]*[0-9]+"', rb"\1", data)
    return data


def test_cells_without_references_are_placed_by_their_order(tmp_path: Path, check) -> None:
    """A cell's r="E2" is optional (Power BI and other exporters leave it out): calamine
    placed such cells, but the searches for error cells and zero-padded numbers did not,
    so a #N/A quantity read as 0 and a ZIP code shown 02134 as 2134 (a review's finding)."""
    import zipfile

    from removal_batch.readers.sheet_xml import _with_references

    assert _with_references(b'<row><c><v>1</v></c><c r="C1"/><c t="e"/></row><row><c/></row>') == (
        b'<row><c r="A1"><v>1</v></c><c r="C1"/><c r="D1" t="e"/></row><row><c r="A2"/></row>'
    )
    # Rows without theirs, cells with theirs: nothing to write in (nor a second to spend).
    placed = b'<row><c r="A1"><v>1</v></c><c r="B1"/></row>' * 3
    assert _with_references(placed) is placed
    header = request_rows([])[0]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Removal Request"
    sheet.append(header)
    # Every cell written (a blank one holds a space): without references, cells left out
    # would move the others left, in the file itself.
    sheet.append([{**ROW, "AddressStateOrRegion": "MA"}.get(h, "") or " " for h in header])
    zip_cell = sheet.cell(2, header.index("AddressPostalCode") + 1, 2134)
    zip_cell.number_format = "00000"
    sheet.cell(2, header.index("UnsellableQuantity") + 1).value = "#N/A"
    plain = tmp_path / "plain.xlsx"
    book.save(plain)

    bare = _parts_changed(plain, tmp_path / "bare.xlsx", _without_references)
    assert b'<c r="' not in zipfile.ZipFile(bare).read("xl/worksheets/sheet1.xml")
    result = check(bare)
    rows = result.files[0].table.rows
    assert rows["AddressPostalCode"].tolist() == ["02134"]
    assert rows["UnsellableQuantity"].tolist() == ["#N/A"]
    letter = openpyxl.utils.get_column_letter(header.index("UnsellableQuantity") + 1)
    assert codes_at(result) == {(2, letter, "value-not-integer")}


def test_a_hidden_row_without_its_number_is_still_told(tmp_path: Path, check) -> None:
    """In a sheet whose rows leave out r="5" (Power BI), a hidden row was read, but not
    told: its number was looked for in its own tag only. It is counted from the rows
    before it, as calamine places it."""
    from removal_batch.readers.sheet_xml import _hidden_rows

    rows = b'<row><c/></row><row r="3"><c/></row><row hidden="1"><c/></row><row/>'
    assert _hidden_rows(rows).tolist() == [4]
    assert _hidden_rows(b'<x:row r="9" hidden="true"/>').tolist() == [9]
    lines = [{**ROW, "MerchantRemovalOrderID": f"R{i}", "MerchantSKU": "SKU-4"} for i in range(3)]
    path = _workbook(tmp_path / "h.xlsx", request_rows(lines))
    book = openpyxl.load_workbook(path)
    book["Removal Request"].row_dimensions[3].hidden = True
    book.save(path)

    bare = _parts_changed(path, tmp_path / "bare.xlsx", _without_references)
    outcome = check(bare).files[0]
    assert outcome.hidden_rows == [3]


def test_the_total_row_of_an_excel_table_is_not_a_request(tmp_path: Path, check) -> None:
    """Insert > Table, then Table Design > Total Row: the sums under the table were read
    as a row, "Total" as an order (or, unlabelled, as a line of the order above, which it
    held back for a missing SKU) (a review's finding)."""
    from openpyxl.worksheet.table import Table

    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "SellableQuantity"]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Removal Request"
    sheet.append([*header, "UnsellableQuantity"])
    sheet.append(["T1", "Disposal", "SKU-4", 1, 2])
    sheet.append(["", "", "ABC-1", 1, 0])
    sheet.append(["Total", None, None, "=SUBTOTAL(109,D2:D3)", 2])
    table = Table(displayName="Requests", ref="A1:E4")
    table.totalsRowCount = 1
    sheet.add_table(table)
    book.save(tmp_path / "table.xlsx")
    result = check(tmp_path / "table.xlsx")
    assert result.problems.empty, result.problems["message"].tolist()
    assert result.files[0].table.rows["source_row"].tolist() == [2, 3]
    assert result.decision.orders["order_id"].tolist() == ["T1"]
    # A small table beside the requests: its Total Row blanks its own cells, not the
    # request on the same row (which had vanished, exit 0: a review's finding).
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Removal Request"
    sheet.append([*header, "UnsellableQuantity", None, "Bin", "Units"])
    for k, sku in enumerate(["SKU-4", "ABC-1", "00123"], start=1):
        sheet.append([f"S{k}", "Disposal", sku, 1, 0, None, f"B{k}" if k < 3 else "Total", k])
    side = Table(displayName="Bins", ref="G1:H4")
    side.totalsRowCount = 1
    sheet.add_table(side)
    book.save(tmp_path / "side.xlsx")
    result = check(tmp_path / "side.xlsx")
    assert result.decision.orders["order_id"].tolist() == ["S1", "S2", "S3"]


ODS_NAMESPACES = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "calcext": "urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0",
}


def _ods_content(rows_xml: str, sheet: str = "S") -> bytes:
    spaces = " ".join(f'xmlns:{k}="{v}"' for k, v in ODS_NAMESPACES.items())
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {spaces} '
        'office:version="1.3"><office:body><office:spreadsheet>'
        f'<table:table table:name="{sheet}">{rows_xml}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    ).encode()


def _ods(path: Path, rows_xml: str, sheet: str = "Removal Request") -> Path:
    """A minimal OpenDocument spreadsheet, as LibreOffice lays one out, from row XML."""
    import zipfile

    content = _ods_content(rows_xml, sheet)
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.3"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet"
        )
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return path


def _ods_row(cells: list[str], attributes: str = "") -> str:
    return f"<table:table-row{attributes}>{''.join(cells)}</table:table-row>"


def _text_cell(text: str) -> str:
    return (
        f'<table:table-cell office:value-type="string"><text:p>{text}</text:p></table:table-cell>'
    )


def _number_cell(value: float, shown: str, kind: str = "float") -> str:
    """A numeric .ods cell: its value, and the text LibreOffice shows for it."""
    return (
        f'<table:table-cell office:value-type="{kind}" office:value="{value}">'
        f"<text:p>{shown}</text:p></table:table-cell>"
    )


def _request_cells(values: dict[str, object]) -> list[str]:
    """A request row's .ods cells in the header's order: a value given as XML stands as
    it is, any other is a text cell."""
    header = request_rows([])[0]
    return [
        str(values[h])
        if str(values.get(h, "")).startswith("<")
        else _text_cell(str(values.get(h, "")))
        for h in header
    ]


def test_an_ods_reads_a_sku_in_a_fixed_decimal_format_as_shown(tmp_path: Path) -> None:
    """An .ods keeps the text a number shows: a SKU 1.5 shown 1.50 (a 0.00 format) reads
    1.50, as in an .xlsx, not the snapshot's other SKU 1.5; 1.25 shown 001.25 reads so. A
    fraction the format rounds (1.505 shown 1.51) keeps its digits, and a whole number
    shown 2.00 reads 2 (SPEC 3.1)."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU"]
    header += ["SellableQuantity", "UnsellableQuantity"]
    skus = [(1.5, "1.50"), (1.505, "1.51"), (2, "2.00"), (1.25, "001.25")]
    rows = _ods_row([_text_cell(h) for h in header])
    for i, (value, shown) in enumerate(skus):
        cells = [_text_cell(f"D{i}"), _text_cell("Disposal"), _number_cell(value, shown)]
        rows += _ods_row(cells + [_number_cell(1, "1"), _number_cell(0, "0")])
    raw = read_table(_ods(tmp_path / "d.ods", rows), has_request_header)
    assert raw.cells[2].tolist() == ["MerchantSKU", "1.50", "1.505", "2", "001.25"]


def test_an_ods_reads_as_it_shows_zeros_errors_and_hidden_rows(tmp_path: Path, check) -> None:
    """An OpenDocument cell keeps its value and the text it shows: a ZIP 2134 shown
    02134 (a 00000 format) reads 02134, a SKU 123 shown 00123 finds 00123, a failed
    formula reads as its error (calamine: blank, a quantity of 0), and rows hidden by
    hand or by a filter, repeats counted, are named."""
    header = request_rows([])[0]
    line = {**ROW, "AddressStateOrRegion": "MA"}

    padded = {
        **line,
        "AddressPostalCode": '<table:table-cell office:value-type="float" office:value="2134">'
        "<text:p>02134</text:p></table:table-cell>",
        "MerchantSKU": '<table:table-cell office:value-type="float" office:value="123">'
        "<text:p>00123</text:p></table:table-cell>",
    }
    failed = {
        **line,
        "MerchantRemovalOrderID": "R2",
        "UnsellableQuantity": '<table:table-cell table:formula="of:=1/0" office:value-type="float" '
        'office:value="0" calcext:value-type="error"><text:p>#DIV/0!</text:p></table:table-cell>',
    }
    rows = (
        _ods_row(_request_cells({h: h for h in header}))
        + _ods_row(_request_cells(padded))
        + _ods_row(_request_cells(failed), ' table:visibility="collapse"')
        + _ods_row(
            _request_cells({**line, "MerchantRemovalOrderID": "R3"}), ' table:visibility="filter"'
        )
    )
    result = check(_ods(tmp_path / "o.ods", rows))
    (outcome,) = result.files
    table = outcome.table.rows
    assert table["AddressPostalCode"].iloc[0] == "02134"
    assert table["MerchantSKU"].iloc[0] == "00123"
    assert table["UnsellableQuantity"].iloc[1] == "#DIV/0!"
    assert outcome.hidden_rows == [3, 4]
    letter = openpyxl.utils.get_column_letter(header.index("UnsellableQuantity") + 1)
    assert codes_at(result) == {(3, letter, "value-not-integer")}


def test_an_ods_column_hidden_is_named_when_read_as_a_field(tmp_path: Path, check) -> None:
    """As in an .xlsx: a column the sheet collapses is read, and named when it is a field."""
    header = request_rows([])[0]
    sellable = header.index("SellableQuantity")
    columns = (
        f'<table:table-column table:number-columns-repeated="{sellable}"/>'
        '<table:table-column table:visibility="collapse"/>'
        '<table:table-column table:number-columns-repeated="4"/>'
    )
    rows = _ods_row(_request_cells({h: h for h in header})) + _ods_row(_request_cells(ROW))
    result = check(_ods(tmp_path / "c.ods", columns + rows))
    (outcome,) = result.files
    assert outcome.hidden_columns == {"N": "SellableQuantity"}
    assert result.decision.lines["sku"].tolist() == [ROW["MerchantSKU"]]


def test_an_xls_names_its_hidden_rows_and_columns(tmp_path: Path, check) -> None:
    """An .xls hides rows and columns as an .xlsx does, and they are read and named alike
    (tests/data/make_hidden_xls.py wrote the file: row 3, columns D and F hidden)."""
    source = Path(__file__).parent / "data" / "hidden-rows-and-columns.xls"
    result = check(source)
    (outcome,) = result.files
    assert outcome.hidden_rows == [3]
    assert outcome.hidden_columns == {"D": "SellableQuantity"}
    assert result.decision.lines["sellable"].tolist() == [1, 1, 1]


def test_an_ods_zip_plus_four_reads_as_it_shows() -> None:
    """An .ods number in a 00000-0000 format shows 02134-1234 (and 12345-6789), as
    README promises for any format of zeros; only a text led by a zero was taken, and
    calamine's 21341234 was refused as no ZIP code, a value the user cannot find."""
    from removal_batch.readers.ods_xml import _WORTH_A_WALK, _walk

    for value, shown in ((21341234, "02134-1234"), (123456789, "12345-6789")):
        content = _ods_content(_ods_row([_number_cell(value, shown)]))
        assert _WORTH_A_WALK.search(content) is not None
        extras = _walk(content, "S")
        assert extras.unvalued is not None
        assert list(extras.unvalued.texts) == [shown]
    # Digits that are not the value, or a negative number, stay calamine's.
    for value, shown in ((21341235, "02134-1234"), (-5, "-5"), (1234, "1 234")):
        extras = _walk(_ods_content(_ods_row([_number_cell(value, shown)])), "S")
        assert extras.unvalued is None


def test_an_ods_quantity_shown_as_another_number_is_refused(tmp_path: Path, check) -> None:
    """As in an .xlsx: LibreOffice shows 0.05 in a percentage cell as 5%, and 5000 in a
    format with a display factor of 1,000 as 5; calamine gives 0.05 and 5000, and the 5000
    went out with enough stock. A 0, and a number in groups (5,000), show themselves."""
    header = request_rows([])[0]

    line = {**ROW, "MerchantSKU": "SKU-4"}
    rows = (
        _ods_row(_request_cells({h: h for h in header}))
        + _ods_row(_request_cells({**line, "SellableQuantity": _number_cell(5000, "5")}))
        + _ods_row(
            _request_cells(
                {
                    **line,
                    "MerchantRemovalOrderID": "R2",
                    "SellableQuantity": _number_cell(0.05, "5%", "percentage"),
                }
            )
        )
        + _ods_row(
            _request_cells(
                {
                    **line,
                    "MerchantRemovalOrderID": "R3",
                    "SellableQuantity": _number_cell(5, "5"),
                    "UnsellableQuantity": _number_cell(0, "0%", "percentage"),
                }
            )
        )
        + _ods_row(
            _request_cells(
                {
                    **line,
                    "MerchantRemovalOrderID": "R4",
                    "SellableQuantity": _number_cell(5, "5,000"),
                }
            )
        )
    )
    result = check(_ods(tmp_path / "scaled.ods", rows))
    letter = openpyxl.utils.get_column_letter(header.index("SellableQuantity") + 1)
    assert codes_at(result) == {(2, letter, "value-not-integer"), (3, letter, "value-not-integer")}
    said = sorted(result.problems[result.problems["code"] == "value-not-integer"]["message"])
    assert said[0] == (
        "SellableQuantity holds 0.05, but the sheet shows it as 5% (a percentage: times 100), "
        "so which number is meant is unclear. Format the cell as Number and type the units."
    )
    assert said[1].startswith(
        "SellableQuantity holds 5000, but the sheet shows it as 5 (its format divides by 1,000)"
    )
    # 5,000 for a 5 is the value with three decimals (a decimal comma): R4 goes out.
    assert list(result.decision.orders["order_id"]) == ["R3", "R4"]


def test_an_ods_number_shown_as_itself_is_not_taken_for_another() -> None:
    """Rounding, grouping, a decimal comma, a currency, a scientific format: the value's
    own digits, not a scaled number."""
    from removal_batch.readers.ods_xml import _walk

    same = [
        _number_cell(0.4, "0"),
        _number_cell(5000, "5,000"),
        _number_cell(5000, "5.000"),
        _number_cell(1234567, "1 234 567"),
        _number_cell(5000, "$5,000.00", "currency"),
        _number_cell(5000, "5E+03"),
        _number_cell(4500, "4.5E+03"),
        _number_cell(5, "5 pcs"),
    ]
    assert _walk(_ods_content(_ods_row(same)), "S").scaled == {}
    scaled = [
        _number_cell(4500, "5"),
        _number_cell(2_000_000, "2"),
        _number_cell(1500, "1,5"),
        _number_cell(5, "500%", "percentage"),
    ]
    found = _walk(_ods_content(_ods_row(scaled, ' table:number-rows-repeated="2"')), "S").scaled
    hows = [
        "the sheet shows it as 5 (its format divides by 1,000)",
        "the sheet shows it as 2 (its format divides by 1,000,000)",
        "the sheet shows it as 1,5 (its format divides by 1,000)",
        "the sheet shows it as 500% (a percentage: times 100)",
    ]
    assert found == {(row, col): how for row in (0, 1) for col, how in enumerate(hows)}


def test_ods_cells_and_rows_are_placed_with_their_repeats() -> None:
    """Repeated cells and rows take as many places as they stand for; a covered cell (under
    a merge) takes one; a number shown in another format (1,234.00) is left alone."""
    from removal_batch.readers.ods_xml import _walk

    padded = (
        '<table:table-cell office:value-type="float" office:value="7" '
        'table:number-columns-repeated="2"><text:p>007</text:p></table:table-cell>'
    )
    other = (
        '<table:table-cell office:value-type="float" office:value="1234">'
        "<text:p>1,234.00</text:p></table:table-cell>"
    )
    rows = (
        _ods_row(["<table:table-cell/>", "<table:covered-table-cell/>", padded])
        + _ods_row([other], ' table:number-rows-repeated="2" table:visibility="collapse"')
        + _ods_row([padded], ' table:number-rows-repeated="2"')
    )
    extras = _walk(_ods_content(rows), "S")
    assert extras.unvalued is not None
    placed = list(zip(extras.unvalued.rows.tolist(), extras.unvalued.columns.tolist(), strict=True))
    assert placed == [(0, 2), (0, 3), (3, 0), (3, 1), (4, 0), (4, 1)]
    assert set(extras.unvalued.texts) == {"007"}
    assert extras.hidden_rows.tolist() == [2, 3]


def test_an_ods_space_count_is_not_spelled_out_past_what_a_cell_holds() -> None:
    """<text:s text:c="N"/> stands for N spaces: a count of 100 million in one cell of a
    600-byte file took half a minute and a gigabyte to check. A cell's shown text gets no
    more spaces than a cell can hold."""
    from removal_batch.readers.ods_xml import _walk

    error = (
        '<table:table-cell calcext:value-type="error" office:value-type="string">'
        '<text:p>#<text:s text:c="100000000"/>N/A<text:s text:c="100000000"/>!</text:p>'
        "</table:table-cell>"
    )
    extras = _walk(_ods_content(_ods_row([error])), "S")
    assert extras.unvalued is not None
    (shown,) = extras.unvalued.texts
    assert shown.startswith("#") and "N/A" in shown and shown.endswith("!")
    assert len(shown) <= 32_767 + len("#N/A!")


def test_an_ods_names_no_hidden_row_or_column_past_the_sheets_edge() -> None:
    """Hidden empty rows and columns repeated over and over (calamine reads nothing for
    them) named each one: a 2 KB file made 2.4 GB of hidden row numbers. None past
    the sheet's 1,048,576 rows and 16,384 columns is named."""
    from removal_batch.readers.ods_xml import _walk

    hidden_rows = _ods_row(
        ["<table:table-cell/>"],
        ' table:number-rows-repeated="100000" table:visibility="collapse"',
    )
    hidden_columns = (
        '<table:table-column table:number-columns-repeated="100000" table:visibility="collapse"/>'
    )
    rows = _ods_row([_text_cell("x")], ' table:visibility="collapse"') + hidden_rows * 30
    extras = _walk(_ods_content(hidden_columns * 3 + rows), "S")
    assert extras.hidden_rows[:2].tolist() == [1, 2]
    assert extras.hidden_rows.max() == 1_048_576 == len(extras.hidden_rows)
    assert extras.hidden_columns.tolist() == list(range(16_384))


def test_an_xls_reads_its_error_cells_and_zip_code_format(tmp_path: Path, inventory: Path) -> None:
    """tests/data/errors-and-zip-format.xls (written by xlwt, as old exporters do): a ZIP
    2134 in a 00000 format, a #DIV/0! quantity and a #N/A order id. calamine reads the
    errors as blank (the quantity 0, the #N/A row joined to R1) and the ZIP as 2134."""
    from removal_batch.core.settings import Settings
    from removal_batch.pipeline import run_batch

    source = Path(__file__).parent / "data" / "errors-and-zip-format.xls"
    result = run_batch([source], inventory, Settings())
    rows = result.files[0].table.rows
    assert list(rows["MerchantRemovalOrderID"]) == ["R1", "#N/A"]
    assert rows["AddressPostalCode"].iloc[0] == "02134"
    assert rows["UnsellableQuantity"].iloc[0] == "#DIV/0!"
    assert codes_at(result) == {(2, "L", "value-not-integer"), (3, "A", "order-id-invalid")}
    assert result.decision.orders.empty


def test_an_xls_reads_a_sku_in_a_fixed_decimal_format_as_shown() -> None:
    """tests/data/fixed-decimals.xls (written by xlwt): SKUs typed as numbers in 0.00 and
    000.00 read as the sheet shows them, as in an .xlsx: 1.5 as 1.50 (not the snapshot's
    other SKU 1.5), 1.25 as 001.25. A fraction the format rounds keeps its digits, and a
    whole number reads as that integer."""
    source = Path(__file__).parent / "data" / "fixed-decimals.xls"
    raw = read_table(source, has_request_header)
    assert raw.cells[2].tolist() == ["MerchantSKU", "1.50", "1.505", "2", "001.25"]


def test_cells_placed_from_the_xml_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A sheet built to exhaust a reader: an error cell a million rows down grows no
    million-row frame, and an .ods walk placing more cells than the bound gives up
    (calamine's values stand)."""
    import numpy as np
    import pandas as pd

    from removal_batch.core.raw_table import TEXT
    from removal_batch.readers import ods_xml
    from removal_batch.readers.sheet_xml import CellTexts
    from removal_batch.readers.workbook import _shown_unvalued

    cells = pd.DataFrame({0: pd.array(["MerchantSKU", "A"], dtype=TEXT)})
    far = CellTexts(np.array([1, 1_048_575]), np.array([0, 0]), np.array(["#N/A", "#N/A"]))
    grown, first = _shown_unvalued(far, cells, 0, max_row=1_000)
    assert first == 0 and grown[0].tolist() == ["MerchantSKU", "#N/A"]
    padded = (
        '<table:table-cell office:value-type="float" office:value="7" '
        'table:number-columns-repeated="3"><text:p>007</text:p></table:table-cell>'
    )
    rows = _ods_row([padded], ' table:number-rows-repeated="4"')
    assert ods_xml._walk(_ods_content(rows), "S").unvalued is not None
    monkeypatch.setattr(ods_xml, "_MOST_PLACED", 5)
    assert ods_xml._walk(_ods_content(rows), "S").unvalued is None


def test_an_ods_repeat_over_the_budget_is_not_spread_out_first(monkeypatch) -> None:
    """A 1 KB .ods repeating 200 cells over 100,000 rows built 20 million entries (2.6
    GB) before its budget was checked, once a row was done. The budget is judged before a
    repeat is spread: here 100 cells over 10,000 rows against a budget of 1,000."""
    import tracemalloc

    from removal_batch.readers import ods_xml

    padded = (
        '<table:table-cell office:value-type="float" office:value="7" '
        'table:number-columns-repeated="100"><text:p>007</text:p></table:table-cell>'
    )
    content = _ods_content(_ods_row([padded], ' table:number-rows-repeated="10000"'))
    monkeypatch.setattr(ods_xml, "_MOST_PLACED", 1_000)
    tracemalloc.start()
    try:
        extras = ods_xml._walk(content, "S")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert extras.unvalued is None
    assert peak < 2 * 1024 * 1024, f"{peak:,} bytes"


_MERGED_ROWS = [
    ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "SellableQuantity"]
    + ["UnsellableQuantity"],
    ["M1", "Disposal", "SKU-4", 1, None],
    ["M2", None, "ABC-1", 1, None],
    ["M3", "Disposal", "SKU-4", 2, 1],
    [None, None, "00123", 2, None],
]


def _merged_workbook(tmp_path: Path, suffix: str) -> Path:
    """The same sheet in each format: "Disposal" merged over B2:B3 (orders M1 and M2), the
    unsellable 1 merged over E4:E5 (both lines of M3)."""
    if suffix == ".xls":  # written by xlwt: tests/data/make_merged_xls.py
        return Path(__file__).parent / "data" / "merged-cells.xls"
    if suffix == ".xlsx":
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.title = "Removal Request"
        for row in _MERGED_ROWS:
            sheet.append(row)
        sheet.merge_cells("B2:B3")
        sheet.merge_cells("E4:E5")
        book.save(tmp_path / "merged.xlsx")
        return tmp_path / "merged.xlsx"

    def cell(value: object, span: int = 1) -> str:
        spanned = f' table:number-rows-spanned="{span}"' if span > 1 else ""
        if value is None:
            return f"<table:table-cell{spanned}/>"
        if isinstance(value, int):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}"{spanned}>'
                f"<text:p>{value}</text:p></table:table-cell>"
            )
        return (
            f'<table:table-cell office:value-type="string"{spanned}><text:p>{value}</text:p>'
            "</table:table-cell>"
        )

    covered = "<table:covered-table-cell/>"
    rows = [[cell(v) for v in row] for row in _MERGED_ROWS]
    rows[1][1], rows[2][1] = cell("Disposal", 2), covered
    rows[3][4], rows[4][4] = cell(1, 2), covered
    return _ods(tmp_path / "merged.ods", "".join(_ods_row(r) for r in rows))


@pytest.mark.parametrize("suffix", [".xlsx", ".ods", ".xls"])
def test_merged_cells_read_as_the_sheet_shows_them_or_are_refused(
    tmp_path: Path, check, suffix: str
) -> None:
    """A merged range's value is stored in its first cell only. An order's disposition
    merged over two orders is both orders' (before, M2 had none); a quantity merged over
    two lines cannot be told to be each line's or both together, so the cell it covers
    is an error (before, row 5 asked for no unsellable unit without a word)."""
    result = check(_merged_workbook(tmp_path, suffix))
    rows = result.files[0].table.rows
    assert rows["RemovalDisposition"].tolist() == ["Disposal", "Disposal", "Disposal", ""]
    assert codes_at(result) == {(5, "E", "value-missing")}
    (message,) = result.problems.loc[result.problems["code"].eq("value-missing"), "message"]
    assert message == (
        "UnsellableQuantity of row 5 is blank: cell E5 is part of the merged cells E4:E5, "
        "and the '1' shown there is stored in E4 alone. Unmerge the cells and type the "
        "quantity on each row."
    )
    assert sorted(result.decision.orders["order_id"]) == ["M1", "M2"]


def test_merges_of_the_header_or_across_order_columns_change_no_value(
    tmp_path: Path, check
) -> None:
    """A title merged over the header's columns, and an address merged across two of its
    fields, are left as stored: only a merge down one column fills, and only below the
    header."""
    header = request_rows([])[0]
    line = {**ROW, "MerchantRemovalOrderID": "R1", "AddressFieldTwo": ""}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Removals, November"])
    sheet.append(header)
    sheet.append([line.get(h, "") for h in header])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    one, two = header.index("AddressFieldOne") + 1, header.index("AddressFieldTwo") + 1
    sheet.merge_cells(start_row=3, start_column=one, end_row=3, end_column=two)
    book.save(tmp_path / "titled.xlsx")
    result = check(tmp_path / "titled.xlsx")
    rows = result.files[0].table.rows
    assert rows["AddressFieldOne"].tolist() == [ROW["AddressFieldOne"]]
    assert rows["AddressFieldTwo"].tolist() == [""]
    assert codes_at(result) == set()


@pytest.mark.parametrize("limit", [0, 10_000], ids=["long", "short"])
def test_a_row_with_values_only_in_ignored_columns_is_no_request_line(
    tmp_path: Path, check, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note or a total under a column that is not read made a line without a SKU, which
    held back the order above it (a review's finding). Such a row is a blank row, in a
    table (stripped whole or column by column) and under a feed's SKU header alike; a
    column without a header is still named for the values it has on those rows."""
    from removal_batch.core import shape

    monkeypatch.setattr(shape, "SMALL_TABLE_ROWS", limit)
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "SellableQuantity"]
    rows = [
        [*header, "UnsellableQuantity", "Checked by", ""],
        ["G1", "Disposal", "SKU-4", "2", "", "", ""],
        ["", "", "ABC-1", "1", "", "", ""],
        ["", "", "", "", "", "Ann", ""],
        ["", "", "", "", "", "", "=SUM(D2:D3)"],
    ]
    result = check(write_delimited(tmp_path / "t.txt", rows))
    assert codes_at(result) == {(1, "F", "header-unknown"), (1, "G", "header-unknown")}
    assert result.files[0].table.rows["source_row"].tolist() == [2, 3]
    assert result.decision.lines["sku"].tolist() == ["SKU-4", "ABC-1"]
    feed = tmp_path / "feed.txt"
    feed.write_text(
        "MerchantRemovalOrderID\tF1\nRemovalDisposition\tDisposal\n\n"
        "MerchantSKU\tSellableQuantity\tUnsellableQuantity\n"
        "SKU-4\t1\t0\n\t\t\tchecked: Ann\n"
    )
    result = check(feed)
    assert codes_at(result) == {(4, "D", "header-unknown")}
    assert result.decision.lines["sku"].tolist() == ["SKU-4"]


def test_a_repeated_header_row_is_one_error_saying_so(tmp_path: Path, check) -> None:
    """Two exports pasted together: the second header row had an error for each of its
    cells, and the rows after it joined an order called "MerchantRemovalOrderID" (a
    review's finding). It is said once, on its SKU cell, and counted as a rejected row."""
    header = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU", "SellableQuantity"]
    rows = [
        [*header, "UnsellableQuantity"],
        ["D1", "Disposal", "SKU-4", "2", ""],
        [*header, "UnsellableQuantity"],
        ["", "Disposal", "ABC-1", "2", ""],
        ["", "", "SKU-4", "1", ""],
    ]
    result = check(write_delimited(tmp_path / "two.csv", rows, sep=","))
    (problem,) = result.problems.itertuples()
    assert (problem.row, problem.column, problem.code, problem.value) == (
        3,
        "C",
        "sku-unknown",
        "MerchantSKU",
    )
    assert "Row 3 repeats the header row (row 1)" in problem.message
    assert "delete the row" in problem.message
    outcome = result.files[0]
    assert (outcome.rows, outcome.accepted, outcome.rejected, outcome.status) == (
        4,
        3,
        1,
        "partial",
    )
    assert "MerchantRemovalOrderID" not in set(result.decision.orders["order_id"])
    # Repeated twice in a row, and once more as the last row: no list follows those.
    rows[3:3] = [rows[2]]
    result = check(write_delimited(tmp_path / "ends.csv", [*rows, rows[0]], sep=","))
    assert codes_at(result) == {(r, "C", "sku-unknown") for r in (3, 4, 7)}
    assert result.decision.lines["sku"].tolist() == ["SKU-4", "ABC-1", "SKU-4"]


def test_a_header_repeated_in_another_column_order_refuses_the_file(tmp_path: Path, check) -> None:
    """Two exports pasted together, the second with its quantity columns the other way
    round: read by the first header, its 3 unsellable units went out as 3 sellable ones
    (a review's finding). Nothing of the file is read, and the message says which column
    changed meaning."""
    first = ["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU"]
    rows = [
        [*first, "SellableQuantity", "UnsellableQuantity"],
        ["D1", "Disposal", "SKU-4", "0", "1"],
        [],
        [*first, "UnsellableQuantity", "SellableQuantity"],
        ["D2", "Disposal", "ABC-1", "3", "0"],
    ]
    result = check(write_delimited(tmp_path / "two.csv", rows, sep=","))
    assert codes_at(result) == {(4, "D", "header-duplicate")}
    (message,) = result.problems["message"]
    assert "column D is SellableQuantity in row 1 but UnsellableQuantity in row 4" in message
    assert result.decision.orders.empty
    assert result.files[0].status == "rejected"
    # Other columns in it: the first header's SKU column now holds the disposition's name.
    rows[3] = ["MerchantRemovalOrderID", "MerchantSKU", "RemovalDisposition"]
    rows[3] += ["SellableQuantity", "UnsellableQuantity"]
    result = check(write_delimited(tmp_path / "swapped.csv", rows, sep=","))
    assert codes_at(result) == {(4, "B", "header-duplicate")}
    # Words in both quantity cells of a request line are no header: that line's errors.
    rows[3] = ["D3", "Disposal", "SKU-4", "sellable", "unsellable"]
    result = check(write_delimited(tmp_path / "words.csv", rows, sep=","))
    assert {code for _, _, code in codes_at(result)} == {"value-not-integer"}


@pytest.mark.parametrize("sep", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_excels_sep_line_does_not_hide_a_feed(tmp_path: Path, check, sep: str) -> None:
    """Excel writes "sep=," first when asked, and hides the line when it opens the file.
    Above a feed's key lines it was a stray line that refused the file (a review's
    finding). Rows keep the numbers a text editor shows, the sep= line counted, in a
    feed as in a table."""
    lines = [
        f"sep={sep}",
        f"MerchantRemovalOrderID{sep}FEED-9",
        f"RemovalDisposition{sep}Disposal",
        "",
        sep.join(["MerchantSKU", "SellableQuantity", "UnsellableQuantity"]),
        sep.join(["SKU-4", "1", "x"]),
    ]
    feed = tmp_path / "feed.csv"
    feed.write_text("\r\n".join(lines) + "\r\n")
    result = check(feed)
    assert result.files[0].shape == "feed"
    assert codes_at(result) == {(6, "C", "value-not-integer")}
    table = [f"sep={sep}", *(sep.join(r) for r in request_rows([ROW]))]
    (tmp_path / "table.csv").write_text("\r\n".join(table) + "\r\n")
    result = check(tmp_path / "table.csv")
    assert result.problems.empty
    assert result.files[0].table.header_row == 2


def test_a_stray_value_far_right_is_named_and_not_read_as_columns(tmp_path: Path, check) -> None:
    """One value in column XFD stretched every row to 16,384 cells: a 13-row sheet took 7 s
    to check, and 1,000 rows 23 s and 1 GB. The reader leaves such cells out, and says
    where they are; a column without a header inside the table's reach is still a column.
    A formula never calculated out there (a cell the reader adds itself) is one of them,
    and a blank cell out there is left out without a word."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Removal Request"
    for i, row in enumerate(request_rows([ROW, {**ROW, "MerchantSKU": "ABC-1"}])):
        for j, value in enumerate(row):
            ws.cell(row=i + 1, column=2 + j, value=value or None)
    ws["Z2"] = "a note"
    ws["XFD3"] = "x"
    ws["XFD5"] = " "  # read as blank, but it stretches the sheet all the same
    ws["XFC4"] = "=1/0"
    path = tmp_path / "far.xlsx"
    book.save(path)
    raw = read_table(path, has_request_header)
    assert raw.width == 26  # A to Z
    result = check(path)
    assert codes_at(result) == {(1, "Z", "header-unknown"), (3, "XFD", "header-unknown")}
    far = result.problems[result.problems["column"] == "XFD"].iloc[0]
    assert far["message"].startswith(
        "Cell XFD3 and 1 other cell hold a value far to the right of the table, after "
        "column Z; they are ignored."
    )
    assert result.exit_code == 0


HOSTILE = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "hostile"
ENCRYPTED = [
    "calamine-pass_protected.xlsx",
    "calamine-pass_protected.xlsb",
    "calamine-pass_protected.ods",
    "calamine-issue_385.xls",
    "poi-xor-encryption-abc.xls",
]


@pytest.mark.parametrize("name", ENCRYPTED)
def test_an_encrypted_workbook_is_named_password_protected(name: str, check) -> None:
    """An encrypted .xlsx or .xlsb is an OLE container, not a zip, and an .xls encrypted by
    XOR made calamine fail on a code page: all three were called damaged, and "save it
    again" kept the password on. The message now says how to take it off."""
    path = HOSTILE / name
    if not path.exists():
        pytest.skip(f"hostile corpus not present at {HOSTILE}")
    result = check(path)
    (message,) = result.problems["message"]
    assert message.startswith("The workbook is password-protected (encrypted).")
    assert "Encrypt with Password" in message


def test_an_ole_container_without_encryption_is_still_damaged(tmp_path: Path, check) -> None:
    """The test for encryption looks for its stream's name, not only the OLE signature."""
    from removal_batch.readers import OLE_MAGIC

    plain = tmp_path / "plain.xlsx"
    plain.write_bytes(OLE_MAGIC + bytes(1016))
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(OLE_MAGIC + bytes(500) + "EncryptedPackage".encode("utf-16-le") + bytes(484))
    messages = [check(p).problems["message"].iloc[0] for p in (plain, locked)]
    assert messages[0].startswith("The workbook cannot be opened: it is damaged")
    assert messages[1].startswith("The workbook is password-protected")


def test_json_output_stays_json_when_the_xls_reader_warns(tmp_path: Path, inventory: Path) -> None:
    """xlrd prints warnings on stdout: an .xls whose size is not a whole number of sectors
    (as some exporters write it) put 'WARNING *** file size ...' before `--json`'s output."""
    import json
    import subprocess
    import sys

    source = Path(__file__).parent / "data" / "errors-and-zip-format.xls"
    path = tmp_path / "odd-size.xls"
    path.write_bytes(source.read_bytes() + b"\0" * 13)
    proc = subprocess.run(
        [sys.executable, "-m", "removal_batch", "check", str(path), "--inventory", str(inventory)]
        + ["--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(proc.stdout)["inputs"][0]["file"] == "odd-size.xls"


@pytest.mark.parametrize("start", [(0, 0), (4, 2)])
def test_the_table_ends_at_the_last_column_used_in_any_row(start: tuple[int, int]) -> None:
    """A column of notes that begins far down is the table's, not a far cell; the far
    cells keep the row and column the user sees (calamine's range may start at C5)."""
    from removal_batch.readers.workbook import _without_far_cells

    width = 16_384 - start[1]
    rows: list[list[object]] = [["MerchantSKU"] + [""] * (width - 1) for _ in range(300)]
    rows[250][25] = "note"
    rows[2][width - 1] = "x"
    rows[7][900] = 0.0  # a number 0 is a value too
    kept, far = _without_far_cells(rows, start)
    assert {len(row) for row in kept} == {26}
    assert far is not None
    assert far.count == 2
    assert far.after == start[1] + 25
    assert far.first == [(start[0] + 3, 16_383, "x"), (start[0] + 8, start[1] + 900, "0")]


def test_an_order_id_excel_turned_into_a_date_is_refused_at_its_cell(tmp_path: Path, check) -> None:
    """An id typed 3-12 is the date 12-Mar to Excel: read as 2026-03-12, a usable id the
    sheet never shows, it went out as that order silently. A date elsewhere (a note)
    is no id and passes."""
    rows = request_rows([ROW, {**ROW, "MerchantRemovalOrderID": "R2", "MerchantSKU": "SKU-4"}])
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Removal Request"
    for row in rows:
        ws.append([value or None for value in row])
    ws["A3"] = datetime.datetime(2026, 3, 12)
    ws["A3"].number_format = "d-mmm"
    notes = rows[0].index("ShippingNotes") + 1
    ws.cell(row=2, column=notes, value=datetime.date(2026, 3, 12))
    path = tmp_path / "dated.xlsx"
    book.save(path)
    result = check(path)
    assert codes_at(result) == {(3, "A", "order-id-invalid")}
    (said,) = result.problems[result.problems["code"] == "order-id-invalid"]["message"]
    assert said.startswith("MerchantRemovalOrderID is a date in the sheet (2026-03-12)")
    assert list(result.decision.orders["order_id"]) == ["R1"]


def test_an_address_line_excel_turned_into_a_date_is_refused(tmp_path: Path, check) -> None:
    """An address line typed 1-2-3 (a Japanese block and house number) or a unit 3-12 is a
    date to Excel: read as 2003-01-02, the Return order went out to that address line. It
    is refused at its cell; a Disposal order's address is dropped, so a date there
    harms nothing."""
    ret = {**ROW, "MerchantSKU": "SKU-4"}
    rows = request_rows(
        [ret, {**ret, "MerchantRemovalOrderID": "R2", "RemovalDisposition": "Disposal"}]
    )
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Removal Request"
    for row in rows:
        ws.append([value or None for value in row])
    line = rows[0].index("AddressFieldOne") + 1
    for at in (2, 3):
        ws.cell(row=at, column=line, value=datetime.datetime(2003, 1, 2))
    path = tmp_path / "dated.xlsx"
    book.save(path)
    result = check(path)
    letter = openpyxl.utils.get_column_letter(line)
    assert codes_at(result) == {(2, letter, "address-required"), (3, "C", "address-ignored")}
    (said,) = result.problems[result.problems["code"] == "address-required"]["message"]
    assert said.startswith("AddressFieldOne is a date in the sheet (2003-01-02)")
    assert list(result.decision.orders["order_id"]) == ["R2"]


def test_a_quantity_in_a_date_formatted_cell_says_so(tmp_path: Path, check) -> None:
    """A 5 typed into a cell formatted as a date shows as 01-05-00 and is read as the date
    1900-01-05. It was refused as "'1900-01-05' is not" a whole number, a text the user
    never sees; the message says the cell is a date and how to put it right."""
    rows = request_rows([ROW, {**ROW, "MerchantRemovalOrderID": "R2", "MerchantSKU": "SKU-4"}])
    book = openpyxl.Workbook()
    ws = book.active
    for row in rows:
        ws.append([value or None for value in row])
    sellable = openpyxl.utils.get_column_letter(rows[0].index("SellableQuantity") + 1)
    ws[f"{sellable}3"] = 5
    ws[f"{sellable}3"].number_format = "mm-dd-yy"
    path = tmp_path / "dated.xlsx"
    book.save(path)
    result = check(path)
    assert codes_at(result) == {(3, sellable, "value-not-integer")}
    (said,) = result.problems[result.problems["code"] == "value-not-integer"]["message"]
    assert said.startswith("SellableQuantity is a date in the sheet (1900-01-05), not a number")
    assert "Format the cell as Number" in said
    assert list(result.decision.orders["order_id"]) == ["R1"]


@pytest.mark.parametrize("dated", ["12-Mar", "Mar-12", "1/2/2003", "02.01.03", "2003-01-02"])
def test_an_address_line_excel_saved_as_a_date_in_a_text_file_is_refused(
    tmp_path: Path, check, dated: str
) -> None:
    """In a CSV that Excel saved, a unit typed 3-12 or an address line typed 1-2-3 is the
    date's text: 12-Mar, 1/2/2003. A Return order's line that is a date and nothing else
    is refused at its cell; a Disposal order's address is dropped, so it harms nothing;
    a line that only holds such text among other words is an address."""
    ret = {**ROW, "MerchantSKU": "SKU-4", "AddressFieldTwo": dated}
    rows = request_rows(
        [
            ret,
            {**ret, "MerchantRemovalOrderID": "R2", "RemovalDisposition": "Disposal"},
            {**ret, "MerchantRemovalOrderID": "R3", "AddressFieldTwo": f"Unit {dated}"},
            {**ret, "MerchantRemovalOrderID": "R4", "AddressFieldTwo": "123 1/2 Main St"},
        ]
    )
    path = write_delimited(tmp_path / "dated.csv", rows, sep=",")
    result = check(path)
    letter = openpyxl.utils.get_column_letter(rows[0].index("AddressFieldTwo") + 1)
    assert codes_at(result) == {(2, letter, "address-required"), (3, "C", "address-ignored")}
    (said,) = result.problems[result.problems["code"] == "address-required"]["message"]
    assert said.startswith(f"AddressFieldTwo reads {dated}, the way Excel shows a date")
    assert list(result.decision.orders["order_id"]) == ["R2", "R3", "R4"]


def test_a_quantity_shown_as_another_number_is_refused_with_both(tmp_path: Path, check) -> None:
    """#,##0, shows 5000 as 5: the user sees 5, we read 5000, and in cap mode (or with
    enough stock) a thousand times the units went out. A percentage (0% shows 0.05 as 5%)
    is the same question. Refused at the cell, with both readings; a 0 shows as itself,
    and a format that only groups thousands (#,##0) changes no number."""
    header = request_rows([])[0]
    rows = request_rows(
        [
            {**ROW, "MerchantSKU": "SKU-4"},
            {**ROW, "MerchantRemovalOrderID": "R2", "MerchantSKU": "SKU-4"},
            {**ROW, "MerchantRemovalOrderID": "R3", "MerchantSKU": "SKU-4"},
        ]
    )
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Removal Request"
    for row in rows:
        ws.append([value or None for value in row])
    sellable = header.index("SellableQuantity") + 1
    unsellable = header.index("UnsellableQuantity") + 1
    ws.cell(row=2, column=sellable, value=5000).number_format = "#,##0,"
    ws.cell(row=2, column=unsellable, value=0).number_format = "#,##0,"
    ws.cell(row=3, column=sellable, value=0.05).number_format = "0%"
    ws.cell(row=4, column=sellable, value=5).number_format = "#,##0"
    path = tmp_path / "scaled.xlsx"
    book.save(path)
    result = check(path)
    letter = chr(ord("A") + sellable - 1)
    assert codes_at(result) == {(2, letter, "value-not-integer"), (3, letter, "value-not-integer")}
    said = sorted(result.problems[result.problems["code"] == "value-not-integer"]["message"])
    assert said[0] == (
        "SellableQuantity holds 0.05, but its number format (0%) shows it as a percentage "
        "(times 100), so which number is meant is unclear. Format the cell as Number and "
        "type the units."
    )
    assert said[1].startswith(
        "SellableQuantity holds 5000, but its number format (#,##0,) shows it divided by 1,000"
    )
    assert list(result.decision.orders["order_id"]) == ["R3"]


def test_an_xls_quantity_shown_as_another_number_is_refused(check) -> None:
    """tests/data/scaled-quantities.xls (written by xlwt: make_scaled_xls.py): the same
    question in an old .xls, whose formats xlrd reads."""
    result = check(Path(__file__).parent / "data" / "scaled-quantities.xls")
    assert codes_at(result) == {(2, "D", "value-not-integer"), (3, "D", "value-not-integer")}
    said = sorted(result.problems[result.problems["code"] == "value-not-integer"]["message"])
    assert "but its number format (0%) shows it as a percentage" in said[0]
    assert "but its number format (#,##0,) shows it divided by 1,000" in said[1]
    assert list(result.decision.orders["order_id"]) == ["R3"]


def test_a_built_in_percentage_alone_is_found(tmp_path: Path) -> None:
    """Excel's own 0% (format 9) is named in styles.xml by its number only: a workbook
    whose styles hold no % or comma still has its percentages found."""
    from removal_batch.readers.sheet_xml import sheet_extras

    book = openpyxl.Workbook()
    book.active["B3"] = 0.05
    book.active["B3"].number_format = "0%"
    book.save(tmp_path / "pct.xlsx")
    extras = sheet_extras(tmp_path / "pct.xlsx", "Sheet")
    assert extras.scaled == {(2, 1): "its number format (0%) shows it as a percentage (times 100)"}


def test_a_quantity_a_format_hides_is_refused(tmp_path: Path, check) -> None:
    """;;; shows nothing: the user sees a blank quantity (0) and we read 5."""
    header = request_rows([])[0]
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "Removal Request"
    for row in request_rows([{**ROW, "MerchantSKU": "SKU-4"}]):
        ws.append([value or None for value in row])
    hidden = ws.cell(row=2, column=header.index("SellableQuantity") + 1, value=1)
    hidden.number_format = ";;;"
    book.save(tmp_path / "hidden.xlsx")
    result = check(tmp_path / "hidden.xlsx")
    (said,) = result.problems[result.problems["code"] == "value-not-integer"]["message"]
    assert said.startswith(
        "SellableQuantity holds 1, but its number format (;;;) shows it as nothing (the cell "
        "looks blank)"
    )
    assert result.decision.orders.empty


def _padded(path: Path, rows: list[list[str]], columns: int, sep: str, quoted: bool) -> Path:
    """Rows as Excel saves a sheet whose used range was stretched far to the right (whole
    rows formatted): every line padded with empty cells to ``columns``, the values quoted
    when ``quoted``."""
    lines = (
        sep.join([f'"{c}"' if quoted and c else c for c in row] + [""] * (columns - len(row)))
        for row in rows
    )
    path.write_text("\r\n".join(lines) + "\r\n")
    return path


_PADDED_REQUESTS = [
    _DISPOSAL_HEADER,
    *[[f"W{i}", "Disposal", "SKU-4", "1", "0"] for i in range(50)],
]


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
@pytest.mark.parametrize("sep", ["\t", ","], ids=["tab", "comma"])
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_a_file_padded_with_empty_columns_keeps_only_its_used_ones(
    tmp_path: Path, check, large: bool, sep: str, quoted: bool
) -> None:
    """A CSV Excel saved with every row carried to column XFD: 4,000 requests padded to
    16,384 columns took 2.2 GB more than the file's 66 MB to check, and under a 3 GB
    cap the file was refused as too large. The empty columns after the last value are
    dropped as the file is read; each record's cell count stays as written."""
    columns = 6_000 if large else 5_000
    path = _padded(
        tmp_path / f"padded{'.csv' if sep == ',' else '.txt'}",
        _PADDED_REQUESTS,
        columns,
        sep,
        quoted,
    )
    _large_enough(path, large)
    raw = read_table(path, has_request_header)
    assert (raw.height, raw.width) == (51, 5)
    if raw.record_widths is not None:
        assert set(raw.record_widths.tolist()) == {columns}
    result = check(path)
    assert result.problems.empty
    assert len(result.decision.lines) == 50


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("note in P", {(1, "P", "header-unknown")}),
        ("note in ABC", {(1, "ABC", "header-unknown")}),
        ("note in the last column", {(1, "ATD", "header-unknown")}),
        ("header cell in AO", {(1, "AO", "header-unknown")}),
        ("shifted row", {("last", "", "file-unreadable")}),
    ],
)
@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_values_right_of_a_padded_files_used_columns_are_found_in_place(
    tmp_path: Path, check, large: bool, where: str, expected: set[tuple[object, ...]]
) -> None:
    """What stands right of the columns the first rows use, in a file padded to 1,200
    columns, is still seen where it is: a note (past column Z, past ZZ, in the last one),
    a header cell without a field, a row one cell longer (a value holding the comma). In
    the large file it comes after the 200 records the reader looks at first."""
    columns = 1_200
    rows = [list(r) for r in _PADDED_REQUESTS] + [[""]] * (210 if large else 0)
    if where.startswith("note"):
        at = {"P": 15, "ABC": 730}.get(where.rsplit(" ", 1)[-1], columns - 1)
        rows.append([""] * at + ["checked: Ann"])
    elif where.startswith("header"):
        rows[0] = rows[0] + [""] * 35 + ["Checked by"]
    else:
        rows.append(["W99", "Disposal", "AB", "C", "1", "0"] + [""] * (columns - 5))
    path = _large_enough(_padded(tmp_path / "padded.csv", rows, columns, ",", False), large)
    result = check(path)
    last = len(rows)
    assert codes_at(result) == {(last if r == "last" else r, c, k) for r, c, k in expected}
    if where != "shifted row":
        assert len(result.decision.lines) == 50


@pytest.mark.parametrize("large", [False, True], ids=["small", "large"])
def test_a_padded_files_stray_quote_is_told_by_its_rows_as_written(
    tmp_path: Path, check, large: bool
) -> None:
    """A line swallowed by a stray quote holds a padded row's 1,199 commas; a note's line
    of a few commas is prose, as it was before the empty columns were dropped (read with
    six columns, four commas would have made a row of it)."""
    header = _STRAY_HEADER.split("\t")
    filler = [[""]] * (250 if large else 0)
    note = [["Q1", "Disposal", "00123", "1", "0", "Shelf A\nbins 1,2,3,4,5 only"]]
    rows = [header, *note, *filler]
    path = tmp_path / "padded.csv"
    lines = [
        ",".join([f'"{c}"' if "\n" in c else c for c in row] + [""] * (1_200 - len(row)))
        for row in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    result = check(_large_enough(path, large))
    assert result.problems.empty, result.problems["message"].tolist()
    stray = [header, ["Q1", "Disposal", "00123", "1", "0", '"Handle with care']]
    stray += [["Q2", "Disposal", "ABC-1", "3", "0"], *filler]
    stray.append(["Q9", "Disposal", "ABC-1", "1", "0", 'pallet "B"'])
    path.write_text("\n".join(",".join(r + [""] * (1_200 - len(r))) for r in stray) + "\n")
    assert codes_at(check(_large_enough(path, large))) == {(2, "F", "file-unreadable")}


def test_a_records_used_width_keeps_a_cell_ending_in_nul() -> None:
    """The empty cells after a record's last value are counted from the record's cells
    joined by NULs: a last value ending in NUL (UTF-16 text may hold one) is kept."""
    from removal_batch.readers.text import _used_width

    assert _used_width(["a", "", "b", "", ""]) == 3
    assert _used_width(["", "", ""]) == 1
    assert _used_width(["a", "", "b\0", "", ""]) == 5


def test_quantities_of_three_digits_are_not_looked_at_as_header_names(
    tmp_path: Path, check, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The search for a header repeated in another order took every quantity of three
    characters or more (the length of the name "sku") for a possible name, and looked
    each row up in Python: 47 s a million rows asking 100 units (a review's finding).
    Only a cell with a letter in it is looked at."""
    from removal_batch.core import shape

    looked_at: list[str] = []
    real = shape.field_for_header
    monkeypatch.setattr(
        shape, "field_for_header", lambda text: looked_at.append(text) or real(text)
    )
    rows = [["MerchantRemovalOrderID", "RemovalDisposition", "MerchantSKU"]]
    rows[0] += ["SellableQuantity", "UnsellableQuantity"]
    rows += [[f"D{i}", "Disposal", "SKU-4", "100", "0"] for i in range(3000)]
    check(write_delimited(tmp_path / "many.csv", rows, sep=","))
    assert len(looked_at) < 1000  # the first rows, scanned for the header: 500
