"""``python -m tests.llm_sim --host H --port P --script NAME``: serve until interrupted."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .scripts import SCRIPTS
from .server import LLMSim


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.llm_sim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--script",
        default="note",
        help=f"built-in script ({', '.join(sorted(SCRIPTS))}) or a JSON file with a list of steps",
    )
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any)")
    parser.add_argument("--event-delay", type=float, default=0.0, help="seconds between events")
    args = parser.parse_args(argv)
    script = args.script
    if script not in SCRIPTS:
        with open(script, encoding="utf-8") as handle:
            script = json.load(handle)
    sim = LLMSim(args.host, args.port, script, args.api_key, args.event_delay).start()
    print(f"llm-sim listening on {sim.url} (script {args.script})", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
