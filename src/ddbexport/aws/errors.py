"""Translation of botocore's exceptions into :mod:`ddbexport.errors`: error codes, HTTP statuses
and the SDK's own exception classes, so nothing above :mod:`ddbexport.aws` sees botocore."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import botocore.exceptions

from ddbexport.errors import (
    AccessDenied,
    AwsError,
    BucketNotFound,
    ConfigError,
    ExportConflict,
    ExportNotFound,
    InvalidExportTime,
    KeyNotFound,
    LimitExceeded,
    ParameterNotFound,
    PitrUnavailable,
    RetryableAwsError,
    TableNotFound,
)

_ERRORS_BY_CODE: dict[str, type[AwsError]] = {
    "ResourceNotFoundException": TableNotFound,
    "TableNotFoundException": TableNotFound,
    "PointInTimeRecoveryUnavailableException": PitrUnavailable,
    "InvalidExportTimeException": InvalidExportTime,
    "ExportConflictException": ExportConflict,
    "ExportNotFoundException": ExportNotFound,
    "ParameterNotFound": ParameterNotFound,
    "NoSuchBucket": BucketNotFound,
    "NotFoundException": KeyNotFound,
    "AccessDeniedException": AccessDenied,
    "AccessDenied": AccessDenied,
    "UnrecognizedClientException": AccessDenied,
    "ExpiredTokenException": AccessDenied,
    "LimitExceededException": LimitExceeded,
    "ThrottlingException": RetryableAwsError,
    "Throttling": RetryableAwsError,
    "RequestLimitExceeded": RetryableAwsError,
    "ProvisionedThroughputExceededException": RetryableAwsError,
    "InternalServerError": RetryableAwsError,
    "InternalFailure": RetryableAwsError,
    "ServiceUnavailable": RetryableAwsError,
}


@contextlib.contextmanager
def map_aws_errors(operation: str) -> Iterator[None]:
    """Translate botocore exceptions raised inside the block into :mod:`ddbexport.errors`."""
    try:
        yield
    except botocore.exceptions.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")) or code
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        cls = _ERRORS_BY_CODE.get(code)
        if cls is None:
            cls = RetryableAwsError if status >= 500 or status == 429 else AwsError
        raise cls(f"{operation}: {message}", code=code, operation=operation) from exc
    except botocore.exceptions.NoRegionError:
        raise ConfigError(
            "no AWS region: set 'region' in the config, pass --region, or set AWS_REGION"
        ) from None
    except botocore.exceptions.NoCredentialsError:
        raise AccessDenied(
            "no AWS credentials found (environment, profile or instance role)",
            code="NoCredentials",
            operation=operation,
        ) from None
    except botocore.exceptions.ProfileNotFound as exc:
        raise ConfigError(f"AWS profile not found: {exc}") from None
    except (
        botocore.exceptions.ConnectionError,
        botocore.exceptions.HTTPClientError,
        botocore.exceptions.IncompleteReadError,
    ) as exc:
        # Endpoint, proxy, TLS, timeout and streaming failures: the network may recover.
        raise RetryableAwsError(
            f"{operation}: {exc}", code="ConnectionError", operation=operation
        ) from exc
    except botocore.exceptions.ParamValidationError as exc:
        raise AwsError(
            f"{operation}: invalid parameters: {exc}", code="ParamValidation", operation=operation
        ) from exc
    except (
        botocore.exceptions.CredentialRetrievalError,
        botocore.exceptions.PartialCredentialsError,
        botocore.exceptions.TokenRetrievalError,
        botocore.exceptions.SSOError,
        botocore.exceptions.UnauthorizedSSOTokenError,
    ) as exc:
        raise AccessDenied(
            f"{operation}: AWS credentials unusable: {exc}",
            code=type(exc).__name__,
            operation=operation,
        ) from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise AwsError(f"{operation}: {exc}", code=type(exc).__name__, operation=operation) from exc
