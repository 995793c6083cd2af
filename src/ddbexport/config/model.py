"""The configuration model and its loaders (TOML or JSON file, the seed ``tablelist``, SSM).

Everything here is pure: loaders take text or parsed values and return validated, frozen models.
Validation errors become :class:`~ddbexport.errors.ConfigError` whose message names the source,
the field and the allowed values.
"""

from __future__ import annotations

import json
import re
import string
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ddbexport.core.timeparse import DURATION_HELP, parse_duration
from ddbexport.errors import ConfigError

from .accountrules import (
    ACCOUNT_PATTERN,
    REGION_PATTERN,
    check_account,
    check_account_id,
    check_account_ids,
    check_accounts,
    check_regions,
)
from .lake import LakeSettings
from .schedule import check_schedule, check_timezone

ExportFormat = Literal["DYNAMODB_JSON", "ION"]
SseAlgorithm = Literal["AES256", "KMS"]
ExportMode = Literal["full", "incremental"]
ExportView = Literal["NEW_AND_OLD_IMAGES", "NEW_IMAGE"]

PREFIX_PLACEHOLDERS = ("table", "date", "time", "run_id")
DEFAULT_PREFIX = "{table}/{date}"
# DynamoDB's own pattern for S3Bucket (botocore model), plus S3's 3-character minimum.
BUCKET_PATTERN = re.compile(r"^[a-z0-9A-Z]+[.\-\w]*[a-z0-9A-Z]+$")
_TABLE_NAME = r"[a-zA-Z0-9_.-]{3,255}"
# DynamoDB accepts a table's name or its ARN wherever it takes a table.
TABLE_PATTERN = re.compile(
    rf"^(?:{_TABLE_NAME}|arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{{12}}:table/{_TABLE_NAME})$"
)
POLL_HELP = "'adaptive' or 'fixed:DURATION' (e.g. fixed:15s)"


def check_bucket(value: str | None) -> str | None:
    if value is not None and (not 3 <= len(value) <= 255 or not BUCKET_PATTERN.fullmatch(value)):
        raise ValueError(
            f"{value!r} is not a valid S3 bucket name (3-255 characters: letters, digits, "
            "'.', '-', '_', starting and ending with a letter or digit)"
        )
    return value


def check_table_name(value: str | None) -> str | None:
    if value is not None and not TABLE_PATTERN.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a DynamoDB table name (3-255 characters: letters, digits, '_', "
            "'-', '.') or table ARN"
        )
    return value


def _check_prefix(value: str | None) -> str | None:
    if value is None:
        return None
    if value.startswith("/"):
        raise ValueError(f"prefix {value!r} must not start with '/'")
    if len(value.encode()) > 1024:
        raise ValueError("prefix is longer than the 1,024 bytes S3Prefix allows")
    try:
        parsed = [part for part in string.Formatter().parse(value) if part[1] is not None]
    except ValueError as exc:
        raise ValueError(f"prefix {value!r} is not a valid template: {exc}") from None
    fields = [name for _, name, _, _ in parsed]
    # The pipeline fills placeholders in the state machine, where no format spec or
    # conversion exists: refused, so that both runners always write the same prefix.
    formatted = [
        f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
        for _, name, spec, conv in parsed
        if spec or conv
    ]
    if formatted:
        raise ValueError(
            f"prefix placeholder {formatted[0]} has a format spec or conversion; write "
            "placeholders plainly, e.g. {date}"
        )
    unknown = [name for name in fields if name not in PREFIX_PLACEHOLDERS]
    if unknown:
        allowed = ", ".join("{" + name + "}" for name in PREFIX_PLACEHOLDERS)
        raise ValueError(f"unknown placeholder {{{unknown[0]}}} in prefix; allowed: {allowed}")
    return value


def _check_full_every(value: str | None) -> str | None:
    if value is None or value == "never":
        return value
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"full_every: {exc}; or 'never'") from None
    if seconds < 3600:
        raise ValueError(f"full_every {value!r} is shorter than an hour; use e.g. '7d' or 'never'")
    return value


def _check_owner(value: str | None) -> str | None:
    if value is not None and not ACCOUNT_PATTERN.fullmatch(value):
        raise ValueError(f"bucket_owner {value!r} must be a 12-digit AWS account id")
    return value


class StrictModel(BaseModel):
    """A config model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Destination(StrictModel):
    """Where and how a table is exported. Every field is optional: unset means "inherit"."""

    bucket: str | None = None
    prefix: str | None = None
    format: ExportFormat | None = None
    sse: SseAlgorithm | None = None
    kms_key: str | None = Field(default=None, min_length=1, max_length=2048)
    bucket_owner: str | None = None
    #: ``incremental``: a full export (baseline), then chained windows of changes.
    mode: ExportMode | None = None
    #: The ExportViewType of incremental windows.
    view: ExportView | None = None
    #: Incremental mode: take a new baseline after this long (``7d``), or ``never``.
    full_every: str | None = None

    _bucket = field_validator("bucket")(check_bucket)
    _prefix = field_validator("prefix")(_check_prefix)
    _owner = field_validator("bucket_owner")(_check_owner)
    _full_every = field_validator("full_every")(_check_full_every)


class Defaults(Destination):
    """The ``[defaults]`` table: settings every selector inherits."""

    prefix: str | None = DEFAULT_PREFIX
    format: ExportFormat | None = "DYNAMODB_JSON"
    sse: SseAlgorithm | None = "AES256"
    mode: ExportMode | None = "full"
    view: ExportView | None = "NEW_AND_OLD_IMAGES"
    full_every: str | None = "7d"


class TableSelector(Destination):
    """One ``[[tables]]`` entry: exactly one of ``name``, ``match`` or ``tags``, plus overrides."""

    name: str | None = None
    match: str | None = Field(default=None, min_length=1)
    tags: dict[str, str] | None = Field(default=None, min_length=1)
    #: With ``[[accounts]]``: the accounts (ids) and regions this selector applies in; unset
    #: means every account, and every region of each.
    accounts: tuple[str, ...] | None = Field(default=None, min_length=1)
    regions: tuple[str, ...] | None = Field(default=None, min_length=1)

    _name = field_validator("name")(check_table_name)
    _accounts = field_validator("accounts")(check_account_ids)
    _regions = field_validator("regions")(check_regions)

    @model_validator(mode="after")
    def _exactly_one_selector(self) -> TableSelector:
        given = [key for key in ("name", "match", "tags") if getattr(self, key) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise ValueError(f"give exactly one of name, match or tags (found: {found})")
        return self

    def describe(self) -> str:
        """A short human description, e.g. ``match 'prod-*'``."""
        if self.name is not None:
            return f"name {self.name!r}"
        if self.match is not None:
            return f"match {self.match!r}"
        pairs = ", ".join(f"{key}={value}" for key, value in sorted((self.tags or {}).items()))
        return f"tags {pairs}"


class Account(Destination):
    """One ``[[accounts]]`` entry: an account whose tables are exported, how to reach it
    (``role_arn``, ``external_id``), its regions, and destination settings for its tables
    (between ``[defaults]`` and each ``[[tables]]`` entry)."""

    id: str
    #: The role assumed to reach the account; unset: the caller's own credentials, which must
    #: then belong to this account.
    role_arn: str | None = None
    external_id: str | None = None
    #: Where its tables are; unset: the config's ``region`` (or the environment's).
    regions: tuple[str, ...] | None = Field(default=None, min_length=1)

    _id = field_validator("id")(check_account_id)
    _regions = field_validator("regions")(check_regions)

    @model_validator(mode="after")
    def _reachable(self) -> Account:
        check_account(self.id, self.role_arn, self.external_id)
        return self


Seconds = Annotated[float, Field(gt=0)]


class PollSpec(StrictModel):
    """How often DescribeExport is called; see :mod:`ddbexport.running.polling`."""

    mode: Literal["adaptive", "fixed"] = "adaptive"
    fixed_interval_s: Seconds = 15.0

    @classmethod
    def parse(cls, text: str) -> PollSpec:
        """Parse ``adaptive`` or ``fixed:DURATION``."""
        cleaned = text.strip().lower()
        if cleaned == "adaptive":
            return cls()
        if cleaned.startswith("fixed:"):
            return cls(mode="fixed", fixed_interval_s=parse_duration(cleaned[len("fixed:") :]))
        raise ValueError(f"{text!r} is not a polling policy; expected {POLL_HELP}")


class RunSettings(StrictModel):
    """The ``[run]`` table: how a local run behaves."""

    max_concurrency: int = Field(default=5, ge=1, le=300)
    poll: PollSpec = PollSpec()
    poll_first_s: Seconds = 240.0
    poll_min_s: Seconds = 15.0
    poll_max_s: Seconds = 600.0
    timeout_s: Seconds = 24 * 3600.0
    retry_max_s: Seconds = 300.0
    verify: bool = True

    @model_validator(mode="before")
    @classmethod
    def _parse_text_fields(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        converted = dict(data)
        for key in ("poll_first", "poll_min", "poll_max", "timeout", "retry_max"):
            if key in converted:
                raw = converted.pop(key)
                try:
                    converted[f"{key}_s"] = _duration_value(raw)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        if isinstance(converted.get("poll"), str):
            try:
                converted["poll"] = PollSpec.parse(converted["poll"])
            except ValueError as exc:
                raise ValueError(f"poll: {exc}") from None
        return converted

    @model_validator(mode="after")
    def _ordered_bounds(self) -> RunSettings:
        if self.poll_min_s > self.poll_max_s:
            raise ValueError("poll_min must not be longer than poll_max")
        return self


def _duration_value(raw: object) -> float:
    if isinstance(raw, bool):
        raise ValueError(f"expected {DURATION_HELP}, got {raw!r}")
    if isinstance(raw, int | float):
        if raw <= 0:
            raise ValueError("must be longer than zero")
        return float(raw)
    if isinstance(raw, str):
        return parse_duration(raw)
    raise ValueError(f"expected {DURATION_HELP}, got {raw!r}")


class CatalogSettings(StrictModel):
    """The ``[catalog]`` table: where each bucket keeps the record of its exports."""

    enabled: bool = True
    prefix: str = Field(
        default="ddbexport-catalog",
        pattern=r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$",
        max_length=512,
    )


class RetentionSettings(StrictModel):
    """The ``[retention]`` table: how many exports ``prune`` keeps (and ``estimate`` prices)."""

    keep_last: int | None = Field(default=None, ge=1, le=100_000)
    older_than_s: Seconds | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse_duration(cls, data: Any) -> Any:
        if isinstance(data, dict) and "older_than" in data:
            converted = dict(data)
            try:
                converted["older_than_s"] = _duration_value(converted.pop("older_than"))
            except ValueError as exc:
                raise ValueError(f"older_than: {exc}") from None
            return converted
        return data

    @model_validator(mode="after")
    def _one_rule(self) -> RetentionSettings:
        if self.keep_last is not None and self.older_than_s is not None:
            raise ValueError("give keep_last or older_than, not both")
        return self

    @property
    def configured(self) -> bool:
        """Whether a rule is set (without one, exports are kept until pruned by hand)."""
        return self.keep_last is not None or self.older_than_s is not None


class PipelineSettings(StrictModel):
    """The ``[pipeline]`` table: the serverless pipeline ``ddbexport synth``/``deploy`` build."""

    # The state machine is named after the stack, and its names stop at 80 characters.
    stack_name: str = Field(default="ddbexport", pattern=r"^[A-Za-z][A-Za-z0-9-]{0,79}$")
    schedule: str = "cron(0 3 * * ? *)"
    timezone: str = "UTC"
    trigger: Literal["scheduler", "rule"] = "scheduler"
    enabled: bool = True
    notify_email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    notify_topic_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$"
    )
    #: The customer managed KMS key of ``notify_topic_arn``, if it has one: publishing uses it.
    notify_kms_key: str | None = Field(default=None, min_length=1, max_length=2048)
    log_retention_days: Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731] = 30
    limit_retry_s: Annotated[float, Field(ge=1, le=3600)] = 60.0

    @model_validator(mode="before")
    @classmethod
    def _parse_durations(cls, data: Any) -> Any:
        if isinstance(data, dict) and "limit_retry" in data:
            converted = dict(data)
            try:
                converted["limit_retry_s"] = _duration_value(converted.pop("limit_retry"))
            except ValueError as exc:
                raise ValueError(f"limit_retry: {exc}") from None
            return converted
        return data

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return check_schedule(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)

    @model_validator(mode="after")
    def _one_notification(self) -> PipelineSettings:
        if self.notify_email and self.notify_topic_arn:
            raise ValueError(
                "give notify_email (a topic is created) or notify_topic_arn (an existing one), "
                "not both"
            )
        return self

    @model_validator(mode="after")
    def _notify_key_needs_topic(self) -> PipelineSettings:
        if self.notify_kms_key and not self.notify_topic_arn:
            raise ValueError(
                "notify_kms_key is the key of an existing topic: give notify_topic_arn too (the "
                "topic created for notify_email uses the AWS managed key alias/aws/sns)"
            )
        return self

    @model_validator(mode="after")
    def _rule_is_utc(self) -> PipelineSettings:
        if self.trigger == "rule" and self.timezone != "UTC":
            raise ValueError(
                f"timezone {self.timezone!r} needs trigger = 'scheduler' (EventBridge rules run "
                "in UTC only)"
            )
        return self


class Config(StrictModel):
    """A whole ddbexport configuration file."""

    region: str | None = Field(default=None, pattern=REGION_PATTERN.pattern)
    exclude: tuple[str, ...] = ()
    defaults: Defaults = Defaults()
    tables: tuple[TableSelector, ...] = ()
    run: RunSettings = RunSettings()
    catalog: CatalogSettings = CatalogSettings()
    retention: RetentionSettings = RetentionSettings()
    pipeline: PipelineSettings = PipelineSettings()
    lake: LakeSettings = LakeSettings()
    #: Several accounts (and regions): each one's tables are exported with its own role.
    accounts: tuple[Account, ...] = ()

    @model_validator(mode="after")
    def _settings_complete(self) -> Config:
        check_accounts(self)
        for index, selector in enumerate(self.tables):
            where = f"tables[{index}] ({selector.describe()})"
            for account in _accounts_of(self, selector):
                inherited = self.defaults if account is None else account_defaults(self, account)
                effective = effective_destination(inherited, selector)
                here = where if account is None else f"{where} in account {account.id}"
                if effective.bucket is None:
                    hint = "defaults.bucket" if account is None else "defaults.bucket, its bucket"
                    raise ValueError(f"{here}: no bucket; set {hint} or bucket here")
                _check_sse(effective, here)
                if effective.mode == "incremental":
                    _check_incremental(effective, self.catalog, here)
        if not self.tables:
            _check_sse(self.defaults, "defaults")
        return self


def _accounts_of(config: Config, selector: TableSelector) -> list[Account | None]:
    """The accounts a selector applies in (``[None]`` for a config without accounts)."""
    if not config.accounts:
        return [None]
    return [a for a in config.accounts if selector.accounts is None or a.id in selector.accounts]


def account_defaults(config: Config, account: Account) -> Defaults:
    """``[defaults]`` with the account's own destination settings over them."""
    merged = effective_destination(config.defaults, account)
    return Defaults(**merged.model_dump())


def _check_incremental(destination: Destination, catalog: CatalogSettings, where: str) -> None:
    if not catalog.enabled:
        raise ValueError(
            f"{where}: mode = 'incremental' keeps each table's chain of exports in the catalog; "
            "set [catalog] enabled = true"
        )
    if "run_id" in _placeholders(destination.prefix or ""):
        raise ValueError(
            f"{where}: mode = 'incremental' cannot use {{run_id}} in prefix: a window must be "
            "written to the same place whichever run exports it (two runs then get the same "
            "export back instead of making two); use {table}, {date} and {time}"
        )


def _placeholders(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]


def _check_sse(destination: Destination, where: str) -> None:
    if destination.sse == "KMS" and not destination.kms_key:
        raise ValueError(f"{where}: sse = 'KMS' needs kms_key (a key id, alias or ARN)")
    if destination.sse != "KMS" and destination.kms_key:
        raise ValueError(f"{where}: kms_key is set but sse is {destination.sse!r}; use sse = 'KMS'")


def effective_destination(defaults: Destination, selector: Destination) -> Destination:
    """The selector's settings with unset fields taken from ``defaults``."""
    merged = defaults.model_dump()
    merged.update(selector.model_dump(include=set(Destination.model_fields), exclude_none=True))
    # Choosing AES256 on a table must drop a KMS key inherited from the defaults.
    if selector.sse == "AES256" and selector.kms_key is None:
        merged["kms_key"] = None
    return Destination(**merged)


# --------------------------------------------------------------------------- loaders


def load_config_file(path: Path) -> Config:
    """Read and validate a TOML (or ``.json``) config file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    return parse_config_text(text, source=str(path), json_syntax=path.suffix.lower() == ".json")


def parse_config_text(text: str, *, source: str, json_syntax: bool = False) -> Config:
    """Parse config text (TOML, or JSON when ``json_syntax``) and validate it."""
    data: object
    if json_syntax:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{source}: line {exc.lineno} column {exc.colno}: invalid JSON: {exc.msg}"
            ) from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: invalid TOML: {exc}") from None
    return validate_config(data, source=source)


def validate_config(data: object, *, source: str) -> Config:
    """Validate already-parsed config data."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the config must be a table/object, not {type(data).__name__}")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, source)) from None


# --------------------------------------------------------------------------- error messages

_MODEL_AT: dict[tuple[str, ...], type[BaseModel]] = {
    (): Config,
    ("defaults",): Defaults,
    ("tables",): TableSelector,
    ("accounts",): Account,
    ("run",): RunSettings,
    ("pipeline",): PipelineSettings,
    ("catalog",): CatalogSettings,
    ("lake",): LakeSettings,
}


def describe_validation_error(exc: ValidationError, source: str) -> str:
    """Turn pydantic's error into lines of ``source: field: problem (got …; allowed …)``."""
    lines = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        where = _format_location(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            parent = tuple(part for part in location[:-1] if not part.isdigit())
            model = _MODEL_AT.get(parent)
            allowed = ", ".join(_public_keys(model)) if model else ""
            problem = f"unknown key {location[-1]!r}" + (
                f"; allowed keys: {allowed}" if allowed else ""
            )
            where = _format_location(error["loc"][:-1])
        elif kind == "literal_error":
            expected = error.get("ctx", {}).get("expected", "")
            problem = f"{error['input']!r} is not allowed; allowed: {expected}"
        elif kind in ("value_error", "assertion_error"):
            problem = str(error["msg"]).removeprefix("Value error, ")
        else:
            problem = f"{error['msg']} (got {error['input']!r})"
        lines.append(f"{source}: {where + ': ' if where else ''}{problem}")
    return "\n".join(lines)


def _public_keys(model: type[BaseModel]) -> list[str]:
    keys = []
    for name in model.model_fields:
        # Duration fields are written without their unit suffix in files.
        strip = name.endswith("_s") and model in (RunSettings, PipelineSettings)
        keys.append(name[: -len("_s")] if strip else name)
    return keys


def _format_location(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text
