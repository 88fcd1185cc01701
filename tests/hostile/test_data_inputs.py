"""Hostile price data and date options (issue 14: classes 7, 9, 10 and 12, data side).

Each case is one bad input through the CLI (``rlbt data FILE``, a few through
``rlbt run``): exit 1, no traceback, one short line that names the culprit (file,
line, column, value or option), and a run folder that existed before is unchanged.
"""

from __future__ import annotations

import bz2
import gzip
import io
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from harness import Outcome, assert_refused, assert_unchanged, cli, snapshot

HEADER = "Date,Open,High,Low,Close,Volume"
GOOD = [
    "2020-01-02,10.0,11.0,9.5,10.5,1000",
    "2020-01-03,10.5,11.5,10.0,11.0,1200",
    "2020-01-06,11.0,11.2,10.1,10.2,900",
]
MESSAGE_LIMIT = 1000  # characters: a message must stay readable whatever the input


def csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def line3(text: str) -> bytes:
    """The good file with file line 3 (the second bar) replaced."""
    return csv(GOOD[0], text, GOOD[2])


def intraday(*stamps: str) -> bytes:
    return csv(*(f"{s},1,2,0.5,1.5,0" for s in stamps))


def assert_short(outcome: Outcome) -> None:
    assert len(outcome.output) < MESSAGE_LIMIT, f"{len(outcome.output)} characters echoed"


# (file bytes, extra args of `rlbt data`, culprits besides the file name)
CSV_CASES = [
    # 1. dates: only explicit ISO dates in digits
    pytest.param(
        line3("now,10.5,11.5,10.0,11.0,1200"), (), ["line 3", "'Date'", "'now'"], id="date-now"
    ),
    pytest.param(
        line3("today,10.5,11.5,10.0,11.0,1200"),
        (),
        ["line 3", "'Date'", "'today'"],
        id="date-today",
    ),
    pytest.param(
        line3("2020,10.5,11.5,10.0,11.0,1200"),
        (),
        ["line 3", "'Date'", "'2020'"],
        id="date-bare-year",
    ),
    pytest.param(
        line3("2020-01,10.5,11.5,10.0,11.0,1200"), (), ["line 3", "'2020-01'"], id="date-year-month"
    ),
    pytest.param(
        line3("20200103,10.5,11.5,10.0,11.0,1200"),
        (),
        ["line 3", "'20200103'"],
        id="date-undelimited",
    ),
    pytest.param(
        line3("2020/01/03,10.5,11.5,10.0,11.0,1200"),
        (),
        ["line 3", "--date-format"],
        id="date-slashes-without-format",
    ),
    pytest.param(
        csv("2020-01-02,9,1,2,0.5,1.5", header="Date,Time,Open,High,Low,Close"),
        (),
        ["line 2", "'Time'", "'9'", "HH:MM"],
        id="time-bare-hour",
    ),
    pytest.param(
        csv("2020-01-02,0930,1,2,0.5,1.5", header="Date,Time,Open,High,Low,Close"),
        (),
        ["line 2", "'Time'", "'0930'"],
        id="time-hhmm-digits",
    ),
    pytest.param(
        csv("2020-01-02,9h,1,2,0.5,1.5", header="Date,Time,Open,High,Low,Close"),
        (),
        ["line 2", "'Time'", "'9h'"],
        id="time-unit-suffix",
    ),
    pytest.param(
        csv("2020-01-02,09:30:60,1,2,0.5,1.5", header="Date,Time,Open,High,Low,Close"),
        (),
        ["line 2", "'Time'", "'09:30:60'"],
        id="time-second-60",
    ),
    pytest.param(
        csv("2020-01-02 09:30,09:30,1,2,0.5,1.5", header="Date,Time,Open,High,Low,Close"),
        (),
        ["line 2", "'Date'", "'Time'", "time of day"],
        id="date-holds-time-and-time-col",
    ),
    pytest.param(
        intraday("2020-11-01 01:50", "2020-11-01 01:55", "2020-11-01 01:00"),
        (),
        ["line 4", "'Date'", "daylight", "UTC"],
        id="dst-naive-clock-back",
    ),
    pytest.param(
        intraday("2020-11-01 00:00", "2020-11-01 01:00", "2020-11-01 01:00"),
        (),
        ["line 4", "daylight", "UTC"],
        id="dst-naive-repeated-hour",
    ),
    pytest.param(
        intraday(
            "2020-11-01T01:30:00-04:00", "2020-11-01T01:45:00-04:00", "2020-11-01T01:00:00-05:00"
        ),
        (),
        ["line 4", "-04:00", "-05:00", "daylight", "UTC"],
        id="dst-offsets-fall-back",
    ),
    pytest.param(
        intraday("2020-03-02T09:30:00+01:00", "2020-03-02 10:30"),
        (),
        ["line 3", "UTC offset"],
        id="mixed-offset-and-none",
    ),
    # 2. extreme values: prices in [1e-8, 1e12], volume in [0, 1e18]
    pytest.param(
        line3("2020-01-03,1e305,1e305,1e305,1e305,1"),
        (),
        ["line 3", "'Open'", "1e+305", "1e+12"],
        id="price-1e305",
    ),
    pytest.param(
        line3("2020-01-03,1e308,1.5e308,1e308,1e308,1"),
        (),
        ["line 3", "'Open'", "range"],
        id="price-1e308",
    ),
    pytest.param(
        line3("2020-01-03,5e-324,5e-324,5e-324,5e-324,1"),
        (),
        ["line 3", "'Open'", "5e-324", "1e-08"],
        id="price-subnormal",
    ),
    pytest.param(
        line3("2020-01-03,10.5,2e12,10.0,11.0,1"),
        (),
        ["line 3", "'High'", "range"],
        id="price-above-1e12",
    ),
    pytest.param(
        line3("2020-01-03,1e-9,1e-9,1e-9,1e-9,1"),
        (),
        ["line 3", "'Open'", "range"],
        id="price-below-1e-8",
    ),
    pytest.param(
        line3("2020-01-03,10.5,11.5,10.0,11.0,1e30"),
        (),
        ["line 3", "'Volume'", "1e+18"],
        id="volume-1e30",
    ),
    # 3. delimiters and decimal commas
    pytest.param(
        csv("2020-01-02;1;2;0.5;1.5", header="Date;Open;High;Low;Close"),
        (),
        ["';'-separated"],
        id="semicolon",
    ),
    pytest.param(
        csv("2020-01-02;1,5;2,0;0,5;1,5", header="Date;Open;High;Low;Close"),
        (),
        ["';'-separated", "decimal"],
        id="semicolon-decimal-comma",
    ),
    pytest.param(
        csv("2020-01-02\t1\t2\t0.5\t1.5", header="Date\tOpen\tHigh\tLow\tClose"),
        (),
        ["tab-separated"],
        id="tab",
    ),
    pytest.param(
        csv("2020-01-02|1|2|0.5|1.5", header="Date|Open|High|Low|Close"),
        (),
        ["'|'-separated"],
        id="pipe",
    ),
    pytest.param(
        line3('2020-01-03,"10,5",11.5,10.0,11.0,1200'),
        (),
        ["line 3", "'Open'", "decimal"],
        id="quoted-decimal-comma",
    ),
    # 4. giant echoes
    pytest.param(
        ("x" * 2_000_000 + "\n1\n").encode(), (), ["no date column", "..."], id="giant-header"
    ),
    pytest.param(
        csv(
            "2020-01-02,1,2,0.5",
            header="Date,Open,High,Low," + ",".join(f"{'wide' * 25}{i}" for i in range(3000)),
        ),
        (),
        ["missing", "close", "more"],
        id="wide-file-long-names",
    ),
    # 5. what the bytes are
    pytest.param(b"\n\n\n", (), ["line 1", "blank"], id="blank-lines-only"),
    pytest.param(b"\n" + csv(*GOOD), (), ["line 1", "blank"], id="blank-first-line"),
    pytest.param(bytes(range(256)) * 40, (), ["binary"], id="binary"),
    pytest.param(
        csv(GOOD[0]) + b"2020-01-03,10.5,11.5,10.0,11.0,12\xe9\n",
        (),
        ["line 3", "offset", "UTF-8"],
        id="latin-1-byte",
    ),
    pytest.param(csv(*GOOD).decode().encode("utf-16"), (), ["UTF-16"], id="utf-16"),
    pytest.param(gzip.compress(csv(*GOOD))[:30], (), ["gzip"], id="truncated-gzip"),
    pytest.param(
        gzip.compress(line3("now,10.5,11.5,10.0,11.0,1200")),
        (),
        ["line 3", "'now'"],
        id="gzip-with-bad-date",
    ),
    pytest.param(
        bz2.compress(line3("2020-01-03,1e305,1,1,1,1")),
        (),
        ["line 3", "'Open'"],
        id="bz2-with-bad-price",
    ),
    # 6. headers, and dates that are no dates
    pytest.param(
        csv(*(r + ",1" for r in GOOD), header=HEADER + ",Close"),
        (),
        ["line 1", "'Close'", "columns 5 and 7"],
        id="duplicate-close",
    ),
    pytest.param(
        csv(*(r + ",2020-01-01" for r in GOOD), header=HEADER + ",date"),
        (),
        ["line 1", "'date'"],
        id="duplicate-date",
    ),
    pytest.param(
        csv(*GOOD, header="\ufeffDate,Open,High,Low,Close,Close"),
        (),
        ["line 1", "'Close'"],
        id="bom-and-duplicate",
    ),
]


@pytest.mark.parametrize(("content", "args", "culprits"), CSV_CASES)
def test_bad_csv_is_refused_naming_the_culprit(
    tmp_path: Path, content: bytes, args: tuple[str, ...], culprits: list[str]
) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(content)
    outcome = cli("data", str(path), *args)
    assert_refused(outcome, "prices.csv", *culprits)
    assert_short(outcome)


OPTION_CASES = [
    pytest.param(("--start", "NaT"), ["--start", "'NaT'"], id="option-start-nat"),
    pytest.param(("--end", "now"), ["--end", "'now'"], id="option-end-now"),
    pytest.param(("--start", "today"), ["--start", "'today'"], id="option-start-today"),
    pytest.param(("--end", "2020"), ["--end", "'2020'"], id="option-end-bare-year"),
]


@pytest.mark.parametrize(("args", "culprits"), OPTION_CASES)
def test_a_date_option_that_is_no_date_is_refused_naming_the_option(
    tmp_path: Path, args: tuple[str, ...], culprits: list[str]
) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(csv(*GOOD))
    outcome = cli("data", str(path), *args)
    assert_refused(outcome, *culprits)
    assert_short(outcome)


def _loop(tmp_path: Path) -> Path:
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    return tmp_path / "a.csv"


def _dangling(tmp_path: Path) -> Path:
    (tmp_path / "link.csv").symlink_to(tmp_path / "gone.csv")
    return tmp_path / "link.csv"


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "data.csv").mkdir()
    return tmp_path / "data.csv"


def _fifo(tmp_path: Path) -> Path:
    os.mkfifo(tmp_path / "pipe.csv")  # nobody writes: opening it would block
    return tmp_path / "pipe.csv"


def _zip(tmp_path: Path) -> Path:
    with zipfile.ZipFile(tmp_path / "prices.csv", "w") as archive:
        archive.writestr("prices.csv", csv(*GOOD))
    return tmp_path / "prices.csv"


def _parquet_named_csv(tmp_path: Path) -> Path:
    frame = pd.read_csv(io.BytesIO(line3("2020-01-03,10.5,11.5,10.0,-11.0,1200")))
    frame.to_parquet(tmp_path / "prices.csv")
    return tmp_path / "prices.csv"


def _parquet_dst(tmp_path: Path) -> Path:
    index = pd.date_range("2020-11-01 00:00", periods=4, freq="h", tz="America/New_York")
    frame = pd.DataFrame({"open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5}, index=index)
    frame.to_parquet(tmp_path / "bars.parquet")
    return tmp_path / "bars.parquet"


def _unreadable(tmp_path: Path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_bytes(csv(*GOOD))
    path.chmod(0)
    return path


ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
PATH_CASES = [
    pytest.param(_loop, ["a.csv", "symlink loop"], id="symlink-loop"),
    pytest.param(_dangling, ["link.csv", "gone.csv", "does not exist"], id="dangling-symlink"),
    pytest.param(_folder, ["data.csv", "folder"], id="directory"),
    pytest.param(_fifo, ["pipe.csv", "FIFO"], id="fifo"),
    pytest.param(lambda _: Path("/dev/null"), ["/dev/null", "character device"], id="device"),
    pytest.param(_zip, ["prices.csv", "zip archive"], id="zip-archive"),
    pytest.param(
        _parquet_named_csv,
        ["prices.csv", "row 1", "'close'", "not positive"],
        id="parquet-named-csv",
    ),
    pytest.param(
        _parquet_dst, ["bars.parquet", "row 2", "daylight", "UTC"], id="parquet-tz-aware-fall-back"
    ),
    pytest.param(
        _unreadable,
        ["secret.csv", "permission denied"],
        id="unreadable",
        marks=pytest.mark.skipif(ROOT, reason="root reads a chmod 000 file"),
    ),
]


@pytest.mark.parametrize(("make", "culprits"), PATH_CASES)
def test_bad_path_is_refused_naming_what_it_is(
    tmp_path: Path, make: Callable[[Path], Path], culprits: list[str]
) -> None:
    outcome = cli("data", str(make(tmp_path)))
    assert_refused(outcome, *culprits)
    assert_short(outcome)


RUN_CASES = [
    pytest.param(
        line3("2020-01-03,1e305,1e305,1e305,1e305,1"),
        (),
        ["line 3", "'Open'"],
        id="run-price-1e305",
    ),
    pytest.param(
        intraday("2020-11-01 01:50", "2020-11-01 01:55", "2020-11-01 01:00"),
        (),
        ["line 4", "daylight"],
        id="run-dst",
    ),
    pytest.param(None, ("--train-end", "NaT"), ["--train-end", "'NaT'"], id="run-train-end-nat"),
    pytest.param(None, ("--train-end", "now"), ["--train-end", "'now'"], id="run-train-end-now"),
    pytest.param(None, ("--start", "today"), ["--start", "'today'"], id="run-start-today"),
]


@pytest.mark.parametrize(("content", "args", "culprits"), RUN_CASES)
def test_bad_data_or_date_in_a_run_leaves_the_run_folder_alone(
    tmp_path: Path, content: bytes | None, args: tuple[str, ...], culprits: list[str]
) -> None:
    """A run over an earlier run folder (--overwrite) fails before it writes anything."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"sharpe": 1.0}')
    before = snapshot(out)
    data = "orcl"
    if content is not None:
        data = str(tmp_path / "prices.csv")
        Path(data).write_bytes(content)
    outcome = cli(
        "run", "sma-cross", "--data", data, "--no-report", "--out", str(out), "--overwrite", *args
    )
    assert_refused(outcome, *culprits)
    assert_unchanged(before, out)


# --- what must keep loading (not hostile; guards the rules above against overreach) ---

ACCEPTED = [
    pytest.param(b"\xef\xbb\xbf" + csv(*GOOD), id="utf8-bom"),
    pytest.param(csv(*GOOD).replace(b"\n", b"\r\n"), id="crlf"),
    pytest.param(gzip.compress(csv(*GOOD)), id="gzip-named-csv"),
    pytest.param(csv(*GOOD, header=HEADER.upper()), id="upper-case-names"),
    pytest.param(intraday("2020-03-06T00:00:00-05:00", "2020-03-09T00:00:00-04:00"), id="offsets"),
    pytest.param(
        csv(
            "2020-01-02,09:30,1,2,0.5,1.5",
            "2020-01-02,9:35:00.5,1,2,0.5,1.5",
            header="Date,Time,Open,High,Low,Close",
        ),
        id="date-and-time",
    ),
]


@pytest.mark.parametrize("content", ACCEPTED)
def test_ordinary_forms_still_load(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "prices.csv"
    path.write_bytes(content)
    outcome = cli("data", str(path))
    assert outcome.exit_code == 0, outcome.output


def test_the_price_bounds_leave_every_later_computation_finite() -> None:
    """At the bounds, sizing and compounding stay finite: the reason for the bounds
    (``--cash`` has bounds of its own, for the same reason: test_run_options.py)."""
    from rlbt.engine.config import MAX_CASH
    from rlbt.engine.data.validate import MAX_PRICE, MAX_VOLUME, MIN_PRICE

    shares = MAX_CASH / MIN_PRICE
    assert np.isfinite(
        [shares * MAX_PRICE, MAX_VOLUME * MAX_PRICE, (MAX_PRICE / MIN_PRICE) ** 2]
    ).all()
