"""Remove numpy's own test suites from a folder it is installed in.

Why: numpy's wheel carries its test suite (about 15 MB of `numpy/**/tests`), which nothing imports at run
time; without it the Lambda's dependency folder fits its 90 MB goal (issue 24). The Dockerfile runs this
file on the image's dependency folder and `install_runtime_closure` runs it on the folder the tests and the
benchmark use, so what is tested is what ships. Standard library only: it runs inside the image build.

    python prune_tests.py FOLDER
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

PACKAGES = ("numpy",)


def prune_test_suites(folder: Path, packages: tuple[str, ...] = PACKAGES) -> list[Path]:
    """Remove every `tests` folder under folder/<package>; return the removed folders."""
    removed: list[Path] = []
    for package in packages:
        if not (folder / package).is_dir():
            raise FileNotFoundError(f"{folder / package} does not exist: is {package} installed in {folder}?")
        for tests in sorted((folder / package).rglob("tests")):
            if tests.is_dir() and not tests.is_symlink():
                shutil.rmtree(tests)
                removed.append(tests)
    return removed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("folder", type=Path, help="the folder the packages are installed in (pip --target)")
    args = parser.parse_args(argv)
    removed = prune_test_suites(args.folder)
    print(f"removed {len(removed)} test folders of {', '.join(PACKAGES)}")


if __name__ == "__main__":
    main()
