"""Data messages that must point at the right line (issue 14 review, finding 8).

An impossible UTC offset, a line with more fields than the header, a quote
never closed, a Parquet file cut short or damaged inside: ``rlbt data`` exits
1 with no traceback and one line naming the file and the culprit line, in
rlbt's words (not pandas' or pyarrow's), and the file itself is untouched.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd
import pytest
from harness import assert_refused, assert_unchanged, cli, snapshot

HEADER = "Date,Open,High,Low,Close,Volume"
BAR = "10,11,9,10.5,1000"


def csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def refused_once(path: Path, *culprits: str, absent: tuple[str, ...] = ()) -> str:
    """``rlbt data path`` is refused on one line naming ``culprits``; the file is unchanged."""
    before = snapshot(path.parent)
    outcome = cli("data", str(path))
    assert_refused(outcome, path.name, *culprits)
    assert_unchanged(before, path.parent)
    text = outcome.output.strip()
    assert len(text.splitlines()) == 1 and len(text) < 400, text
    for wrong in absent:
        assert wrong.lower() not in text.lower(), f"{wrong!r} in: {text}"
    return text


CSV_CASES = [
    pytest.param(
        csv(f"2020-01-02T00:00:00+25:00,{BAR}", f"2020-01-03,{BAR}"),
        ["line 2", "'+25:00'", "not a valid UTC offset"],
        ["line 3", "some timestamps"],
        id="offset-25h-then-none",
    ),
    pytest.param(
        csv(f"2020-01-02T00:00:00+01:00,{BAR}", f"2020-01-03T00:00:00+05:75,{BAR}"),
        ["line 3", "'+05:75'", "not a valid UTC offset"],
        [],
        id="offset-75-minutes",
    ),
    pytest.param(
        csv(f"2020-01-02T00:00:00-1900,{BAR}"),
        ["line 2", "'-1900'", "-18:00"],
        [],
        id="offset-minus-19h",
    ),
    pytest.param(
        csv(f"2020-01-02,{BAR},extra", f"2020-01-03,{BAR}"),
        ["line 2 has 7 fields, the header has 6"],
        ["Length of header", "index_col"],
        id="extra-field-first-line",
    ),
    pytest.param(
        csv(f"2020-01-02,{BAR}", "", f"2020-01-03,{BAR},x,y"),
        ["line 4 has 8 fields, the header has 6"],
        ["C error", "tokenizing"],
        id="extra-fields-after-a-blank-line",
    ),
    pytest.param(
        csv('"2020-01-02",10,11,9,10.5,"1\n000"', f"2020-01-03,{BAR},x"),
        ["line 4 has 7 fields"],
        ["line 3"],  # pandas counts the quoted newline's record as line 3
        id="extra-field-after-a-quoted-newline",
    ),
    pytest.param(
        csv('"2020-01-02","10","11","9","10.5","1000', f"2020-01-03,{BAR}"),
        ["line 2", "quote", "never closed"],
        ["row 1", "EOF"],
        id="quote-never-closed",
    ),
]


@pytest.mark.parametrize(("content", "culprits", "absent"), CSV_CASES)
def test_a_malformed_csv_line_is_named_by_its_file_line(
    tmp_path: Path, content: bytes, culprits: list[str], absent: list[str]
) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(content)
    refused_once(path, *culprits, absent=tuple(absent))


def test_a_compressed_csv_with_an_extra_field_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv.gz"
    path.write_bytes(gzip.compress(csv(f"2020-01-02,{BAR}", f"2020-01-03,{BAR},9")))
    refused_once(path, "line 3 has 7 fields, the header has 6")


def test_a_good_offset_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(csv(f"2020-01-02T00:00:00+14:00,{BAR}", f"2020-01-03T00:00:00-1200,{BAR}"))
    outcome = cli("data", str(path))
    assert outcome.exit_code == 0, outcome.output


def _parquet_bytes() -> bytes:
    frame = pd.read_csv(io.BytesIO(csv(f"2020-01-02,{BAR}", f"2020-01-03,{BAR}")))
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def _damaged_inside(data: bytes) -> bytes:
    """The frame intact (PAR1 ... footer PAR1), the column pages overwritten."""
    middle = bytearray(data)
    middle[8:400] = b"x" * 392
    return bytes(middle)


PARQUET_CASES = [
    pytest.param(lambda d: d[:200], ["not a complete Parquet file", "cut short"], id="first-200"),
    pytest.param(lambda d: d[:-1], ["not a complete Parquet file"], id="last-byte-lost"),
    pytest.param(lambda d: d[:6], ["not a complete Parquet file"], id="six-bytes"),
    pytest.param(lambda d: b"not parquet at all", ["not a Parquet file", "PAR1"], id="no-magic"),
    pytest.param(_damaged_inside, ["damaged"], id="damaged-inside"),
]


@pytest.mark.parametrize(("damage", "culprits"), PARQUET_CASES)
def test_a_broken_parquet_file_says_what_is_wrong(
    tmp_path: Path, damage: object, culprits: list[str]
) -> None:
    path = tmp_path / "bars.parquet"
    path.write_bytes(damage(_parquet_bytes()))  # type: ignore[operator]
    text = refused_once(path, "cannot read it as Parquet", *culprits)
    assert "Could not open Parquet input source" not in text  # pyarrow's repeat of the path
