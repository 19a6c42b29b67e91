"""Little's law, applied to each stage of a replay report: does the run add up?

    .venv/bin/python docs/examples/littles_law.py reports/reference/sqlite

For each stage: requests in flight at the server (throughput X times mean response
time R) against its worker processes, and the think time the users' loop implies
(N/X - R) against the locustfile's 1-3 s. Logins are left out, as the report's
endpoint rows leave them out.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from loadtest.endpoints import LOGIN  # noqa: E402
from loadtest.samples import load  # noqa: E402


def main(folder: Path) -> None:
    report = json.loads((folder / "report.json").read_text())
    users = report["profile"]["users"]
    workers = report["environment"]["server_workers"]
    for stage, result in report["stages"].items():
        requests = [sample for sample in load(folder / stage) if sample.name != LOGIN]
        x = len(requests) / result["duration_s"]  # throughput, requests per second
        r = sum(sample.ms for sample in requests) / len(requests) / 1000  # mean time, s
        print(
            f"{stage}: X·R = {x * r:.1f} requests in flight for {workers} workers; "
            f"N/X = {users / x:.2f} s per request = {r:.2f} s waiting + "
            f"{users / x - r:.2f} s thinking"
        )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
