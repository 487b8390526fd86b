"""docs/reference.md lists every problem code with its severity, and every setting: it is
where the README sends a user who meets a code, so it must not fall behind the code."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from removal_batch.core.codes import CODES
from removal_batch.core.settings import Settings

REFERENCE = Path(__file__).resolve().parents[1] / "docs" / "reference.md"


def test_every_code_is_listed_once_with_its_severity() -> None:
    listed = re.findall(
        r"^\| `([a-z-]+)` \| (fatal|error|warning|info) \|", REFERENCE.read_text(), re.M
    )
    assert sorted(listed) == sorted((name, str(c.severity)) for name, c in CODES.items())


def test_every_setting_is_listed() -> None:
    text = REFERENCE.read_text()
    keys = set(re.findall(r"^\| `\[{0,2}([a-z_]+)\]{0,2}` \|", text, re.M))
    assert keys == {f.name for f in fields(Settings)}
