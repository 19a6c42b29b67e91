"""What one login costs the server in CPU: checking a password with this project's hasher.

`POST /api/auth/token/` checks the password with the first of PASSWORD_HASHERS
(Django's PBKDF2 here, deliberately slow), which dominates a login's cost. This checks
a seeded account's password against its stored hash, `--repeat` times, and prints the
CPU time of each check, in this process, as a Markdown table:

    .venv/bin/python benchmarks/login_cpu.py [--repeat 20]
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.hashers import check_password, get_hasher, make_password  # noqa: E402

from loadtest.environment import load_average, machine  # noqa: E402
from loadtest.markdown import RIGHT, number, table  # noqa: E402
from seed.accounts import DEFAULT_PASSWORD  # noqa: E402


def cpu_ms_per_check(repeat: int) -> list[float]:
    """The CPU milliseconds of each of `repeat` checks of the seeded password."""
    encoded = make_password(DEFAULT_PASSWORD)
    times = []
    for _ in range(repeat):
        start = time.process_time()
        matched = check_password(DEFAULT_PASSWORD, encoded)
        times.append((time.process_time() - start) * 1000)
        if not matched:
            raise SystemExit("The password did not match its own hash: the hasher is broken.")
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=20, help="password checks to time (default 20)"
    )
    args = parser.parse_args()
    hasher = get_hasher()
    times = sorted(cpu_ms_per_check(args.repeat))
    env = machine()
    print(f"Command: `python benchmarks/login_cpu.py --repeat {args.repeat}`")
    print()
    print(
        f"{env['cpu_count']} CPUs (load average {load_average()}), Python {env['python']}, "
        f"Django {env['django']}; hasher {hasher.algorithm}, "
        f"{number(getattr(hasher, 'iterations', None))} iterations."
    )
    print()
    rows = [
        [
            args.repeat,
            number(statistics.median(times)),
            number(times[0]),
            number(times[-1]),
            number(1000 / statistics.median(times)),
        ]
    ]
    header = ["checks", "median CPU ms", "min CPU ms", "max CPU ms", "logins per CPU-second"]
    print(table(header, [RIGHT] * 5, rows))


if __name__ == "__main__":
    main()
