"""Prefixes as the prefix mode reads them: `s3://b/rides` and `s3://b/rides/` are one folder, `rides2/` is not
under `rides/`, and an output prefix inside the input prefix (or around it) is an overlap."""

from __future__ import annotations

import pytest

from ride_scorer.batch.objects import location_under, overlapping, prefix_root


@pytest.mark.parametrize(
    ("prefix", "root"),
    [
        ("s3://b/rides", "s3://b/rides/"),
        ("s3://b/rides/", "s3://b/rides/"),
        ("s3://b//rides//", "s3://b/rides/"),
        ("s3://b", "s3://b/"),
        ("s3://b/", "s3://b/"),
        ("in/", "in"),
        ("./in", "in"),
    ],
)
def test_a_prefix_names_one_folder_however_it_is_spelled(prefix, root):
    assert prefix_root(prefix) == root


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("s3://b/rides", "s3://b/rides-scored/", False),
        ("s3://b/rides", "s3://b/rides/scored", True),
        ("s3://b/rides/2023", "s3://b/rides", True),
        ("s3://b/rides", "s3://other/rides", False),
        ("s3://b/", "s3://b/scored", True),
        ("s3://b/rides", "rides", False),
        ("in", "in2", False),
        ("in", "in/out", True),
        ("in/../in", "in", True),
    ],
)
def test_prefixes_overlap_when_one_holds_the_other(first, second, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert overlapping(first, second) is expected
    assert overlapping(second, first) is expected


def test_a_name_under_a_prefix_keeps_its_folders():
    assert location_under("s3://b/scored", "predictions/2023/a.parquet") == "s3://b/scored/predictions/2023/a.parquet"
    assert location_under("out", "predictions/2023/a.parquet") == "out/predictions/2023/a.parquet"
