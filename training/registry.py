"""The model registry's side of the lifecycle: what each version records, its aliases, and finding a model.

Every trained model is registered as a version of `ride-duration` with a description and tags (data months
and files, row counts, RMSE, MAE, model kind, serialization); publishing adds where it went
(`published_location`) and its digest (`published_sha256`).

Alias policy: the first version of the registered model becomes `@champion` (there is nothing to compare it
with, and `make serve` / `make batch` then serve what you trained); every later version becomes
`@challenger`, and only `python -m training promote` (`make promote`) moves `@champion`. A better validation
RMSE alone does not promote: versions validated on different months are not comparable, and the champion is
what gets deployed, so a person (or a CD job) decides. Promoting the challenger removes its `@challenger`
alias; the previous champion keeps its tags, so rolling back is promoting it again.

A model is named the way MLflow names it: a run id, `models:/ride-duration/3` or `models:/ride-duration@champion`.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from training import tracking
from training.registry_store import CHALLENGER, CHAMPION, StoredVersion, describe_version
from training.registry_store import data_month as data_month  # training.registry.data_month, as before

REGISTERED_MODEL_DESCRIPTION = (
    "Ride duration in minutes for NYC green-taxi rides, from PULocationID, DOLocationID and trip_distance. "
    "The sklearn flavour is what ride-scorer's Lambda, batch job and HTTP service load; the python_function "
    "flavour takes the same raw fields as a DataFrame. Aliases: @champion is the model to deploy, "
    "@challenger the newest candidate (promote with `python -m training promote`)."
)
_BY_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>[0-9]+)$")
_BY_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[A-Za-z0-9_-]+)$")


@dataclass(frozen=True)
class ResolvedModel:
    """A model found in the tracking store: its run, its files, and its registry entry when it has one."""

    run_id: str
    model_dir: Path
    name: str | None = None
    version: str | None = None
    aliases: tuple[str, ...] = ()

    def describe(self) -> str:
        """`ride-duration version 3 (@champion), run <id>`: what `make serve` prints and what to quote in a review."""
        if self.name is None or self.version is None:
            return f"run {self.run_id} (not registered)"
        return describe_version(self.name, self.version, self.aliases, self.run_id)


@dataclass(frozen=True)
class Promotion:
    name: str
    version: str
    previous: str | None


def client_for(uri: str | None = None) -> tuple[MlflowClient, str]:
    store = tracking.tracking_uri(uri)
    mlflow.set_tracking_uri(store)
    mlflow.set_registry_uri(store)
    return MlflowClient(store, registry_uri=store), store


def record_new_version(
    client: MlflowClient, name: str, version: str, tags: dict[str, str], description: str
) -> tuple[str, ...]:
    """Tag and describe a new version and give it its alias by the policy above; returns its aliases."""
    registered = client.get_registered_model(name)
    if not registered.description:
        client.update_registered_model(name, description=REGISTERED_MODEL_DESCRIPTION)
    client.update_model_version(name, version, description=description)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    alias = CHALLENGER if CHAMPION in (registered.aliases or {}) else CHAMPION
    client.set_registered_model_alias(name, alias, version)
    return (alias,)


def promote(version: str | None = None, name: str = tracking.REGISTERED_MODEL, uri: str | None = None) -> Promotion:
    """Point `@champion` at `version` (default: the `@challenger`); the challenger alias goes if it was there."""
    client, store = client_for(uri)
    target = _version(client, store, name, version=version) if version else _version(client, store, name, CHALLENGER)
    previous = _aliased(client, name, CHAMPION)
    client.set_registered_model_alias(name, CHAMPION, target.version)
    if CHALLENGER in (target.aliases or []):
        client.delete_registered_model_alias(name, CHALLENGER)
    return Promotion(name, str(target.version), None if previous is None else str(previous.version))


def resolve(reference: str, uri: str | None = None) -> ResolvedModel:
    """The model named by a run id, `models:/<name>/<version>` or `models:/<name>@<alias>`."""
    client, store = client_for(uri)
    by_version, by_alias = _BY_VERSION.match(reference), _BY_ALIAS.match(reference)
    if by_version or by_alias:
        parts = (by_version or by_alias).groupdict()  # type: ignore[union-attr]
        found = _version(client, store, parts["name"], alias=parts.get("alias"), version=parts.get("version"))
        return _resolved(client, found)
    if reference.startswith("models:/") or "/" in reference:
        raise tracking.TrackingError(
            f"{reference!r} is not a run id, models:/<name>/<version> or models:/<name>@<alias>"
        )
    model_dir = tracking.model_directory(reference, store)
    versions = _versions_of_run(client, reference)
    if len(versions) == 1:
        return _resolved(client, versions[0], model_dir)
    return ResolvedModel(run_id=reference, model_dir=model_dir)


def champion(uri: str | None = None, name: str = tracking.REGISTERED_MODEL) -> ResolvedModel | None:
    """The `@champion` version, or None when the store has no such model or alias."""
    client, _ = client_for(uri)
    found = _aliased(client, name, CHAMPION)
    return None if found is None else _resolved(client, found)


def stored_versions(uri: str | None = None, name: str = tracking.REGISTERED_MODEL) -> list[StoredVersion]:
    """Every version of `name` with its aliases, tags and run metrics, asked through MLflow: for stores
    training/registry_store.py cannot read (a tracking server). Files are not fetched (`model_dir` None)."""
    client, _ = client_for(uri)
    try:
        found = client.search_model_versions(f"name = '{name}'")
    except MlflowException:
        return []
    versions = []
    for entry in sorted(found, key=lambda version: int(version.version)):
        version = client.get_model_version(name, entry.version)  # search results leave out the aliases
        metrics = client.get_run(version.run_id).data.metrics if version.run_id else {}
        versions.append(
            StoredVersion(
                name=name,
                version=str(version.version),
                run_id=str(version.run_id or ""),
                aliases=tuple(sorted(version.aliases or ())),
                model_dir=None,
                tags=dict(version.tags or {}),
                metrics={key: float(value) for key, value in metrics.items()},
            )
        )
    return versions


def record_publication(client: MlflowClient, model: ResolvedModel, location: str, sha256: str) -> list[str]:
    """Tag the published version(s) with where the model went and its digest; returns `name/version` of each.

    A run id that was registered more than once (under several names) tags every version of that run."""
    versions = (
        [client.get_model_version(model.name, model.version)]
        if model.name and model.version
        else _versions_of_run(client, model.run_id)
    )
    for version in versions:
        client.set_model_version_tag(version.name, version.version, "published_location", location)
        client.set_model_version_tag(version.name, version.version, "published_sha256", sha256)
    return [f"{version.name}/{version.version}" for version in versions]


def _version(
    client: MlflowClient, store: str, name: str, alias: str | None = None, version: str | None = None
) -> ModelVersion:
    try:
        if alias is not None:
            return client.get_model_version_by_alias(name, alias)
        return client.get_model_version(name, str(version))
    except MlflowException as error:
        wanted = f"models:/{name}@{alias}" if alias is not None else f"models:/{name}/{version}"
        raise tracking.TrackingError(f"{wanted} is not in the registry of {store}: {error.message}") from error


def _aliased(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        registered = client.get_registered_model(name)
    except MlflowException:
        return None
    if alias not in (registered.aliases or {}):
        return None
    return client.get_model_version_by_alias(name, alias)


def _versions_of_run(client: MlflowClient, run_id: str) -> list[ModelVersion]:
    """Fetched one by one: search results leave out the aliases."""
    found = client.search_model_versions(f"run_id = '{run_id}'")
    return [client.get_model_version(version.name, version.version) for version in found]


def _resolved(client: MlflowClient, version: ModelVersion, model_dir: Path | None = None) -> ResolvedModel:
    if model_dir is None:
        model_dir = _version_directory(client, version)
    return ResolvedModel(
        run_id=str(version.run_id),
        model_dir=model_dir,
        name=version.name,
        version=str(version.version),
        aliases=tuple(sorted(version.aliases or ())),
    )


def _version_directory(client: MlflowClient, version: ModelVersion) -> Path:
    """The version's files: its logged model's artifacts in place when local, else downloaded."""
    model_id = getattr(version, "model_id", None)
    if not model_id and str(version.source).startswith("models:/m-"):  # a SQLite store leaves model_id empty
        model_id = str(version.source).removeprefix("models:/")
    if model_id:
        logged = client.get_logged_model(model_id)
        return tracking.local_artifact_directory(logged.artifact_location, f"models:/{model_id}")
    destination = tempfile.mkdtemp(prefix="ride-duration-model-")
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=version.source, dst_path=destination))
