"""``ddbexport synth --stackset``: one template for every account and region of ``[[accounts]]``,
with what differs per account as stack parameters, for a CloudFormation StackSet. Pure, apart
from resolving ``match``/``tags`` selectors (through each account's API).

The template is the pipeline's, built for every table of every account (so that its state
machine knows every prefix template and its role may export every table and write every
bucket), with two parameters each stack instance overrides:

* ``TableListValue``: the account's table list (the SSM parameter's value, as ``synth`` writes
  it), at most the 4,096 bytes of a CloudFormation parameter;
* ``RecordsBucket``: where the account's run records go (its default bucket).

Tables named without an ARN are exported in each stack's own account and region, as with one
stack; tables named by ARN only in the account and region of their ARN.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ddbexport.config.accounts import Target, account_targets
from ddbexport.config.model import Config
from ddbexport.core.ports import ExportApi
from ddbexport.errors import ConfigError

from .names import records_bucket
from .statemachine import definition_json
from .synth import DEFINITION_FILE, TEMPLATE_FILE, table_settings
from .tablelist import ADVANCED_LIMIT, STANDARD_LIMIT, TableSetting, compile_table_list
from .template import STATE_MACHINE, synthesize

#: Stands for each stack's records bucket while the template is built, then becomes
#: ``${RecordsBucket}``. Not a bucket name anyone can own (S3 names have no uppercase).
_RECORDS = "RECORDS-BUCKET-OF-EACH-STACK"
PARAMETERS_FOLDER = "parameters"
STACK_SET_PARAMETERS = "stack-set-parameters.json"
COMMANDS_FILE = "deploy-stackset.sh"
#: CloudFormation's limit for --template-body; a bigger template goes through S3.
TEMPLATE_BODY_LIMIT = 51_200


@dataclass(frozen=True, slots=True)
class StackInstance:
    """One account and region of the StackSet, and its parameter values."""

    account: str
    region: str
    tables: tuple[str, ...]
    parameters: dict[str, str]


@dataclass(frozen=True, slots=True)
class StackSetSynthesis:
    """What ``synth --stackset`` writes."""

    template: dict[str, Any]
    definition: dict[str, Any]
    instances: tuple[StackInstance, ...]
    stack_set_name: str


def synth_stackset(
    config: Config,
    *,
    default_region: str | None = None,
    connect: Callable[[Target], ExportApi] | None = None,
) -> StackSetSynthesis:
    """The StackSet's template and each account's and region's parameters.

    Args:
        config: a config with ``[[accounts]]``.
        default_region: the region of accounts that give none (and the config neither).
        connect: each target's API, to resolve ``match``/``tags`` selectors (named tables need
            no AWS call).

    Raises:
        ConfigError: no accounts; a target's table list does not fit an SSM parameter; as
            :func:`~ddbexport.pipeline.synth.table_settings`.
    """
    if not config.accounts:
        raise ConfigError(
            "--stackset deploys to the accounts of [[accounts]]; this config has none "
            "(use synth without --stackset for one stack)"
        )
    targets = account_targets(config, default_region)
    if not targets:
        raise ConfigError("--stackset: no account and region has a table to export")
    per_target: list[tuple[Target, list[TableSetting]]] = []
    for target in targets:
        dynamic = any(selector.name is None for selector in target.config.tables)
        api = connect(target) if dynamic and connect is not None else None
        try:
            per_target.append((target, table_settings(target.config, api)))
        except ConfigError as exc:
            raise ConfigError(f"account {target.label}: {exc}") from None
    union = _union([setting for _, settings in per_target for setting in settings])
    shared = config.model_copy(
        update={
            "accounts": (),
            "defaults": config.defaults.model_copy(update={"bucket": _RECORDS}),
        }
    )
    synthesis = synthesize(shared, union)
    if not synthesis.table_list.in_ssm:
        raise ConfigError(
            f"--stackset: the tables of all accounts together ({len(union)} distinct) make a "
            f"table list over SSM's {ADVANCED_LIMIT:,} bytes; the template must be built for "
            "all of them. Split the accounts over several configs, each with its own "
            "pipeline.stack_name"
        )
    templates = synthesis.table_list.templates
    instances = []
    for target, settings in per_target:
        compiled = compile_table_list(settings, config.run, templates=templates)
        size = len(compiled.value.encode())
        if size > STANDARD_LIMIT:
            raise ConfigError(
                f"account {target.label}: its table list is {size:,} bytes, over the "
                f"{STANDARD_LIMIT:,} a CloudFormation parameter holds ({len(settings)} tables); "
                "split its tables over several configs, each with its own pipeline.stack_name"
            )
        parameters = {
            "TableListValue": compiled.value,
            "RecordsBucket": records_bucket(target.config, settings),
        }
        instances.append(
            StackInstance(
                target.account,
                target.region,
                tuple(setting.table for setting in settings),
                parameters,
            )
        )
    template = _parameterised(synthesis.template, config)
    definition = template["Resources"][STATE_MACHINE]["Properties"]["Definition"]
    return StackSetSynthesis(template, definition, tuple(instances), config.pipeline.stack_name)


def _union(settings: Sequence[TableSetting]) -> list[TableSetting]:
    """Each table once per name, ARN and destination (accounts often share their tables)."""
    seen: dict[str, TableSetting] = {}
    for setting in settings:
        key = json.dumps(
            [setting.table, setting.table_arn, setting.destination.model_dump(mode="json")],
            sort_keys=True,
        )
        seen.setdefault(key, setting)
    return list(seen.values())


def _parameterised(template: dict[str, Any], config: Config) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(json.dumps(template))
    result["Description"] = (
        f"ddbexport pipeline {config.pipeline.stack_name} (StackSet): DynamoDB exports to S3"
    )
    result["Parameters"] = {
        "TableListValue": {
            "Type": "String",
            "Description": "This account's table list (JSON), as ddbexport synth --stackset "
            "writes it in parameters/",
            "MinLength": 1,
            "MaxLength": STANDARD_LIMIT,
        },
        "RecordsBucket": {
            "Type": "String",
            "Description": "The bucket this account's run records go to",
            "AllowedPattern": "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        },
    }
    resources = result["Resources"]
    properties = resources["TableList"]["Properties"]
    properties["Value"] = {"Ref": "TableListValue"}
    properties["Tier"] = "Standard"
    machine = resources[STATE_MACHINE]["Properties"]
    machine["Definition"] = _substituted(machine["Definition"])
    machine.setdefault("DefinitionSubstitutions", {})["RecordsBucket"] = {"Ref": "RecordsBucket"}
    for name, resource in resources.items():
        if name != STATE_MACHINE:
            resources[name] = _with_sub(resource)
    result["Outputs"] = _with_sub(result["Outputs"])
    return result


def _substituted(node: Any) -> Any:
    """The definition with ``${RecordsBucket}`` (a DefinitionSubstitution) for the bucket."""
    if isinstance(node, str):
        return node.replace(_RECORDS, "${RecordsBucket}")
    if isinstance(node, list):
        return [_substituted(item) for item in node]
    if isinstance(node, dict):
        return {key: _substituted(value) for key, value in node.items()}
    return node


def _with_sub(node: Any) -> Any:
    """Template values naming the bucket become ``Fn::Sub`` of ``${RecordsBucket}``."""
    if isinstance(node, dict):
        if set(node) == {"Fn::Sub"}:
            body = node["Fn::Sub"]
            if isinstance(body, str):
                return {"Fn::Sub": body.replace(_RECORDS, "${RecordsBucket}")}
            if isinstance(body, list) and body and isinstance(body[0], str):
                return {"Fn::Sub": [body[0].replace(_RECORDS, "${RecordsBucket}"), *body[1:]]}
        return {key: _with_sub(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_sub(item) for item in node]
    if isinstance(node, str) and _RECORDS in node:
        return {"Fn::Sub": node.replace(_RECORDS, "${RecordsBucket}")}
    return node


# ---------------------------------------------------------------------------- files


def write_stackset(synthesis: StackSetSynthesis, folder: Path) -> list[Path]:
    """Write the template, the definition, the parameter files and the deploy commands."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        template = folder / TEMPLATE_FILE
        template.write_text(json.dumps(synthesis.template, indent=2) + "\n", encoding="utf-8")
        written.append(template)
        definition = folder / DEFINITION_FILE
        definition.write_text(definition_json(synthesis.definition), encoding="utf-8")
        written.append(definition)
        parameters = folder / PARAMETERS_FOLDER
        parameters.mkdir(exist_ok=True)
        for instance in synthesis.instances:
            path = parameters / f"{instance.account}-{instance.region}.json"
            path.write_text(_parameter_file(instance.parameters), encoding="utf-8")
            written.append(path)
        first = synthesis.instances[0].parameters
        defaults = folder / STACK_SET_PARAMETERS
        defaults.write_text(
            _parameter_file(
                {
                    "TableListValue": json.dumps({"defaults": {}, "tables": []}),
                    "RecordsBucket": first["RecordsBucket"],
                }
            ),
            encoding="utf-8",
        )
        written.append(defaults)
        commands = folder / COMMANDS_FILE
        size = len(template.read_bytes())
        commands.write_text(deploy_commands(synthesis, template_size=size), encoding="utf-8")
        commands.chmod(0o755)
        written.append(commands)
    except OSError as exc:
        raise ConfigError(f"-o {folder}: cannot write: {exc}") from None
    return written


def _parameter_file(values: dict[str, str]) -> str:
    entries = [{"ParameterKey": key, "ParameterValue": value} for key, value in values.items()]
    return json.dumps(entries, indent=2) + "\n"


def deploy_commands(synthesis: StackSetSynthesis, *, template_size: int) -> str:
    """The AWS CLI commands that create the StackSet and one instance per account and region,
    each with its own parameters, waiting for each operation (a StackSet runs one at a time)."""
    name = shlex.quote(synthesis.stack_set_name)
    if template_size <= TEMPLATE_BODY_LIMIT:
        source = "--template-body file://template.json"
        upload = ""
    else:
        source = '--template-url "$TEMPLATE_URL"'
        upload = (
            f"# template.json is {template_size:,} bytes, over the {TEMPLATE_BODY_LIMIT:,} of\n"
            "# --template-body: upload it to S3 first and set TEMPLATE_URL to its https:// URL.\n"
            ': "${TEMPLATE_URL:?upload template.json to S3 and set TEMPLATE_URL}"\n'
        )
    lines = [
        "#!/bin/sh",
        f"# Deploys the ddbexport pipeline {synthesis.stack_set_name} to "
        f"{len(synthesis.instances)} account(s) and region(s) with a CloudFormation StackSet.",
        "# Run from the administrator account. Self-managed permissions need the roles",
        "# AWSCloudFormationStackSetAdministrationRole here and",
        "# AWSCloudFormationStackSetExecutionRole in every target account. To update:",
        "# update-stack-set, then update-stack-instances with the same parameter files.",
        "set -eu",
        'cd "$(dirname "$0")"',
        upload.rstrip("\n"),
        "wait_operation() {",
        "  while :; do",
        "    status=$(aws cloudformation describe-stack-set-operation --stack-set-name "
        '"$1" --operation-id "$2" --query StackSetOperation.Status --output text)',
        '    case "$status" in',
        "      SUCCEEDED) return 0 ;;",
        '      FAILED|STOPPED) echo "stack set operation $2: $status" >&2; return 1 ;;',
        "    esac",
        "    sleep 10",
        "  done",
        "}",
        f"aws cloudformation create-stack-set --stack-set-name {name} {source} \\",
        "  --capabilities CAPABILITY_IAM --parameters file://" + STACK_SET_PARAMETERS,
    ]
    for instance in synthesis.instances:
        parameters = f"{PARAMETERS_FOLDER}/{instance.account}-{instance.region}.json"
        lines += [
            f"# {instance.account} {instance.region}: {', '.join(instance.tables)}",
            f"operation=$(aws cloudformation create-stack-instances --stack-set-name {name} \\",
            f"  --accounts {instance.account} --regions {instance.region} \\",
            f"  --parameter-overrides file://{parameters} --query OperationId --output text)",
            f'wait_operation {name} "$operation"',
        ]
    return "\n".join(line for line in lines if line) + "\n"
