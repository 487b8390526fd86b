"""Settings (SPEC section 7): defaults, and checking a parsed removal-batch.toml."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any

from removal_batch.core.fields import ADDRESS_FIELDS, EXCEL_CELL_CHARS

DISPOSITIONS = ("Return", "Disposal", "Liquidations")
MARKETPLACES = (
    "US",
    "CA",
    "MX",
    "BR",
    "UK",
    "GB",
    "DE",
    "FR",
    "IT",
    "ES",
    "NL",
    "SE",
    "PL",
    "BE",
    "JP",
    "AU",
    "IN",
)

# Where each marketplace sends removals: its own country (the UK marketplace's is GB).
MARKETPLACE_COUNTRIES = {"UK": "GB"}


class SettingsError(Exception):
    """A settings key or value that cannot be used; the message names it."""


@dataclass(frozen=True)
class Settings:
    marketplace: str = "US"
    on_excess: str = "reject"
    allow_partial: bool = False
    max_skus_per_order: int = 10_000
    max_skus_per_file: int = 10_000
    allowed_dispositions: tuple[str, ...] = ("Return", "Disposal")
    order_id_prefix: str = "RB"
    default_address: dict[str, str] = field(default_factory=dict)
    blocked_addresses: tuple[dict[str, str], ...] = ()
    max_file_bytes: int = 100 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_rows: int = 1_000_000
    max_cell_chars: int = EXCEL_CELL_CHARS

    @property
    def home_country(self) -> str:
        """The country this marketplace sends removal orders to, and the one a blank
        AddressCountryCode is judged as (the default address may only fill in this one)."""
        return MARKETPLACE_COUNTRIES.get(self.marketplace, self.marketplace)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def _positive_int(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SettingsError(f"setting '{key}' must be a whole number of 1 or more, not {value!r}")
    return value


def settings_from_mapping(data: dict[str, Any], source: str = "settings") -> Settings:
    """Check every key and value; an unknown key or bad value raises SettingsError."""
    known = {f.name for f in fields(Settings)}
    for key in data:
        if key not in known:
            raise SettingsError(
                f"{source}: unknown setting '{key}' (known: {', '.join(sorted(known))})"
            )
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{source}: setting '{key}'"
        if key == "marketplace":
            if not isinstance(value, str) or value.upper() not in MARKETPLACES:
                raise SettingsError(
                    f"{where} must be one of {', '.join(MARKETPLACES)}, not {value!r}"
                )
            out[key] = value.upper()
        elif key == "on_excess":
            if value not in ("reject", "cap"):
                raise SettingsError(f'{where} must be "reject" or "cap", not {value!r}')
            out[key] = value
        elif key == "allow_partial":
            if not isinstance(value, bool):
                raise SettingsError(f"{where} must be true or false, not {value!r}")
            out[key] = value
        elif key in {
            "max_skus_per_order",
            "max_skus_per_file",
            "max_file_bytes",
            "max_uncompressed_bytes",
            "max_rows",
            "max_cell_chars",
        }:
            out[key] = _positive_int(key, value)
        elif key == "allowed_dispositions":
            if not isinstance(value, list) or not value:
                raise SettingsError(
                    f'{where} must be a non-empty list, such as ["Return", "Disposal"]'
                )
            names = []
            for item in value:
                match = [
                    d
                    for d in DISPOSITIONS
                    if isinstance(item, str) and item.lower() in {d.lower(), d.lower().rstrip("s")}
                ]
                if not match:
                    raise SettingsError(
                        f"{where}: {item!r} is not one of {', '.join(DISPOSITIONS)}"
                    )
                names.append(match[0])
            out[key] = tuple(dict.fromkeys(names))
        elif key == "order_id_prefix":
            if not isinstance(value, str) or not re.fullmatch(
                r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", value
            ):
                raise SettingsError(
                    f"{where} must be 1-31 letters, digits, '.', '_' or '-', not {value!r}"
                )
            out[key] = value
        elif key == "default_address":
            out[key] = _address(where, value)
        elif key == "blocked_addresses":
            if not isinstance(value, list):
                raise SettingsError(f"{where} must be a list of [[blocked_addresses]] tables")
            out[key] = tuple(_blocked(f"{where}[{i}]", v) for i, v in enumerate(value))
    return Settings(**out)


def _address(where: str, value: Any) -> dict[str, str]:
    """The address fields given, without spaces around them; a blank one is left out, as
    if not written: "   " as the default street filled orders with a blank street (which
    no carrier can deliver to). An optional line left "" in a copied example does no harm
    that way, and a required field left blank is still address-required on every order
    that needs it."""
    if not isinstance(value, dict):
        raise SettingsError(f"{where} must be a table of address fields")
    allowed = set(ADDRESS_FIELDS)
    for key, item in value.items():
        if key not in allowed:
            raise SettingsError(
                f"{where}: unknown address field '{key}' (known: {', '.join(ADDRESS_FIELDS)})"
            )
        if not isinstance(item, str):
            raise SettingsError(f"{where}: '{key}' must be text in quotes, not {item!r}")
    return {str(k): v.strip() for k, v in value.items() if v.strip()}


def _blocked(where: str, value: Any) -> dict[str, str]:
    """One blocked address: the fields it is matched on, blank ones left out. An order is
    blocked when it matches every field of an entry, so an entry with nothing to compare
    (a bare [[blocked_addresses]], or only blank fields) would block every Return."""
    entry = _address(where, value)
    if not entry:
        raise SettingsError(
            f"{where} has no address field filled in, so it would block every Return order. "
            'Give the fields to match, such as AddressFieldOne = "4255 Anson Blvd" and '
            'AddressPostalCode = "46052", or delete the entry.'
        )
    for key, text in entry.items():
        # Compared without punctuation (core.rules.address): "-" or "." would match only
        # orders whose field is blank, and an optional line is blank on most Returns.
        if not any(ch.isalnum() for ch in text):
            raise SettingsError(
                f"{where}: {key} '{text}' has no letter or digit to match, so it would "
                f"block every Return order whose {key} is blank. Give the text to match, "
                "or leave the field out."
            )
    return entry
