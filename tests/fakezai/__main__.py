"""Serve the fake upstream: prints one line "READY <port>" once listening, then serves until killed."""

import argparse
import threading

from .auth import DEFAULT_SECRET, SIGNATURE_MODES
from .dialect2026 import CAPTCHA_MODES
from .server import FakeZai
from .state2026 import DIALECTS


def main(argv=None) -> None:
    """Parse arguments, start the fake and block forever."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakezai", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    parser.add_argument("--dialect", choices=DIALECTS, default="2025")
    parser.add_argument("--min-fe-version", default=None, help="default: 1.0.94 (2025) or 1.1.0 (2026)")
    parser.add_argument("--fe-version", default=None, help="default: 1.0.98 (2025) or 1.1.98 (2026)")
    parser.add_argument("--captcha", choices=[m for m in CAPTCHA_MODES if m], default=None,
                        help="2026 captcha gate (default: off)")
    parser.add_argument("--signature-mode", choices=SIGNATURE_MODES, default="hmac-b64")
    parser.add_argument("--user-token", action="append", default=[], help="seed a real-user token (repeatable)")
    parser.add_argument("--max-streams-per-token", type=int, default=None,
                        help="concurrent chat requests allowed per token (default: unlimited)")
    args = parser.parse_args(argv)
    fake = FakeZai(secret=args.secret, min_fe_version=args.min_fe_version, signature_mode=args.signature_mode,
                   user_tokens=args.user_token, fe_version=args.fe_version,
                   max_streams_per_token=args.max_streams_per_token, dialect=args.dialect,
                   captcha=args.captcha).start(args.host, args.port)
    print(f"READY {fake.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
