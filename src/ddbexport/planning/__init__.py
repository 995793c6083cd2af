"""From config to the exact export requests: gather what AWS knows, then plan purely.

The only I/O is the gathering step in :mod:`.gather`; everything after it is pure.
"""
