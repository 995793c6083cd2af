"""Realistic tables for the sandbox (the demo's and users' experiments), and downloads from it.

These helpers talk to the sandbox through boto3 clients, as any user of the sandbox would.
"""

from __future__ import annotations

import base64
import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from . import Sandbox
from .accounts import ACCOUNT_HEADER


@dataclass(frozen=True, slots=True)
class DemoTable:
    """A demo table: its name, size, keys, and whether PITR is on."""

    name: str
    items: int
    range_key: bool = False
    gsi: bool = False
    pitr: bool = True


def demo_item(index: int, rng: random.Random, range_key: bool) -> dict[str, Any]:
    """An item using every DynamoDB attribute type."""
    item: dict[str, Any] = {
        "pk": {"S": f"id-{index:05d}"},
        "status": {"S": rng.choice(["NEW", "PAID", "SHIPPED", "CANCELLED"])},
        "amount": {"N": f"{rng.randint(1, 10**6)}.{rng.randint(0, 99):02d}"},
        "big": {"N": "9" * 38},
        "blob": {"B": base64.b64encode(rng.randbytes(12)).decode()},
        "active": {"BOOL": rng.random() < 0.5},
        "nothing": {"NULL": True},
        "tags": {"SS": sorted({rng.choice(["red", "green", "blue", "ünïcödé"]) for _ in range(3)})},
        "scores": {"NS": sorted({str(rng.randint(1, 100)) for _ in range(3)})},
        "hashes": {"BS": [base64.b64encode(bytes([i])).decode() for i in range(2)]},
        "address": {"M": {"city": {"S": "Tōkyō"}, "zip": {"S": f"{index % 1000:03d}-0000"}}},
        "history": {"L": [{"S": "created"}, {"N": str(index)}, {"M": {"by": {"S": "demo"}}}]},
        "note": {"S": ""},
    }
    if range_key:
        item["sk"] = {"N": str(index % 7)}
    return item


def create_tables(
    sandbox: Sandbox,
    tables: tuple[DemoTable, ...],
    *,
    region: str,
    bucket: str,
) -> None:
    """Create ``bucket`` and ``tables`` (tagged backup=daily) filled with varied items."""
    dynamodb: Any = boto3.client("dynamodb", region_name=region)
    s3: Any = boto3.client("s3", region_name=region)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    rng = random.Random(42)
    for table in tables:
        schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
        attributes = [{"AttributeName": "pk", "AttributeType": "S"}]
        extra: dict[str, Any] = {}
        if table.range_key:
            schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
            attributes.append({"AttributeName": "sk", "AttributeType": "N"})
        if table.gsi:
            attributes.append({"AttributeName": "status", "AttributeType": "S"})
            extra["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": "by-status",
                    "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ]
        dynamodb.create_table(
            TableName=table.name,
            KeySchema=schema,
            AttributeDefinitions=attributes,
            BillingMode="PAY_PER_REQUEST",
            Tags=[{"Key": "backup", "Value": "daily"}],
            **extra,
        )
        if table.pitr:
            dynamodb.update_continuous_backups(
                TableName=table.name,
                PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
            )
        batch = []
        for index in range(table.items):
            batch.append({"PutRequest": {"Item": demo_item(index, rng, table.range_key)}})
            if len(batch) == 25:
                dynamodb.batch_write_item(RequestItems={table.name: batch})
                batch = []
        if batch:
            dynamodb.batch_write_item(RequestItems={table.name: batch})
    # Let the PITR windows open a little before the run's export time.
    sandbox.advance(60)


def download_bucket(bucket: str, output: Path, *, region: str) -> list[Path]:
    """Copy every object of ``bucket`` to ``output/<bucket>/<key>``; returns the files."""
    s3: Any = boto3.client("s3", region_name=region)
    paths = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for entry in page.get("Contents", []):
            target = output / bucket / entry["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read())
            paths.append(target)
    return paths


# ---------------------------------------------------------------------------- accounts


def account_client(service: str, account: str, region: str) -> Any:
    """A boto3 client of the sandbox acting in ``account`` (to create its tables, buckets …)."""
    make: Any = boto3.client  # the service is not a literal here
    client: Any = make(service, region_name=region)

    def act_in_account(request: Any, **_: Any) -> None:
        request.headers[ACCOUNT_HEADER] = account

    client.meta.events.register("before-sign", act_in_account)
    return client


def create_account_role(
    account: str, *, name: str = "ddbexport", external_id: str | None = None
) -> str:
    """Create a role in ``account`` that the caller may assume; returns its ARN."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    iam = account_client("iam", account, "us-east-1")
    response = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    return str(response["Role"]["Arn"])
