"""load_prices: every source and CSV form, bundled data, filters, size limit, fingerprint."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rlbt.engine.data import prices
from rlbt.engine.data.bundled import BUNDLED_DATASETS, bundled_names
from rlbt.engine.data.prices import data_fingerprint, load_prices
from rlbt.engine.errors import ConfigError, DataError

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2020-01-02,10.0,11.0,9.5,10.5,10.4,1000
2020-01-03,10.5,11.5,10.0,11.0,10.9,1200
2020-01-06,11.0,11.2,10.1,10.2,10.1,900
"""
EXPECTED = pd.DataFrame(
    {
        "open": [10.0, 10.5, 11.0],
        "high": [11.0, 11.5, 11.2],
        "low": [9.5, 10.0, 10.1],
        "close": [10.5, 11.0, 10.2],
        "volume": [1000.0, 1200.0, 900.0],
    },
    index=pd.DatetimeIndex(["2020-01-02", "2020-01-03", "2020-01-06"], name="datetime").as_unit(
        "ns"
    ),
).astype({"volume": np.float64})


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yahoo_csv_gives_canonical_frame_without_adj_close(tmp_path: Path) -> None:
    loaded = load_prices(write(tmp_path, YAHOO))
    pd.testing.assert_frame_equal(loaded, EXPECTED)
    assert loaded.index.dtype == "datetime64[ns]"


@pytest.mark.parametrize(
    "header",
    [
        " date , OPEN,High ,low,Close,ADJ_CLOSE,volume",
        "Datetime,open,high,low,close,adj close,Volume",
        "timestamp,Open,High,Low,Close,AdjClose,VOL",
    ],
)
def test_column_names_are_case_and_space_insensitive(tmp_path: Path, header: str) -> None:
    text = header + "\n" + YAHOO.split("\n", 1)[1]
    pd.testing.assert_frame_equal(load_prices(write(tmp_path, text)), EXPECTED)


def test_intraday_date_and_time_columns_are_combined(tmp_path: Path) -> None:
    text = (
        "Date,Time,Open,High,Low,Close,Volume,OpenInterest\n"
        "2006-01-02,09:05:00,1,2,0.5,1.5,0,0\n"
        "2006-01-02,09:10,1.5,2,1,1.2,0,0\n"
    )
    loaded = load_prices(write(tmp_path, text))
    assert list(loaded.index) == [
        pd.Timestamp("2006-01-02 09:05"),
        pd.Timestamp("2006-01-02 09:10"),
    ]
    assert list(loaded.columns) == ["open", "high", "low", "close", "volume"]


def test_bad_time_of_day_names_line_and_column(tmp_path: Path) -> None:
    text = (
        "Date,Time,Open,High,Low,Close\n2006-01-02,09:05:00,1,2,0.5,1.5\n2006-01-02,25:00,1,2,1,1\n"
    )
    with pytest.raises(
        DataError, match=r"line 3 \(2006-01-02\), column 'Time': cannot parse '25:00'"
    ):
        load_prices(write(tmp_path, text))


@pytest.mark.parametrize("index_name", [None, "Datetime"])
def test_to_csv_round_trip(tmp_path: Path, index_name: str | None) -> None:
    path = tmp_path / "saved.csv"
    EXPECTED.rename_axis(index_name).to_csv(path)
    pd.testing.assert_frame_equal(load_prices(path), EXPECTED)


def test_missing_volume_becomes_zero(tmp_path: Path) -> None:
    loaded = load_prices(write(tmp_path, "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n"))
    assert loaded["volume"].tolist() == [0.0]


def test_date_format_for_non_iso_dates(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close\n31/01/2020,1,2,0.5,1.5\n03/02/2020,1,2,0.5,1.5\n"
    loaded = load_prices(write(tmp_path, text), date_format="%d/%m/%Y")
    assert list(loaded.index) == [pd.Timestamp("2020-01-31"), pd.Timestamp("2020-02-03")]


def test_wrong_date_format_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "Date,Open,High,Low,Close\n2020-01-31,1,2,0.5,1.5\n")
    with pytest.raises(DataError, match=r"line 2, column 'Date'.*format '%d/%m/%Y' does not match"):
        load_prices(path, date_format="%d/%m/%Y")


def test_utc_offsets_are_dropped_keeping_wall_time(tmp_path: Path) -> None:
    text = (
        "Date,Open,High,Low,Close\n"
        "2020-03-06T00:00:00-05:00,1,2,0.5,1.5\n2020-03-09T00:00:00-04:00,1,2,0.5,1.5\n"
    )
    loaded = load_prices(write(tmp_path, text))
    assert list(loaded.index) == [pd.Timestamp("2020-03-06"), pd.Timestamp("2020-03-09")]


def test_blank_lines_are_skipped_and_line_numbers_still_match(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5\n\n2020-01-03,1,2,0.5,x\n"
    with pytest.raises(DataError, match=r"line 4 \(2020-01-03\), column 'Close': 'x'"):
        load_prices(write(tmp_path, text))


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"prices\.csv: the file is empty"):
        load_prices(write(tmp_path, ""))


def test_ragged_csv(tmp_path: Path) -> None:
    text = "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,1.5,9,9\n"
    with pytest.raises(DataError, match="cannot read it as CSV"):
        load_prices(write(tmp_path, text))


def test_csv_without_a_date_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no date column\. Found: 'Open', 'High'"):
        load_prices(write(tmp_path, "Open,High,Low,Close\n1,2,0.5,1.5\n"))


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_parquet_round_trip(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"prices{suffix}"
    EXPECTED.to_parquet(path)
    pd.testing.assert_frame_equal(load_prices(path), EXPECTED)


def test_parquet_with_a_date_column(tmp_path: Path) -> None:
    path = tmp_path / "prices.parquet"
    EXPECTED.reset_index().rename(columns={"datetime": "Date"}).to_parquet(path)
    pd.testing.assert_frame_equal(load_prices(path), EXPECTED)


def test_parquet_without_pyarrow_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prices.parquet"
    EXPECTED.to_parquet(path)

    def no_pyarrow(*args: object, **kwargs: object) -> pd.DataFrame:
        raise ImportError("Unable to find a usable engine")

    monkeypatch.setattr(prices.pd, "read_parquet", no_pyarrow)
    with pytest.raises(DataError, match="pip install pyarrow"):
        load_prices(path)


def test_corrupt_parquet(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read it as Parquet"):
        load_prices(write(tmp_path, "not parquet", "prices.parquet"))


def test_dataframe_input_is_not_mutated() -> None:
    frame = EXPECTED.rename(columns=str.title).rename_axis("Date")
    frame["Volume"] = frame["Volume"].astype(np.int64)
    frame.index = frame.index.tz_localize("UTC")
    before = frame.copy(deep=True)
    loaded = load_prices(frame, start="2020-01-03")
    loaded.iloc[0, 0] = -1.0
    pd.testing.assert_frame_equal(frame, before)
    assert frame.index.name == "Date" and str(frame.index.tz) == "UTC"
    assert frame["Volume"].dtype == np.int64 and list(frame.columns) == list(before.columns)


def test_dataframe_with_a_date_column_is_not_mutated() -> None:
    frame = EXPECTED.reset_index().rename(columns={"datetime": "date"})
    frame["date"] = frame["date"].dt.strftime("%Y-%m-%d")
    before = frame.copy(deep=True)
    pd.testing.assert_frame_equal(load_prices(frame), EXPECTED)
    pd.testing.assert_frame_equal(frame, before)


def test_dataframe_with_text_index() -> None:
    frame = EXPECTED.set_axis(["2020-01-02", "2020-01-03", "2020-01-06"], axis=0)
    pd.testing.assert_frame_equal(load_prices(frame), EXPECTED)


@pytest.mark.parametrize(
    ("name", "bars", "first", "last"),
    [
        ("orcl", 5036, "1995-01-03", "2014-12-31"),
        ("nvda", 4012, "1999-01-22", "2014-12-31"),
        ("yhoo", 4713, "1996-04-12", "2014-12-31"),
        ("intraday", 2142, "2006-01-02 09:05", "2006-01-30 17:30"),
    ],
)
def test_bundled_datasets_load_cleanly(name: str, bars: int, first: str, last: str) -> None:
    loaded = load_prices(name)
    assert len(loaded) == bars == BUNDLED_DATASETS[name].bars
    assert loaded.index[0] == pd.Timestamp(first) and loaded.index[-1] == pd.Timestamp(last)


def test_bundled_names_are_case_insensitive() -> None:
    assert len(load_prices(" ORCL ")) == 5036


def test_unknown_name_is_file_not_found_listing_bundled_names() -> None:
    with pytest.raises(DataError) as caught:
        load_prices("orcll")
    message = str(caught.value)
    assert "File not found: 'orcll'" in message and "Did you mean 'orcl'?" in message
    assert ", ".join(bundled_names()) in message


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not a file"):
        load_prices(tmp_path)


def test_unsupported_source_type() -> None:
    with pytest.raises(DataError, match="Cannot load prices from a int"):
        load_prices(42)  # type: ignore[arg-type]


def test_start_and_end_are_inclusive(tmp_path: Path) -> None:
    loaded = load_prices(write(tmp_path, YAHOO), start="2020-01-03", end=pd.Timestamp("2020-01-06"))
    assert list(loaded.index.strftime("%Y-%m-%d")) == ["2020-01-03", "2020-01-06"]


def test_end_date_keeps_the_whole_day_of_intraday_bars() -> None:
    loaded = load_prices("intraday", end="2006-01-02")
    assert loaded.index[-1] == pd.Timestamp("2006-01-02 17:30")


def test_filter_leaving_no_rows_shows_the_data_span(tmp_path: Path) -> None:
    with pytest.raises(
        DataError, match="no bars between start 2021-01-01.*spans 2020-01-02 to 2020-01-06"
    ):
        load_prices(write(tmp_path, YAHOO), start="2021-01-01")


@pytest.mark.parametrize(("start", "end"), [("not a date", None), ("2020-02-01", "2020-01-01")])
def test_bad_start_or_end_is_a_config_error(tmp_path: Path, start: str, end: str | None) -> None:
    with pytest.raises(ConfigError, match="start"):
        load_prices(write(tmp_path, YAHOO), start=start, end=end)


def test_too_large_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = write(tmp_path, "garbage that would not parse\n" * 10)
    with pytest.raises(
        DataError, match=r"290 bytes; loading it needs about 2,900 .* is 1,000 bytes"
    ):
        load_prices(path, max_bytes=1_000)


def test_available_memory_reads_meminfo_then_falls_back(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    """MemAvailable wins; without it, free pages times page size; without either, None."""
    import builtins
    real_open = builtins.open
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 4000 kB\nMemAvailable:   2048 kB\n")

    def fake_open(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        return real_open(meminfo if path == "/proc/meminfo" else path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", fake_open)
    assert prices.available_memory() == 2048 * 1024
    meminfo.write_text("MemTotal: 4000 kB\n")
    sizes = {"SC_AVPHYS_PAGES": 10, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(prices.os, "sysconf", lambda name: sizes[name])
    assert prices.available_memory() == 40960

    def unsupported(name: str) -> int:
        raise ValueError(name)

    monkeypatch.setattr(prices.os, "sysconf", unsupported)
    assert prices.available_memory() is None


def test_fingerprint_identifies_the_data() -> None:
    digest = data_fingerprint(EXPECTED)
    assert len(digest) == 64 and digest == data_fingerprint(EXPECTED.copy())
    assert digest == data_fingerprint(EXPECTED.set_axis(EXPECTED.index.as_unit("s"), axis=0))
    changed = EXPECTED.copy()
    changed.iloc[1, 3] += 0.01
    assert data_fingerprint(changed) != digest
    assert data_fingerprint(EXPECTED.iloc[:2]) != digest
