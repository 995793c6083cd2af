"""ddbexport: export many DynamoDB tables to S3 with native point-in-time exports.

The library API::

    import ddbexport

    config = ddbexport.load_config("ddbexport.toml")
    plan = ddbexport.plan(config)            # the exact requests; nothing starts
    report = ddbexport.run(config)           # start, track and report every export
    print(report.summary)
"""

from __future__ import annotations

from ddbexport.aws.adapter import AwsApi, AwsSettings
from ddbexport.config.model import Config, RunSettings, TableSelector
from ddbexport.core.models import (
    ExportDescription,
    ExportPlan,
    ExportRequest,
    PlanProblem,
    TableInfo,
)
from ddbexport.core.ports import ExportApi
from ddbexport.core.version import VERSION as __version__
from ddbexport.running.facade import check, load_config, plan, run, status
from ddbexport.running.report import ErrorInfo, RunReport, TableResult
from ddbexport.running.runner import RunEvent, Runner

from .errors import (
    AccessDenied,
    AwsError,
    ConfigError,
    DdbExportError,
    ExportConflict,
    ExportNotFound,
    InvalidExportTime,
    LimitExceeded,
    ParameterNotFound,
    PitrUnavailable,
    RetryableAwsError,
    TableNotFound,
)

__all__ = [
    "AccessDenied",
    "AwsApi",
    "AwsError",
    "AwsSettings",
    "Config",
    "ConfigError",
    "DdbExportError",
    "ErrorInfo",
    "ExportApi",
    "ExportConflict",
    "ExportDescription",
    "ExportNotFound",
    "ExportPlan",
    "ExportRequest",
    "InvalidExportTime",
    "LimitExceeded",
    "ParameterNotFound",
    "PitrUnavailable",
    "PlanProblem",
    "RetryableAwsError",
    "RunEvent",
    "RunReport",
    "RunSettings",
    "Runner",
    "TableInfo",
    "TableNotFound",
    "TableResult",
    "TableSelector",
    "__version__",
    "check",
    "load_config",
    "plan",
    "run",
    "status",
]
