"""File names and paths as text a person can read, and a report or the ledger can hold."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def printable(text: str) -> str:
    """A file name or path as text to show or store: bytes that are not valid UTF-8 (from
    another system's encoding, kept by Python as surrogates) become U+FFFD. As they are,
    they cannot go into a report, a JSON summary or the ledger."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def shell_word(text: str) -> str:
    """A path as it goes into a command to copy and paste: quoted for the shell where it
    holds a space or another character the shell would take ("my removals")."""
    import shlex

    return shlex.quote(printable(text))


def display_name(path: Path) -> str:
    """The file's name as text (see printable)."""
    return printable(path.name)


def link_target(link: Path) -> str:
    """Where a symbolic link points, as text ("a file" when the link cannot be read)."""
    try:
        return printable(os.readlink(link))
    except OSError:
        return "a file"


def link_loops(link: Path) -> bool:
    """Whether a link leads, through links, back round to itself: it names a file that is
    there (another link), so "does not exist" would send the user looking for the wrong
    thing."""
    try:
        os.stat(link)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def carries_any_text(stream: object) -> bool:
    """Whether a text stream is UTF-8, so that any character can be written to it (the
    console's or pipe's encoding; not so for cp1252 or latin-1)."""
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    return encoding in ("utf8", "utf8sig")
