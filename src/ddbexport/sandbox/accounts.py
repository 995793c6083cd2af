"""Many accounts in the sandbox: AssumeRole as strict as AWS's. (Clients acting in an account
and roles to assume: :mod:`ddbexport.sandbox.seed`.)

moto lets anyone assume any role, even one that does not exist. The sandbox refuses, as AWS
does, a role that does not exist in its account, and one whose trust policy asks for an
ExternalId that the caller did not send: a run across accounts then meets in the sandbox the
failures it meets on AWS.
"""

from __future__ import annotations

import json
from typing import Any

from moto.core.exceptions import AccessDeniedError
from moto.iam.models import iam_backends
from moto.sts.models import STSBackend

#: The header moto reads to act in an account (before the credentials' access key).
ACCOUNT_HEADER = "x-moto-account-id"

_original_assume_role = STSBackend.assume_role


def strict_assume_role(self: STSBackend, *args: Any, **kwargs: Any) -> Any:
    """moto's AssumeRole, refusing a missing role or a missing/wrong ExternalId."""
    role_arn = str(kwargs.get("role_arn", ""))
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    denied = AccessDeniedError(
        f"arn:aws:sts::{self.account_id}:caller", f"sts:AssumeRole on resource: {role_arn}"
    )
    try:
        role = iam_backends[account][self.partition].get_role_by_arn(role_arn)
    except Exception:  # moto's NotFoundException, or an account moto has never seen
        raise denied from None
    wanted = _external_id(role.assume_role_policy_document)
    if wanted is not None and kwargs.get("external_id") != wanted:
        raise denied
    return _original_assume_role(self, *args, **kwargs)


def _external_id(policy: str) -> str | None:
    try:
        document = json.loads(policy)
    except ValueError:
        return None
    statements = document.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        condition = statement.get("Condition", {}).get("StringEquals", {})
        if "sts:ExternalId" in condition:
            return str(condition["sts:ExternalId"])
    return None
