"""The files of a published model that the scorer reads, by name.

A published folder also holds MLflow's flavours (its pickle among them) and the rollout check set, which
the scorer never opens. Naming what it opens in one place lets the download fetch exactly those files, each
checked against the pinned manifest (ride_scorer/core/integrity.py), and nothing else. Numpy-free, so the
download can start before numpy is imported.
"""

from __future__ import annotations

MLMODEL = "MLmodel"
FORM_FOLDER = "scorer"
FORM_METADATA = f"{FORM_FOLDER}/form.json"
FORM_ARRAYS = f"{FORM_FOLDER}/form.npz"
REFERENCE_FILE = f"{FORM_FOLDER}/reference.json"
SCORER_FILES = frozenset({MLMODEL, FORM_METADATA, FORM_ARRAYS, REFERENCE_FILE})
