"""Compare load runs of your own with the replay's statistics and table.

    .venv/bin/python docs/examples/compare_runs.py reports/before reports/after

Each folder holds the samples-*.jsonl that a Locust run wrote with LOAD_SAMPLES_DIR set
to it. The login burst is set apart as in a replay, and each run after the first is
compared with the one before it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from loadtest import report, samples, stats  # noqa: E402


def main(folders: list[str]) -> None:
    # A run is named by its folder: "before", "after".
    runs = {Path(f).name: stats.summarize(samples.load(Path(f))) for f in folders}
    stats.add_ratios(runs)
    print(report.comparison_table(runs))


if __name__ == "__main__":
    main(sys.argv[1:])
