"""Decompressing export files: ISA-L's inflate (python-isal) where it is installed.

Decompression is most of what reading an export costs once the lines are converted in C:
ISA-L inflates the same gzip files about 2.5 times as fast as zlib (1 GB of DynamoDB JSON in
1.3 s against 3.5 s on the 2-core machine of ``bench/reader.py``). Without it, ``gzip`` does.
"""

from __future__ import annotations

import gzip
import zlib
from typing import IO, Any, cast

GZIP_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zlib.error)
"""What a damaged or truncated gzip file raises while it is read."""

_GzipFile: Any = gzip.GzipFile
try:
    from isal import igzip as _isal_gzip
    from isal import isal_zlib as _isal_zlib
except ImportError:  # a platform without python-isal's wheels
    pass
else:
    _GzipFile = _isal_gzip.IGzipFile  # a GzipFile whose inflate is ISA-L's
    # The stubs declare it as an instance; at run time it is the exception class.
    GZIP_ERRORS = (*GZIP_ERRORS, _isal_zlib.IsalError)  # type: ignore[arg-type]


def open_gunzip(raw: IO[bytes] | Any) -> IO[bytes]:
    """``raw`` (a binary stream of gzip data) decompressed as it is read."""
    return cast("IO[bytes]", _GzipFile(fileobj=raw, mode="rb"))
