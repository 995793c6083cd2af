"""The IAM policy a config needs: for a local run, or for the deployed pipeline's role.

Both come from the generators the template itself uses (:mod:`ddbexport.pipeline.policy`), so
what ``ddbexport iam-policy --for pipeline`` prints is what the stack's role holds.
"""

from __future__ import annotations

from typing import Any, Literal

from ddbexport.aws.adapter import AwsApi
from ddbexport.config.model import Config
from ddbexport.errors import ConfigError

from .policy import local_policy, resolve_policy
from .synth import synth, table_settings

Target = Literal["local", "pipeline"]
_ROLE = ("Resources", "StateMachineRole", "Properties", "Policies")


def pipeline_role_policy(config: Config, api: AwsApi | None = None) -> dict[str, Any]:
    """The state machine role's policy exactly as the template holds it (intrinsics and all)."""
    template = synth(config, api, learn=False).template
    role: Any = template
    for key in _ROLE:
        role = role[key]
    policy: dict[str, Any] = role[0]["PolicyDocument"]
    return policy


def iam_policy(
    config: Config,
    *,
    target: Target = "local",
    api: AwsApi | None = None,
    account: str | None = None,
    region: str | None = None,
    enable_pitr: bool = False,
    resolve: bool = True,
) -> dict[str, Any]:
    """The least-privilege policy for ``target`` and exactly this config.

    With ``resolve`` (the default) ARNs are filled in for ``account`` and ``region`` (asked of
    AWS through ``api`` when not given); without it the policy keeps CloudFormation's
    ``Fn::Sub`` placeholders, as in the template. ``match``/``tags`` selectors are resolved
    against the account, as ``plan`` does.

    Raises:
        ConfigError: no way to learn the account or region, or the config is not exportable.
        AwsError: an AWS call failed.
    """
    dynamic = any(selector.name is None for selector in config.tables)
    lookup = api if dynamic else None
    if target == "pipeline":
        policy = pipeline_role_policy(config, lookup)
    else:
        policy = local_policy(config, table_settings(config, lookup), enable_pitr=enable_pitr)
    if not resolve:
        return policy
    if account is None or region is None:
        if api is None:
            raise ConfigError(
                "give --account and --region (or AWS access to look them up), or --unresolved"
            )
        account = account or api.caller_account()
        region = region or api.region_name()
    return resolve_policy(
        policy, region=region, account=account, stack_name=config.pipeline.stack_name
    )
