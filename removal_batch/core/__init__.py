"""The pure core: no file I/O and no printing. Works on DataFrames, returns typed results."""
