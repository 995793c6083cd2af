def transcode(chunk: bytes, /) -> tuple[bytes, int, list[tuple[int, int, int, int]]]: ...
def survey(
    chunk: bytes, /
) -> tuple[
    int, list[tuple[bytes, int, tuple[int, ...], bool, int, int]], list[tuple[int, int, int, int]]
]: ...
def columns(
    chunk: bytes, plan: list[tuple[bytes, int, int]], /
) -> (
    tuple[
        int, list[tuple[int, OwnedBuffer, OwnedBuffer, OwnedBuffer, OwnedBuffer, OwnedBuffer, int]]
    ]
    | None
): ...
def count_lines(chunk: bytes, /) -> int: ...

class OwnedBuffer:
    def __buffer__(self, flags: int, /) -> memoryview: ...
