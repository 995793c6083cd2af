"""Which engine converts DynamoDB JSON lines: the C converter when it was built, else Python.

The C converter (``_dynamojson``, compiled when ddbexport is installed: see ``hatch_build.py``)
writes most lines itself and hands the rest (exponents, number sets with fractions, binary sets,
anything unusual or malformed) back to the Python converter, so the output is the same byte for
byte whichever engine runs, and errors are the Python path's, with their line numbers. For
Parquet it builds the Arrow columns itself (see :mod:`.parquet_native`): the same file's
schema and values as the Python writer's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ddbexport.errors import ConfigError
from ddbexport.exports.chunks import ChunkTranscoder
from ddbexport.exports.reader import OpenedExport

from .parquet_native import Native, native_parquet

Engine = Literal["auto", "native", "python"]
ENGINES: tuple[Engine, ...] = ("auto", "native", "python")

NOT_BUILT = (
    "the native engine is not built in this installation (it is compiled when ddbexport is "
    "installed where a C compiler is available); use --engine auto or python"
)


def native_transcoder() -> ChunkTranscoder | None:
    """The C converter's ``transcode``, or None when it was not built."""
    try:
        from ._dynamojson import transcode  # noqa: PLC0415 - built only where a compiler was
    except ImportError:
        return None
    return transcode


def native_line_counter() -> Callable[[bytes], int] | None:
    """The C converter's ``count_lines`` (newlines in a chunk, without the GIL), or None."""
    try:
        from ._dynamojson import count_lines  # noqa: PLC0415 - built only where a compiler was
    except ImportError:
        return None
    return count_lines


def chunk_transcoder(engine: str) -> ChunkTranscoder | None:
    """The transcoder ``engine`` asks for: None means every line in Python.

    Raises:
        ConfigError: an unknown engine, or ``native`` where it was not built.
    """
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if engine == "python":
        return None
    transcode = native_transcoder()
    if transcode is None and engine == "native":
        raise ConfigError(NOT_BUILT)
    return transcode


def parquet_engine(engine: str) -> Native | None:
    """The C survey and column builder ``engine`` asks for: None means Python's writer.

    Raises:
        ConfigError: an unknown engine, or ``native`` where it was not built.
    """
    if chunk_transcoder(engine) is None:
        return None
    native = native_parquet()
    if native is None and engine == "native":
        raise ConfigError(NOT_BUILT)
    return native


def native_converts(export: OpenedExport, typed: bool, engine: str) -> bool:
    """Whether the native engine converts ``export`` (to ``typed`` output or not): a FULL
    DynamoDB-JSON export to plain values. ``auto`` reads anything else in Python, ``native``
    refuses it; which C code converts, and whether it was built, is for
    :func:`chunk_transcoder` and :func:`parquet_engine` to say.

    Raises:
        ConfigError: ``engine="native"`` for an ION export, an INCREMENTAL one, or typed output.
    """
    if export.summary.output_format == "ION":
        refusal = f"{export.url}: ION exports are read in Python; use --engine auto"
    elif export.incremental:
        refusal = (
            f"{export.url}: the changes of INCREMENTAL exports are read in Python; "
            "use --engine auto"
        )
    elif typed:
        refusal = "typed output is written in Python; use --engine auto with --typed"
    else:
        return True
    if engine == "native":
        raise ConfigError(refusal)
    return False
