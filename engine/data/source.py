"""What a data path points at, checked before any parser touches it.

A price file must be a readable regular file: a folder, a FIFO (opening one
would block until a writer comes), a device, a symlink loop or a dangling link
is refused with what it is. Its first bytes say what it holds: Parquet (by its
``PAR1`` magic or its suffix), CSV text, or CSV compressed with gzip, bzip2 or
xz (read as such, whatever the suffix). Other archives, UTF-16 text and binary
files are refused with what they look like.
"""

from __future__ import annotations

import bz2
import errno
import gzip
import lzma
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from rlbt.engine.data.messages import clip, quoted
from rlbt.engine.errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq")
# Parsing a CSV holds the text, pandas' temporary string objects and the float
# columns at once; ten times the file size is a generous bound for that peak.
PARSE_FACTOR = 10
_SNIFF_BYTES = 8192

_COMPRESSED = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz"}
_OPENERS: dict[str, Callable[..., Any]] = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
_REFUSED_MAGIC = {
    b"PK\x03\x04": "a zip archive; extract the CSV file from it first",
    b"\x28\xb5\x2f\xfd": "zstd-compressed; decompress it first (or use gzip)",
    b"7z\xbc\xaf\x27\x1c": "a 7-Zip archive; extract the CSV file from it first",
    b"\xff\xfe": "UTF-16 text; save it as UTF-8",
    b"\xfe\xff": "UTF-16 text; save it as UTF-8",
}
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


@dataclass(frozen=True)
class FileKind:
    """How to read a file: ``csv`` or ``parquet``, and the compression pandas is told."""

    format: str
    compression: str | None = None


def regular_file(source: str | os.PathLike[str]) -> Path | None:
    """``source`` as a regular file's path, or None when nothing is there at all.

    :raises DataError: the path exists (or is a link) but is no regular file.
    """
    path = Path(source)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        _refuse_dangling_link(path)
        return None
    except (OSError, ValueError) as exc:
        raise DataError(f"{clip(source, 200)}: {_path_problem(exc)}.") from None
    if stat.S_ISREG(info.st_mode):
        return path
    what = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
    raise DataError(f"{clip(source, 200)}: not a file, it is {what}. Pass a CSV or Parquet file.")


def _refuse_dangling_link(path: Path) -> None:
    if path.is_symlink():
        target = os.readlink(path)
        raise DataError(f"{clip(path, 200)}: a symlink to {quoted(target)}, which does not exist.")


def _path_problem(exc: Exception) -> str:
    """A stat failure in words: loops and permissions are not 'not found'."""
    if isinstance(exc, ValueError):  # e.g. an embedded NUL byte
        return "not a valid path"
    code = getattr(exc, "errno", None)
    if code == errno.ELOOP:
        return "symlink loop: the path cannot be resolved (a link leads back to itself)"
    if code == errno.EACCES:
        return "permission denied: a folder on the path cannot be searched"
    if code == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    if code == errno.ENAMETOOLONG:
        return "the path is too long"
    return f"cannot be opened ({getattr(exc, 'strerror', None) or exc})"


def sniff(path: Path, origin: str) -> FileKind:
    """What ``path`` holds, from its first bytes (module docstring)."""
    with open_checked(path, origin) as stream:
        head = stream.read(_SNIFF_BYTES)
    if head.startswith(b"PAR1") or path.suffix.lower() in PARQUET_SUFFIXES:
        return FileKind("parquet")
    for magic, compression in _COMPRESSED.items():
        if head.startswith(magic):
            return FileKind("csv", compression)
    for magic, what in _REFUSED_MAGIC.items():
        if head.startswith(magic):
            raise DataError(f"{origin}: the file is {what}.")
    nul = head.find(b"\x00")
    if nul >= 0:
        raise DataError(
            f"{origin}: the file is binary (a NUL byte at offset {nul:,}), "
            "not CSV text. Pass a CSV or Parquet file."
        )
    return FileKind("csv")


def open_checked(path: Path, origin: str) -> BinaryIO:
    """``open(path, 'rb')`` with its failures (permission denied ...) as a DataError."""
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except PermissionError:
        raise DataError(f"{origin}: permission denied: the file cannot be read.") from None
    except OSError as exc:
        raise DataError(f"{origin}: cannot be read ({exc.strerror or exc}).") from None


def open_data(path: Path, origin: str, compression: str | None) -> BinaryIO:
    """The file's (decompressed) bytes as a stream."""
    if compression is None:
        return open_checked(path, origin)
    return _OPENERS[compression](path, "rb")  # type: ignore[no-any-return]


def first_line(path: Path, origin: str, compression: str | None) -> str:
    """The header line as text (a UTF-8 BOM dropped); DataError if it is no UTF-8 text."""
    try:
        with open_data(path, origin, compression) as stream:
            raw = stream.readline()
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise DataError(f"{origin}: a damaged {compression} file ({exc}).") from None
    try:
        return raw.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        raise utf8_error(path, origin, compression) from None


def utf8_error(path: Path, origin: str, compression: str | None) -> DataError:
    """The first byte that is no UTF-8, as a DataError naming its line and byte offset."""
    offset, lines, carry = 0, 1, b""  # offset: the position of data[0] in the text
    with open_data(path, origin, compression) as stream:
        while True:
            chunk = stream.read(1 << 20)
            data = carry + chunk
            if not data:
                break
            try:
                data.decode("utf-8")
                good = len(data)
            except UnicodeDecodeError as exc:
                # A character cut by the chunk's end is completed by the next chunk.
                cut = (
                    bool(chunk) and exc.end == len(data) and exc.reason == "unexpected end of data"
                )
                if not cut:
                    at = exc.start
                    line = lines + data[:at].count(b"\n")
                    return _not_utf8(origin, line, offset + at, data[at], compression)
                good = exc.start
            carry = data[good:]
            lines, offset = lines + data[:good].count(b"\n"), offset + good
            if not chunk:
                break
    return DataError(f"{origin}: the file is not UTF-8 text. Save it as UTF-8.")


def _not_utf8(origin: str, line: int, offset: int, byte: int, compression: str | None) -> DataError:
    within = " of the decompressed text" if compression else ""
    return DataError(
        f"{origin}, line {line}: byte 0x{byte:02x} at offset {offset:,}{within} is not UTF-8 "
        "text (the file may be Latin-1 / Windows-1252 or binary). Save it as UTF-8."
    )


def check_file_size(path: Path, origin: str, max_bytes: int | None = None) -> None:
    """Refuse, before parsing, a file whose parsed size would not fit in memory.

    The parsed size is estimated as :data:`PARSE_FACTOR` times the file size and
    compared with ``max_bytes`` when given, else with the memory available now.
    """
    size = os.path.getsize(path)
    need = size * PARSE_FACTOR
    budget = max_bytes if max_bytes is not None else available_memory()
    if budget is None or need <= budget:
        return
    limit = "the limit (max_bytes)" if max_bytes is not None else "the memory available"
    raise DataError(
        f"{origin}: the file is {size:,} bytes; loading it needs about {need:,} bytes "
        f"({PARSE_FACTOR}x its size) but {limit} is {budget:,} bytes. Load a smaller file "
        "(split it by date) or free memory."
    )


def available_memory() -> int | None:
    """Bytes of memory available now, or None when the platform does not say.

    Linux's ``MemAvailable`` counts reclaimable page cache; ``SC_AVPHYS_PAGES``
    (free pages only) is the fallback, and underestimates on a busy machine.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
