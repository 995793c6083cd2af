"""Finishing a COMPLETED import: what ImportTable cannot set (TTL, tags) applied to the new
table, with a command to do it by hand when that fails.
"""

from __future__ import annotations

from ddbexport.errors import AwsError

from .api import RestoreApi
from .plan import RestorePlan


def aftercare(api: RestoreApi, plan: RestorePlan, table_arn: str) -> tuple[list[str], list[str]]:
    """Apply TTL and tags; a failure is reported with the command that does it by hand."""
    applied: list[str] = []
    problems: list[str] = []
    if plan.ttl_attribute:
        try:
            api.set_time_to_live(plan.table, plan.ttl_attribute)
        except AwsError as exc:
            # Finishing the same import twice: AWS refuses to enable TTL that is already on.
            if "already enabled" in str(exc).lower():
                applied.append(f"TTL on {plan.ttl_attribute!r} (already on)")
            else:
                problems.append(
                    f"TTL not enabled ({exc}); run: aws dynamodb update-time-to-live "
                    f"--table-name {plan.table} --time-to-live-specification "
                    f"Enabled=true,AttributeName={plan.ttl_attribute}"
                )
        else:
            applied.append(f"TTL on {plan.ttl_attribute!r}")
    if plan.tags:
        try:
            api.tag_table(table_arn, plan.tags)
        except AwsError as exc:
            pairs = " ".join(f"Key={key},Value={value}" for key, value in plan.tags.items())
            problems.append(
                f"tags not applied ({exc}); run: aws dynamodb tag-resource --resource-arn "
                f"{table_arn} --tags {pairs}"
            )
        else:
            applied.append(f"{len(plan.tags)} tag(s)")
    return applied, problems
