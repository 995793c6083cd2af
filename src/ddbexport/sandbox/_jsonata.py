"""JSONata in moto's Step Functions interpreter, so the sandbox runs the pipeline's definition.

moto 5.x ships the LocalStack ASL interpreter without its JVM bridge: ``_eval_jsonata`` in
``moto/stepfunctions/parser/asl/jsonata/jsonata.py`` stays ``None``, so a JSONata state fails
with ``TypeError``. :func:`install` evaluates JSONata with the pure-Python ``jsonata-python`` (a
port of the same JSONata library) and adds what Step Functions offers beyond JSONata
(``$hash``, ``$uuid``, ``$random``, ``$parse``), which moto stubs out. The sandbox installs it
when it starts; it only adds what moto lacks, so it stays installed.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import random
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import moto.stepfunctions.parser.asl.component.intrinsic.jsonata as moto_functions
import moto.stepfunctions.parser.asl.eval.states as moto_states
import moto.stepfunctions.parser.asl.eval.variable_store as moto_variables
import moto.stepfunctions.parser.asl.jsonata.jsonata as moto_jsonata
from jsonata import Jsonata
from jsonata.utils import Utils
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


#: Marks a declaration this module wrote, whose value is JSON (a JSONata comment).
_JSON_MARK = "/*json*/"
_MARKED = re.compile(r"(\$[A-Za-z0-9_]+):=" + re.escape(_JSON_MARK))
_DECODER = json.JSONDecoder()


def _split_declarations(expression: str) -> tuple[str, dict[str, Any]]:
    """The expression without the declarations :func:`_declarations` wrote, and their values.

    moto writes every variable and ``$states`` into the text of each expression, so no two
    texts are alike and each is parsed anew, values and all (most of a JSONata state's time).
    Bound as variables instead, the same values leave texts that repeat, parsed once each.
    """
    first = _MARKED.search(expression)
    if first is None:
        return expression, {}
    bindings: dict[str, Any] = {}
    position = first.start()
    while (found := _MARKED.match(expression, position)) is not None:
        value, end = _DECODER.raw_decode(expression, found.end())
        if expression[end : end + 1] != ";":
            break
        bindings[found.group(1)[1:]] = Utils.NULL_VALUE if value is None else value
        position = end + 1
    else:
        rest = expression[: first.start()] + expression[position:]
        # A later declaration of the same name in the text would win over a binding.
        if not any(f"${name}:=" in rest for name in bindings):
            return rest, bindings
    return expression, {}


@functools.lru_cache(maxsize=2048)
def _parsed(expression: str) -> Jsonata:
    return Jsonata(expression)


def _compiled(expression: str) -> Jsonata:
    """A fresh evaluator of a parsed expression: jsonata-python keeps per-evaluation state (its
    environment, input and clock) on the object and uses the thread's latest one, so each
    evaluation gets its own shallow copy sharing the parsed tree (never changed by evaluation),
    as jsonata-python itself copies one for another thread."""
    compiled = copy.copy(_parsed(expression))
    compiled.environment = compiled.create_frame(Jsonata.static_frame)
    Jsonata.CURRENT.jsonata = compiled
    return compiled


def _evaluate(expression: str) -> Any:
    try:
        text, bindings = _split_declarations(expression)
        compiled = _compiled(text)
        compiled.register_lambda("hash", _hash)
        compiled.register_lambda("uuid", lambda: str(uuid.uuid4()))
        compiled.register_lambda("random", _random)
        compiled.register_lambda("parse", json.loads)
        # jsonata-python hands back its own list type: plain JSON values for moto.
        return json.loads(json.dumps(compiled.evaluate(None, bindings or None)))
    except Exception as exc:
        raise moto_jsonata.JSONataException("UNKNOWN", str(exc)) from exc


def _declarations(bindings: Mapping[str, Any]) -> str:
    # moto writes string variables unescaped, which breaks every later expression once one
    # holds a quote or a backslash: write them as JSON, marked for _split_declarations.
    return "".join(
        f"{name}:={_JSON_MARK}{to_json_str(value, separators=(',', ':'))};"
        for name, value in bindings.items()
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
