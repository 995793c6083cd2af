"""The CloudFormation and Step Functions operations of :class:`~ddbexport.aws.adapter.AwsApi`:
what the pipeline commands deploy, inspect and start."""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from .errors import map_aws_errors
from .responses import jsonable
from .session import AwsClients


class StackOperations(AwsClients):
    """CloudFormation's and Step Functions' calls, each translated."""

    # ------------------------------------------------------------------ stacks

    def describe_stack(self, name: str) -> dict[str, Any] | None:
        """DescribeStacks for one stack; ``None`` when it does not exist."""
        with map_aws_errors("DescribeStacks"):
            try:
                stacks = self.cloudformation.describe_stacks(StackName=name)["Stacks"]
            except botocore.exceptions.ClientError as exc:
                message = str(exc.response.get("Error", {}).get("Message", ""))
                if "does not exist" in message:
                    return None
                raise
        return jsonable(dict(stacks[0])) if stacks else None

    def create_change_set(
        self, stack: str, change_set: str, template: dict[str, str], *, create: bool
    ) -> str:
        """CreateChangeSet (CREATE or UPDATE) with IAM capabilities; returns its ARN.

        ``template`` is ``{"TemplateBody": …}`` or ``{"TemplateURL": …}``.
        """
        with map_aws_errors("CreateChangeSet"):
            response = self.cloudformation.create_change_set(
                StackName=stack,
                ChangeSetName=change_set,
                ChangeSetType="CREATE" if create else "UPDATE",
                Capabilities=["CAPABILITY_IAM"],
                **template,  # type: ignore[arg-type]
            )
        return str(response["Id"])

    def describe_change_set(self, arn: str) -> dict[str, Any]:
        """DescribeChangeSet: its Status, StatusReason and Changes."""
        with map_aws_errors("DescribeChangeSet"):
            return jsonable(dict(self.cloudformation.describe_change_set(ChangeSetName=arn)))  # type: ignore[no-any-return]

    def execute_change_set(self, arn: str) -> None:
        """ExecuteChangeSet."""
        with map_aws_errors("ExecuteChangeSet"):
            self.cloudformation.execute_change_set(ChangeSetName=arn)

    def delete_change_set(self, arn: str) -> None:
        """DeleteChangeSet (an empty one, when there was nothing to change)."""
        with map_aws_errors("DeleteChangeSet"):
            self.cloudformation.delete_change_set(ChangeSetName=arn)

    def stack_events(self, name: str) -> list[dict[str, Any]]:
        """The stack's events, newest first (first page)."""
        with map_aws_errors("DescribeStackEvents"):
            events = self.cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        return [jsonable(dict(event)) for event in events]

    def stack_resource(self, stack: str, logical_id: str) -> str | None:
        """The physical id (for a state machine, its ARN) of a stack's resource, if it exists."""
        with map_aws_errors("DescribeStackResource"):
            try:
                detail = self.cloudformation.describe_stack_resource(
                    StackName=stack, LogicalResourceId=logical_id
                )["StackResourceDetail"]
            except botocore.exceptions.ClientError as exc:
                if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
                    return None
                raise
        physical = detail.get("PhysicalResourceId")
        return str(physical) if physical else None

    def delete_stack(self, name: str) -> None:
        """DeleteStack."""
        with map_aws_errors("DeleteStack"):
            self.cloudformation.delete_stack(StackName=name)

    # ------------------------------------------------------------------ executions

    def start_execution(self, machine: str, name: str, payload: str) -> str:
        """StartExecution; returns the execution ARN."""
        with map_aws_errors("StartExecution"):
            response = self.stepfunctions.start_execution(
                stateMachineArn=machine, name=name, input=payload
            )
        return str(response["executionArn"])

    def describe_execution(self, arn: str) -> dict[str, Any]:
        """DescribeExecution: status, output, error, cause."""
        with map_aws_errors("DescribeExecution"):
            return jsonable(dict(self.stepfunctions.describe_execution(executionArn=arn)))  # type: ignore[no-any-return]
