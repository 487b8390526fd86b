"""Line rules: the SKU must be in the snapshot, once per order, with something to remove."""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from removal_batch.core.checks import (
    EXCEL_DATE,
    EXCEL_SCIENTIFIC,
    UNSAVED_FORMULA,
    is_whole_number,
)
from removal_batch.core.fields import (
    CONTROL_CHARS,
    FLAT_BREAKS,
    INVISIBLE,
    LINE_BREAKS,
    arrow_strings,
    ascii_upper,
    first_invisible,
    may_hold_breaks,
    single_array,
    strip_text,
)
from removal_batch.core.findings import concat_findings, findings
from removal_batch.core.inventory import Snapshot
from removal_batch.core.raw_table import SPREADSHEET_ERROR, error_meaning


def parse_quantity(values: pd.Series) -> pd.Series:
    """Validated quantity text -> int64 (blank = 0; a value that failed its check = 0, as its
    line is rejected anyway)."""
    text = strip_text(values)
    whole = is_whole_number(text).fillna(False).astype(bool)
    kept = text.where(whole, "0")
    try:  # plain digits, nearly every quantity: Arrow's integer parser, 10x pandas' float one
        number = np.asarray(pc.cast(arrow_strings(kept), pa.int64()))
    except pa.ArrowInvalid:  # "+5", "5.0": whole numbers Arrow's parser does not take
        number = kept.astype("float64").to_numpy()
    return pd.Series(number, index=values.index).clip(lower=0).astype("int64")


def resolve_skus(lines: pd.DataFrame, snapshot: Snapshot) -> tuple[pd.Series, pd.DataFrame]:
    """The snapshot SKU of each line: MerchantSKU, or the SKU its FNSKU belongs to."""
    sku = lines["MerchantSKU"].copy()
    by_fnsku = sku.eq("") & lines["FNSKU"].ne("")
    found = []
    if by_fnsku.any():
        wanted = lines.loc[by_fnsku, "FNSKU"]
        owner, listed = _fnsku_owners(snapshot, wanted)
        sku.loc[by_fnsku] = owner.fillna("").to_numpy()
        ambiguous = wanted[listed > 1]
        if len(ambiguous):
            message = (
                "FNSKU " + ambiguous + " belongs to more than one SKU in the inventory snapshot; "
                "give the MerchantSKU instead."
            )
            found.append(findings(ambiguous.index, "FNSKU", "sku-unknown", message, ambiguous))
    return sku, concat_findings(found)


def fnsku_mismatch(lines: pd.DataFrame, snapshot: Snapshot, positions: np.ndarray) -> pd.DataFrame:
    """Lines giving a MerchantSKU and an FNSKU that the snapshot lists for another item:
    which of the two was meant cannot be told (the FNSKU was ignored, and the MerchantSKU's
    units sent without a word). ``positions``: each line's MerchantSKU row in the snapshot."""
    both = lines["MerchantSKU"].ne("") & lines["FNSKU"].ne("")
    if not both.any():
        return concat_findings([])
    at = positions[both.to_numpy()]
    listed = at >= 0
    given = lines.loc[both, "FNSKU"][listed]
    theirs = pd.Series(
        np.asarray(arrow_strings(snapshot.frame["fnsku"]).take(pa.array(at[listed])), dtype=object),
        index=given.index,
    )
    owner, _ = _fnsku_owners(snapshot, given)
    owner.index = given.index
    sku = lines.loc[given.index, "MerchantSKU"]
    # FNSKUs are capitals (X00...): a lower-case one typed is the same code (a-z only).
    # A SKU the snapshot lists without an FNSKU is still not the item of an FNSKU listed
    # for another SKU: that line went out as the MerchantSKU's, without a word.
    wrong = (theirs.ne("") & ascii_upper(theirs).ne(ascii_upper(given))) | (
        theirs.eq("") & owner.notna() & owner.astype(object).ne(sku)
    )
    if not wrong.any():
        return concat_findings([])
    given, theirs, owner, sku = given[wrong], theirs[wrong], owner[wrong], sku[wrong]
    belongs = pd.Series(
        np.where(
            owner.notna(), ", and '" + given + "' is the FNSKU of '" + owner.astype(str) + "'", ""
        ),
        index=given.index,
    )
    own = pd.Series(
        np.where(
            theirs.ne(""),
            "the FNSKU of '" + sku + "' is '" + theirs + "'",
            "'" + sku + "' has no FNSKU",
        ),
        index=given.index,
    )
    message = (
        "MerchantSKU '"
        + sku
        + "' and FNSKU '"
        + given
        + "' name different items: in the inventory snapshot, "
        + own
        + belongs
        + ". Correct the one that is wrong, or clear the FNSKU cell."
    )
    return findings(given.index, "FNSKU", "sku-unknown", message, given)


def sku_unknown(lines: pd.DataFrame, snapshot: Snapshot) -> pd.DataFrame:
    """Lines whose SKU (or FNSKU) is not in the snapshot (``lines`` has ``sku_pos``). Blank
    SKUs are value-missing."""
    # A SKU cell that already failed a check (too long) is not looked up again.
    unknown = lines["sku"].ne("") & (lines["sku_pos"] < 0) & ~lines["sku_cell_error"]
    # One holding a tab or a line break cannot be uploaded even where the snapshot lists it.
    broken = holds_breaks(lines["sku"]) & (lines["sku_pos"] >= 0) & ~lines["sku_cell_error"]
    by_fnsku = lines["MerchantSKU"].eq("") & lines["FNSKU"].ne("")
    # One column is filtered, not the whole frame of lines (a tenth of the time).
    plain = lines.loc[unknown & ~by_fnsku, "MerchantSKU"]
    advice = _near_miss_hint(plain, snapshot)
    odd = advice.eq("") & holds_breaks(plain)
    if odd.any():
        advice[odd] = " It holds " + _breaks_held(plain[odd]) + BREAK_ADVICE
    advice = advice.mask(advice.eq(""), " Check the spelling, or use a newer snapshot.")
    # A SKU Excel turned into a number or a date cannot be guessed back: other advice.
    for pattern, instead in EXCEL_MANGLED:
        advice = advice.mask(plain.str.fullmatch(pattern).fillna(False).astype(bool), instead)
    failed = plain.str.fullmatch(SPREADSHEET_ERROR).fillna(False).astype(bool)
    if failed.any():
        advice[failed] = (
            " It is a spreadsheet error, not a SKU: "
            + error_meaning(plain[failed])
            + ". Correct the formula, or type the SKU in its place."
        )
    message = "SKU '" + plain + "' is not in the inventory snapshot " + snapshot.file + "." + advice
    parts = [findings(plain.index, "MerchantSKU", "sku-unknown", message, plain)]
    missing_fnsku = lines.loc[by_fnsku & lines["sku"].eq("") & ~lines["sku_cell_error"], "FNSKU"]
    if len(missing_fnsku):
        message = (
            "FNSKU '"
            + missing_fnsku
            + "' is not in the inventory snapshot "
            + snapshot.file
            + "."
            + _fnsku_advice(missing_fnsku, snapshot)
        )
        parts.append(findings(missing_fnsku.index, "FNSKU", "sku-unknown", message, missing_fnsku))
    if broken.any():
        parts += _broken_sku_findings(lines[broken], snapshot)
    # One starting with a double quote: a flat-file reader that honours quotes takes it for
    # a quoted value, one that does not keeps the quotes Excel's way of writing it adds;
    # either way Amazon may read another SKU. (Listed, else it is sku-unknown above.)
    quoted = (
        lines["sku"].str.startswith('"').fillna(False).astype(bool)
        & (lines["sku_pos"] >= 0)
        & ~lines["sku_cell_error"]
        & ~broken
    )
    if quoted.any():
        sku = lines.loc[quoted, "sku"]
        message = (
            "SKU '"
            + sku
            + "' starts with a double quote, which the upload file cannot carry as it is: "
            "Amazon may read it as the start of a quoted value, and so as another SKU. Remove "
            "this line from the file and remove the units of this SKU in Seller Central."
        )
        parts.append(findings(sku.index, "MerchantSKU", "sku-unknown", message, sku))
    return concat_findings(parts)


def _fnsku_advice(fnskus: pd.Series, snapshot: Snapshot) -> pd.Series:
    """Why an FNSKU alone on its line was not found, where that can be told: the snapshot
    lists no FNSKU at all (a report without its fnsku column), or the value is a SKU the
    snapshot lists, typed in the wrong column."""
    advice = pd.Series("", index=fnskus.index, dtype=object)
    listed = arrow_strings(snapshot.frame["fnsku"])
    if not pc.any(pc.not_equal(listed, "")).as_py():
        advice[:] = (
            " It lists no FNSKUs (the report has no fnsku column), so none can be looked up: "
            "give the MerchantSKU, or download the report with its fnsku column."
        )
    known = snapshot.sku_array.cast(pa.large_string())
    typed = pc.cast(arrow_strings(fnskus), pa.large_string())
    is_sku = pc.fill_null(pc.is_in(typed, value_set=known), False)
    advice[is_sku.to_numpy(zero_copy_only=False)] = (
        " It is a SKU the snapshot lists: put it in the MerchantSKU column."
    )
    return advice


def holds_breaks(values: pd.Series) -> pd.Series:
    """Which values hold a tab, a line break of any kind or another control character
    (what a tab-delimited upload file cannot carry). The exact test only when a byte scan
    finds one."""
    if values.empty or not may_hold_breaks(single_array(arrow_strings(values))):
        return pd.Series(False, index=values.index)
    found = values.str.contains(FLAT_BREAKS, regex=True)
    return found.fillna(False).astype(bool)


# Why a SKU holding a tab or a line break is refused, and what to do.
BREAK_WHY = (
    ", which a tab-delimited upload file cannot carry (a tab starts a new column, a line "
    "break a new row); written any other way it would be another SKU."
)
BREAK_ADVICE = (
    BREAK_WHY + " Delete it from the cell (in Excel a line break is typed with Alt+Enter) "
    "and type the SKU exactly as Seller Central lists it."
)


def _breaks_held(skus: pd.Series) -> pd.Series:
    """ "a tab", "a line break", "a control character", or two or three of them: what each
    SKU holds of FLAT_BREAKS."""
    kinds = [
        (skus.str.contains("\t", regex=False), "a tab"),
        (skus.str.contains(LINE_BREAKS, regex=True), "a line break"),
        (skus.str.contains(CONTROL_CHARS, regex=True), "a control character"),
    ]
    said = pd.Series("", index=skus.index, dtype=object)
    for held, words in kinds:
        held = held.fillna(False).astype(bool)
        said[held] = said[held].where(said[held].eq(""), said[held] + " and ") + words
    return said


def _broken_sku_findings(lines: pd.DataFrame, snapshot: Snapshot) -> list[pd.DataFrame]:
    """Lines whose SKU, listed in the snapshot, holds a tab or a line break: the upload
    file cannot carry it (a tab starts the next column, a line break the next row), and
    writing it as a space would send another SKU, one that may be listed too and so escape
    that SKU's available units. No Amazon SKU holds one: the snapshot's SKU is wrong too
    (a .csv or .xlsx report edited by hand)."""
    sku = lines["sku"]
    what = _breaks_held(sku)
    shown = (
        sku.str.replace("\t", "[tab]", regex=False)
        .str.replace(LINE_BREAKS, "[line break]", regex=True)
        .str.replace(CONTROL_CHARS, "[control character]", regex=True)
    )
    by_fnsku = lines["MerchantSKU"].eq("")
    parts = []
    typed = lines[~by_fnsku]
    if len(typed):
        at = typed.index
        message = "SKU '" + shown[at] + "' holds " + what[at] + BREAK_ADVICE
        parts.append(findings(at, "MerchantSKU", "sku-unknown", message, typed["MerchantSKU"]))
    owned = lines[by_fnsku]
    if len(owned):
        at = owned.index
        message = (
            "FNSKU '"
            + owned["FNSKU"]
            + "' is the FNSKU of SKU '"
            + shown[at]
            + "' in the inventory snapshot "
            + snapshot.file
            + ", and that SKU holds "
            + what[at]
            + BREAK_WHY
            + " Give the MerchantSKU exactly as Seller Central lists it, or download the "
            "snapshot again."
        )
        parts.append(findings(at, "FNSKU", "sku-unknown", message, owned["FNSKU"]))
    return parts


# SKUs Excel changed as they were typed, and what to tell the user: a long number shown
# (and saved into a CSV) as 1.23457E+11, and a date cell, which the workbook reader gives
# as 2026-03-12 (a SKU typed 3-12 becomes one).
EXCEL_MANGLED = (
    (
        f"(?s:{UNSAVED_FORMULA})",
        " It is a formula whose result is not in the file: open the file in Excel or "
        "LibreOffice and save it again, or type the SKU.",
    ),
    (
        EXCEL_SCIENTIFIC,
        " It looks like a long number that Excel turned into scientific notation, which "
        "loses its digits: format the SKU column as Text, type the SKUs again and save.",
    ),
    (
        EXCEL_DATE,
        " It looks like a date: Excel turns a SKU typed like 3-12 or 1/2 into one. Format "
        "the SKU column as Text and type the SKU again.",
    ),
    (
        r"\d+\.0+",
        " It looks like a number a program saved with '.0' after it: remove the '.0' (and "
        "check any leading zeros are still there).",
    ),
)


def _near_miss_hint(skus: pd.Series, snapshot: Snapshot) -> pd.Series:
    """What probably turned a listed SKU into these unknown ones, where one explanation
    fits: an invisible character, other capitals, lost leading zeros, or a typing slip;
    "" elsewhere."""
    hint = pd.Series("", index=skus.index, dtype=skus.dtype)  # text + text, in any pandas
    if skus.empty:
        return hint
    hints = (
        _fnsku_hint,
        _invisible_hint,
        _lookalike_hint,
        _capitals_hint,
        _lost_zeros_hint,
        _typo_hint,
    )
    for explain in hints:
        todo = hint.eq("")
        if not todo.any():
            break
        hint[todo] = explain(skus[todo], snapshot)
    return hint


def _owners(
    known_keys: pa.Array, known: pa.Array, wanted_keys: pa.Array
) -> tuple[pd.Series, np.ndarray]:
    """For each wanted key: the known value with that key (None unless there is exactly
    one), and how many known values have it. The hash table is built on the wanted keys,
    a few, and probed by the known ones: the other way round, a million-SKU snapshot costs
    half a second each time."""
    if len(known) == 0 or len(wanted_keys) == 0:
        return pd.Series([None] * len(wanted_keys), dtype=object), np.zeros(
            len(wanted_keys), dtype=np.int64
        )
    distinct = pc.unique(wanted_keys)
    slot = pc.index_in(known_keys, value_set=distinct)  # per known value: its wanted key
    hit = pc.is_valid(slot).to_numpy(zero_copy_only=False)
    slots = np.asarray(slot.to_numpy(zero_copy_only=False)[hit], dtype=np.int64)
    counts = np.bincount(slots, minlength=len(distinct))
    owner = np.full(len(distinct), -1, dtype=np.int64)
    owner[slots] = np.flatnonzero(hit)
    owner[counts != 1] = -1
    wanted = np.asarray(pc.index_in(wanted_keys, value_set=distinct), dtype=np.int64)
    which = owner[wanted]
    values = known.take(pa.array(np.where(which >= 0, which, 0))).to_numpy(zero_copy_only=False)
    return pd.Series(np.where(which >= 0, values, None), dtype=object), counts[wanted]


def _fnsku_owners(snapshot: Snapshot, wanted: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """_owners by FNSKU. FNSKUs are capitals (X00...): one typed in small letters is the
    same code, here as in fnsku_mismatch; only a-z is capitalised (a dotless i is no I)."""
    return _owners(
        pc.ascii_upper(arrow_strings(snapshot.frame["fnsku"])),
        snapshot.sku_array,
        pc.ascii_upper(arrow_strings(wanted)),
    )


def _only_match(known_keys: pa.Array, known: pa.Array, wanted_keys: pa.Array) -> pd.Series:
    """For each wanted key, the one known value with that key (None when there is none,
    or more than one)."""
    return _owners(known_keys, known, wanted_keys)[0]


def _fnsku_hint(skus: pd.Series, snapshot: Snapshot) -> pd.Series:
    """An FNSKU (the X00... code on Amazon's label) typed in the SKU column: the label is
    what a warehouse person has in hand. Said with the SKU it stands for."""
    hint = pd.Series("", index=skus.index, dtype=skus.dtype)
    if "fnsku" not in snapshot.frame or not skus.str.match(r"(?i)[XB]0").fillna(False).any():
        return hint
    owners, counts = _fnsku_owners(snapshot, skus)
    owner = pd.Series(owners.to_numpy(), index=skus.index)
    one = owner.notna()
    if one.any():
        hint[one] = (
            " It is the FNSKU of SKU '" + owner[one].astype(str) + "' in the snapshot: put "
            "that SKU in MerchantSKU, or the FNSKU in a column of its own named FNSKU."
        )
    many = pd.Series(counts > 1, index=skus.index) & ~one
    if many.any():
        hint[many] = (
            " It is an FNSKU that the snapshot lists for more than one SKU: put the SKU meant "
            "in MerchantSKU."
        )
    return hint


def _invisible_hint(skus: pd.Series, snapshot: Snapshot) -> pd.Series:
    hint = pd.Series("", index=skus.index, dtype=skus.dtype)
    holding = skus.str.contains(INVISIBLE, regex=True).fillna(False).astype(bool)
    if not holding.any():
        return hint
    cleaned = skus[holding].str.replace(INVISIBLE, "", regex=True)
    listed = cleaned[snapshot.positions(cleaned) >= 0]
    if listed.empty:
        return hint
    code = first_invisible(skus[listed.index])
    hint[listed.index] = (
        " It holds an invisible character (" + code + "), probably pasted in with it; "
        "without it, it is '" + listed + "', which the snapshot lists. Type the SKU again."
    )
    return hint


# Characters word processors and other programs put in place of plain ones: hyphens and
# dashes (a non-breaking hyphen U+2011, an en dash, a minus sign), other spaces, and line
# breaks (a cell wrapped by Alt+Enter). Full-width letters and digits fold by NFKC.
_LOOKALIKES = str.maketrans(
    {
        **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"},
        **{c: " " for c in "\u00a0\u2007\u202f"},
        "\r": None,
        "\n": None,
    }
)


def _plainly(sku: str) -> str:
    return unicodedata.normalize("NFKC", sku).translate(_LOOKALIKES)


def _lookalike_hint(skus: pd.Series, snapshot: Snapshot) -> pd.Series:
    hint = pd.Series("", index=skus.index, dtype=skus.dtype)
    odd = ~skus.str.isascii().fillna(True).astype(bool) | skus.str.contains("[\r\n]").fillna(
        False
    ).astype(bool)
    if not odd.any():
        return hint
    plain = skus[odd].map(_plainly)
    plain = plain[plain.ne(skus[odd])]
    listed = plain[snapshot.positions(plain) >= 0] if len(plain) else plain
    if listed.empty:
        return hint
    hint[listed.index] = (
        " It holds a line break or a character that only looks like a plain one (a "
        "special hyphen or space, a full-width letter), probably from another program; "
        "written plainly it is '" + listed + "', which the snapshot lists. Type the SKU again."
    )
    return hint


def _capitals_hint(skus: pd.Series, snapshot: Snapshot) -> pd.Series:
    return _same_key_hint(
        skus,
        snapshot.sku_array,
        pc.utf8_lower,
        "'? The snapshot writes it with other capitals: use the SKU exactly as the snapshot "
        "lists it.",
    )


def _lost_zeros_hint(skus: pd.Series, snapshot: Snapshot) -> pd.Series:
    """' Did you mean 00123-BLK?' where the snapshot has the SKU with leading zeros."""
    known = snapshot.sku_array
    return _same_key_hint(
        skus,
        known.filter(pc.starts_with(known, "0")),
        lambda text: pc.utf8_ltrim(text, "0"),
        "'? Its leading zeros were probably lost: format the SKU column as Text.",
    )


def _same_key_hint(
    skus: pd.Series, known: pa.Array, key: Callable[[pa.Array], pa.Array], why: str
) -> pd.Series:
    """ " Did you mean 'X'" + why, where exactly one known SKU has an unknown one's key."""
    hint = pd.Series("", index=skus.index, dtype=skus.dtype)
    match = _only_match(key(known), known, key(arrow_strings(skus)))
    match.index = skus.index
    found = match.notna()
    hint[found] = " Did you mean '" + match[found].astype(str) + why
    return hint


# A typing slip is looked for only among a few unknown SKUs (a batch where most SKUs are
# unknown was checked against the wrong snapshot, and the terminal says so), and only in
# SKUs long enough that one slip away is not half the catalog.
TYPO_MAX_UNKNOWN = 50
TYPO_MIN_LENGTH = 5
# Sibling products' SKUs differ by one character too: a size (SHIRT-M, SHIRT-L, SHIRT-XL),
# a colour (BLK, BLU), a pack (4PK, 6PK), a number. So only slips no product line makes
# are guessed: two neighbours swapped (one of them a letter), or one letter added, left
# out or mistyped inside a word of at least this many letters (CANDEL, CANDKE, CANDDLE).
TYPO_WORD_LETTERS = 4


def _letter_runs(text: str) -> tuple[list[int], list[int]]:
    """For each position: the letters in a row ending there, and starting there (each
    list one longer, its last 0: position -1 and len(text) hold no letter)."""
    ending, starting = [0] * (len(text) + 1), [0] * (len(text) + 1)
    for i, char in enumerate(text):
        ending[i] = ending[i - 1] + 1 if char.isalpha() else 0
    for i in range(len(text) - 1, -1, -1):
        starting[i] = starting[i + 1] + 1 if text[i].isalpha() else 0
    return ending, starting


def _one_slip_away(sku: str) -> Iterator[tuple[str, str]]:
    """The texts one guessable slip from ``sku``, with how ``sku`` differs from each."""
    ending, starting = _letter_runs(sku)
    letters = sorted(set(string.ascii_letters) | {c for c in sku if c.isalpha()})
    for i, typed in enumerate(sku):
        word = ending[i] + starting[i] - 1  # letters in a row through i (typed is one)
        after = sku[i + 1 : i + 2]
        if after and after != typed and (typed.isalpha() or after.isalpha()):
            swapped = sku[:i] + after + typed + sku[i + 2 :]
            yield swapped, f"'{typed}{after}' where it has '{after}{typed}'"
        if not typed.isalpha():
            continue
        if word - 1 >= TYPO_WORD_LETTERS:
            yield sku[:i] + sku[i + 1 :], f"one '{typed}' too many"
        if word >= TYPO_WORD_LETTERS:
            for other in letters:
                if other != typed:
                    yield sku[:i] + other + sku[i + 1 :], f"'{typed}' where it has '{other}'"
    for i in range(len(sku) + 1):
        word = 1 + ending[i - 1] + starting[i]
        if word >= TYPO_WORD_LETTERS:
            for other in letters:
                yield sku[:i] + other + sku[i:], f"one '{other}' too few"


def _typo_hint(skus: pd.Series, snapshot: Snapshot) -> pd.Series:
    """' Did you mean 'CANDLE-SOY-LAV'?' where exactly one listed SKU is one slip (a
    character left out, added, mistyped, or two swapped) from an unknown one.

    The few unknown SKUs' variants (about 2,000 each) are hashed, and the snapshot's SKUs
    probe them, as in _owners: 0.05-0.1 s against a million SKUs, on a failure path."""
    hint = pd.Series("", index=skus.index, dtype=skus.dtype)
    unknown = pd.unique(skus[skus.str.len().ge(TYPO_MIN_LENGTH)].astype(object))
    if len(unknown) == 0 or len(unknown) > TYPO_MAX_UNKNOWN or len(snapshot.sku_array) == 0:
        return hint
    slips = pd.DataFrame.from_records(
        [(variant, sku, why) for sku in unknown for variant, why in _one_slip_away(sku)],
        columns=["variant", "unknown", "why"],
    ).drop_duplicates(["variant", "unknown"])
    if slips.empty:  # no SKU with a word to mistype (numbers, codes)
        return hint
    variants = pa.array(slips["variant"].unique(), type=snapshot.sku_array.type)
    slot = pc.index_in(snapshot.sku_array, value_set=variants)
    hit = pc.is_valid(slot)
    listed = pd.DataFrame(
        {
            "variant": variants.take(slot.filter(hit)).to_numpy(zero_copy_only=False),
            "listed": snapshot.sku_array.filter(hit).to_numpy(zero_copy_only=False),
        }
    )
    found = listed.merge(slips, on="variant").drop_duplicates(["unknown", "listed"])
    found = found[found["unknown"].map(found["unknown"].value_counts()).eq(1)]
    if found.empty:
        return hint
    said = (
        " Did you mean '"
        + found["listed"]
        + "'? The snapshot lists it, and this SKU has "
        + found["why"]
        + ". If that is the product, correct the SKU in the file."
    )
    hint[:] = skus.map(dict(zip(found["unknown"], said, strict=True))).fillna("")
    return hint


def _sku_numbers(lines: pd.DataFrame) -> np.ndarray:
    """One integer per distinct SKU: its snapshot row, or a number past the snapshot's rows
    for a SKU it does not list. Comparing integers is a fraction of comparing text."""
    numbers = lines["sku_pos"].to_numpy().copy()
    unlisted = numbers < 0
    if unlisted.any():
        codes, _ = pd.factorize(lines.loc[unlisted, "sku"])
        numbers[unlisted] = numbers.max() + 1 + codes
    return numbers


def sku_duplicate(lines: pd.DataFrame) -> pd.DataFrame:
    """The second and later lines of one SKU in one order (``lines`` has ``sku_pos``)."""
    if lines.empty:
        return concat_findings([])
    sku_numbers = _sku_numbers(lines)
    key = pd.Series(
        lines["order_no"].to_numpy() * (int(sku_numbers.max()) + 1) + sku_numbers,
        index=lines.index,
    )
    key = key[lines["sku"].ne("").to_numpy()]
    again = key.duplicated(keep="first")
    if not again.any():
        return concat_findings([])
    repeat = lines.loc[again[again].index]
    first_row = lines.loc[key.index, "source_row"].groupby(key).transform("min")[repeat.index]
    field = np.where(repeat["MerchantSKU"].ne(""), "MerchantSKU", "FNSKU")
    parts = []
    for name in ("MerchantSKU", "FNSKU"):
        sel = repeat[field == name]
        if len(sel):
            message = (
                "SKU '"
                + sel["sku"]
                + "' is already in order "
                + sel["order_id"]
                + " at row "
                + first_row[sel.index].astype(str)
                + ". Put each SKU once per order, with the "
                "total quantity."
            )
            parts.append(findings(sel.index, name, "sku-duplicate", message, sel[name]))
    return concat_findings(parts)


def quantity_zero(lines: pd.DataFrame) -> pd.DataFrame:
    zero = lines["sellable"].eq(0) & lines["unsellable"].eq(0) & ~lines["line_field_error"]
    hit = lines.loc[zero, ["sku", "SellableQuantity"]]
    message = (
        "Both quantities of SKU '" + hit["sku"] + "' are 0 (or blank), so there is nothing to "
        "remove. Enter the units to remove, or delete the row."
    )
    return findings(
        hit.index, "SellableQuantity", "quantity-zero", message, hit["SellableQuantity"]
    )
