"""The entry point: checks the format and the output, then writes through a format's writer."""

from __future__ import annotations

import io
import os
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from ddbexport.core.ports import ObjectApi
from ddbexport.errors import ConfigError
from ddbexport.exports.reader import OpenedExport, Target, open_export

from .csv_writer import write_csv
from .jsonl import write_jsonl
from .native import chunk_transcoder
from .parquet_writer import import_pyarrow, write_parquet
from .result import ConvertResult

FORMATS = ("jsonl", "csv", "parquet")


def convert(
    target: Target,
    to: str,
    output: Path | BinaryIO,
    *,
    typed: bool = False,
    api: ObjectApi | None = None,
    workers: int | None = 1,
    engine: str = "auto",
) -> ConvertResult:
    """Write the export ``target`` as ``to`` (``jsonl``, ``csv`` or ``parquet``) to ``output``.

    A path is written atomically: to a temporary file beside it, renamed into place once whole.
    Parquet needs a path (its footer is written last). ``engine``: see :mod:`.native` (CSV is
    always written in Python).

    Raises:
        ConfigError: unknown format or engine, the native engine asked for CSV or where it was
            not built, Parquet to a stream, pyarrow missing, not an export.
        ExportReadError: a data file is not what AWS writes.
    """
    if to not in FORMATS:
        raise ConfigError(f"unknown output format {to!r}; expected one of {', '.join(FORMATS)}")
    if to == "parquet" and not isinstance(output, Path):
        raise ConfigError("Parquet output needs a file (-o PATH): it cannot go to a stream")
    if to == "parquet":
        import_pyarrow()  # fail before anything is read or written
    chunk_transcoder(engine)  # an unknown engine, or native where it was not built
    if to == "csv" and engine == "native":
        raise ConfigError("the native engine writes jsonl and parquet; CSV is written in Python")
    if isinstance(output, Path):
        check_output_path(output)
    export = open_export(target, api=api)
    if not isinstance(output, Path):
        return _write(export, to, output, typed, workers, engine)
    temporary = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    try:
        if to == "parquet":
            result = write_parquet(export, temporary, typed=typed, engine=engine, workers=workers)
        else:
            try:
                stream = temporary.open("wb")
            except OSError as exc:
                raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
            with stream:
                result = _write(export, to, stream, typed, workers, engine)
        try:
            temporary.replace(output)
        except OSError as exc:
            raise ConfigError(f"cannot write {output}: {exc.strerror or exc}") from None
    finally:
        with suppress(FileNotFoundError):
            temporary.unlink()
    return result


def check_output_path(output: Path) -> None:
    """Refuse an output file that cannot be written, before anything is read.

    Raises:
        ConfigError: its folder does not exist (or is not a folder), or it is a folder.
    """
    parent = output.parent
    if not parent.is_dir():
        what = "does not exist" if not parent.exists() else "is not a folder"
        raise ConfigError(f"output {output}: the folder {parent} {what}; create it first")
    if output.is_dir():
        raise ConfigError(f"output {output} is a folder; give a file name (e.g. {output}/items)")


def _write(
    export: OpenedExport,
    to: str,
    stream: BinaryIO,
    typed: bool,
    workers: int | None,
    engine: str,
) -> ConvertResult:
    if to == "jsonl":
        return write_jsonl(export, stream, typed=typed, workers=workers, engine=engine)
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=False)
    try:
        return write_csv(export, text, typed=typed)
    finally:
        text.flush()
        text.detach()  # leave the caller's stream open
