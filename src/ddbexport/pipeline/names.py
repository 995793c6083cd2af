"""Where a pipeline keeps its things, all derived from ``pipeline.stack_name``. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import ValidationError

from ddbexport.config.model import Config, PipelineSettings
from ddbexport.errors import ConfigError

from .tablelist import TableSetting


def table_list_key(config: Config, content: str) -> str:
    """Where a table list too big for SSM is kept, in the records bucket. The name carries the
    list's hash: ``deploy`` uploads the list before the stack changes, and a stack update that
    fails (and rolls back) must leave the old state machine reading the list it was built with.
    """
    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    return f"{_table_lists(config)}/tables-{digest}.json"


def table_list_keys(config: Config) -> str:
    """The pattern every :func:`table_list_key` of this stack matches (for the role's grant)."""
    return f"{_table_lists(config)}/tables-*.json"


def _table_lists(config: Config) -> str:
    return f"{config.catalog.prefix}/pipelines/{config.pipeline.stack_name}"


def records_prefix(config: Config) -> str:
    """Where the pipeline's run records go, in the records bucket (beside the catalog)."""
    return f"{config.catalog.prefix}/runs"


def catalog_exports_prefix(config: Config) -> str | None:
    """Where catalog records go in each export's bucket, or None when the catalog is off."""
    return f"{config.catalog.prefix}/exports" if config.catalog.enabled else None


def parameter_name(config: Config) -> str:
    """The SSM parameter holding the stack's table list."""
    return f"/ddbexport/{config.pipeline.stack_name}/tables"


def records_bucket(config: Config, tables: Sequence[TableSetting]) -> str:
    """Where run records go: the default bucket, else the first table's."""
    bucket = config.defaults.bucket or tables[0].destination.bucket
    assert bucket is not None  # config validation guarantees every table a bucket
    return bucket


def with_stack_name(config: Config, stack_name: str | None) -> Config:
    """``config`` deployed under another stack name (``--stack-name``): the parameter, the list
    and the template key follow the name, so two stacks from one config never share them.

    Raises:
        ConfigError: the name is not a valid stack name.
    """
    if stack_name is None or stack_name == config.pipeline.stack_name:
        return config
    try:
        pipeline = PipelineSettings.model_validate(
            {**config.pipeline.model_dump(), "stack_name": stack_name}
        )
    except ValidationError:
        raise ConfigError(
            f"--stack-name {stack_name!r}: a stack name starts with a letter and has at most 80 "
            "letters, digits and '-'"
        ) from None
    return config.model_copy(update={"pipeline": pipeline})
