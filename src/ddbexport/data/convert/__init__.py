"""Write an export's items (or changes) as JSON lines, CSV or Parquet, streaming.

**JSON lines** (``jsonl``): one item per line. Plain values are made JSON-safe: numbers are JSON
numbers with every digit, never through a float (the export's own text when it is a JSON number,
else the exact ``Decimal``'s), binary values are base64 strings, sets are sorted lists (numbers by
value, binary by bytes). With
``typed`` each line is the item's DynamoDB JSON. An INCREMENTAL export gives one change per line:
``{"kind", "keys", "old", "new", "write_time"}`` (``write_time`` ISO-8601 UTC to the microsecond).

**CSV**: the columns are the union of the items' top-level attributes, the table's key attributes
first (from the schema sidecar ddbexport writes beside its exports) and the others in order of
first appearance. Strings and numbers are written as they are, booleans as ``true``/``false``,
binary as base64, maps, lists and sets as JSON text; NULL and a missing attribute are both an
empty cell (CSV is for looking at data: use JSON lines or Parquet to keep every type). With
``typed`` each cell is that attribute's DynamoDB JSON. Changes have the columns ``kind``,
``write_time``, ``keys``, ``old`` and ``new``, the last three as JSON text.

**Parquet** (needs ``pyarrow``): the schema comes from a first pass over every item, so no item
can surprise the writer later; the second pass writes row groups of bounded size. One column per
top-level attribute, by the types seen in it (NULL and missing attributes are nulls and do not
count as a type):

======================  ===================================================================
types seen              Parquet column
======================  ===================================================================
S                       ``string``
N                       ``int64`` when every value is an integer that fits it; else
                        ``decimal128(38, s)`` with ``s`` the largest scale, when every value
                        fits 38 digits at that scale; else ``string`` holding each number's
                        exact text
B                       ``binary``
BOOL                    ``bool``
SS / NS / BS            ``list<string>`` / ``list<number type as for N>`` / ``list<binary>``,
                        sorted
M, L                    ``string`` holding the JSON of each value (as in JSON lines)
more than one type      ``string`` holding the JSON of each value (as in JSON lines), so a
                        string ``"1"`` and a number ``1`` stay apart
only NULL               ``string`` (all nulls)
======================  ===================================================================

Columns that hold JSON text carry the field metadata ``ddbexport.encoding = json``, and the
schema's ``ddbexport`` metadata lists them with the types seen in each varying column. With
``typed`` every column is a string of the attribute's DynamoDB JSON. Changes have the columns
``kind`` (string), ``write_time`` (``timestamp[us, UTC]``), ``keys``, ``old`` and ``new`` (JSON
text), written in one pass.

Reading twice: a folder on disk is simply read again; an export in S3 has its data files copied,
as they are (gzip'd), to a temporary folder during the first pass rather than downloaded twice.

Engines (:mod:`.native`): a FULL DynamoDB-JSON export's JSON lines and Parquet are converted in
C where the converter was built (``engine="auto"``, the default; ``"native"`` insists,
``"python"`` never), with the same output; what C does not convert exactly goes to the Python
code above. The native Parquet writer surveys and converts each chunk together, by the types of
the first chunk, and needs a second pass only when a later chunk changes them.
"""

from __future__ import annotations

from .csv_writer import write_csv
from .driver import FORMATS, check_output_path, convert
from .jsonl import PARALLEL_MIN_ITEMS, write_jsonl
from .native import ENGINES
from .parquet_writer import PARQUET_HINT, ROW_GROUP_BYTES, ROW_GROUP_ROWS, write_parquet
from .result import ConvertResult
from .values import CHANGE_COLUMNS, json_safe, json_safe_item, json_safe_typed

__all__ = [
    "CHANGE_COLUMNS",
    "ENGINES",
    "FORMATS",
    "PARALLEL_MIN_ITEMS",
    "PARQUET_HINT",
    "ROW_GROUP_BYTES",
    "ROW_GROUP_ROWS",
    "ConvertResult",
    "check_output_path",
    "convert",
    "json_safe",
    "json_safe_item",
    "json_safe_typed",
    "write_csv",
    "write_jsonl",
    "write_parquet",
]
