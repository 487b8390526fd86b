"""When the inventory snapshot was taken: read, and refused when it cannot be true.

Light on purpose (no pandas): the command line checks --inventory-time with it before
anything is read.
"""

from __future__ import annotations

import datetime as dt

# The ledger deducts the units of orders issued after the snapshot time: a time after
# the run started would deduct none of the orders issued since the real snapshot, and
# let their units be requested again. A few minutes are allowed for a clock that is a
# little off (the computer's, or the one that stamped the report); five minutes is more
# than synchronised clocks differ by, and too short for a day's orders to slip through.
CLOCK_SKEW = dt.timedelta(minutes=5)
# No Manage FBA Inventory report is this old: a time before it is a mistyped year (0026
# for 2026) or a date from a broken clock, never the time a report was taken.
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

ISO_EXAMPLE = "2026-11-26 or 2026-11-26T08:00:00Z"


class SnapshotTimeError(ValueError):
    """A snapshot time that is not a time, or not a possible one; the message says which."""


def parse_iso(text: str) -> dt.datetime | None:
    """An ISO date or date-time, or None. One without a zone is read as _without_zone."""
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else _without_zone(value)


def _without_zone(value: dt.datetime) -> dt.datetime:
    """A time typed without a zone means this computer's time or UTC: the earlier of the
    two is taken. Read later than meant (09:00 typed in Tokyo read as 09:00 UTC), the
    orders issued in between would not be deducted, and their units could be requested
    again; read earlier, a few orders are deducted twice at worst, and said so."""
    as_utc = value.replace(tzinfo=dt.UTC)
    try:
        local = value.astimezone()  # a naive time, placed in this computer's zone
    except (OverflowError, ValueError, OSError):
        return as_utc
    return min(as_utc, local, key=in_utc)


def in_utc(when: dt.datetime) -> dt.datetime:
    """``when`` in UTC; year 1 east of UTC or year 9999 west of it has no UTC time (an
    OverflowError): the end of the calendar it fell off stands in for it."""
    try:
        return when.astimezone(dt.UTC)
    except OverflowError:
        end = dt.datetime.min if when.year == dt.MINYEAR else dt.datetime.max
        return end.replace(tzinfo=dt.UTC)


def check_time(when: dt.datetime, said: str, advice: str, now: dt.datetime) -> dt.datetime:
    """``when``, once it can be the time a snapshot was taken before ``now`` (the
    run's start). ``said`` names the time and where it came from, as the subject of a
    sentence; ``advice`` says how to give a right one."""
    utc = in_utc(when)
    if utc < EARLIEST:
        raise SnapshotTimeError(
            f"{said} is before the year 2000: no inventory report was taken then. {advice}"
        )
    if utc > now + CLOCK_SKEW:
        raise SnapshotTimeError(
            f"{said} is after this run started ({now:%Y-%m-%d %H:%M} UTC). The units of "
            "orders issued after the snapshot was taken are deducted from it, so a time in "
            f"the future would let units already requested be requested again. {advice}"
        )
    return when


def option_time(text: str, now: dt.datetime) -> dt.datetime:
    """--inventory-time, checked (SnapshotTimeError says what is wrong with it)."""
    when = parse_iso(text)
    if when is None:
        raise SnapshotTimeError(
            f"--inventory-time '{text}' is not a date or time; use ISO form such as {ISO_EXAMPLE}."
        )
    advice = f"Give the time the inventory report was downloaded, such as {ISO_EXAMPLE}."
    return check_time(when, f"--inventory-time '{text}'{_zone_note(text)}", advice, now)


def _zone_note(text: str) -> str:
    """Said after a time that gives no zone: how it was read (_without_zone)."""
    parsed = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if parsed.tzinfo:
        return ""
    read = in_utc(_without_zone(parsed))
    return (
        f" (read as {read:%Y-%m-%d %H:%M} UTC, the earlier of this computer's time and UTC: "
        "it gives no time zone, such as +09:00)"
    )


def column_time(text: str, file: str, now: dt.datetime) -> dt.datetime:
    """The report's snapshot-date (its earliest), checked."""
    said = f"Inventory snapshot {file}: the time in its snapshot-date column, '{text}',"
    if parse_iso(text) is not None:
        said = said[:-1] + _zone_note(text) + ","
    advice = (
        "Correct the column, or give the time the report was taken with --inventory-time "
        f"(such as {ISO_EXAMPLE}), which is used instead."
    )
    when = parse_iso(text)
    if when is None:
        # Said at length: "'11/20/2026' is not a date" alone reads as if --inventory-time,
        # which the user may never have typed, were wrong.
        raise SnapshotTimeError(
            f"{said} is not a date or time in ISO form (year-month-day). {advice}"
        )
    return check_time(when, said, advice, now)


def modified_time(when: dt.datetime, file: str, now: dt.datetime) -> dt.datetime:
    """The snapshot file's modification time (no other time was given), checked."""
    said = f"Inventory snapshot {file}: the file's modification time, {when:%Y-%m-%d %H:%M} UTC,"
    advice = (
        "Check this computer's clock, or give the time the report was downloaded with "
        f"--inventory-time (such as {ISO_EXAMPLE})."
    )
    return check_time(when, said, advice, now)
