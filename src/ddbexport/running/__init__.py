"""Running a plan: start and track exports, poll, journal, aftercare, report.

Aftercare verifies each export, saves its schema and catalogs it. :mod:`.facade` holds the
library's calls: ``load_config``, ``plan``, ``run``, ``check``, ``status``.
"""
