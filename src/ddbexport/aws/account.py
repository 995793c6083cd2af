"""The account-level look-ups of :class:`~ddbexport.aws.adapter.AwsApi`: the caller's account
(STS), SSM parameters and KMS keys."""

from __future__ import annotations

from typing import Any

from .errors import map_aws_errors
from .session import AwsClients


class AccountOperations(AwsClients):
    """STS's, SSM's and KMS's calls, each translated."""

    def caller_account(self) -> str:
        """The account the credentials belong to (STS GetCallerIdentity)."""
        with map_aws_errors("GetCallerIdentity"):
            return str(self._client("sts").get_caller_identity()["Account"])

    def assume_role(
        self, role_arn: str, *, session_name: str, duration_s: int, external_id: str | None
    ) -> dict[str, Any]:
        """STS AssumeRole's ``Credentials`` (AccessKeyId, SecretAccessKey, SessionToken,
        Expiration) for ``role_arn``."""
        arguments: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name,
            "DurationSeconds": duration_s,
        }
        if external_id is not None:
            arguments["ExternalId"] = external_id
        with map_aws_errors("AssumeRole"):
            return dict(self._client("sts").assume_role(**arguments)["Credentials"])

    def describe_key(self, key: str) -> dict[str, Any]:
        """KMS DescribeKey's ``KeyMetadata`` (KeyState, KeyUsage, Arn …)."""
        with map_aws_errors("DescribeKey"):
            metadata = self.kms.describe_key(KeyId=key)["KeyMetadata"]
        return dict(metadata)

    def get_parameter(self, name: str) -> str:
        """The (decrypted) value of an SSM parameter; raises ``ParameterNotFound``."""
        with map_aws_errors("GetParameter"):
            response = self.ssm.get_parameter(Name=name, WithDecryption=True)
        return str(response["Parameter"].get("Value", ""))
