"""Exports back into data: files (JSON lines, CSV, Parquet), snapshots at an instant, restores.

Reads exports through :mod:`ddbexport.exports` and chains through :mod:`ddbexport.catalog`.
"""
