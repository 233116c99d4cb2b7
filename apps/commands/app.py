"""`editmind app`: start the Streamlit chat app (apps/streamlit_app.py).

The app runs in a `streamlit run` child process; the global --model/--home/--device
options reach it as EDITMIND_MODEL / EDITMIND_HOME / EDITMIND_DEVICE. Streamlit always runs
headless with usage statistics off, all set by flags, so nothing is written to
~/.streamlit and no first-run e-mail prompt blocks the start; without --headless this
command opens the browser itself once the server answers its health check.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"


def app_path() -> Path:
    return APP


def streamlit_command(port: int, address: str) -> list[str]:
    """The `streamlit run` command line for the app."""
    return [sys.executable, "-m", "streamlit", "run", str(app_path()),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--server.port", str(port), "--server.address", address,
            "--server.runOnSave", "false", "--server.fileWatcherType", "none",
            "--global.developmentMode", "false", "--client.toolbarMode", "minimal"]


def app_environment(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env["EDITMIND_MODEL"] = args.model
    if args.home:
        env["EDITMIND_HOME"] = str(Path(args.home).expanduser().resolve())
    if getattr(args, "device", None):
        env["EDITMIND_DEVICE"] = args.device
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    return env


def _open_when_ready(url: str, deadline_s: float = 120.0) -> None:
    """Open the browser once the server is up (a background thread of this command)."""
    import webbrowser

    stop = time.monotonic() + deadline_s
    while time.monotonic() < stop:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    webbrowser.open(url)
                    return
        except OSError:
            time.sleep(0.5)


def _app(args: argparse.Namespace) -> int:
    from editmind.editors.errors import EditmindError

    if importlib.util.find_spec("streamlit") is None:
        raise EditmindError("the app needs Streamlit; install it with: pip install 'editmind[app]'")
    if not 0 < args.port < 65536:
        raise EditmindError(f"--port {args.port} is not a TCP port (1-65535)")
    host = "localhost" if args.address in ("0.0.0.0", "::") else args.address
    url = f"http://{host}:{args.port}"
    print(f"editmind app: {url} (model {args.model}; Ctrl-C stops it)", file=sys.stderr)
    if not args.headless:
        threading.Thread(target=_open_when_ready, args=(url,), daemon=True).start()
    return _serve(streamlit_command(args.port, args.address), app_environment(args))


def _serve(command: list[str], env: dict[str, str]) -> int:
    """Run the server until it exits; Ctrl-C or SIGTERM to this command stops it too."""
    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    server = subprocess.Popen(command, env=env)
    try:
        return server.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("app", help="start the Streamlit chat app (chat, memory, edits, safety, evaluate)")
    parser.add_argument("--port", type=int, default=8501, help="the port to serve on (default 8501)")
    parser.add_argument("--address", default="localhost",
                        help="the address to bind (default localhost; 0.0.0.0 serves other machines)")
    parser.add_argument("--headless", action="store_true", help="do not open a browser (servers, scripts)")
    parser.set_defaults(handler=_app)
