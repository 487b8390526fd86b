"""One test per file-level code: each fails when its rule is removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import RETURN_ADDRESS, codes, codes_at, request_rows, write_delimited

from removal_batch.core.settings import Settings

GOOD = {
    "MerchantRemovalOrderID": "R1",
    **RETURN_ADDRESS,
    "MerchantSKU": "00123",
    "SellableQuantity": "1",
    "UnsellableQuantity": "0",
}


def test_clean_file_has_no_problems(tmp_path: Path, check) -> None:
    result = check(write_delimited(tmp_path / "ok.txt", request_rows([GOOD])))
    assert result.problems.empty
    assert result.exit_code == 0
    assert result.files[0].status == "accepted"


def test_file_unreadable_for_a_damaged_workbook(tmp_path: Path, check) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 20)
    result = check(path)
    assert codes(result) == {"file-unreadable"}
    assert result.exit_code == 1


def test_file_unreadable_for_binary_named_as_workbook(tmp_path: Path, check) -> None:
    path = tmp_path / "notes.xlsx"
    path.write_bytes(b"\x07\x00binary, neither zip nor OLE2\x00")
    assert codes(check(path)) == {"file-unreadable"}


@pytest.mark.parametrize("name", ["export.xls", "export.xlsx", "export.ods"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "cp1252"])
def test_text_named_as_a_workbook_is_read_as_text(
    tmp_path: Path, check, name: str, encoding: str
) -> None:
    # Web tools export tab-delimited text as "Excel" under an .xls name; Excel opens it.
    row = {**GOOD, "AddressName": "Zoë Café"}
    path = write_delimited(tmp_path / name, request_rows([row]), encoding=encoding)
    result = check(path)
    assert result.problems.empty
    assert result.files[0].encoding == encoding
    assert result.files[0].table.rows["AddressName"].tolist() == ["Zoë Café"]
    # Text with no header under such a name: said as of any text file, not "damaged".
    path.write_text("just some text\n")
    assert codes(check(path)) == {"file-kind-unknown"}


@pytest.mark.parametrize(
    ("start", "what"),
    [
        (b"<!DOCTYPE html>\n<html><body><table>", "a web page"),
        (
            b"\xef\xbb\xbf\r\n  <html xmlns:x='urn:schemas-microsoft-com:office:excel'>",
            "a web page",
        ),
        (b"<TABLE border=1><TR><TD>MerchantSKU</TD></TR>", "a web page"),
        ("<html><body>".encode("utf-16"), "a web page"),
        (
            b'<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:'
            b'spreadsheet">',
            "an XML file",
        ),
    ],
)
def test_file_unreadable_for_a_web_page_named_as_a_workbook(
    tmp_path: Path, check, start: bytes, what: str
) -> None:
    path = tmp_path / "report.xls"
    path.write_bytes(start + b"\n")
    result = check(path)
    assert codes(result) == {"file-unreadable"}
    (message,) = result.problems["message"]
    assert message.startswith(f"This is {what}")
    assert "saved with an .xls name, not a workbook" in message
    assert "save it as .xlsx, or export it as CSV" in message


def test_file_encoding_for_bytes_in_no_supported_encoding(tmp_path: Path, check) -> None:
    # 0x81 and 0x8D are invalid UTF-8 starts and undefined in Windows-1252.
    path = tmp_path / "bad.txt"
    path.write_bytes(b"MerchantSKU\tSellableQuantity\n\x81\x8d\t1\n")
    result = check(path)
    assert codes(result) == {"file-encoding"}
    assert "0x81" in result.problems["message"][0]


@pytest.mark.parametrize(
    ("encoding", "name", "shown"),
    [
        ("mac_roman", "Jürgen Müller", "JŸrgen"),  # Excel for Mac's 'CSV (Macintosh)'
        ("cp1250", "Łukasz Żółć", "¯ó³æ"),  # Polish Windows Excel's 'CSV'
        ("cp850", "José Núñez", "N£¤ez"),  # Excel's 'CSV (MS-DOS)'
    ],
)
def test_another_single_byte_encoding_is_refused_not_garbled(
    tmp_path: Path, check, encoding: str, name: str, shown: str
) -> None:
    """Read as Windows-1252 (every byte is something there), the name went into the
    written order as JŸrgen MŸller with exit 0 (review H7)."""
    rows = request_rows([GOOD, {**GOOD, "MerchantRemovalOrderID": "R9", "AddressName": name}])
    path = tmp_path / "other.csv"
    path.write_bytes(("\r".join(",".join(r) for r in rows) + "\r").encode(encoding))
    result = check(path)
    assert codes(result) == {"file-encoding"}
    (message,) = result.problems["message"]
    assert message.startswith(f"Line 3 holds '{shown}': the file looks saved in another encoding")
    assert result.problems["row"].tolist() == [3]


def test_windows_1252_symbols_beside_letters_are_no_other_encoding(tmp_path: Path, check) -> None:
    """Pound signs, sections, m² and m³, a French town's Ÿ: genuine Windows-1252 text."""
    notes = "£5 §3 m² m³ ‚quoted‘ L'HAŸ-LES-ROSES Œuvre"
    rows = request_rows([{**GOOD, "AddressName": "Zoë Café", "ShippingNotes": notes}])
    path = tmp_path / "cp.csv"
    path.write_bytes(("\r\n".join(",".join(r) for r in rows) + "\r\n").encode("cp1252"))
    result = check(path)
    assert codes(result) == set()
    assert result.files[0].encoding == "cp1252"


def test_a_windows_1252_pair_that_is_valid_utf8_is_no_utf8_file(tmp_path: Path, check) -> None:
    """JOSÉ’S is C9 92 in Windows-1252, a valid UTF-8 pair: two of them against one
    accent that is not UTF-8 had the file refused as UTF-8 with a foreign line."""
    rows = request_rows(
        [
            {**GOOD, "AddressName": "JOSÉ’S TACOS"},
            {**GOOD, "MerchantRemovalOrderID": "R2", "AddressName": "JOSÉ’S TACOS"},
            {**GOOD, "MerchantRemovalOrderID": "R3", "AddressName": "Café Bar"},
        ]
    )
    path = tmp_path / "jose.txt"
    path.write_bytes(("\r\n".join("\t".join(r) for r in rows) + "\r\n").encode("cp1252"))
    result = check(path)
    assert codes(result) == set()
    assert result.files[0].encoding == "cp1252"


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_utf8_file_with_a_windows_1252_line_names_that_line(
    tmp_path: Path, check, bom: bytes
) -> None:
    """Without a mark, one Windows-1252 byte made the whole file Windows-1252, every UTF-8
    letter two (JÃ¼rgen in the order); with one, the message gave only a byte offset."""
    rows = request_rows([{**GOOD, "AddressName": "Jürgen Müller"}])
    text = "\r\n".join(",".join(r) for r in rows) + "\r\n"
    extra = ",".join(request_rows([{**GOOD, "MerchantRemovalOrderID": "R2"}])[1])
    extra = extra.replace("R2", "Café", 1)
    path = tmp_path / "mixed.csv"
    path.write_bytes(bom + text.encode() + (extra + "\r\n").encode("cp1252"))
    result = check(path)
    assert codes(result) == {"file-encoding"}
    assert result.problems["row"].tolist() == [3]
    assert "line 3 holds a byte" in result.problems["message"][0].lower()


def test_a_windows_1252_line_a_megabyte_above_the_first_utf8_letter_is_found(
    tmp_path: Path, check
) -> None:
    """UTF-8 letters were looked for only in the megabyte after the Windows-1252 byte:
    with the first accented name further down, the whole file was read as Windows-1252
    and the name went into the order as JÃ¼rgen MÃ¼ller, exit 0."""
    header, pasted = request_rows([{**GOOD, "AddressFieldTwo": "Bâtiment C"}])
    filler = ",".join(request_rows([GOOD])[1])
    late = request_rows([{**GOOD, "MerchantRemovalOrderID": "R2", "AddressName": "Jürgen Müller"}])
    top = (",".join(header) + "\r\n").encode() + (",".join(pasted) + "\r\n").encode("cp1252")
    rest = (filler + "\r\n") * (1_200_000 // len(filler)) + ",".join(late[1]) + "\r\n"
    path = tmp_path / "pasted.csv"
    path.write_bytes(top + rest.encode())
    result = check(path)
    assert codes(result) == {"file-encoding"}
    assert result.problems["row"].tolist() == [2]


def test_a_bad_byte_in_a_file_of_carriage_returns_names_its_line(tmp_path: Path, check) -> None:
    """Excel for Mac ends lines with a carriage return alone: the line was always 1."""
    rows = request_rows([GOOD, {**GOOD, "MerchantRemovalOrderID": "R2"}])
    path = tmp_path / "cr.txt"
    path.write_bytes(("\r".join("\t".join(r) for r in rows) + "\r").encode() + b"\x81\r")
    result = check(path)
    assert codes(result) == {"file-encoding"}
    assert result.problems["row"].tolist() == [4]


def test_file_encoding_for_nul_bytes(tmp_path: Path, check) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"MerchantSKU,SellableQuantity\nA\x00B,1\n")
    assert codes(check(path)) == {"file-encoding"}


@pytest.mark.parametrize("encoding", ["utf-32", "utf-32-be-bom"])
@pytest.mark.parametrize("size", ["small", "large"])
def test_file_encoding_for_utf32_says_so(tmp_path: Path, check, encoding: str, size: str) -> None:
    # A UTF-32 LE mark starts with UTF-16 LE's: read as UTF-16, no header was found and the
    # file's kind was blamed (file-kind-unknown) instead of its encoding.
    rows = request_rows([GOOD] * (1 if size == "small" else 3000))
    text = "\r\n".join("\t".join(r) for r in rows) + "\r\n"
    data = (
        text.encode("utf-32")
        if encoding == "utf-32"
        else b"\x00\x00\xfe\xff" + text.encode("utf-32-be")
    )
    path = tmp_path / "u32.txt"
    path.write_bytes(data)
    result = check(path)
    assert codes(result) == {"file-encoding"}
    (message,) = result.problems["message"]
    assert "UTF-32" in message and "UTF-8" in message


def test_file_empty_for_zero_bytes_and_header_only(tmp_path: Path, check) -> None:
    (tmp_path / "zero.txt").write_bytes(b"")
    header_only = write_delimited(tmp_path / "header.txt", request_rows([]))
    result = check(tmp_path / "zero.txt", header_only)
    assert [f.counts_by_code() for f in result.files] == [{"file-empty": 1}, {"file-empty": 1}]


def test_file_kind_unknown_without_a_header(tmp_path: Path, check) -> None:
    path = write_delimited(tmp_path / "x.csv", [["a", "b"], ["1", "2"]], sep=",")
    assert codes(check(path)) == {"file-kind-unknown"}


def test_an_inventory_report_dropped_as_a_request_is_named_as_one(
    tmp_path: Path, check, inventory: Path
) -> None:
    # Its "sku" column passes for MerchantSKU: without this, the user would be told to add
    # RemovalDisposition and the quantities to an inventory report.
    result = check(inventory)
    assert codes(result) == {"file-kind-unknown"}
    (message,) = result.problems["message"]
    assert message.startswith("This is an inventory report") and "--inventory" in message
    # Named among check's files beside --inventory, it was told to be given with it.
    assert "not a removal request: leave it out of the request files." in message
    # A request that merely carries the report's columns too is still read as a request.
    # (Its SKU column headed "sku", as the report's is.)
    header = [
        *("sku" if h == "MerchantSKU" else h for h in request_rows([])[0]),
        "afn-fulfillable-quantity",
        "afn-unsellable-quantity",
    ]
    extra = {
        **GOOD,
        "sku": "00123",
        "afn-fulfillable-quantity": "5",
        "afn-unsellable-quantity": "0",
    }
    both = check(write_delimited(tmp_path / "both.txt", request_rows([extra], header=header)))
    assert codes(both) == {"header-unknown"}


def test_file_too_large_by_bytes_and_by_rows(tmp_path: Path, check) -> None:
    path = write_delimited(tmp_path / "big.txt", request_rows([GOOD] * 30))
    assert codes(check(path, settings=Settings(max_file_bytes=100))) == {"file-too-large"}
    assert codes(check(path, settings=Settings(max_rows=5))) == {"file-too-large"}


def test_header_missing_names_the_column(tmp_path: Path, check) -> None:
    header = [h for h in request_rows([])[0] if h != "SellableQuantity"]
    path = write_delimited(tmp_path / "m.txt", request_rows([GOOD], header=header))
    result = check(path)
    assert codes(result) == {"header-missing"}
    assert "SellableQuantity" in result.problems["message"][0]


def test_fnsku_column_stands_in_for_merchant_sku(tmp_path: Path, check) -> None:
    header = ["RemovalDisposition", "FNSKU", "SellableQuantity", "UnsellableQuantity"]
    row = {"RemovalDisposition": "Disposal", "FNSKU": "X000000001", "SellableQuantity": "1"}
    result = check(write_delimited(tmp_path / "f.txt", request_rows([row], header=header)))
    assert "header-missing" not in codes(result)


def test_header_duplicate_found_through_aliases(tmp_path: Path, check) -> None:
    header = [*request_rows([])[0], "seller-sku"]
    path = write_delimited(tmp_path / "d.txt", request_rows([GOOD], header=header))
    result = check(path)
    assert codes_at(result) == {(1, "P", "header-duplicate")}
    assert "M and P" in result.problems["message"][0]


def test_header_unknown_is_a_warning_and_the_column_is_ignored(tmp_path: Path, check) -> None:
    header = [*request_rows([])[0], "Notes"]
    rows = request_rows([{**GOOD, "Notes": "=cmd()"}], header=header)
    result = check(write_delimited(tmp_path / "u.txt", rows))
    assert codes_at(result) == {(1, "P", "header-unknown")}
    assert result.exit_code == 0


def test_file_too_large_for_a_cell_over_the_cell_limit(tmp_path: Path, check) -> None:
    header = [*request_rows([])[0], "Notes"]
    rows = request_rows([{**GOOD, "Notes": "x" * 40_000}], header=header)
    result = check(write_delimited(tmp_path / "cell.txt", rows))
    assert codes(result) == {"file-too-large"}
    assert "row 2, column P" in result.problems["message"][0]
    small = write_delimited(
        tmp_path / "small.txt", request_rows([{**GOOD, "ShippingNotes": "y" * 80}])
    )
    assert "(Excel's own)" in result.problems["message"][0]
    limited = check(small, settings=Settings(max_cell_chars=50))
    assert codes(limited) == {"file-too-large"}
    # A limit the settings set is not called Excel's (a review of the messages).
    assert limited.problems["message"][0].endswith(
        "the limit is 50 (max_cell_chars in the settings). Shorten the cell, or raise the limit."
    )
    assert check(small).problems.empty


@pytest.mark.parametrize(
    ("notes", "flagged"), [("é" * 40, False), ("é" * 60, True)], ids=["40", "60"]
)
def test_the_cell_limit_counts_characters_not_bytes(
    tmp_path: Path, check, notes: str, flagged: bool
) -> None:
    """A column is passed over when no cell has more bytes than the limit; one that has is
    measured in characters: 40 two-byte characters are within a 50-character limit."""
    path = write_delimited(tmp_path / "e.txt", request_rows([{**GOOD, "ShippingNotes": notes}]))
    result = check(path, settings=Settings(max_cell_chars=50))
    if flagged:
        assert codes(result) == {"file-too-large"}
        assert "holds 60 characters" in result.problems["message"][0]
    else:
        assert result.problems.empty
