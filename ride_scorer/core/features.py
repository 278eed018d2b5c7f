"""The model's features, in one place: training, streaming, batch and HTTP all build them here.

A model is only as good as the agreement between the features it was trained on and the ones it is
served; keeping one function for both is what makes batch and streaming predictions equal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypedDict


class RideFeatures(TypedDict):
    PU_DO: str
    trip_distance: float


def ride_features(pickup_location_id: int | str, dropoff_location_id: int | str, trip_distance: float) -> RideFeatures:
    """Location ids enter as text so that 130 (streaming JSON) and "130" (TLC parquet) are one feature."""
    return {"PU_DO": f"{pickup_location_id}_{dropoff_location_id}", "trip_distance": float(trip_distance)}


class RideFields(Protocol):
    @property
    def PULocationID(self) -> int | str: ...
    @property
    def DOLocationID(self) -> int | str: ...
    @property
    def trip_distance(self) -> float: ...


def features_of(rides: Iterable[RideFields]) -> list[RideFeatures]:
    """`ride_features` of each ride, written out in one comprehension: this runs for every ride of every
    invocation, where a call per ride was a tenth of the time. tests/unit/core/test_rides.py holds both equal."""
    return [
        {"PU_DO": f"{ride.PULocationID}_{ride.DOLocationID}", "trip_distance": float(ride.trip_distance)}
        for ride in rides
    ]


def features_from_columns(
    pickup_location_ids: Iterable[int | str],
    dropoff_location_ids: Iterable[int | str],
    trip_distances: Iterable[float],
) -> list[RideFeatures]:
    return [
        ride_features(pu, do, distance)
        for pu, do, distance in zip(pickup_location_ids, dropoff_location_ids, trip_distances, strict=True)
    ]
