"""The reversible table encoding: mode-specific normalisation, one-hot, missing indicators, ranges."""

import logging

import numpy as np
import pytest
from tests.tabular.tabular_testdata import people_columns

from genforge.core.errors import DataError
from genforge.data.table_transform import TableTransform
from genforge.data.tabular import infer_types


@pytest.fixture(scope="module")
def fitted():
    columns = people_columns(400)
    return columns, TableTransform().fit(columns, infer_types(columns))


def test_round_trip_gives_back_every_cell(fitted):
    columns, transform = fitted
    back = transform.inverse(transform.transform(columns))
    assert list(back) == ["amount", "age", "sex", "plan", "score", "label"]  # the id column is dropped
    for name in ("age", "sex", "plan", "label"):
        assert (back[name] == columns[name]).all()
    for name in ("amount", "score"):
        present = columns[name] != ""
        assert ((back[name] == "") == ~present).all()  # missing cells stay missing, nothing else does
        error = np.abs(back[name][present].astype(float) - columns[name][present].astype(float))
        assert error.max() < 1e-9


def test_bimodal_column_gets_two_modes_and_spans_cover_the_width(fitted):
    _, transform = fitted
    amount = transform.columns_[0]
    assert amount.kind == "numeric" and len(amount.means) == 2
    assert sorted(round(m) for m in amount.means) == [20, 80]
    spans = transform.spans()
    assert sum(width for _, width, _ in spans) == transform.width
    assert [s[0] for s in spans] == sorted(s[0] for s in spans)
    assert transform.discrete_spans()[0]["counts"] == [
        int((people_columns(400)["sex"] == v).sum()) for v in ("Female", "Male")
    ]


def test_inverse_clips_to_the_training_range_and_rounds_integers(fitted):
    _, transform = fitted
    matrix = transform.transform(people_columns(5, seed=1))
    matrix[:, 0] = 1.0  # alpha at its bound: the largest value of the mode
    matrix[:, 3] = 1.0
    back = transform.inverse(matrix)
    assert back["amount"].astype(float).max() <= transform.columns_[0].high
    assert all("." not in v for v in back["age"])


def test_state_round_trips_through_json(fitted):
    columns, transform = fitted
    again = TableTransform.from_dict(transform.to_dict())
    assert np.array_equal(again.transform(columns), transform.transform(columns))


def test_identifier_and_all_missing_columns_are_dropped_with_a_warning(caplog):
    columns = people_columns(100)
    columns["empty"] = np.array([""] * 100)
    with caplog.at_level(logging.WARNING):
        transform = TableTransform().fit(columns, infer_types(columns))
    assert "customer_id" not in [c.name for c in transform.columns_]
    assert "empty" not in [c.name for c in transform.columns_]
    assert "identifier" in caplog.text and "missing in every row" in caplog.text


def test_one_row_table_is_refused():
    columns = {k: v[:1] for k, v in people_columns(10).items()}
    with pytest.raises(DataError, match="at least 2 rows"):
        TableTransform().fit(columns, {k: "categorical" for k in columns})
