"""JSONata in moto's Step Functions interpreter, for executing the pipeline's definition.

moto 5.x ships the LocalStack ASL interpreter without its JVM bridge: ``_eval_jsonata`` in
``moto/stepfunctions/parser/asl/jsonata/jsonata.py`` stays ``None``, so a JSONata state fails
with ``TypeError``. This evaluates JSONata with the pure-Python ``jsonata-python`` (a port of the
same JSONata library), and adds what Step Functions offers beyond JSONata (``$hash``,
``$uuid``, ``$random``, ``$parse``), which moto stubs out. Installed once by ``conftest.py``.
"""
from __future__ import annotations

import hashlib
import json
import random
import uuid

from jsonata import Jsonata

import moto.stepfunctions.parser.asl.component.intrinsic.jsonata as _mi
import moto.stepfunctions.parser.asl.jsonata.jsonata as _mj

_HASHES = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


def _sfn_hash(value, algorithm):
    # Same semantics as moto's own States.Hash intrinsic (hash_func.py): string
    # input, one of MD5/SHA-1/SHA-256/SHA-384/SHA-512, lowercase hex digest.
    if not isinstance(value, str):
        raise ValueError(f"$hash expects a string, got {type(value).__name__}")
    if algorithm not in _HASHES:
        raise ValueError(f"$hash: unsupported algorithm {algorithm!r}")
    return _HASHES[algorithm](value.encode()).hexdigest()


def _sfn_random(seed=None):
    # AWS: $random([seed]) -> float in [0,1); seeded is deterministic.
    return random.Random(seed).random() if seed is not None else random.random()


def _sfn_uuid():
    return str(uuid.uuid4())


def _to_plain_json(value):
    # jsonata-python returns JList (a list subclass) for arrays; round-trip
    # through json to hand moto plain dict/list/str/number/bool/None.
    return json.loads(json.dumps(value))


def _eval_jsonata(expression: str):
    try:
        expr = Jsonata(expression)
        expr.register_lambda("hash", _sfn_hash)
        expr.register_lambda("uuid", _sfn_uuid)
        expr.register_lambda("random", _sfn_random)
        expr.register_lambda("parse", lambda s: json.loads(s))
        result = expr.evaluate(None)
        return _to_plain_json(result)
    except Exception as ex:  # mirror moto's JVM bridge contract
        raise _mj.JSONataException("UNKNOWN", str(ex)) from ex


def _encode_jsonata_variable_declarations(bindings):
    # moto writes string variables as f'"{value}"' (no escaping), so an Assign'd
    # string containing " or \\ or a newline breaks *every* later JSONata
    # expression (all variables are prepended to each one). json.dumps escapes.
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    return "".join(
        f"{ref}:={to_json_str(value, separators=(',', ':'))};"
        for ref, value in bindings.items()
    )


def _map_errors_to_query_evaluation_error() -> None:
    # Runtime JSONata errors surface as States.Runtime (TypeError/JSONataException) in moto;
    # AWS reports States.QueryEvaluationError. Re-raise them as that.
    from moto.stepfunctions.parser.api import EvaluationFailedEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent, FailureEventException)
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType)
    from moto.stepfunctions.parser.asl.component.common.string.string_expression import StringJSONata
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    orig = StringJSONata._eval_body
    if getattr(orig, "_jsonata_patched", False):
        return

    def _eval_body(self, env):
        try:
            orig(self, env)
        except _mj.JSONataException as ex:
            name = StatesErrorName(typ=StatesErrorNameType.StatesQueryEvaluationError)
            details = EvaluationFailedEventDetails(
                error=name.error_name,
                cause=f"An error occurred while evaluating the JSONata expression '{self.expression}': {ex.details}",
            )
            raise FailureEventException(failure_event=FailureEvent(
                env=env, error_name=name, event_type=HistoryEventType.EvaluationFailed,
                event_details=EventDetails(evaluationFailedEventDetails=details),
            )) from ex

    _eval_body._jsonata_patched = True
    StringJSONata._eval_body = _eval_body


def _fix_preprocessor_scope_leak() -> None:
    # Preprocessor._query_language_per_scope is a *class-level* list; a definition
    # rejected mid-parse (e.g. JSONata->JSONPath downgrade) leaves entries behind and
    # every later create_state_machine in the process inherits JSONata mode.
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
    orig_init = Preprocessor.__init__
    if getattr(orig_init, "_jsonata_patched", False):
        return

    def __init__(self, *a, **k):
        orig_init(self, *a, **k)
        self._query_language_per_scope = []

    __init__._jsonata_patched = True
    Preprocessor.__init__ = __init__


def install() -> None:
    # 1) the evaluator: module global read by eval_jsonata_expression() on every call
    _mj._eval_jsonata = _eval_jsonata
    # 2) moto prepends `$hash:=function(){"...not supported"}` / `$uuid:=...` to
    #    expressions that mention them; those local bindings would shadow the
    #    registered lambdas, so drop the stubs ($partition/$range are real
    #    JSONata and work as-is; $parse stub uses $eval, replace it too).
    for name in ("$hash", "$uuid", "$parse"):
        _mi._DECLARATION_BY_VARIABLE_REFERENCE.pop(name, None)
    # 3) escape string variables properly (imported by name in three modules)
    import moto.stepfunctions.parser.asl.eval.states as _st
    import moto.stepfunctions.parser.asl.eval.variable_store as _vs
    for mod in (_mj, _st, _vs):
        mod.encode_jsonata_variable_declarations = _encode_jsonata_variable_declarations
    # 4) optional fidelity fixes
    _map_errors_to_query_evaluation_error()
    _fix_preprocessor_scope_leak()
