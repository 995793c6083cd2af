"""Reaching another account: an :class:`~ddbexport.aws.adapter.AwsApi` whose credentials come
from STS AssumeRole, refreshed before they expire (a run may last longer than a role session).

The first AssumeRole happens when the API is made, so that a role that cannot be assumed is
reported at once, naming the account and the role.
"""

from __future__ import annotations

import os

import boto3
import botocore.credentials
import botocore.session

from ddbexport.core.logsetup import register_secrets
from ddbexport.errors import AccountUnreachable, AwsError

from .adapter import AwsApi
from .session import AwsSettings

#: Each role session lasts this long; botocore refreshes the credentials 15 minutes before
#: they expire, so a run of any length keeps working (roles allow at least one hour).
SESSION_SECONDS = 3600
SESSION_NAME = "ddbexport"


def caller_api(settings: AwsSettings) -> AwsApi:
    """The adapter with the caller's own credentials (profile or environment)."""
    return AwsApi(settings)


def account_api(
    settings: AwsSettings,
    *,
    account: str,
    role_arn: str | None,
    external_id: str | None = None,
    base: AwsApi | None = None,
) -> AwsApi:
    """An adapter acting in ``account`` (in ``settings.region``).

    With ``role_arn``, its credentials are the role's, assumed with the caller's credentials
    (``base``, else ``settings``' profile). Without, the caller's own, which must belong to
    ``account``.

    Raises:
        AccountUnreachable: the role cannot be assumed, or the credentials belong to another
            account (the message names the account and the role).
    """
    if role_arn is None:
        api = AwsApi(settings)
        try:
            actual = (base or api).caller_account()
        except AwsError as exc:
            raise AccountUnreachable(
                f"account {account}: cannot tell which account the credentials belong to "
                f"({exc.code}: {exc})",
                code=exc.code,
                operation="GetCallerIdentity",
            ) from None
        if actual != account:
            raise AccountUnreachable(
                f"account {account}: no role_arn, and the credentials in use belong to account "
                f"{actual}; set role_arn to a role in {account} that they may assume",
                operation="GetCallerIdentity",
            )
        return api
    session = assumed_session(
        base or AwsApi(settings),
        role_arn=role_arn,
        external_id=external_id,
        region=settings.region,
        account=account,
    )
    return AwsApi(settings, session=session)


def assumed_session(
    caller: AwsApi,
    *,
    role_arn: str,
    external_id: str | None,
    region: str | None,
    account: str,
    duration_s: int = SESSION_SECONDS,
) -> boto3.session.Session:
    """A boto3 session on the role's credentials, assumed by ``caller`` and assumed again
    before they expire."""

    def fetch() -> dict[str, str]:
        try:
            credentials = caller.assume_role(
                role_arn, session_name=SESSION_NAME, duration_s=duration_s, external_id=external_id
            )
        except AwsError as exc:
            raise AccountUnreachable(
                f"account {account}: cannot assume role {role_arn} ({exc.code}: {exc}). The "
                "caller needs sts:AssumeRole on it, and the role's trust policy must name the "
                "caller" + (" and the external id" if external_id else ""),
                code=exc.code,
                operation="AssumeRole",
            ) from None
        register_secrets(
            credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"]
        )
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    refreshable = botocore.credentials.RefreshableCredentials.create_from_metadata(
        metadata=fetch(), refresh_using=fetch, method="sts-assume-role"
    )
    core = botocore.session.Session()
    # botocore has no public setter for refreshable credentials; its own assume-role provider
    # hands them to the session the same way.
    core._credentials = refreshable  # type: ignore[attr-defined]
    region_name = region or os.environ.get("AWS_REGION") or None
    return boto3.session.Session(botocore_session=core, region_name=region_name)
