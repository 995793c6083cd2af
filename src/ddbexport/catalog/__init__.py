"""The record of what was exported: catalog records, chains of exports, freshness, retention.

Built on :mod:`ddbexport.exports`; planning reads it, aftercare writes it.
"""
