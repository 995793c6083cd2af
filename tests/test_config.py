"""Config model and loaders: valid files load, every mistake is named precisely."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ddbexport.config.model import (
    Config,
    effective_destination,
    load_config_file,
    parse_config_text,
)
from ddbexport.config.seedpayload import parse_tablelist, parse_tablelist_text
from ddbexport.errors import ConfigError

FULL_TOML = """
region = "eu-west-1"
exclude = ["*-tmp"]

[defaults]
bucket = "my-exports"
prefix = "dynamodb/{table}/{date}/{run_id}"
format = "ION"
sse = "KMS"
kms_key = "alias/exports"
bucket_owner = "123456789012"

[[tables]]
name = "orders"
bucket = "orders-bucket"
sse = "AES256"

[[tables]]
match = "prod-*"

[[tables]]
tags = { backup = "daily" }

[run]
max_concurrency = 20
poll = "fixed:30s"
timeout = "6h"
"""


def test_full_config_loads_with_every_field(tmp_path: Path) -> None:
    """A config using every documented key loads, with durations converted to seconds."""
    path = tmp_path / "ddbexport.toml"
    path.write_text(FULL_TOML)
    config = load_config_file(path)
    assert config.region == "eu-west-1"
    assert config.defaults.format == "ION"
    assert config.tables[0].name == "orders"
    assert config.tables[2].tags == {"backup": "daily"}
    assert config.run.max_concurrency == 20
    assert config.run.poll.mode == "fixed"
    assert config.run.poll.fixed_interval_s == 30
    assert config.run.timeout_s == 6 * 3600


def test_selector_overrides_defaults_and_aes256_drops_inherited_kms_key() -> None:
    """A selector's own settings win; choosing AES256 does not keep the defaults' KMS key."""
    config = parse_config_text(FULL_TOML, source="c.toml")
    orders = effective_destination(config.defaults, config.tables[0])
    assert orders.bucket == "orders-bucket"
    assert orders.sse == "AES256"
    assert orders.kms_key is None
    assert orders.format == "ION"
    prod = effective_destination(config.defaults, config.tables[1])
    assert prod.bucket == "my-exports"
    assert prod.kms_key == "alias/exports"


def test_json_config_is_accepted(tmp_path: Path) -> None:
    """A .json file is read as JSON with the same schema."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"defaults": {"bucket": "b-1"}, "tables": [{"name": "tab1"}]}))
    assert load_config_file(path).tables[0].name == "tab1"


def test_defaults_are_sensible() -> None:
    """Unset fields get the documented defaults."""
    config = parse_config_text(
        '[defaults]\nbucket = "bkt"\n[[tables]]\nname = "tab1"\n', source="c"
    )
    assert config.defaults.prefix == "{table}/{date}"
    assert config.defaults.format == "DYNAMODB_JSON"
    assert config.defaults.sse == "AES256"
    assert config.run.max_concurrency == 5
    assert config.run.poll.mode == "adaptive"


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[defaults]\nbucket = 'b-1'\nformat = 'CSV'\n",
            "defaults.format: 'CSV' is not allowed; allowed: 'DYNAMODB_JSON' or 'ION'",
        ),
        (
            "[defaults]\nbucket = 'b-1'\nsse = 'NONE'\n",
            "defaults.sse: 'NONE' is not allowed; allowed: 'AES256' or 'KMS'",
        ),
        (
            "[defaults]\nbucket = 'b-1'\ncolour = 'red'\n",
            "defaults: unknown key 'colour'; allowed keys: bucket, prefix",
        ),
        (
            "bukcet = 'x'\n",
            "unknown key 'bukcet'; allowed keys: region, exclude, defaults, tables, run",
        ),
        ("[defaults]\nbucket = 'Bad Bucket!'\n", "not a valid S3 bucket name"),
        (
            "[defaults]\nbucket = 'b-1'\nbucket_owner = '1234'\n",
            "must be a 12-digit AWS account id",
        ),
        ("[defaults]\nbucket = 'b-1'\nprefix = '/abs'\n", "must not start with '/'"),
        (
            "[defaults]\nbucket = 'b-1'\nprefix = 'x/{tabel}'\n",
            "unknown placeholder {tabel} in prefix; allowed: {table}, {date}, {time}, {run_id}",
        ),
        (f"[defaults]\nbucket = 'b-1'\nprefix = '{'a' * 1025}'\n", "longer than the 1,024 bytes"),
        ("[defaults]\nbucket = 'b-1'\nsse = 'KMS'\n", "sse = 'KMS' needs kms_key"),
        ("[defaults]\nbucket = 'b-1'\nkms_key = 'k'\n", "kms_key is set but sse is 'AES256'"),
        ("[[tables]]\nname = 'tab1'\n", "tables[0] (name 'tab1'): no bucket"),
        (
            "[defaults]\nbucket = 'b-1'\n[[tables]]\nname = 'tab1'\nmatch = 'ta*'\n",
            "give exactly one of name, match or tags (found: name, match)",
        ),
        (
            "[defaults]\nbucket = 'b-1'\n[[tables]]\nbucket = 'b-2'\n",
            "give exactly one of name, match or tags (found: none)",
        ),
        (
            "[run]\nmax_concurrency = 301\n",
            "run.max_concurrency: Input should be less than or equal to 300",
        ),
        (
            "[run]\nmax_concurrency = 0\n",
            "run.max_concurrency: Input should be greater than or equal to 1",
        ),
        (
            "[run]\npoll = 'sometimes'\n",
            "poll: 'sometimes' is not a polling policy; expected 'adaptive' or 'fixed:DURATION'",
        ),
        ("[run]\ntimeout = '10 parsecs'\n", "timeout: '10 parsecs' is not a duration"),
        (
            "[defaults]\nbucket = 'b-1'\n[[tables]]\nname = 'my table'\n",
            "'my table' is not a DynamoDB table name (3-255 characters",
        ),
        ("[defaults]\nbucket = 'b-1'\n[[tables]]\nname = 'ab'\n", "is not a DynamoDB table name"),
        ("[run]\npoll = 'fixed:0s'\n", "run: poll: '0s' must be longer than zero"),
        ("[run]\npoll_min = '5m'\npoll_max = '1m'\n", "poll_min must not be longer than poll_max"),
        ("region = 'Europe'\n", "region: String should match pattern"),
    ],
)
def test_bad_config_names_the_field_and_the_allowed_values(toml: str, expected: str) -> None:
    """Each mistake gives one message naming the file, the field and what is allowed."""
    with pytest.raises(ConfigError) as caught:
        parse_config_text(toml, source="my.toml")
    message = str(caught.value)
    assert message.startswith("my.toml: ")
    assert expected in message


def test_toml_syntax_error_gives_line_and_column() -> None:
    """Malformed TOML is reported with its position."""
    with pytest.raises(ConfigError, match=r"c.toml: invalid TOML: .*line 2"):
        parse_config_text("[defaults]\nbucket = \n", source="c.toml")


def test_json_syntax_error_gives_line_and_column(tmp_path: Path) -> None:
    """Malformed JSON is reported with its position."""
    path = tmp_path / "c.json"
    path.write_text('{"defaults": {\n  "bucket": }\n}')
    with pytest.raises(ConfigError, match=r"c.json: line 2 column 13: invalid JSON"):
        load_config_file(path)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A config path that does not exist is named in the error."""
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config_file(tmp_path / "nope.toml")


def test_seed_eventbridge_payload_is_read_unchanged() -> None:
    """The seed payload gives one selector per entry plus its time; other keys are ignored."""
    payload = {
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "time": "2026-11-28T03:00:00Z",
        "tablelist": [
            {"tablename": "test", "bucketname": "test-logs", "prefix": "exported/test"},
            {"tablename": "test2", "bucketname": "test-logs", "prefix": "exported/test2"},
        ],
    }
    tablelist = parse_tablelist(payload, source="event")
    assert tablelist.time == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    assert [s.name for s in tablelist.selectors] == ["test", "test2"]
    assert tablelist.selectors[0].bucket == "test-logs"
    assert tablelist.selectors[0].prefix == "exported/test"


def test_seed_prefix_braces_are_literal() -> None:
    """A seed prefix is a path, not a template: braces survive rendering."""
    tablelist = parse_tablelist(
        [{"tablename": "tab1", "bucketname": "b-1", "prefix": "odd/{x}"}], source="list"
    )
    assert tablelist.selectors[0].prefix == "odd/{{x}}"
    assert tablelist.selectors[0].prefix.format() == "odd/{x}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", "not valid JSON"),
        ('{"tables": []}', "no 'tablelist' key"),
        ('{"tablelist": []}', "'tablelist' must be a non-empty list"),
        ('{"tablelist": [{"tablename": "tab1"}]}', "tablelist[0]: bucketname: Field required"),
        (
            '{"tablelist": [{"tablename": "tab1", "bucketname": "b-1", "bucket": "x"}]}',
            "unknown key 'bucket'",
        ),
        (
            '{"tablelist": [{"tablename": "tab1", "bucketname": "b-1"}], "time": "yesterday"}',
            "time: 'yesterday' is not an ISO-8601",
        ),
    ],
)
def test_malformed_tablelist_is_rejected(text: str, expected: str) -> None:
    """A malformed seed payload gives a precise error."""
    with pytest.raises(ConfigError) as caught:
        parse_tablelist_text(text, source="payload.json")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("payload.json")


def test_config_is_frozen() -> None:
    """Configs cannot be changed after validation."""
    config = Config()
    with pytest.raises(Exception, match="frozen"):
        config.region = "x"  # type: ignore[misc]
