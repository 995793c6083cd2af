"""The one adapter that talks to AWS through boto3, and the translation of botocore's errors.

Every other package reaches AWS through the ports of :mod:`ddbexport.core.ports`.
"""

from .adapter import AwsApi, AwsSettings

__all__ = ["AwsApi", "AwsSettings"]
