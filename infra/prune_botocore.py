"""Keep only the AWS service models the scorer calls in a botocore installed under a folder, in the form
botocore reads fastest.

Why: botocore ships the models of every AWS service (about 420 folders, 26 MB of the image's dependency
folder). Creating a client first lists every one of those folders to check the service name (a directory
listing and a few `stat` calls per folder, for each model type), about 30-40 ms of each cold start here
and more on a lazily loaded Lambda image. The scorer calls three services.

Then what a cold start parses is made small. Each session parses `endpoints.json` (1.2 MB, every service
of every partition): it keeps every partition but only the kept services. Each client gunzips and parses
its service model, which is mostly documentation (S3's is 1.4 MB of JSON): the kept models are stored as
plain JSON with every `documentation` string emptied (botocore reads the key, only docstrings show it).
Together about 20-25 ms of each cold start here (bench/cold_start.py), for the scorer and the floor alike.

The Dockerfile runs this file on the image's dependency folder and `install_runtime_closure` runs it on
the folder the tests and the benchmark use, so what is tested is what ships. Standard library only: it
runs inside the image build, before anything else is installed.

    python prune_botocore.py FOLDER
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

# Kinesis (predictions), S3 (the model), SQS (dead letters); STS for credential providers that assume a
# role (web identity, role profiles), which botocore creates on its own. Add a service here before the
# scorer calls it: a pruned service fails with botocore's UnknownServiceError.
KEPT_SERVICES = ("kinesis", "s3", "sqs", "sts")


def prune_service_models(folder: Path, keep: tuple[str, ...] = KEPT_SERVICES) -> list[str]:
    """Remove every service model folder under folder/botocore/data except `keep`; return the removed."""
    data = folder / "botocore" / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"{data} does not exist: is botocore installed in {folder}?")
    missing = [service for service in keep if not (data / service).is_dir()]
    if missing:
        raise FileNotFoundError(f"{data} has no model for {', '.join(missing)}: refusing to prune")
    removed = sorted(entry.name for entry in data.iterdir() if entry.is_dir() and entry.name not in keep)
    for name in removed:
        shutil.rmtree(data / name)
    return removed


def slim_kept_models(folder: Path, keep: tuple[str, ...] = KEPT_SERVICES) -> int:
    """Store each kept service's model files as plain, compact JSON, documentation emptied in its service
    model; prune `endpoints.json` to the kept services. Returns the bytes of JSON a cold start no longer parses."""
    data = folder / "botocore" / "data"
    saved = 0
    for service in keep:
        for path in sorted((data / service).rglob("*.json*")):
            if path.name.endswith(".json.gz"):
                text, target = gzip.decompress(path.read_bytes()).decode("utf-8"), path.with_suffix("")
            elif path.name.endswith(".json"):
                text, target = path.read_text(encoding="utf-8"), path
            else:
                continue
            document = json.loads(text)
            if target.name.startswith("service-2."):
                document = _without_documentation(document)
            slim = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
            saved += len(text) - len(slim)
            target.write_text(slim, encoding="utf-8")
            if target != path:
                path.unlink()
    endpoints_path = data / "endpoints.json"
    text = endpoints_path.read_text(encoding="utf-8")
    endpoints = json.loads(text)
    for partition in endpoints["partitions"]:
        partition["services"] = {name: entry for name, entry in partition["services"].items() if name in keep}
    slim = json.dumps(endpoints, separators=(",", ":"), ensure_ascii=False)
    endpoints_path.write_text(slim, encoding="utf-8")
    return saved + len(text) - len(slim)


def _without_documentation(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: "" if key == "documentation" and isinstance(value, str) else _without_documentation(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_without_documentation(value) for value in node]
    return node


def prune(folder: Path) -> str:
    """Everything this module does to a botocore under `folder`; a one-line summary."""
    removed = prune_service_models(folder)
    saved = slim_kept_models(folder)
    return (
        f"botocore: kept {', '.join(KEPT_SERVICES)}; removed {len(removed)} other service models; "
        f"{saved / 1e6:.1f} MB less JSON to parse"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="the folder botocore is installed in (pip --target)")
    args = parser.parse_args(argv)
    print(prune(args.folder))


if __name__ == "__main__":
    main()
