"""Config tooling: the JSON Schema editors use, `config-check` and shell completion."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import botocore.session
import pytest
from click.shell_completion import ShellComplete
from click.testing import CliRunner
from pydantic import BaseModel, ValidationError

from ddbexport.cli.main import cli
from ddbexport.config.model import Config, PollSpec, parse_config_text
from ddbexport.config.schema import config_schema

README = Path(__file__).resolve().parents[1] / "README.md"
NAMED_TABLES = """
region = "eu-west-1"
[defaults]
bucket = "my-exports"
[[tables]]
name = "orders"
[[tables]]
name = "users"
bucket = "users-exports"
"""
TOPIC = "arn:aws:sns:eu-west-1:111122223333:alerts"
# Valid for a local run, but a pipeline execution cannot hold 5,760 polls per table.
TOO_MANY_POLLS = NAMED_TABLES + '[run]\npoll = "fixed:15s"\n'


def _invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        cli, list(args), prog_name="ddbexport", env=env, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def _jsonschema() -> ModuleType:
    # jsonschema is not a dependency of ddbexport; the schema-validation tests need it.
    return pytest.importorskip("jsonschema")


def _schema_errors(data: object) -> list[str]:
    """jsonschema's complaints about ``data`` under the printed schema (empty: valid)."""
    schema = json.loads(_invoke("config-schema")[1])
    validator = _jsonschema().Draft202012Validator(schema)
    return [error.message for error in validator.iter_errors(data)]


def _model_accepts(data: dict[str, Any]) -> bool:
    try:
        Config.model_validate(data)
    except ValidationError:
        return False
    return True


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The object schema behind ``node`` (following ``$ref`` and array ``items``)."""
    if "items" in node:
        node = node["items"]
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix("#/$defs/")]
    return node


def _readme_reference_toml() -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration reference") :]
    start = section.index("```toml\n") + len("```toml\n")
    return section[start : section.index("```", start)]


# ---------------------------------------------------------------------------- config-schema


def test_config_schema_prints_a_valid_draft_2020_12_schema() -> None:
    """The printed schema is valid JSON Schema 2020-12, and every reference in it resolves."""
    code, out, _ = _invoke("config-schema")
    assert code == 0
    schema = json.loads(out)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "ddbexport configuration"
    assert schema["type"] == "object"
    references = re.findall(r'"\$ref": "#/\$defs/([^"]+)"', out)
    assert references
    assert all(name in schema["$defs"] for name in references)
    try:
        import jsonschema  # noqa: PLC0415 - optional, see _jsonschema
    except ImportError:
        return
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_readme_reference_config_validates() -> None:
    """The README's example config is valid under the schema, as it is for ddbexport."""
    text = _readme_reference_toml()
    parse_config_text(text, source="README.md")
    assert _schema_errors(tomllib.loads(text)) == []


def test_the_readme_commented_out_keys_are_valid_where_they_stand() -> None:
    """Every `# key = value` alternative in the README example is a known key with a valid value."""
    schema = config_schema()
    section: dict[str, Any] = schema
    checked = 0
    for line in _readme_reference_toml().splitlines():
        if heading := re.match(r"^\[\[?(\w+)\]\]?", line):
            section = _resolve(schema, schema["properties"][heading.group(1)])
        elif re.match(r"^#\s*\w+\s*=", line):
            ((key, value),) = tomllib.loads(line.lstrip("# ")).items()
            assert key in section["properties"], line
            validator = _jsonschema().Draft202012Validator(section["properties"][key])
            assert validator.is_valid(value), line
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize(
    "data",
    [
        {"bukcet": "my-exports"},
        {"defaults": {"bucket": "my-exports", "colour": "red"}},
        {"tables": [{"name": "orders", "bukcet": "x-y-z"}]},
        # The model's internal names are not what files say.
        {"run": {"poll_first_s": 240}},
        {"pipeline": {"limit_retry_s": 60}},
        {"retention": {"older_than_s": 86400}},
        {"catalog": {"enabled": True, "prefx": "cat"}},
    ],
)
def test_unknown_keys_are_rejected(data: dict[str, Any]) -> None:
    """A misspelt or internal key is an error under the schema, as ddbexport reports it."""
    errors = _schema_errors(data)
    assert any("Additional properties are not allowed" in error for error in errors), errors


def test_every_section_refuses_keys_it_does_not_know() -> None:
    """Every table of the file (the root, each section, each [[tables]] entry) is closed."""
    schema = config_schema()
    assert schema["additionalProperties"] is False
    for name, definition in schema["$defs"].items():
        assert definition["additionalProperties"] is False, name


def test_every_config_field_is_in_the_schema_under_its_file_key() -> None:
    """The schema's keys are exactly the model's, durations without their `_s` suffix."""
    schema = config_schema()

    def walk(model: type[BaseModel], node: dict[str, Any], where: str) -> None:
        keys = {name.removesuffix("_s"): field for name, field in model.model_fields.items()}
        assert set(node["properties"]) == set(keys), where
        for key, field in keys.items():
            annotation = field.annotation
            nested = [annotation, *getattr(annotation, "__args__", ())]
            for candidate in nested:
                if candidate is PollSpec:
                    # Files write the policy as text ("adaptive", "fixed:15s").
                    assert node["properties"][key]["type"] == "string"
                elif isinstance(candidate, type) and issubclass(candidate, BaseModel):
                    inner = _resolve(schema, node["properties"][key])
                    walk(candidate, inner, f"{where}.{key}")

    walk(Config, schema, "config")


def test_schema_defaults_are_the_models_defaults() -> None:
    """Each documented default, written in a file, gives the model's own default value."""
    schema = config_schema()
    baseline = Config()
    compared = 0
    for section, node in schema["properties"].items():
        if "$ref" not in node:
            continue
        for key, prop in _resolve(schema, node)["properties"].items():
            if "default" in prop:
                written = Config.model_validate({section: {key: prop["default"]}})
                assert getattr(written, section) == getattr(baseline, section), (section, key)
                compared += 1
    assert compared >= 20


def test_durations_are_described_as_users_write_them() -> None:
    """`[run] poll_first` is a duration string (or seconds) with default "4m", not seconds."""
    run = config_schema()["$defs"]["RunSettings"]["properties"]
    poll_first = run["poll_first"]
    assert poll_first["default"] == "4m"
    assert {option["type"] for option in poll_first["anyOf"]} == {"string", "number"}
    assert "90s" in poll_first["description"]
    assert run["poll"]["default"] == "adaptive"
    limit_retry = config_schema()["$defs"]["PipelineSettings"]["properties"]["limit_retry"]
    assert {"minimum": 1, "maximum": 3600}.items() <= limit_retry["anyOf"][1].items()


@pytest.mark.parametrize(
    "text",
    [
        "90s", "15m", "1h30m", "7d", "250ms", "1.5h", " 4m ", "1h 30m", "4M", "1H30M", "0s1m",
        "0.5s", "15 m", "1 5m", "\t5m\n", "", "0s", "0.0h", "00s", "90", "m", ".5s", "1.s",
        "1.5.5s", "-5s", "1y", "1h-30m", "5m\t3s", "fixed:15s", "1 week",
    ],
)  # fmt: skip
def test_the_duration_pattern_accepts_what_ddbexport_accepts(text: str) -> None:
    """An editor flags a duration exactly when ddbexport would refuse it."""
    run = config_schema()["$defs"]["RunSettings"]["properties"]
    pattern = run["poll_first"]["anyOf"][0]["pattern"]
    assert bool(re.search(pattern, text)) == _model_accepts({"run": {"poll_first": text}})


@pytest.mark.parametrize(
    "text",
    [
        "adaptive", "ADAPTIVE", " adaptive ", "fixed:15s", "Fixed: 1m", "fixed:1h30m",
        "fixed:0s", "fixed:", "fixed", "fixed:15", "fixed :15s", "sometimes", "15s",
    ],
)  # fmt: skip
def test_the_poll_pattern_accepts_what_ddbexport_accepts(text: str) -> None:
    """`poll` is flagged exactly when ddbexport would refuse it."""
    pattern = config_schema()["$defs"]["RunSettings"]["properties"]["poll"]["pattern"]
    assert bool(re.search(pattern, text)) == _model_accepts({"run": {"poll": text}})


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        ({"run": {"timeout": 3600, "retry_max": 0.5}}, True),
        ({"run": {"timeout": 0}}, False),
        ({"run": {"timeout": True}}, False),
        ({"pipeline": {"limit_retry": 0.5}}, False),
        ({"retention": {"older_than": "30d"}}, True),
        ({"retention": {"keep_last": 3, "older_than": "30d"}}, False),
        ({"defaults": {"bucket": "b-1"}, "tables": [{"name": "orders", "match": "o*"}]}, False),
        ({"defaults": {"bucket": "b-1"}, "tables": [{"bucket": "b-2"}]}, False),
        ({"defaults": {"bucket": "b-1"}, "tables": [{"tags": {"backup": "daily"}}]}, True),
        ({"defaults": {"bucket": "Bad Bucket!"}}, False),
        ({"defaults": {"bucket": "b-1", "bucket_owner": "1234"}}, False),
        ({"defaults": {"bucket": "b-1"}, "tables": [{"name": "my table"}]}, False),
        ({"defaults": {"format": "CSV"}}, False),
        ({"pipeline": {"notify_email": "a@b.co", "notify_topic_arn": TOPIC}}, False),
        ({"pipeline": {"notify_kms_key": "alias/alerts"}}, False),
        ({"pipeline": {"notify_kms_key": "alias/alerts", "notify_topic_arn": TOPIC}}, True),
        ({"pipeline": {"trigger": "rule", "timezone": "Europe/Paris"}}, False),
        ({"pipeline": {"trigger": "scheduler", "timezone": "Europe/Paris"}}, True),
        ({"pipeline": {"log_retention_days": 2}}, False),
        ({"region": "Europe"}, False),
    ],
)
def test_schema_and_ddbexport_agree(data: dict[str, Any], valid: bool) -> None:
    """Values and combinations the schema can express are judged as ddbexport judges them."""
    assert _model_accepts(data) is valid
    assert (_schema_errors(data) == []) is valid


# ---------------------------------------------------------------------------- config-check


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating any AWS client fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("config-check created an AWS client")

    monkeypatch.setattr(boto3.session.Session, "client", refuse)
    monkeypatch.setattr(botocore.session.Session, "create_client", refuse)


def _config(tmp_path: Path, text: str, name: str = "ddbexport.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.usefixtures("no_aws")
def test_config_check_summarizes_a_valid_config_and_synthesizes_the_pipeline(
    tmp_path: Path,
) -> None:
    """A valid config prints what it selects and where it goes, without calling AWS."""
    code, out, err = _invoke("config-check", "-c", _config(tmp_path, NAMED_TABLES))
    assert (code, err) == (0, "")
    assert "ddbexport.toml: valid" in out
    assert re.search(r"tables +orders, users", out)
    assert re.search(r"buckets +my-exports, users-exports", out)
    assert "cron(0 3 * * ? *) UTC via scheduler" in out
    assert "synthesizes" in out


@pytest.mark.usefixtures("no_aws")
def test_config_check_reports_model_errors_like_every_command(tmp_path: Path) -> None:
    """A bad value is named with the file, the key and the allowed values; exit 2."""
    path = _config(tmp_path, '[defaults]\nbucket = "b-1"\nformat = "CSV"\n')
    code, out, err = _invoke("config-check", "-c", path)
    assert code == 2
    assert out == ""
    assert f"{path}: defaults.format: 'CSV' is not allowed; allowed: 'DYNAMODB_JSON'" in err

    code, out, _ = _invoke("config-check", "-c", path, "--json")
    assert code == 2
    outcome = json.loads(out)
    assert outcome["ok"] is False
    assert outcome["summary"] is None
    assert "defaults.format" in outcome["errors"][0]


@pytest.mark.usefixtures("no_aws")
def test_config_check_names_unknown_keys_and_the_allowed_ones(tmp_path: Path) -> None:
    """A misspelt key is refused with the keys that are allowed there."""
    code, _, err = _invoke("config-check", "-c", _config(tmp_path, 'bukcet = "x"\n'))
    assert code == 2
    assert "unknown key 'bukcet'; allowed keys: region, exclude, defaults" in err


@pytest.mark.usefixtures("no_aws")
def test_a_pipeline_problem_warns_unless_the_pipeline_is_asked_for(tmp_path: Path) -> None:
    """A config fine for local runs passes with a warning; `--pipeline` makes it an error."""
    path = _config(tmp_path, TOO_MANY_POLLS)
    code, out, err = _invoke("config-check", "-c", path)
    assert code == 0
    assert "valid" in out
    assert err.startswith(f"warning: {path}: pipeline: run.poll fixed:15s")
    assert "Poll every 43s or more" in err

    code, out, err = _invoke("config-check", "-c", path, "--pipeline")
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: {path}: pipeline: run.poll fixed:15s")

    code, out, _ = _invoke("config-check", "-c", path, "--pipeline", "--json")
    assert code == 2
    outcome = json.loads(out)
    assert (outcome["ok"], outcome["warnings"]) == (False, [])
    assert outcome["errors"][0].startswith(f"{path}: pipeline: ")


@pytest.mark.usefixtures("no_aws")
def test_a_config_without_tables_is_fine_for_local_runs(tmp_path: Path) -> None:
    """Tables may come from --tablelist at run time; only the pipeline needs [[tables]]."""
    path = _config(tmp_path, '[defaults]\nbucket = "my-exports"\n')
    code, out, err = _invoke("config-check", "-c", path, "--json")
    assert code == 0
    outcome = json.loads(out)
    assert outcome["ok"] is True
    assert outcome["summary"]["buckets"] == ["my-exports"]
    assert "needs [[tables]]" in outcome["warnings"][0]
    assert err == ""


@pytest.mark.usefixtures("no_aws")
def test_match_and_tags_selectors_are_not_resolved(tmp_path: Path) -> None:
    """Selectors that need the account are listed, and the pipeline is left to `synth`."""
    text = (
        '[defaults]\nbucket = "my-exports"\n[[tables]]\nmatch = "prod-*"\n'
        '[[tables]]\ntags = { backup = "daily" }\n[pipeline]\nenabled = false\n'
    )
    code, out, err = _invoke("config-check", "-c", _config(tmp_path, text), "--json")
    assert (code, err) == (0, "")
    summary = json.loads(out)["summary"]
    assert summary["tables"] == []
    assert summary["selectors"] == ["match 'prod-*'", "tags backup=daily"]
    assert summary["pipeline"]["checked"] is False
    assert summary["pipeline"]["enabled"] is False


@pytest.mark.usefixtures("no_aws")
def test_a_json_config_is_checked_too(tmp_path: Path) -> None:
    """Configs written as JSON are checked like TOML ones."""
    data = {"defaults": {"bucket": "my-exports"}, "tables": [{"name": "orders"}]}
    path = _config(tmp_path, json.dumps(data), name="ddbexport.json")
    code, out, _ = _invoke("config-check", "-c", path)
    assert code == 0
    assert "ddbexport.json: valid" in out


def test_config_check_needs_a_config_file() -> None:
    """Without -c there is nothing to check: exit 2 saying what to pass."""
    code, _, err = _invoke("config-check")
    assert code == 2
    assert "pass -c/--config FILE" in err


# ---------------------------------------------------------------------------- completion


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script_for_each_shell(shell: str) -> None:
    """The script calls ddbexport back through its completion variable."""
    code, out, _ = _invoke("completion", shell)
    assert code == 0
    assert "_DDBEXPORT_COMPLETE" in out
    assert f"{shell}_complete" in out


def test_completion_refuses_an_unknown_shell() -> None:
    """An unsupported shell is a usage error naming the ones there are."""
    code, _, err = _invoke("completion", "tcsh")
    assert code == 2
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in err


def test_completion_completes_command_names_and_options() -> None:
    """The machinery the scripts call completes subcommands and their options."""
    completer = ShellComplete(cli, {}, "ddbexport", "_DDBEXPORT_COMPLETE")
    names = {item.value for item in completer.get_completions([], "conf")}
    assert {"config-check", "config-schema"} <= names
    options = {item.value for item in completer.get_completions(["config-check"], "--")}
    assert {"--pipeline", "--json", "--config"} <= options


def test_the_bash_script_round_trip_completes_a_subcommand() -> None:
    """What bash sends (`_DDBEXPORT_COMPLETE=bash_complete`) gets the matching commands back."""
    env = {
        "_DDBEXPORT_COMPLETE": "bash_complete",
        "COMP_WORDS": "ddbexport conf",
        "COMP_CWORD": "1",
    }
    code, out, _ = _invoke(env=env)
    assert code == 0
    assert set(out.split()) >= {"plain,config-check", "plain,config-schema"}
