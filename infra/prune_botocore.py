"""Keep only the AWS service models the scorer calls in a botocore installed under a folder.

Why: botocore ships the models of every AWS service (about 420 folders, 26 MB of the image's dependency
folder). Creating a client first lists every one of those folders to check the service name (a directory
listing and a few `stat` calls per folder, for each model type), about 30-40 ms of each cold start here
and more on a lazily loaded Lambda image. The scorer calls three services.

The Dockerfile runs this file on the image's dependency folder and `install_runtime_closure` runs it on
the folder the tests and the benchmark use, so what is tested is what ships. Standard library only: it
runs inside the image build, before anything else is installed.

    python prune_botocore.py FOLDER
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="the folder botocore is installed in (pip --target)")
    args = parser.parse_args(argv)
    removed = prune_service_models(args.folder)
    print(f"botocore: kept {', '.join(KEPT_SERVICES)}; removed {len(removed)} other service models")


if __name__ == "__main__":
    main()
