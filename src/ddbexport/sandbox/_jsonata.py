"""JSONata in moto's Step Functions interpreter, so the sandbox runs the pipeline's definition.

moto 5.x ships the LocalStack ASL interpreter without its JVM bridge: ``_eval_jsonata`` in
``moto/stepfunctions/parser/asl/jsonata/jsonata.py`` stays ``None``, so a JSONata state fails
with ``TypeError``. :func:`install` evaluates JSONata with the pure-Python ``jsonata-python`` (a
port of the same JSONata library) and adds what Step Functions offers beyond JSONata
(``$hash``, ``$uuid``, ``$random``, ``$parse``), which moto stubs out. The sandbox installs it
when it starts; it only adds what moto lacks, so it stays installed.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import moto.stepfunctions.parser.asl.component.intrinsic.jsonata as moto_functions
import moto.stepfunctions.parser.asl.eval.states as moto_states
import moto.stepfunctions.parser.asl.eval.variable_store as moto_variables
import moto.stepfunctions.parser.asl.jsonata.jsonata as moto_jsonata
from jsonata import Jsonata
from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (
    StringJSONata,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str

_HASHES: dict[str, Callable[..., Any]] = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def _hash(value: Any, algorithm: Any) -> str:
    """Step Functions' ``$hash(value, algorithm)``: a string's digest in lowercase hex (as
    moto's own ``States.Hash`` computes it)."""
    if not isinstance(value, str) or algorithm not in _HASHES:
        raise ValueError(f"$hash({value!r}, {algorithm!r}): a string and one of {list(_HASHES)}")
    return str(_HASHES[algorithm](value.encode()).hexdigest())


def _random(seed: Any = None) -> float:
    return random.Random(seed).random() if seed is not None else random.random()


def _evaluate(expression: str) -> Any:
    try:
        compiled = Jsonata(expression)
        compiled.register_lambda("hash", _hash)
        compiled.register_lambda("uuid", lambda: str(uuid.uuid4()))
        compiled.register_lambda("random", _random)
        compiled.register_lambda("parse", json.loads)
        # jsonata-python hands back its own list type: plain JSON values for moto.
        return json.loads(json.dumps(compiled.evaluate(None)))
    except Exception as exc:
        raise moto_jsonata.JSONataException("UNKNOWN", str(exc)) from exc


def _declarations(bindings: Mapping[str, Any]) -> str:
    # moto writes string variables unescaped, which breaks every later expression once one
    # holds a quote or a backslash: write them as JSON.
    return "".join(
        f"{name}:={to_json_str(value, separators=(',', ':'))};" for name, value in bindings.items()
    )


def _raise_query_evaluation_errors() -> None:
    """A JSONata runtime error is ``States.QueryEvaluationError`` on AWS (moto: Runtime)."""
    original = StringJSONata._eval_body
    if getattr(original, "patched", False):
        return

    def evaluate_body(self: Any, env: Any) -> None:
        try:
            original(self, env)
        except moto_jsonata.JSONataException as exc:
            name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
            details = EvaluationFailedEventDetails(
                error=name.error_name,
                cause=f"evaluating the JSONata expression {self.expression!r}: {exc.details}",
            )
            raise FailureEventException(
                failure_event=FailureEvent(
                    env=env,
                    error_name=name,
                    event_type=HistoryEventType.EvaluationFailed,
                    # moto's TypedDict lists every kind of detail as required.
                    event_details=EventDetails(evaluationFailedEventDetails=details),  # type: ignore[typeddict-item]
                )
            ) from exc

    evaluate_body.patched = True  # type: ignore[attr-defined]
    StringJSONata._eval_body = evaluate_body  # type: ignore[method-assign]


def _keep_query_language_per_parse() -> None:
    """moto keeps the query-language scope in a class attribute: a definition refused while
    being parsed leaves the next one parsed in the wrong language."""
    original = Preprocessor.__init__
    if getattr(original, "patched", False):
        return

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._query_language_per_scope = []

    init.patched = True  # type: ignore[attr-defined]
    Preprocessor.__init__ = init  # type: ignore[method-assign]


def install() -> None:
    """Make moto evaluate JSONata (idempotent)."""
    moto_jsonata._eval_jsonata = _evaluate
    # moto prepends stubs for these ($hash returns "not supported"), which would shadow ours.
    for name in ("$hash", "$uuid", "$parse"):
        moto_functions._DECLARATION_BY_VARIABLE_REFERENCE.pop(name, None)
    for module in (moto_jsonata, moto_states, moto_variables):
        module.encode_jsonata_variable_declarations = _declarations  # type: ignore[attr-defined]
    _raise_query_evaluation_errors()
    _keep_query_language_per_parse()
