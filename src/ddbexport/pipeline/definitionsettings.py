"""What the definition's builders are given at synth time. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .prefixes import PrefixTemplate

RECORDS_PREFIX = "ddbexport-catalog/runs"


@dataclass(frozen=True, slots=True)
class DefinitionSettings:
    """What the definition needs to know at synth time."""

    table_list_parameter: str
    records_bucket: str
    max_concurrency: int
    #: Waits after a table's first poll (``waits[0]`` is the first wait when nothing is known
    #: of the table), and after a first wait as long as its previous export (``near_waits``).
    waits: tuple[int, ...]
    templates: tuple[PrefixTemplate, ...] = ()
    kms_key: str | None = None  # for the run record, when the exports use KMS
    topic_arn: str | None = None
    limit_retry_s: int = 60
    #: Key of the table list in ``records_bucket`` when it is too big for SSM (else None).
    table_list_object: str | None = None
    #: Run records go under this prefix of ``records_bucket``.
    records_prefix: str = RECORDS_PREFIX
    #: The catalog's prefix in each export's bucket, or None when the catalog is off.
    catalog_prefix: str | None = None
    #: Some table is in incremental mode: the definition holds the states of its links.
    incremental: bool = False
    near_waits: tuple[int, ...] = ()
    #: The table list object's shared entry settings (the object holds only the entries).
    table_list_defaults: dict[str, Any] | None = None
