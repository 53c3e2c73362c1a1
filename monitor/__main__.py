"""`monitor` and `python -m monitor`. Kept light: `monitor run` takes over SIGHUP and SIGTERM here,
before the heavier imports, so that no moment of starting is left to the signals' default action."""

import sys


def main() -> None:
    early = None
    args = sys.argv[1:]
    if "run" in args and "--once" not in args:
        from .systemd import EarlySignals

        early = EarlySignals()
    from .cli import main as cli_main

    cli_main(early)


if __name__ == "__main__":  # worker processes (spawn) import this module again, as __mp_main__
    main()
