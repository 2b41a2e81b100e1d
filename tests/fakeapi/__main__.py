"""Serve the fake Z.ai API: prints one line "READY <port>" once listening, then serves until killed."""

import argparse
import threading

from .replies import FAULTS
from .server import GENERAL_BASE, MODELS_FAULTS, FakeZaiApi


def main(argv=None) -> None:
    """Parse arguments, start the fake and block forever."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakeapi", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", action="append", default=[], help="an accepted API key (repeatable)")
    parser.add_argument("--base-path", default=GENERAL_BASE, help="e.g. /api/coding/paas/v4 for the Coding Plan")
    parser.add_argument("--max-streams-per-key", type=int, default=None,
                        help="concurrent chat requests allowed per key (default: unlimited)")
    parser.add_argument("--fault", choices=FAULTS, default=None, help="fault for every chat request")
    parser.add_argument("--models-fault", choices=MODELS_FAULTS, default=None, help="GET /models fails")
    parser.add_argument("--demo", action="store_true", help="call the tool the question names (tests.fakeapi.demo)")
    args = parser.parse_args(argv)
    fake = FakeZaiApi(keys=args.key, base_path=args.base_path, fault=args.fault, models_fault=args.models_fault,
                      max_streams_per_key=args.max_streams_per_key, demo=args.demo).start(args.host, args.port)
    print(f"READY {fake.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
