"""What an export is on S3 or disk: layout and manifests, Ion text, stores, items, verification.

Everything here reads; S3 is reached through the ``ObjectApi`` port (or a folder on disk).
"""
