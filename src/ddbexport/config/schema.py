"""The JSON Schema of a config file as users write it, generated from the config model.

Editors read it to complete keys, show what each one means and flag mistakes while typing. The
model validates files, so the schema starts from pydantic's own schema of it and is then made to
describe the file rather than the model: durations are written ``poll_first = "4m"``, not
``poll_first_s = 240``; ``poll`` is ``"adaptive"`` or ``"fixed:15s"``; a key that is not set is
left out rather than written as ``null``. Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from ddbexport.core.timeparse import DURATION_HELP, format_duration

from .accountrules import ACCOUNT_PATTERN, EXTERNAL_ID_PATTERN, REGION_PATTERN, ROLE_ARN_PATTERN
from .model import (
    BUCKET_PATTERN,
    POLL_HELP,
    PREFIX_PLACEHOLDERS,
    TABLE_PATTERN,
    Config,
    PollSpec,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
TITLE = "ddbexport configuration"

# The patterns below use only syntax shared by ECMAScript (VS Code), Rust's regex crates (Taplo)
# and Python (jsonschema): no lookaround, no inline flags, so letters are spelt in both cases to
# match parse_duration's case-insensitivity. parse_duration drops every space before reading
# ("1h 30m", and even "1 5m"), hence a gap of spaces allowed between any two characters.
_GAP = " *"
_DIGITS = f"[0-9](?:{_GAP}[0-9])*"
_ZEROS = f"0(?:{_GAP}0)*"
_SOME_NONZERO = f"(?:[0-9]{_GAP})*[1-9](?:{_GAP}[0-9])*"
_NUMBER = rf"{_DIGITS}(?:{_GAP}\.{_GAP}{_DIGITS})?"
_ZERO = rf"{_ZEROS}(?:{_GAP}\.{_GAP}{_ZEROS})?"
_NONZERO = (
    rf"(?:{_SOME_NONZERO}(?:{_GAP}\.{_GAP}{_DIGITS})?|{_DIGITS}{_GAP}\.{_GAP}{_SOME_NONZERO})"
)
_UNIT = f"(?:[mM]{_GAP}[sS]|[sS]|[mM]|[hH]|[dD])"
# parse_duration refuses a total of zero: some part must have a non-zero digit, so the parts
# before the first such part are zeros and any part may follow it.
_PARTS = f"(?:{_ZERO}{_GAP}{_UNIT}{_GAP})*{_NONZERO}{_GAP}{_UNIT}(?:{_GAP}{_NUMBER}{_GAP}{_UNIT})*"
DURATION_PATTERN = rf"^\s*{_PARTS}\s*$"
POLL_PATTERN = rf"^\s*(?:[aA][dD][aA][pP][tT][iI][vV][eE]|[fF][iI][xX][eE][dD]:\s*{_PARTS})\s*$"

_DURATION_DOC = f"Written as {DURATION_HELP}, or as a number of seconds."
_PREFIX_DOC = (
    "S3 key prefix template with "
    + ", ".join("{" + name + "}" for name in PREFIX_PLACEHOLDERS)
    + " ({date} is YYYY/MM/DD of the export time, {time} HHMMSS); no leading '/', at most "
    "1,024 bytes rendered."
)

# What each key means, for editors' hovers. A model field with a description of its own
# (Field(description=...)) keeps it; these fill in the rest. Keyed by the model that declares the
# key (looked up along the class hierarchy) and the key as written in files.
_KEY_DOCS: dict[tuple[str, str], str] = {
    ("Config", "region"): "AWS region of the tables (default: --region, then the AWS environment).",
    ("Config", "exclude"): (
        "Glob patterns of table names removed from match/tags selections (never from tables "
        "named explicitly)."
    ),
    ("Config", "defaults"): "Settings every [[tables]] entry inherits.",
    ("Config", "tables"): (
        "The tables to export: each entry gives exactly one of name, match or tags, plus any "
        "[defaults] key to override."
    ),
    ("Config", "run"): "How a local run behaves.",
    ("Config", "catalog"): "Where each bucket keeps the record of its exports.",
    ("Config", "retention"): "How many exports 'ddbexport prune' keeps.",
    ("Config", "pipeline"): "The serverless pipeline 'ddbexport synth'/'deploy' build.",
    ("Config", "accounts"): (
        "Several accounts and regions: each entry is one account, reached through its role, "
        "with its regions and settings for its tables (between [defaults] and [[tables]])."
    ),
    ("Account", "id"): "The account's 12-digit id (each account listed once).",
    ("Account", "role_arn"): (
        "IAM role in this account assumed to export its tables; unset: the caller's own "
        "credentials, which must belong to the account."
    ),
    ("Account", "external_id"): "ExternalId sent with AssumeRole, when the role's trust needs one.",
    ("Account", "regions"): (
        "Regions whose tables are exported (default: the config's region, or the environment's)."
    ),
    ("TableSelector", "accounts"): (
        "With [[accounts]]: the account ids this entry applies in (default: every account)."
    ),
    ("TableSelector", "regions"): (
        "With [[accounts]]: the regions this entry applies in (default: every region of each "
        "account)."
    ),
    ("Destination", "bucket"): (
        "S3 bucket the exports go to (3-255 characters: letters, digits, '.', '-', '_')."
    ),
    ("Destination", "prefix"): _PREFIX_DOC,
    ("Destination", "format"): "Export format.",
    ("Destination", "sse"): (
        "Encryption of the exported objects (there is no unencrypted choice); KMS needs kms_key."
    ),
    ("Destination", "kms_key"): "KMS key id, alias or ARN; only with sse = 'KMS'.",
    ("Destination", "bucket_owner"): (
        "12-digit account id owning the bucket, when it belongs to another account."
    ),
    ("TableSelector", "name"): "One table, by name or ARN.",
    ("TableSelector", "match"): "A glob over the region's table names, e.g. 'prod-*'.",
    ("TableSelector", "tags"): "Every table carrying all of these tags.",
    ("RunSettings", "max_concurrency"): "Exports in flight at once (1-300).",
    ("RunSettings", "poll"): f"Polling policy: {POLL_HELP}.",
    ("RunSettings", "poll_first"): "First check when no previous export duration is known.",
    ("RunSettings", "poll_min"): "Shortest wait between checks (at most poll_max).",
    ("RunSettings", "poll_max"): "Longest wait between checks.",
    ("RunSettings", "timeout"): "Stop tracking after this long (the exports go on in AWS).",
    ("RunSettings", "retry_max"): "Longest pause after LimitExceeded or throttling.",
    ("RunSettings", "verify"): "Verify every COMPLETED export (the cheap checks).",
    ("CatalogSettings", "enabled"): "Write a schema sidecar and a catalog record per export.",
    ("CatalogSettings", "prefix"): (
        "Where each bucket keeps its catalog: an S3 key prefix of letters, digits, !_.*'()- "
        "with '/' between parts."
    ),
    ("RetentionSettings", "keep_last"): (
        "Keep the newest N good full exports of each table (not with older_than)."
    ),
    ("RetentionSettings", "older_than"): "Keep exports younger than this (not with keep_last).",
    ("PipelineSettings", "stack_name"): (
        "CloudFormation stack name, also the state machine's: a letter, then letters, digits "
        "and '-' (at most 80)."
    ),
    ("PipelineSettings", "schedule"): (
        "cron(Minutes Hours Day-of-month Month Day-of-week Year) or rate(N unit), as "
        "EventBridge reads it."
    ),
    ("PipelineSettings", "timezone"): (
        "IANA time zone of the schedule; only UTC with trigger = 'rule'."
    ),
    ("PipelineSettings", "trigger"): (
        "EventBridge Scheduler, or an EventBridge rule (UTC only) as in the seed design."
    ),
    ("PipelineSettings", "enabled"): "Whether the schedule is enabled.",
    ("PipelineSettings", "notify_email"): (
        "E-mail told when a table fails (an SNS topic is created); not with notify_topic_arn."
    ),
    ("PipelineSettings", "notify_topic_arn"): (
        "An existing SNS topic told when a table fails; not with notify_email."
    ),
    ("PipelineSettings", "notify_kms_key"): (
        "The customer managed KMS key of notify_topic_arn, if it has one: publishing uses it."
    ),
    ("PipelineSettings", "log_retention_days"): "Retention of the pipeline's log group, in days.",
    ("PipelineSettings", "limit_retry"): (
        "First pause after LimitExceededException (x1.5 each try); 1s to 1h."
    ),
}

# Checks the model makes on a field's value (field validators) that the generated schema cannot
# see, so editors flag them too.
_VALUE_RULES: dict[tuple[str, str], dict[str, Any]] = {
    ("Destination", "bucket"): {
        "pattern": BUCKET_PATTERN.pattern,
        "minLength": 3,
        "maxLength": 255,
    },
    ("Destination", "bucket_owner"): {"pattern": ACCOUNT_PATTERN.pattern},
    ("TableSelector", "name"): {"pattern": TABLE_PATTERN.pattern},
    ("TableSelector", "accounts"): {
        "items": {"type": "string", "pattern": ACCOUNT_PATTERN.pattern},
        "uniqueItems": True,
    },
    ("TableSelector", "regions"): {
        "items": {"pattern": REGION_PATTERN.pattern},
        "uniqueItems": True,
    },
    ("Account", "id"): {"pattern": ACCOUNT_PATTERN.pattern},
    ("Account", "role_arn"): {"pattern": ROLE_ARN_PATTERN.pattern},
    ("Account", "external_id"): {"pattern": EXTERNAL_ID_PATTERN.pattern},
    ("Account", "regions"): {
        "items": {"type": "string", "pattern": REGION_PATTERN.pattern},
        "uniqueItems": True,
    },
}

# The model's checks across keys (model validators) that JSON Schema can say.
_MODEL_RULES: dict[str, dict[str, Any]] = {
    "TableSelector": {
        "oneOf": [{"required": ["name"]}, {"required": ["match"]}, {"required": ["tags"]}]
    },
    "RetentionSettings": {"not": {"required": ["keep_last", "older_than"]}},
    "PipelineSettings": {
        "not": {"required": ["notify_email", "notify_topic_arn"]},
        "dependentRequired": {"notify_kms_key": ["notify_topic_arn"]},
        "if": {"required": ["trigger"], "properties": {"trigger": {"const": "rule"}}},
        "then": {"properties": {"timezone": {"const": "UTC"}}},
    },
}

_T = TypeVar("_T")
_LEADING_KEYS = ("title", "description", "type", "default", "properties", "additionalProperties")
_NUMBER_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a ddbexport config file, TOML or JSON.

    Every key the model accepts under its file name is described, with its default, its allowed
    values and what it means; unknown keys are refused wherever the model refuses them.
    """
    generated = Config.model_json_schema(mode="validation")
    definitions: dict[str, Any] = generated.pop("$defs", {})
    models = _models(Config)
    for name, definition in definitions.items():
        if name in models:
            definitions[name] = _file_form(models[name], definition)
    root = _file_form(Config, generated)
    root.pop("title", None)
    definitions = _referenced(root, definitions)
    return {
        "$schema": DIALECT,
        "title": TITLE,
        **root,
        "$defs": dict(sorted(definitions.items())),
    }


def _duration_key(field_name: str) -> str | None:
    """The file key of a duration field (``poll_first_s`` → ``poll_first``), else ``None``.

    Durations are held in seconds under a ``_s`` name and written in files without the suffix,
    as text such as ``4m`` or a number of seconds (see the ``mode="before"`` validators of
    :mod:`ddbexport.config.model`).
    """
    return field_name.removesuffix("_s") if field_name.endswith("_s") else None


def _models(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every model reachable from ``model``'s fields, by the name pydantic gives its schema."""
    found = {model.__name__: model}
    for field in model.model_fields.values():
        for nested in _nested_models(field):
            if nested.__name__ not in found:
                found.update(_models(nested))
    return found


def _nested_models(field: FieldInfo) -> list[type[BaseModel]]:
    pending: list[Any] = [field.annotation]
    nested: list[type[BaseModel]] = []
    while pending:
        annotation = pending.pop()
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            nested.append(annotation)
        pending.extend(getattr(annotation, "__args__", ()))
    return nested


def _file_form(model: type[BaseModel], definition: dict[str, Any]) -> dict[str, Any]:
    """``model``'s generated schema rewritten into the keys and values files use."""
    result = {key: value for key, value in definition.items() if key != "properties"}
    if model.__doc__:
        result["description"] = _plain(model.__doc__)
    properties: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key, value = _file_property(model, name, field, definition["properties"][name])
        properties[key] = value
    result["properties"] = properties
    if "required" in result:
        result["required"] = [_duration_key(name) or name for name in result["required"]]
    if model.model_config.get("extra") == "forbid":
        result["additionalProperties"] = False
    result.update(_MODEL_RULES.get(model.__name__, {}))
    return _readable(result)


def _file_property(
    model: type[BaseModel], name: str, field: FieldInfo, generated: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    value = _without_null(generated)
    # pydantic's titles are the Python names ("Poll First S"): the key itself says more.
    value.pop("title", None)
    if "$ref" in value:
        # A section's default is the dump of its model, in the model's names: its keys carry
        # their own defaults instead.
        value.pop("default", None)
    key = name
    described = field.description or _lookup(model, name, _KEY_DOCS)
    if _nested_models(field) == [PollSpec]:
        default = field.default
        assert isinstance(default, PollSpec)
        value = {"type": "string", "pattern": POLL_PATTERN, "default": _poll_text(default)}
    elif (stem := _duration_key(name)) is not None and value.get("type") == "number":
        key = stem
        value = _duration(value)
        doc = field.description or _lookup(model, key, _KEY_DOCS) or ""
        described = f"{doc} {_DURATION_DOC}"
    if described:
        value["description"] = described.strip()
    rules = _lookup(model, key, _VALUE_RULES)
    if rules:
        value.update(rules)
    return key, _readable(value)


def _duration(number: dict[str, Any]) -> dict[str, Any]:
    bounds = {key: number[key] for key in _NUMBER_BOUNDS if key in number}
    result: dict[str, Any] = {
        "anyOf": [
            {"type": "string", "pattern": DURATION_PATTERN},
            {"type": "number", **bounds},
        ]
    }
    if isinstance(number.get("default"), int | float):
        result["default"] = format_duration(float(number["default"]))
    return result


def _without_null(generated: dict[str, Any]) -> dict[str, Any]:
    """Drop the ``null`` pydantic allows for optional fields: files leave such keys out."""
    value = dict(generated)
    options = value.get("anyOf")
    if isinstance(options, list):
        kept = [option for option in options if option != {"type": "null"}]
        if len(kept) == 1:
            del value["anyOf"]
            value = {**kept[0], **value}
        else:
            value["anyOf"] = kept
    if "default" in value and value["default"] is None:
        del value["default"]
    return value


def _poll_text(spec: PollSpec) -> str:
    return (
        "adaptive" if spec.mode == "adaptive" else f"fixed:{format_duration(spec.fixed_interval_s)}"
    )


def _lookup(model: type[BaseModel], key: str, table: Mapping[tuple[str, str], _T]) -> _T | None:
    for cls in model.__mro__:
        if (cls.__name__, key) in table:
            return table[(cls.__name__, key)]
    return None


def _readable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with what people read first (title, description, type) first."""
    ranked = {key: rank for rank, key in enumerate(_LEADING_KEYS)}
    return dict(sorted(schema.items(), key=lambda item: ranked.get(item[0], len(ranked))))


def _plain(docstring: str) -> str:
    """A docstring as plain text: its first paragraph, reStructuredText markup removed."""
    paragraph = docstring.strip().split("\n\n", 1)[0]
    text = " ".join(paragraph.split())
    return re.sub(r":\w+:`", "`", text).replace("``", "'")


def _referenced(root: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """The definitions reachable from ``root`` (PollSpec is written as text, so it goes)."""
    kept: dict[str, Any] = {}
    pending: list[Any] = [root]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                name = reference.removeprefix("#/$defs/")
                if name not in kept:
                    kept[name] = definitions[name]
                    pending.append(definitions[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return kept
