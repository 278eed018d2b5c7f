"""What the prefix mode has already scored, and what it may overwrite, told by marker files it writes under the
output prefix beside the outputs, so that knowing needs only a listing (`s3:ListBucket`), never a read of the
output prefix.

For an input called `<name>` under the input prefix, the job writes under the output prefix:

    predictions/<name>                        the predictions (the single-file job's output)
    rejects/<name>                            the rows that could not be scored
    markers/<name>/claim.json                 written before either: these outputs are ride-scorer's
    markers/<name>/<input>_<model>.json       written after both: scored from the input with this fingerprint
                                              (S3 ETag, or SHA-256 of a local file) by the model with this digest

An input is skipped when the marker for its current fingerprint and the current model exists and is at least
as new as its predictions (so an input changed back to older bytes, or a model rolled back, is re-scored over
the newer outputs). A changed input or a new model is therefore re-scored; `--rescore` re-scores anyway.
Outputs without a claim were not written by this tool and are never overwritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from ride_scorer.batch.objects import StoredFile, location_under

PREDICTIONS = "predictions"
REJECTS = "rejects"
MARKERS = "markers"
CLAIM = "claim.json"


def model_identity(digest: str | None, version: str) -> str:
    """The model's verified digest; an unpinned model (ALLOW_UNPINNED_MODEL, local work) only has its run id."""
    return f"sha256-{digest}" if digest else f"run-{version}"


@dataclass(frozen=True)
class Destinations:
    """Names below the output prefix of what scoring the input `source` writes."""

    source: str
    predictions: str
    rejects: str
    claim: str
    done: str

    @classmethod
    def of(cls, source: StoredFile, model: str) -> Destinations:
        markers = f"{MARKERS}/{source.name}"
        return cls(
            source=source.name,
            predictions=f"{PREDICTIONS}/{source.name}",
            rejects=f"{REJECTS}/{source.name}",
            claim=f"{markers}/{CLAIM}",
            done=f"{markers}/{_safe(source.fingerprint)}_{_safe(model)}.json",
        )

    def locations(self, output_prefix: str) -> dict[str, str]:
        return {
            "predictions": location_under(output_prefix, self.predictions),
            "rejects": location_under(output_prefix, self.rejects),
            "claim": location_under(output_prefix, self.claim),
            "done": location_under(output_prefix, self.done),
        }


class Verdict(StrEnum):
    SCORE = "score"
    SKIP = "skip"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: str


def decide(destinations: Destinations, outputs: dict[str, StoredFile], rescore: bool) -> Decision:
    """Whether to score an input, given what is under the output prefix (by name below it)."""
    claimed = any(name.startswith(f"{MARKERS}/{destinations.source}/") for name in outputs)
    if not claimed:
        written = (destinations.predictions, destinations.rejects)
        foreign = [outputs[name].location for name in written if name in outputs]
        if foreign:
            return Decision(
                Verdict.REFUSE,
                f"{foreign[0]!r} exists and was not written by ride-scorer (no {destinations.claim} beside it): "
                "refusing to overwrite it",
            )
        return Decision(Verdict.SCORE, "not scored yet")
    if rescore:
        return Decision(Verdict.SCORE, "--rescore")
    done, predictions = outputs.get(destinations.done), outputs.get(destinations.predictions)
    if done is not None and predictions is not None and done.modified >= predictions.modified:
        return Decision(Verdict.SKIP, "already scored from these bytes by this model")
    return Decision(Verdict.SCORE, "input or model changed since it was scored, or its last run did not finish")


def _safe(text: str) -> str:
    """A fingerprint or model id as one plain key segment (ETags are hex with an optional `-<parts>`)."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", text)
