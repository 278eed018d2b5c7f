"""Every spelling of a location resolves to one canonical `Location` (ride_scorer/columnar/locations.py), and
no name mapped under an output location leaves it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ride_scorer.columnar.locations import Location, LocationError, Pattern


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`rides/` with a link to it, `link/`, in the working directory."""
    (tmp_path / "rides").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "rides")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("rides", "{cwd}/rides"),
        ("./rides/", "{cwd}/rides"),
        ("rides/../rides//.", "{cwd}/rides"),
        ("link", "{cwd}/rides"),
        ("link/new/x.parquet", "{cwd}/rides/new/x.parquet"),
        ("{cwd}/rides", "{cwd}/rides"),
        ("/{cwd}/rides", "{cwd}/rides"),
        ("file://{cwd}/rides", "{cwd}/rides"),
        ("file:{cwd}/rides/", "{cwd}/rides"),
        ("file://localhost{cwd}/rides", "{cwd}/rides"),
        ("file://{cwd}/a%20b", "{cwd}/a b"),
        ("a%20b", "{cwd}/a%20b"),
        ("s3://b/rides", "s3://b/rides"),
        ("s3://b//rides//", "s3://b/rides"),
        ("s3a://b/rides/", "s3://b/rides"),
        ("S3N://b/rides", "s3://b/rides"),
        ("s3://b", "s3://b/"),
    ],
)
def test_every_spelling_names_one_canonical_location(folder, spelling, canonical):
    cwd = str(folder.resolve()).lstrip("/")
    assert str(Location.parse(spelling.format(cwd="/" + cwd if not spelling.startswith("/") else cwd))) == (
        canonical.format(cwd="/" + cwd)
    )


@pytest.mark.parametrize(
    ("spelling", "problem"),
    [
        ("", "not a location"),
        (" rides", "surrounding spaces"),
        ("file:rides", "not a local file: URI"),
        ("file://host/rides", "not a local file: URI"),
        ("hdfs://nn/rides", "hdfs:// is not supported"),
        ("s3:///rides", "names no bucket"),
        ("s3://b/a/../rides", "no '.' or '..'"),
    ],
)
def test_spellings_that_cannot_name_one_location_are_refused(spelling, problem):
    with pytest.raises(LocationError, match=problem):
        Location.parse(spelling)


@pytest.mark.parametrize(
    ("pattern", "location", "holds"),
    [
        ("in/*.parquet", "in/x.parquet", True),
        ("in/*.parquet", "in/x.parquet/part-0", True),
        ("in/*.parquet", "in/scored", False),
        ("in/*.parquet", "in", True),
        ("in/*.parquet", "elsewhere", False),
        ("in/{a,b}/x", "in/c", True),
        ("in/2023-*/x.parquet", "in/2023-01/y", False),
    ],
)
def test_a_pattern_may_hold_what_it_could_match(folder, pattern, location, holds):
    assert Pattern.parse(pattern).may_hold(Location.parse(location)) is holds


NAMES = st.text(alphabet=st.sampled_from(["a", "é", ".", "/", "\\", "\n", "\u2028", " "]), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, bucket=st.booleans())
def test_a_name_under_a_location_stays_inside_it_or_is_refused(folder, name, bucket):
    root = Location.parse("s3://b/out" if bucket else "out")
    try:
        child = root.child(name)
    except LocationError:
        return
    assert root.contains(child) and child != root
    assert root.relative(child) == name
    if not bucket:
        assert os.path.normpath(child.path) == child.path


SEGMENTS = st.lists(st.sampled_from(["rides", "link", ".", "..", ""]), min_size=1, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=SEGMENTS, form=st.sampled_from(["{p}", "./{p}", "{cwd}/{p}", "file://{cwd}/{p}", "file:{cwd}/{p}/"]))
def test_generated_spellings_name_what_the_file_system_names(folder, segments, form):
    """Whatever the spelling, the canonical location is the folder the operating system opens."""
    relative = "/".join(["rides", *segments])  # "" segments make repeated slashes
    spelling = form.format(p=relative, cwd=folder.resolve())
    location = Location.parse(spelling)
    assert location.path == os.path.realpath(folder / relative)
