"""removal-batch: check FBA removal-request spreadsheets before they reach Amazon."""

__version__ = "0.1.0"
