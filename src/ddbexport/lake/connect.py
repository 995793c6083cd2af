"""The Iceberg catalog ``[lake]`` names, and the Iceberg table name of each DynamoDB table.

pyiceberg makes every catalog client itself (Glue through boto3, the REST catalogs through
HTTP, signed with SigV4 for S3 Tables): AWS credentials come from the environment as for every
other AWS call, and nothing here calls AWS directly.
"""

from __future__ import annotations

import re
from pathlib import Path

from pyiceberg.catalog import Catalog, load_catalog

from ddbexport.config.lake import LakeSettings
from ddbexport.errors import ConfigError

CATALOG_NAME = "ddbexport"
_NOT_IN_NAMES = re.compile(r"[^a-z0-9_]")


def catalog_properties(lake: LakeSettings, *, region: str | None = None) -> dict[str, str]:
    """pyiceberg's catalog properties for ``lake`` (``region``: the config's, for Glue)."""
    if lake.catalog == "sqlite":
        warehouse = lake.warehouse or "lake"
        properties = {"type": "sql"}
        if "://" in warehouse:
            properties["warehouse"] = warehouse
            if "uri" not in lake.properties:
                raise ConfigError(
                    f"[lake] warehouse {warehouse!r} is not a local folder: give the SQLite "
                    "file in properties.uri (e.g. 'sqlite:////var/lib/lake/catalog.db')"
                )
        else:
            folder = Path(warehouse).expanduser().resolve()
            properties["warehouse"] = folder.as_uri()
            properties["uri"] = f"sqlite:///{folder / 'catalog.db'}"
    elif lake.catalog == "glue":
        properties = {"type": "glue"}
        assert lake.warehouse is not None  # LakeSettings requires it for Glue
        properties["warehouse"] = lake.warehouse
        if region is not None:
            properties["glue.region"] = region
            properties["s3.region"] = region
    elif lake.catalog == "rest":
        properties = {"type": "rest"}
        if lake.warehouse is not None:
            properties["warehouse"] = lake.warehouse
    else:
        table_region = lake.region_of_table_bucket
        assert lake.table_bucket_arn is not None
        assert table_region is not None
        properties = {
            "type": "rest",
            "warehouse": lake.table_bucket_arn,
            "uri": f"https://s3tables.{table_region}.amazonaws.com/iceberg",
            "rest.sigv4-enabled": "true",
            "rest.signing-name": "s3tables",
            "rest.signing-region": table_region,
        }
    return {**properties, **lake.properties}


def connect(lake: LakeSettings, *, region: str | None = None) -> Catalog:
    """The catalog ``lake`` configures; a local SQLite catalog's folder is created."""
    properties = catalog_properties(lake, region=region)
    if lake.catalog == "sqlite" and properties.get("warehouse", "").startswith("file://"):
        Path(properties["warehouse"].removeprefix("file://")).mkdir(parents=True, exist_ok=True)
    try:
        return load_catalog(CATALOG_NAME, **properties)
    except (ValueError, NotImplementedError) as exc:
        raise ConfigError(f"[lake] catalog {lake.catalog!r}: {exc}") from None


def iceberg_name(lake: LakeSettings, table_arn: str) -> tuple[str, str]:
    """(namespace, table) of a DynamoDB table's Iceberg table: ``table_name`` filled in, in
    lowercase with every character but letters, digits and '_' made '_' (Glue's and Athena's
    rule for names; DynamoDB allows '-' and '.')."""
    parts = table_arn.split(":")
    name = table_arn.rsplit("/", 1)[-1]
    region = parts[3] if len(parts) > 5 else ""
    account = parts[4] if len(parts) > 5 else ""
    filled = lake.table_name.format(table=name, region=region, account=account)
    return lake.namespace, _NOT_IN_NAMES.sub("_", filled.lower())
