"""A table as of an instant: its baseline (FULL export) with its incremental exports merged in.

:func:`snapshot` looks the table's exports up in the catalog, picks the chain for the instant
(:func:`ddbexport.catalog.chain.find_chain`: the newest good FULL export at or before it, then the
INCREMENTAL windows up to it), reads every export streaming, applies the changes in
write-timestamp order (:func:`ddbexport.catalog.chain.merge`) and writes the items as

* ``dynamodb-json``: a folder laid out as AWS lays out a FULL export,
  ``<PATH>/AWSDynamoDB/<ExportId>/`` with ``manifest-summary.json``, ``manifest-files.json``,
  their ``.md5`` files, ``data/*.json.gz`` and the newest schema sidecar of the chain, so that
  :func:`ddbexport.exports.reader.open_export`, ``verify`` and (once in S3) ``restore`` take it
  as they take an export; in a local folder or under an ``s3://`` prefix;
* ``jsonl`` or ``parquet``: one file, written by :mod:`ddbexport.data.convert` from that layout.

The summary marks what it is: ``ddbexportSnapshot`` names the exports merged, the instant and any
gaps. ``exportArn`` has the shape of an export ARN but names no export AWS made: its id is the
instant's epoch milliseconds and a hash of the table and the exports merged, so the same snapshot
always gets the same id (and ``restore`` the same ClientToken). Data files list no ``etag``
unless the snapshot was written to S3, where S3 gives them: the ETag of a file uploaded later
depends on how it is uploaded and encrypted, and a wrong one would fail ``verify``.

Memory: one entry per key changed in the chain (only each key's newest change in the range is
kept); the baseline's items stream through, each replaced or dropped as it is read, so a large
table with few changes needs little memory. Files are read and written streaming. Items come in
the baseline's order, then the items it lacks in key order.

Nothing is left half-written: files are written under a temporary name and renamed into place
(a folder on disk), or uploaded data first and ``manifest-summary.json`` last, and removed again on
failure (S3). Nothing here prints or exits.
"""

from __future__ import annotations

from ddbexport.exports.files import SNAPSHOT_FIELD

from .choosing import snapshot_id, table_chain
from .driver import catalogued, snapshot, write_snapshot
from .layout import DATA_FILE_BYTES
from .merging import Locate
from .output import DYNAMODB_JSON, FORMATS, output_format
from .result import SnapshotResult

__all__ = [
    "DATA_FILE_BYTES",
    "DYNAMODB_JSON",
    "FORMATS",
    "SNAPSHOT_FIELD",
    "Locate",
    "SnapshotResult",
    "catalogued",
    "output_format",
    "snapshot",
    "snapshot_id",
    "table_chain",
    "write_snapshot",
]
