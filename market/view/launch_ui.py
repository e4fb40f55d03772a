"""``compute-market ui``: serve the browser UI (``market/view/app.py``) with Solara.

Checks what it can before starting the server (the scenario, the port), so bad input
ends with one ``error: ...`` line and exit code 2 instead of a server traceback.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from market.io.scenario import ScenarioError, load_scenario

APP = Path(__file__).with_name("app.py")
SCENARIO_ENV = "COMPUTE_MARKET_SCENARIO"  # read by market/view/app.py


class LaunchError(ValueError):
    """Input that stops the UI from starting; the message names the flag and value."""


def check_port(host: str, port: int) -> None:
    if not 1 <= port <= 65535:
        raise LaunchError(f"--port {port} is not allowed: expected an integer from 1 to 65535")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise LaunchError(f"--host {host!r} cannot be used: {exc.strerror}") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        # Same option as the server's (uvicorn): a port left in TIME_WAIT counts as free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(address)
        except OSError as exc:
            if exc.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                raise LaunchError(
                    f"--port {port}: the port is already in use on {host}; stop what is "
                    "using it or choose another, e.g. --port "
                    f"{port + 1 if port < 65535 else 8765}"
                ) from None
            raise LaunchError(
                f"--host {host!r} --port {port} cannot be used: {exc.strerror}"
            ) from None


def local_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def command(host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(APP),
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--no-check-version",
    ]


def main(args: argparse.Namespace) -> int:
    try:
        spec = load_scenario(args.scenario)
        check_port(args.host, args.port)
    except (ScenarioError, LaunchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    builtin = spec.source.endswith("(built in)")
    shown = f"'{spec.name}'" if builtin else f"'{spec.name}' from {spec.source}"
    print(
        f"Compute Market UI, scenario {shown}: open {local_url(args.host, args.port)} "
        "in a browser (Ctrl+C stops the server)",
        flush=True,
    )
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"listening on {args.host}: other machines on the network can open it too", flush=True
        )
    # The server may resolve a relative path elsewhere; a built-in name stays a name.
    scenario = args.scenario if builtin else str(Path(args.scenario).resolve())
    # Solara warns at length about cookies on plain http, which is what a local server
    # uses; the warning is about embedding in other sites and means nothing here.
    warnings = ",".join(
        filter(
            None,
            [os.environ.get("PYTHONWARNINGS", ""), "ignore:Cookies with samesite=none:UserWarning"],
        )
    )
    env = {
        **os.environ,
        SCENARIO_ENV: scenario,
        "PYTHONWARNINGS": warnings,
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }
    try:
        return subprocess.run(command(args.host, args.port), env=env).returncode
    except KeyboardInterrupt:
        return 0
