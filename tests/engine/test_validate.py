"""validate_prices: one test per kind of bad data, plus a property test that any
DataFrame gives either clean bars or a DataError, never another exception."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlbt.engine.data.prices import load_prices
from rlbt.engine.data.validate import COLUMNS, RTOL, validate_prices
from rlbt.engine.errors import DataError

HEADER = "Date,Open,High,Low,Close,Volume"
GOOD_ROWS = [
    "2020-01-02,10.0,11.0,9.5,10.5,1000",
    "2020-01-03,10.5,11.5,10.0,11.0,1200",
    "2020-01-06,11.0,11.2,10.1,10.2,900",
    "2020-01-07,10.2,10.8,10.0,10.6,1100",
]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def with_row(line: int, text: str) -> list[str]:
    """GOOD_ROWS with file line ``line`` (header = line 1) replaced by ``text``."""
    rows = list(GOOD_ROWS)
    rows[line - 2] = text
    return rows


def bars(rows: int = 4) -> pd.DataFrame:
    index = pd.date_range("2020-01-01", periods=rows, freq="D")
    low = np.linspace(10.0, 13.0, rows)
    return pd.DataFrame(
        {"open": low + 0.5, "high": low + 1.0, "low": low, "close": low + 0.2, "volume": 100.0},
        index=index,
    )


# (file line 3's new text, fragments the message must contain)
BAD_ROWS = {
    "non-numeric": ("2020-01-03,abc,11.5,10.0,11.0,1200", ["'Open'", "'abc'", "not a number"]),
    "missing": ("2020-01-03,10.5,,10.0,11.0,1200", ["'High'", "missing", "Fill it"]),
    "infinite": ("2020-01-03,10.5,inf,10.0,11.0,1200", ["'High'", "inf", "not finite"]),
    "zero price": ("2020-01-03,10.5,11.5,0,11.0,1200", ["'Low'", "price 0", "not positive"]),
    "negative price": ("2020-01-03,-1,11.5,10.0,11.0,1200", ["'Open'", "-1", "not positive"]),
    "negative volume": ("2020-01-03,10.5,11.5,10.0,11.0,-5", ["'Volume'", "-5", "negative"]),
    "high below low": ("2020-01-03,10.5,9.0,10.0,9.5,1200", ["'High'", "high 9.0", "low 10.0"]),
    "open above high": ("2020-01-03,12.0,11.5,10.0,11.0,1200", ["'Open'", "open 12.0", "outside"]),
    "close below low": ("2020-01-03,10.5,11.5,10.0,9.0,1200", ["'Close'", "close 9.0", "outside"]),
}


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_value_names_file_line_timestamp_column_and_value(tmp_path: Path, case: str) -> None:
    text, fragments = BAD_ROWS[case]
    path = write_csv(tmp_path, with_row(3, text))
    with pytest.raises(DataError) as caught:
        load_prices(path)
    message = str(caught.value)
    for fragment in [f"{path}, line 3 (2020-01-03)", *fragments]:
        assert fragment in message


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_bad_value_in_a_dataframe_names_the_row_position(case: str) -> None:
    frame = pd.read_csv(io.StringIO("\n".join([HEADER, *with_row(3, BAD_ROWS[case][0])])))
    frame.index = pd.to_datetime(frame.pop("Date"), format="%Y-%m-%d")
    with pytest.raises(DataError, match=r"^DataFrame, row 1 \(2020-01-03\), column '"):
        validate_prices(frame, "DataFrame")


def test_the_first_offending_row_is_reported_whatever_the_check() -> None:
    frame = bars(5)
    frame.iloc[3, 0] = np.nan  # an early check, later row
    frame.iloc[1, 1] = frame.iloc[1, 2] - 1  # a late check (high < low), earlier row
    with pytest.raises(DataError, match=r"row 1 .*column 'high'"):
        validate_prices(frame, "DataFrame")


def test_unparsable_date_names_line_column_value_and_suggests_date_format(tmp_path: Path) -> None:
    path = write_csv(tmp_path, with_row(4, "06/01/2020,11.0,11.2,10.1,10.2,900"))
    with pytest.raises(DataError) as caught:
        load_prices(path)
    message = str(caught.value)
    for fragment in [f"{path}, line 4", "column 'Date'", "'06/01/2020'", "--date-format"]:
        assert fragment in message


def test_unsorted_timestamps(tmp_path: Path) -> None:
    rows = [GOOD_ROWS[0], GOOD_ROWS[2], GOOD_ROWS[1], GOOD_ROWS[3]]
    with pytest.raises(DataError, match=r"line 4 \(2020-01-03\), column 'Date'.*earlier.*Sort"):
        load_prices(write_csv(tmp_path, rows))


def test_newest_first_file_is_recognised(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="newest first"):
        load_prices(write_csv(tmp_path, GOOD_ROWS[::-1]))


def test_duplicate_timestamps(tmp_path: Path) -> None:
    rows = [*GOOD_ROWS[:2], GOOD_ROWS[1].replace("10.5,", "10.6,", 1), GOOD_ROWS[3]]
    with pytest.raises(DataError, match=r"line 4 \(2020-01-03\), column 'Date'.*repeats"):
        load_prices(write_csv(tmp_path, rows))


def test_missing_columns_lists_what_was_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["2020-01-02,10.0,11.0,9.5"], header="Date,Open,High,Low")
    with pytest.raises(DataError, match=r"missing required column\(s\) close\. Found: 'Open'"):
        load_prices(path)


def test_semicolon_file_gets_a_delimiter_hint(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["2020-01-02;1;2;0.5;1"], header="Date;Open;High;Low;Close")
    with pytest.raises(DataError, match="no date column|delimiter"):
        load_prices(path)
    frame = pd.DataFrame({"Open;High;Low;Close": ["1;2;0.5;1"]}, index=bars(1).index)
    with pytest.raises(DataError, match="another delimiter"):
        validate_prices(frame, "DataFrame")


def test_header_only_file_has_no_rows(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"prices\.csv: no rows of price data"):
        load_prices(write_csv(tmp_path, []))


def test_two_columns_meaning_the_same_thing() -> None:
    frame = bars().assign(Open=1.0)
    with pytest.raises(DataError, match="columns 'open' and 'Open' both mean 'open'"):
        validate_prices(frame, "DataFrame")


def test_index_without_timestamps() -> None:
    with pytest.raises(DataError, match="index holds int64 values, not timestamps"):
        validate_prices(bars().reset_index(drop=True), "DataFrame")


def test_missing_timestamp_in_the_index() -> None:
    frame = bars()
    frame.index = frame.index.where(np.arange(4) != 2, pd.NaT)
    with pytest.raises(DataError, match=r"row 2.*missing timestamp \(NaT\)"):
        validate_prices(frame, "DataFrame")


def test_rounding_noise_within_tolerance_is_accepted() -> None:
    frame = bars()
    frame.iloc[0, 3] = frame.iloc[0, 1] * (1 + RTOL / 10)  # close a hair above high
    assert len(validate_prices(frame, "DataFrame")) == 4


def test_clean_frame_comes_back_canonical_and_new() -> None:
    frame = bars().drop(columns="volume").rename(columns=str.upper).tz_localize("US/Eastern")
    frame["Adj Close"] = 1.0
    clean = validate_prices(frame, "DataFrame")
    assert list(clean.columns) == list(COLUMNS)
    assert (clean.dtypes == np.float64).all() and (clean["volume"] == 0).all()
    assert clean.index.name == "datetime" and clean.index.tz is None
    assert clean.index.dtype == "datetime64[ns]"
    assert clean.index[0] == pd.Timestamp("2020-01-01")  # wall-clock time kept
    assert not np.shares_memory(clean.to_numpy(), frame.to_numpy())


def test_non_dataframe_input() -> None:
    with pytest.raises(DataError, match="expected a pandas DataFrame, got list"):
        validate_prices([1, 2], "thing")  # type: ignore[arg-type]


# --- property: any DataFrame -> clean bars or DataError --------------------------

NAMES = ["open", "High", " low ", "CLOSE", "Volume", "adj close", "vol", "date", "x", 0]


def column_values(rows: int) -> st.SearchStrategy[object]:
    def sized(elements: st.SearchStrategy[object]) -> st.SearchStrategy[list[object]]:
        return st.lists(elements, min_size=rows, max_size=rows)

    return st.one_of(
        sized(st.floats()).map(lambda v: np.array(v, dtype=np.float64)),
        sized(st.integers(-(2**63), 2**63 - 1)).map(lambda v: np.array(v, dtype=np.int64)),
        sized(st.booleans()).map(lambda v: np.array(v, dtype=bool)),
        sized(st.one_of(st.none(), st.text(max_size=4), st.sampled_from(["1.5", " 2", "inf"]))),
        sized(st.one_of(st.none(), st.floats(), st.integers(), st.text(max_size=3))).map(
            lambda v: pd.Series(v, dtype=object)
        ),
        sized(st.one_of(st.none(), st.integers(-5, 5))).map(lambda v: pd.array(v, dtype="Int64")),
        sized(st.complex_numbers()).map(lambda v: np.array(v, dtype=complex)),
        sized(st.sampled_from(["1", "2", "a"])).map(lambda v: pd.Categorical(v)),
        sized(st.datetimes()).map(lambda v: pd.DatetimeIndex(v, dtype="datetime64[us]")),
    )


def index_values(rows: int) -> st.SearchStrategy[pd.Index]:
    stamps = st.lists(st.datetimes(), min_size=rows, max_size=rows)
    return st.one_of(
        st.just(pd.RangeIndex(rows)),
        stamps.map(lambda v: pd.DatetimeIndex(np.array(v, dtype="datetime64[s]"))),
        stamps.map(lambda v: pd.DatetimeIndex(sorted(v), dtype="datetime64[us]")),
        stamps.map(lambda v: pd.DatetimeIndex(sorted(v)).tz_localize("UTC")),
        st.lists(st.text(max_size=10), min_size=rows, max_size=rows).map(pd.Index),
        st.lists(st.floats(), min_size=rows, max_size=rows).map(pd.Index),
    )


@st.composite
def any_frames(draw: st.DrawFn) -> pd.DataFrame:
    rows = draw(st.integers(0, 5))
    names = draw(st.lists(st.sampled_from(NAMES), max_size=7))
    columns = [draw(column_values(rows)) for _ in names]
    frame = pd.DataFrame(dict(enumerate(columns)), index=draw(index_values(rows)))
    frame.columns = pd.Index(names, dtype=object)
    return frame


@st.composite
def near_valid_frames(draw: st.DrawFn) -> pd.DataFrame:
    """Mostly clean bars, sometimes nudged, so the deep checks and success are reached."""
    rows = draw(st.integers(1, 6))
    price = st.floats(1e-6, 1e6)
    low = np.array(draw(st.lists(price, min_size=rows, max_size=rows)))
    spread = low * draw(st.floats(0, 0.1))
    frame = pd.DataFrame(
        {"open": low + spread / 2, "high": low + spread, "low": low, "close": low + spread},
        index=pd.date_range("2000-01-01", periods=rows, freq=draw(st.sampled_from(["D", "5min"]))),
    )
    if draw(st.booleans()):
        row, col = draw(st.integers(0, rows - 1)), draw(st.integers(0, 3))
        frame.iloc[row, col] = draw(st.floats())
    return frame


def assert_clean(clean: pd.DataFrame) -> None:
    values = clean.to_numpy()
    assert list(clean.columns) == list(COLUMNS) and values.dtype == np.float64
    assert isinstance(clean.index, pd.DatetimeIndex) and clean.index.tz is None
    assert clean.index.is_monotonic_increasing and clean.index.is_unique
    assert np.isfinite(values).all() and (values[:, :4] > 0).all() and (values[:, 4] >= 0).all()
    o, h, lo, c = values[:, :4].T
    slack = RTOL * np.maximum(h, lo)
    with np.errstate(over="ignore"):  # prices near the float maximum are valid
        assert (h >= lo - slack).all() and (o <= h + slack).all() and (c >= lo - slack).all()


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(any_frames(), near_valid_frames()))
def test_any_frame_gives_clean_bars_or_a_data_error(frame: pd.DataFrame) -> None:
    before = frame.copy(deep=True)
    for check in (lambda f: validate_prices(f, "DataFrame"), load_prices):
        try:
            clean = check(frame)
        except DataError:
            continue
        assert_clean(clean)
    pd.testing.assert_frame_equal(frame, before)
