"""The bad-input matrix: every mistake through the CLI gives one clear message naming the place
and the allowed values, exits 2, and starts nothing."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from ddbexport.cli.main import cli

from .helpers import BUCKET, REGION, create_bucket, create_table

pytestmark = pytest.mark.usefixtures("moto_aws")

GOOD_DEFAULTS = f'[defaults]\nbucket = "{BUCKET}"\n'
ORDERS = '[[tables]]\nname = "orders"\n'

# (case id, config text or None for the default one, extra CLI arguments, expected message)
CASES: list[tuple[str, str | None, list[str], str]] = [
    ("toml-syntax", "[defaults\nbucket = 1\n", [], "invalid TOML"),
    ("unknown-top-key", f'bukcet = "x"\n{GOOD_DEFAULTS}{ORDERS}', [], "unknown key 'bukcet'"),
    (
        "unknown-defaults-key",
        f'{GOOD_DEFAULTS}formt = "ION"\n{ORDERS}',
        [],
        "defaults: unknown key 'formt'",
    ),
    (
        "unknown-table-key",
        f'{GOOD_DEFAULTS}[[tables]]\nname = "orders"\nprefx = "a"\n',
        [],
        "unknown key 'prefx'",
    ),
    (
        "unknown-run-key",
        f"{GOOD_DEFAULTS}{ORDERS}[run]\nconcurrency = 3\n",
        [],
        "run: unknown key 'concurrency'",
    ),
    (
        "format-enum",
        f'{GOOD_DEFAULTS}format = "CSV"\n{ORDERS}',
        [],
        "allowed: 'DYNAMODB_JSON' or 'ION'",
    ),
    ("sse-none", f'{GOOD_DEFAULTS}sse = "NONE"\n{ORDERS}', [], "allowed: 'AES256' or 'KMS'"),
    (
        "bucket-chars",
        f'[defaults]\nbucket = "bad bucket!"\n{ORDERS}',
        [],
        "is not a valid S3 bucket name",
    ),
    ("bucket-short", f'[defaults]\nbucket = "ab"\n{ORDERS}', [], "is not a valid S3 bucket name"),
    (
        "prefix-long",
        f'{GOOD_DEFAULTS}prefix = "{"p" * 1100}"\n{ORDERS}',
        [],
        "longer than the 1,024 bytes",
    ),
    ("prefix-slash", f'{GOOD_DEFAULTS}prefix = "/abs"\n{ORDERS}', [], "must not start with '/'"),
    (
        "prefix-placeholder",
        f'{GOOD_DEFAULTS}prefix = "{{tabel}}"\n{ORDERS}',
        [],
        "unknown placeholder {tabel}",
    ),
    (
        "kms-key-without-kms",
        f'{GOOD_DEFAULTS}kms_key = "k"\n{ORDERS}',
        [],
        "kms_key is set but sse is 'AES256'",
    ),
    ("kms-without-key", f'{GOOD_DEFAULTS}sse = "KMS"\n{ORDERS}', [], "sse = 'KMS' needs kms_key"),
    (
        "bucket-owner",
        f'{GOOD_DEFAULTS}bucket_owner = "12345"\n{ORDERS}',
        [],
        "12-digit AWS account id",
    ),
    (
        "concurrency-zero",
        f"{GOOD_DEFAULTS}{ORDERS}[run]\nmax_concurrency = 0\n",
        [],
        "greater than or equal to 1",
    ),
    (
        "concurrency-high",
        f"{GOOD_DEFAULTS}{ORDERS}[run]\nmax_concurrency = 301\n",
        [],
        "less than or equal to 300",
    ),
    (
        "poll-policy",
        f'{GOOD_DEFAULTS}{ORDERS}[run]\npoll = "often"\n',
        [],
        "expected 'adaptive' or 'fixed:DURATION'",
    ),
    (
        "duration",
        f'{GOOD_DEFAULTS}{ORDERS}[run]\ntimeout = "forever"\n',
        [],
        "'forever' is not a duration",
    ),
    (
        "poll-bounds",
        f'{GOOD_DEFAULTS}{ORDERS}[run]\npoll_min = "5m"\npoll_max = "1m"\n',
        [],
        "poll_min must not be longer than poll_max",
    ),
    (
        "two-selectors",
        f'{GOOD_DEFAULTS}[[tables]]\nname = "orders"\nmatch = "o*"\n',
        [],
        "give exactly one of name, match or tags",
    ),
    (
        "no-selector",
        f'{GOOD_DEFAULTS}[[tables]]\nprefix = "x"\n',
        [],
        "give exactly one of name, match or tags (found: none)",
    ),
    (
        "table-name",
        f'{GOOD_DEFAULTS}[[tables]]\nname = "my table"\n',
        [],
        "is not a DynamoDB table name",
    ),
    (
        "match-nothing",
        f'{GOOD_DEFAULTS}[[tables]]\nmatch = "nothing-*"\n',
        [],
        "tables[0] (match 'nothing-*') matched no table",
    ),
    (
        "tags-nothing",
        f'{GOOD_DEFAULTS}[[tables]]\ntags = {{ backup = "hourly" }}\n',
        [],
        "tables[0] (tags backup=hourly) matched no table",
    ),
    (
        "region",
        f'region = "Europe"\n{GOOD_DEFAULTS}{ORDERS}',
        [],
        "region: String should match pattern",
    ),
    (
        "catalog-prefix",
        f'{GOOD_DEFAULTS}{ORDERS}[catalog]\nprefix = "/cat"\n',
        [],
        "catalog.prefix",
    ),
    (
        "cron-fields",
        f'{GOOD_DEFAULTS}{ORDERS}[pipeline]\nschedule = "cron(0 3 * * *)"\n',
        [],
        "has 5 fields; expected 6",
    ),
    (
        "cron-question-mark",
        f'{GOOD_DEFAULTS}{ORDERS}[pipeline]\nschedule = "cron(0 3 * * * *)"\n',
        [],
        "exactly one of day-of-month and day-of-week must be '?'",
    ),
    (
        "rate-unit",
        f'{GOOD_DEFAULTS}{ORDERS}[pipeline]\nschedule = "rate(5 hour)"\n',
        [],
        "use the singular unit only for 1",
    ),
    (
        "timezone",
        f'{GOOD_DEFAULTS}{ORDERS}[pipeline]\ntimezone = "Mars/Olympus"\n',
        [],
        "'Mars/Olympus' is not a time zone",
    ),
    (
        "rule-timezone",
        f'{GOOD_DEFAULTS}{ORDERS}[pipeline]\ntrigger = "rule"\ntimezone = "Asia/Tokyo"\n',
        [],
        "needs trigger = 'scheduler'",
    ),
    ("as-of-future", None, ["--as-of", "2999-01-01T00:00:00Z"], "is in the future"),
    ("as-of-before-window", None, ["--as-of", "2020-01-01T00:00:00Z"], "is before the PITR window"),
    ("as-of-syntax", None, ["--as-of", "yesterday"], "--as-of: 'yesterday' is not an ISO-8601"),
    ("run-id", None, ["--run-id", "bad id!"], "run id 'bad id!' is invalid"),
    ("timeout-zero", None, ["--timeout", "0s"], "must be longer than zero"),
    ("poll-option", None, ["--poll", "fixed:0s"], "must be longer than zero"),
    (
        "report-folder",
        None,
        ["--report", "/no/such/folder/r.json"],
        "folder /no/such/folder does not exist",
    ),
    (
        "two-table-sources",
        None,
        ["--tablelist", "x.json", "--tables-from-ssm", "/p"],
        "give either --tablelist or --tables-from-ssm",
    ),
    ("tablelist-file", None, ["--tablelist", "/no/such/list.json"], "cannot read"),
]

TABLELIST_CASES: list[tuple[str, str, str]] = [
    ("tablelist-json", '{"tablelist": [', "not valid JSON (line 1 column 16"),
    ("tablelist-entry", '{"tablelist": [{"bucketname": "b-1"}]}', "tablename"),
    ("tablelist-shape", '{"tablelist": "orders"}', "tablelist"),
    (
        "tablelist-bucket",
        '{"tablelist": [{"tablename": "orders", "bucketname": "B!"}]}',
        "is not a valid S3 bucket name",
    ),
]

SSM_CASES: list[tuple[str, str | None, str]] = [
    ("ssm-missing", None, "SSM parameter '/ddbexport/tables' does not exist"),
    ("ssm-not-json", "orders,users", "SSM parameter '/ddbexport/tables' is not JSON"),
]


def _invoke(args: list[str], stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, input=stdin, catch_exceptions=False)
    return result.exit_code, result.stderr


def _assert_refused(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    assert expected in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"more than one message: {err!r}"
    assert lines[0].startswith("error: ")
    assert "Traceback" not in err


@pytest.fixture
def orders() -> str:
    """A bucket and a table with PITR; returns the table ARN."""
    create_bucket()
    return create_table("orders")


def _nothing_started(table_arn: str) -> None:
    exports = boto3.client("dynamodb", region_name=REGION).list_exports(TableArn=table_arn)
    assert exports["ExportSummaries"] == []


def test_matrix_has_at_least_thirty_cases() -> None:
    """The matrix covers the promised breadth."""
    assert len(CASES) + len(TABLELIST_CASES) + len(SSM_CASES) >= 30


@pytest.mark.parametrize(
    ("config_text", "args", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_config_or_option(
    orders: str, tmp_path: Path, config_text: str | None, args: list[str], expected: str
) -> None:
    """A bad config value or option: one message, exit 2, no export."""
    path = tmp_path / "ddbexport.toml"
    path.write_text(config_text if config_text is not None else f"{GOOD_DEFAULTS}{ORDERS}")
    code, err = _invoke(["run", "--region", REGION, "-c", str(path), *args])
    _assert_refused(code, err, expected)
    assert str(path) in err or "tables[0]" in err or config_text is None  # names the place
    _nothing_started(orders)


def test_bad_json_config_names_line_and_column(orders: str, tmp_path: Path) -> None:
    """JSON configs are accepted; a syntax error names its position."""
    path = tmp_path / "ddbexport.json"
    path.write_text('{"defaults": {"bucket": }}')
    code, err = _invoke(["run", "--region", REGION, "-c", str(path)])
    _assert_refused(code, err, "line 1 column 25: invalid JSON")
    _nothing_started(orders)


@pytest.mark.parametrize(
    ("payload", "expected"), [c[1:] for c in TABLELIST_CASES], ids=[c[0] for c in TABLELIST_CASES]
)
def test_bad_seed_tablelist(orders: str, payload: str, expected: str) -> None:
    """A malformed seed payload on stdin: one message, exit 2, no export."""
    code, err = _invoke(["run", "--region", REGION, "--tablelist", "-"], stdin=payload)
    _assert_refused(code, err, expected)
    _nothing_started(orders)


@pytest.mark.parametrize(
    ("value", "expected"), [c[1:] for c in SSM_CASES], ids=[c[0] for c in SSM_CASES]
)
def test_bad_ssm_table_list(orders: str, value: str | None, expected: str) -> None:
    """A missing or non-JSON SSM parameter: one message, exit 2, no export."""
    if value is not None:
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name="/ddbexport/tables", Type="String", Value=value
        )
    code, err = _invoke(["run", "--region", REGION, "--tables-from-ssm", "/ddbexport/tables"])
    _assert_refused(code, err, expected)
    _nothing_started(orders)
