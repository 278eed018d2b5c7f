"""LocalStack in host mode, without Docker: install into a cache folder once, start on loopback, stop.

localstack-core needs Python >= 3.13 (this project runs on 3.11), so it gets its own virtualenv made
from a 3.13 interpreter found on the machine, with the dependency set pinned in
`localstack/constraints-*.txt` (unpinned installs break on newer cbor2/pyOpenSSL/cryptography). Its
Kinesis is kinesis-mock from npm, pre-installed where LocalStack looks for it so nothing downloads at
start, and forced onto 127.0.0.1 by a Node preload (it has no bind-host option).

    python -m tools.local.localstack up      # install if needed, start, print the endpoint
    python -m tools.local.localstack down    # SIGTERM, then SIGKILL after a timeout
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tools.cli import ToolParser, output_folder

REPO = Path(__file__).resolve().parents[2]
LOCALSTACK_VERSION = "2026.3.0"
KINESIS_LOCAL_VERSION = "0.5.2"
CONSTRAINTS = REPO / "localstack" / f"constraints-localstack-core-{LOCALSTACK_VERSION}-py313.txt"
LOOPBACK_PRELOAD = REPO / "localstack" / "kinesis-loopback.js"
DEFAULT_CACHE = REPO / ".cache" / "localstack"
# sts: `python -m infra.provision` names the bucket with the caller's account, from GetCallerIdentity.
SERVICES = ("kinesis", "s3", "sqs", "sts")
MIN_PYTHON = (3, 13)


class LocalStackError(RuntimeError):
    """LocalStack could not be installed, started or reached; the message says what to do."""


class LocalStackUnavailable(LocalStackError):
    """This machine cannot run LocalStack in host mode (no Python >= 3.13)."""


@dataclass(frozen=True)
class Layout:
    """Where everything lives under the (git-ignored) cache folder, so a second run starts fast."""

    root: Path

    @property
    def venv(self) -> Path:
        return self.root / "venv"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    @property
    def install_marker(self) -> Path:
        return self.venv / ".ride-scorer-installed"

    @property
    def filesystem_root(self) -> Path:
        return self.root / "state"

    @property
    def kinesis_local(self) -> Path:
        return self.filesystem_root / "usr" / "lib" / "localstack" / "kinesis-local" / KINESIS_LOCAL_VERSION

    @property
    def log_file(self) -> Path:
        return self.root / "localstack.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "localstack.pid"


def find_python(environ: Mapping[str, str] | None = None) -> Path | None:
    """LOCALSTACK_PYTHON if set, else the newest pyenv 3.13+, else python3.13/python3.14 on PATH."""
    env = os.environ if environ is None else environ
    explicit = env.get("LOCALSTACK_PYTHON", "").strip()
    if explicit:
        return Path(explicit)
    pyenv_root = Path(env.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    candidates: list[tuple[tuple[int, ...], Path]] = []
    if pyenv_root.is_dir():
        for version_dir in pyenv_root.iterdir():
            parts = version_dir.name.split(".")
            if len(parts) >= 2 and all(part.isdigit() for part in parts):
                version = tuple(int(part) for part in parts)
                binary = version_dir / "bin" / f"python{parts[0]}.{parts[1]}"
                if version[:2] >= MIN_PYTHON and binary.is_file():
                    candidates.append((version, binary))
    if candidates:
        return max(candidates)[1]
    for name in ("python3.13", "python3.14"):
        found = shutil.which(name)
        if found:
            return Path(found)
    return None


def install(
    layout: Layout,
    python: Path | None = None,
    quiet: bool = True,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Create the venv and the kinesis-mock install if missing or stale; a no-op when both are current.

    `progress` hears each long step before it starts: a first install is silent pip and npm work for
    30-60 s, and a command that says nothing that long looks hung.
    """
    say = progress or (lambda message: None)
    wanted = _install_fingerprint()
    if not (layout.install_marker.is_file() and layout.install_marker.read_text() == wanted):
        interpreter = python or find_python()
        if interpreter is None:
            raise LocalStackUnavailable(
                "LocalStack needs Python >= 3.13 and none was found (pyenv versions, python3.13 on PATH); "
                "set LOCALSTACK_PYTHON to a 3.13 interpreter"
            )
        say(
            f"installing localstack-core {LOCALSTACK_VERSION} into {layout.venv} with {interpreter} "
            "(first run only, 30-60 s)"
        )
        if layout.venv.exists():
            shutil.rmtree(layout.venv)
        _run([str(interpreter), "-m", "venv", str(layout.venv)], "create LocalStack's venv")
        pip = [str(layout.python), "-m", "pip", "install", "--disable-pip-version-check"]
        _run(
            [
                *pip,
                *(["-q"] if quiet else []),
                "-c",
                str(CONSTRAINTS),
                f"localstack-core[base-runtime]=={LOCALSTACK_VERSION}",
            ],
            "install localstack-core",
        )
        layout.install_marker.write_text(wanted)
    if not (layout.kinesis_local / "node_modules" / "kinesis-local" / "main.js").is_file():
        npm = shutil.which("npm")
        if npm is None:
            raise LocalStackUnavailable("LocalStack's Kinesis (kinesis-mock) is an npm package and npm is not on PATH")
        say(f"installing LocalStack's Kinesis, npm kinesis-local@{KINESIS_LOCAL_VERSION} (first run only)")
        layout.kinesis_local.mkdir(parents=True, exist_ok=True)
        _run(
            [
                npm,
                "install",
                "--silent",
                "--no-audit",
                "--no-fund",
                "--prefix",
                str(layout.kinesis_local),
                f"kinesis-local@{KINESIS_LOCAL_VERSION}",
            ],
            "install kinesis-local",
        )


def _install_fingerprint() -> str:
    return hashlib.sha256(CONSTRAINTS.read_bytes() + LOCALSTACK_VERSION.encode()).hexdigest()


def _run(command: list[str], what: str) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise LocalStackError(f"could not {what} (exit {completed.returncode}): {completed.stderr.strip()[-2000:]}")


def server_environment(layout: Layout, port: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings that keep LocalStack on loopback, in host mode, with no downloads at start."""
    env = dict(os.environ if base is None else base)
    for name in ("AWS_ENDPOINT_URL", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    env.update(
        {
            "OVERRIDE_IN_DOCKER": "0",  # the machine image has /.dockerenv; we are not in LocalStack's container
            "GATEWAY_SERVER": "hypercorn",
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "LOCALSTACK_HOST": f"127.0.0.1:{port}",
            "SERVICES": ",".join(SERVICES),
            "EAGER_SERVICE_LOADING": "1",
            "SQS_ENDPOINT_STRATEGY": "path",  # queue URLs on 127.0.0.1, not sqs.<region>.127.0.0.1
            "DNS_ADDRESS": "0",
            "DISABLE_EVENTS": "1",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "FILESYSTEM_ROOT": str(layout.filesystem_root),
            "NODE_OPTIONS": f"--require {LOOPBACK_PRELOAD}",
            # kinesis-mock would write its whole state to disk every 5 s (SHOULD_PERSIST_DATA) and log each
            # request: neither serves a local run. Its 500 ms per stream change stays: it is how a stream is
            # CREATING before it is ACTIVE, as on AWS, which provisioning must wait out.
            "KINESIS_PERSISTENCE": "0",
            "KINESIS_MOCK_LOG_LEVEL": "WARN",
        }
    )
    return env


@dataclass
class LocalStackServer:
    """One LocalStack process (and its kinesis-mock child) in its own process group on 127.0.0.1."""

    layout: Layout
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> str:
        if not self.layout.python.is_file():
            raise LocalStackError(f"LocalStack is not installed in {self.layout.venv}: run install() first")
        self.layout.root.mkdir(parents=True, exist_ok=True)
        with self.layout.log_file.open("wb") as log:
            self.process = subprocess.Popen(
                [str(self.layout.python), "-m", "localstack.runtime.main"],
                env=server_environment(self.layout, self.port),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.layout.root,
                start_new_session=True,  # its own group, so stop() also reaches kinesis-mock
            )
        try:
            wait_healthy(self.url, timeout, self.process, self.layout.log_file)
        except BaseException:
            self.stop()
            raise
        return self.url

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None:
            stop_group(self.process.pid, timeout, self.process)
            self.process = None


def wait_healthy(
    url: str, timeout: float, process: subprocess.Popen[bytes] | None = None, log_file: Path | None = None
) -> dict[str, str]:
    """Poll /_localstack/health until every service we use is available; fail fast if the process died."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise LocalStackError(f"LocalStack exited with code {process.returncode}; {_log_tail(log_file)}")
        try:
            with urllib.request.urlopen(f"{url}/_localstack/health", timeout=2) as response:
                services = json.load(response).get("services", {})
            last = json.dumps({name: services.get(name) for name in SERVICES})
            if all(services.get(name) in {"available", "running"} for name in SERVICES):
                return {name: str(services[name]) for name in SERVICES}
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError) as error:
            last = str(error)
        time.sleep(0.2)  # polling interval, not a readiness guess
    raise LocalStackError(f"LocalStack at {url} not healthy after {timeout:.0f}s (last: {last}); {_log_tail(log_file)}")


def stop_group(pid: int, timeout: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the process group, then SIGKILL it if the leader has not exited by the deadline."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None:
            if process.poll() is not None:
                break
        elif not _alive(pid):
            break
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)  # also any child that outlived its parent
    except ProcessLookupError:
        pass
    if process is not None:
        process.wait(timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _log_tail(log_file: Path | None, lines: int = 25) -> str:
    if log_file is None or not log_file.is_file():
        return "no log"
    tail = log_file.read_text(errors="replace").splitlines()[-lines:]
    return f"last lines of {log_file}:\n" + "\n".join(tail)


def _progress(message: str) -> None:
    """What `up` and `install` are doing, on stderr, so stdout stays the endpoint alone."""
    print(message, file=sys.stderr, flush=True)


def _up(layout: Layout, port: int) -> None:
    if layout.pid_file.is_file():
        raise LocalStackError(f"{layout.pid_file} exists: LocalStack may be running; `make localstack-down` first")
    install(layout, progress=_progress)
    server = LocalStackServer(layout, port)
    _progress(f"starting LocalStack ({', '.join(SERVICES)}) on {server.url}; log: {layout.log_file}")
    started = time.monotonic()
    url = server.start()
    assert server.process is not None
    layout.pid_file.write_text(json.dumps({"pid": server.process.pid, "url": url}))
    _progress(f"LocalStack ready at {url} after {time.monotonic() - started:.0f} s")
    print(url)


def _down(layout: Layout) -> None:
    if not layout.pid_file.is_file():
        print("LocalStack is not running (no pid file)")
        return
    state = json.loads(layout.pid_file.read_text())
    stop_group(int(state["pid"]), timeout=15.0)
    layout.pid_file.unlink()
    print(f"stopped LocalStack at {state['url']}")


def main(argv: list[str] | None = None) -> int:
    parser = ToolParser(
        prog="python -m tools.local.localstack",
        description="Install, start or stop LocalStack on 127.0.0.1 without Docker.",
    )
    parser.add_argument("action", choices=["install", "up", "down"])
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--cache", type=output_folder, default=str(DEFAULT_CACHE), help="install and state folder")
    args = parser.parse_args(argv)
    layout = Layout(args.cache.resolve())
    try:
        if args.action == "install":
            install(layout, quiet=False, progress=_progress)
        elif args.action == "up":
            _up(layout, args.port)
        else:
            _down(layout)
    except LocalStackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
