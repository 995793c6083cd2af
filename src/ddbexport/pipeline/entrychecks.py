"""A child's checks of its tablelist entry, and the FAILED records of entries they refuse.
Pure."""

from __future__ import annotations

from typing import Any

#: What a tablelist entry must look like, for the records of the entries that do not.
_ENTRY_SHAPE = (
    "each tablelist entry needs 'tablename' and 'bucketname' (strings) and may give 'prefix': "
    "a string with no '/' at either end, or null, \"\" or none at all for the bucket's root"
)
#: An entry without a usable table name is named by its place in the list.
_ENTRY_LABEL = "States.Format('tablelist[{}]', $.index)"
#: The records of entries that cannot be exported: the table, and why.
REJECTED: dict[str, tuple[str, str]] = {
    "No table name": (_ENTRY_LABEL, f"'tablename' is missing: {_ENTRY_SHAPE}"),
    "Table name not a string": (_ENTRY_LABEL, f"'tablename' must be a string: {_ENTRY_SHAPE}"),
    "No bucket name": ("$.entry.tablename", f"'bucketname' is missing: {_ENTRY_SHAPE}"),
    "Bucket name not a string": (
        "$.entry.tablename",
        f"'bucketname' must be a string: {_ENTRY_SHAPE}",
    ),
    "Prefix not a string": ("$.entry.tablename", f"'prefix' must be a string: {_ENTRY_SHAPE}"),
    # The state machine cannot strip the slash (no intrinsic cuts a string), and keeping it
    # would put '//' in every key of the export and of its catalog record.
    "Prefix with a slash at an end": (
        "$.entry.tablename",
        f"'prefix' must not start or end with '/': {_ENTRY_SHAPE}",
    ),
}


def _is(path: str, test: str, next_state: str, *, negate: bool = False) -> dict[str, Any]:
    rule: dict[str, Any] = {"Variable": path, test: True}
    return {"Not": rule, "Next": next_state} if negate else {**rule, "Next": next_state}


#: The entry's checks, in order: a type test on a field that is absent (or a pattern on one
#: that is not a string) is a States.Runtime error no Catch stops, so presence goes first.
ENTRY_CHECKS: list[dict[str, Any]] = [
    _is("$.entry.tablename", "IsPresent", "No table name", negate=True),
    _is("$.entry.tablename", "IsString", "Table name not a string", negate=True),
    _is("$.entry.bucketname", "IsPresent", "No bucket name", negate=True),
    _is("$.entry.bucketname", "IsString", "Bucket name not a string", negate=True),
    # A null prefix (or none) is the bucket's root, as "" is: set "" and check again.
    _is("$.entry.prefix", "IsPresent", "No prefix", negate=True),
    _is("$.entry.prefix", "IsNull", "No prefix"),
    _is("$.entry.prefix", "IsString", "Prefix not a string", negate=True),
    {"Variable": "$.entry.prefix", "StringMatches": "/*", "Next": "Prefix with a slash at an end"},
    {"Variable": "$.entry.prefix", "StringMatches": "*/", "Next": "Prefix with a slash at an end"},
]


def rejected_state(table: str, cause: str) -> dict[str, Any]:
    """The FAILED record of an entry the checks refuse; it reads no field they did not pass."""
    return {
        "Type": "Pass",
        "Parameters": {
            "table.$": table,
            "status": "FAILED",
            "run_id.$": "$.run.run_id",
            "export_time.$": "$.run.time",
            "entry.$": "$.entry",
            "error": {"Error": "InvalidTableEntry", "Cause": cause},
        },
        "ResultPath": "$.record",
        "Next": "Write table record",
    }
