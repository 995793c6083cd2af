"""From config to the exact export requests: gather what AWS knows, then plan purely.

AWS is read in :mod:`.gather` (and by the account survey of `init`, :mod:`.starter`) only;
planning itself (:mod:`.plan`, :mod:`.incremental`, :mod:`.windows`) is pure.
"""
