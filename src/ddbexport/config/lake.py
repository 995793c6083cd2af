"""The ``[lake]`` table: where ``ddbexport lake sync`` keeps its Iceberg tables."""

from __future__ import annotations

import re
import string
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

LakeCatalog = Literal["sqlite", "glue", "rest", "s3tables"]

#: What ``table_name`` may use: the DynamoDB table's name, its region and its account.
TABLE_NAME_PLACEHOLDERS = ("table", "region", "account")
_NAMESPACE = re.compile(r"^[a-z0-9_]{1,255}$")
_TABLE_BUCKET_ARN = re.compile(
    r"^arn:aws[a-z-]*:s3tables:([a-z0-9-]+):[0-9]{12}:bucket/[a-z0-9-]+$"
)


class LakeSettings(BaseModel):
    """Where the Iceberg mirror of each table lives, and which catalog lists it.

    ``sqlite`` (the default) needs no service: a SQLite file beside the warehouse folder
    (``warehouse/catalog.db`` unless ``properties.uri`` says otherwise). ``glue`` lists the
    tables in the account's Glue Data Catalog (Athena reads them there) with their data under
    ``warehouse`` (``s3://``); ``rest`` talks to any Iceberg REST catalog (``properties.uri``);
    ``s3tables`` to an S3 table bucket (``table_bucket_arn``) through its Iceberg REST endpoint.
    ``properties`` go to pyiceberg's catalog as they are (and override what is derived here).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog: LakeCatalog = "sqlite"
    warehouse: str | None = Field(default=None, min_length=1, max_length=2048)
    namespace: str = "dynamodb"
    table_name: str = Field(default="{table}", min_length=1, max_length=255)
    table_bucket_arn: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _NAMESPACE.fullmatch(value):
            raise ValueError(
                f"namespace {value!r}: 1-255 lowercase letters, digits and '_' (Glue and Athena "
                "accept no other database names)"
            )
        return value

    @field_validator("table_name")
    @classmethod
    def _table_name(cls, value: str) -> str:
        try:
            names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        except ValueError as exc:
            raise ValueError(f"table_name {value!r}: {exc}") from None
        unknown = [name for name in names if name not in TABLE_NAME_PLACEHOLDERS]
        if unknown:
            raise ValueError(
                f"table_name {value!r}: unknown placeholder {{{unknown[0]}}}; allowed: "
                + ", ".join(f"{{{name}}}" for name in TABLE_NAME_PLACEHOLDERS)
            )
        if "table" not in names:
            raise ValueError(
                f"table_name {value!r} has no {{table}}: every DynamoDB table would write to the "
                "same Iceberg table"
            )
        return value

    @field_validator("table_bucket_arn")
    @classmethod
    def _table_bucket(cls, value: str | None) -> str | None:
        if value is not None and not _TABLE_BUCKET_ARN.fullmatch(value):
            raise ValueError(
                f"table_bucket_arn {value!r} is not an S3 table bucket ARN "
                "(arn:aws:s3tables:REGION:ACCOUNT:bucket/NAME)"
            )
        return value

    @model_validator(mode="after")
    def _complete(self) -> LakeSettings:
        if self.catalog == "glue" and not (self.warehouse or "").startswith("s3://"):
            raise ValueError(
                "catalog = 'glue' needs warehouse = 's3://BUCKET/PREFIX': Glue lists the tables, "
                "their files go there"
            )
        if self.catalog == "rest" and "uri" not in self.properties:
            raise ValueError(
                "catalog = 'rest' needs properties.uri, the REST catalog's URL "
                "(e.g. properties = { uri = 'https://catalog.example.com' })"
            )
        if self.catalog == "s3tables" and self.table_bucket_arn is None:
            raise ValueError(
                "catalog = 's3tables' needs table_bucket_arn "
                "(arn:aws:s3tables:REGION:ACCOUNT:bucket/NAME)"
            )
        if self.catalog != "s3tables" and self.table_bucket_arn is not None:
            raise ValueError(
                f"table_bucket_arn is for catalog = 's3tables', not {self.catalog!r}; remove it"
            )
        return self

    @property
    def region_of_table_bucket(self) -> str | None:
        """The region in ``table_bucket_arn``, if given."""
        if self.table_bucket_arn is None:
            return None
        match = _TABLE_BUCKET_ARN.fullmatch(self.table_bucket_arn)
        assert match is not None
        return match.group(1)
