"""Shared vocabulary of every stage: plain data models, time parsing, logging, and the ports.

The ports (:mod:`.ports`) are the protocols AWS is reached through; nothing here does I/O.
"""
