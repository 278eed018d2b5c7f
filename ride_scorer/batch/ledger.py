"""What the prefix mode has already scored, and what it may overwrite, told by marker files it writes under the
output prefix beside the outputs, so that knowing needs only a listing (`s3:ListBucket`), never a read of the
output prefix.

For an input called `<name>` under the input prefix, the job writes under the output prefix:

    predictions/<name>                        the predictions (the single-file job's output)
    rejects/<name>                            the rows that could not be scored
    markers/<name>/claim.json                 written before either: these two names are ride-scorer's
    markers/<name>/wrote-<outputs>.json       written once either is written, even by a run that then fails:
                                              the outputs' identities as this tool wrote them
    markers/<name>/done-<commit>.json         written after both: a commit that proves what they hold

`<commit>` is the SHA-256 of what the marker vouches for: the input's fingerprint (S3 ETag and size, or the
SHA-256 of a local file), the model's digest, and the identity of the two outputs as this run wrote them
(ETag and size; a local file's SHA-256). An input is skipped only when the commit computed from the input,
the model and the outputs as they are now is there: predictions another run (another model) wrote since, an
input changed back to older bytes or a rolled-back model are therefore re-scored. No clock time is compared.
`--rescore` re-scores anyway.

A claim belongs to one exact output name: outputs without their own claim were not written by this tool and
are never overwritten. A claim alone does not make an existing output replaceable (a run may claim a name,
fail before writing, and someone else write there since): an output is replaced only when a `wrote-` marker
names it as it is now, and the write itself is conditional on it still being so (`Decision.listed`). An
input name that would leave the output prefix, or that the output store cannot hold, is refused for that
file alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from ride_scorer.batch.files import NOTHING
from ride_scorer.batch.objects import StoredFile
from ride_scorer.columnar.locations import Location

PREDICTIONS = "predictions"
REJECTS = "rejects"
MARKERS = "markers"
CLAIM = "claim.json"


def model_identity(digest: str | None, version: str) -> str:
    """The model's verified digest; an unpinned model (ALLOW_UNPINNED_MODEL, local work) only has its run id."""
    return f"sha256-{digest}" if digest else f"run-{version}"


def commit_name(source: str, input_fingerprint: str, model: str, predictions: str, rejects: str) -> str:
    """The done-marker's name below the output prefix for exactly these input bytes, model and outputs."""
    vouched = json.dumps([input_fingerprint, model, *_as_listed(predictions, rejects)]).encode("utf-8")
    return f"{MARKERS}/{source}/done-{hashlib.sha256(vouched).hexdigest()}.json"


def proof_name(source: str, predictions: str, rejects: str) -> str:
    """The wrote-marker's name below the output prefix for these output identities (`""`: not written), in
    the form a listing shows them (an S3 version id is recorded by the writer, never listed)."""
    listed = _as_listed(predictions, rejects)
    return f"{MARKERS}/{source}/wrote-{hashlib.sha256(json.dumps(listed).encode('utf-8')).hexdigest()}.json"


def _as_listed(*identities: str) -> list[str]:
    """Output identities as a listing shows them: an S3 version id is learnt only by the writer, so a marker
    named with it could never be found again by the listing that decides the skip."""
    return [identity.partition("-version-")[0] for identity in identities]


@dataclass(frozen=True)
class Destinations:
    """Names below the output prefix of what scoring the input `source` writes, and their locations (each
    checked by `Location.child`: the constructor raises LocationError for a name that would leave it)."""

    source: str
    predictions: str
    rejects: str
    claim: str
    locations: Mapping[str, Location]

    @classmethod
    def of(cls, source: StoredFile, output_prefix: Location) -> Destinations:
        names = {
            "predictions": f"{PREDICTIONS}/{source.name}",
            "rejects": f"{REJECTS}/{source.name}",
            "claim": f"{MARKERS}/{source.name}/{CLAIM}",
        }
        locations = {role: output_prefix.child(name) for role, name in names.items()}
        # The longest marker name too, so a name that fits as an output but not as its marker fails up front.
        output_prefix.child(commit_name(source.name, "", "", "", ""))
        return cls(source.name, names["predictions"], names["rejects"], names["claim"], locations)


class Verdict(StrEnum):
    SCORE = "score"
    SKIP = "skip"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    """To score: `listed` holds the predictions' and the rejects' identities as the listing showed them
    (NOTHING where there was none). What exists there is proven to be this tool's (a `wrote-` marker names
    it as it is), so a write may replace it only while it is still that; an absent one is only created."""

    verdict: Verdict
    reason: str
    listed: tuple[str, str] = (NOTHING, NOTHING)


def decide(
    source: StoredFile,
    destinations: Destinations,
    outputs: Mapping[str, StoredFile],
    model: str,
    rescore: bool,
) -> Decision:
    """Whether to score an input, given what is under the output prefix (by name below it)."""
    if destinations.claim not in outputs:
        foreign = [
            outputs[name].location for name in (destinations.predictions, destinations.rejects) if name in outputs
        ]
        if foreign:
            return Decision(
                Verdict.REFUSE,
                f"{foreign[0]!r} exists and was not written by ride-scorer (no {destinations.claim} beside it): "
                "refusing to overwrite it",
            )
        return Decision(Verdict.SCORE, "not scored yet")
    names = (destinations.predictions, destinations.rejects)
    present = [name for name in names if name in outputs]
    identities = [outputs[name].identity() if name in outputs else "" for name in names]
    done = commit_name(destinations.source, source.fingerprint, model, *identities)
    if not rescore and len(present) == 2 and done in outputs:
        return Decision(Verdict.SKIP, "already scored from these bytes by this model, outputs unchanged since")
    if present and proof_name(destinations.source, *identities) not in outputs:
        return Decision(
            Verdict.REFUSE,
            f"{outputs[present[0]].location!r}{' or its rejects' if len(present) == 2 else ''} is not what "
            f"ride-scorer wrote (no {MARKERS}/{destinations.source}/wrote-*.json vouches for it as it is): "
            "refusing to overwrite it",
        )
    reason = (
        "--rescore"
        if rescore
        else "input, model or outputs changed since it was scored, or its last run did not finish"
    )
    return Decision(Verdict.SCORE, reason, (identities[0], identities[1]))
