"""The package version, in one place for the library, the CLI and the AWS user agent."""

VERSION = "0.1.0"
