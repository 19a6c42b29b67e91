"""Turn a replay's raw samples into figures per stage and endpoint, and write the report.

The figures are computed from every request's own timing (see samples.py), not from
Locust's rounded buckets, with one rule that keeps them honest: a login costs ~200 ms
of CPU with Django's real password hasher, so while logins are in flight (the burst
when users arrive) the server is busy hashing and every other request waits. Those
requests would put the login burst into the tail of every endpoint. So:

- logins get their own row (LOGIN), with every login in it;
- every other row leaves out the requests that finished while a login was in flight
  (their response time includes the wait behind the hashing), and its RPS is over the
  time no login was running; how many requests were set apart is reported.

A request that started during the burst and finished after it counts: at a slow stage
such requests take many seconds, nearly all of it queueing behind each other, and
leaving them out would leave the stage with no figures at all.
"""

import json
import math
from bisect import bisect_left
from pathlib import Path

LOGIN = "POST /api/auth/token/"


def load_samples(folder: Path) -> list[list]:
    """Every sample the Locust processes wrote into `folder`."""
    samples = []
    for path in sorted(folder.glob("samples-*.jsonl")):
        with path.open() as lines:
            samples.extend(json.loads(line) for line in lines if line.strip())
    return samples


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def _merge(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def _overlaps(merged, starts, start, end) -> bool:
    """Does [start, end] overlap any of the merged, sorted, disjoint intervals?"""
    i = bisect_left(starts, end) - 1  # the last interval that starts before `end`
    return i >= 0 and merged[i][1] > start


def _figures(samples: list[list], seconds: float) -> dict:
    durations = sorted(s[1] for s in samples)
    queries = [s[5] for s in samples if s[5] is not None]
    return {
        "requests": len(samples),
        "failures": sum(1 for s in samples if s[4]),
        "rps": round(len(samples) / seconds, 2) if seconds > 0 else 0.0,
        "p50_ms": _round(percentile(durations, 50)),
        "p95_ms": _round(percentile(durations, 95)),
        "p99_ms": _round(percentile(durations, 99)),
        "queries_per_request": round(sum(queries) / len(queries), 1) if queries else None,
    }


def _round(value):
    return None if value is None else round(value, 1)


def summarize(samples: list[list]) -> dict:
    """Figures per endpoint for one stage's run, the login burst set apart."""
    if not samples:
        return {
            "endpoints": {},
            "requests": 0,
            "failures": 0,
            "fail_ratio": 0.0,
            "duration_s": 0.0,
            "steady_s": 0.0,
            "set_apart_during_logins": 0,
        }
    run_start = min(s[0] for s in samples)
    run_end = max(s[0] + s[1] / 1000 for s in samples)
    logins = [s for s in samples if s[2] == LOGIN]
    merged = _merge((s[0], s[0] + s[1] / 1000) for s in logins)
    starts = [interval[0] for interval in merged]
    login_time = sum(end - start for start, end in merged)
    steady_seconds = max(run_end - run_start - login_time, 1e-9)

    by_endpoint: dict[str, list] = {}
    set_apart = 0
    for sample in samples:
        finished = sample[0] + sample[1] / 1000
        if sample[2] != LOGIN and _overlaps(merged, starts, finished, finished):
            set_apart += 1
            continue
        by_endpoint.setdefault(sample[2], []).append(sample)

    endpoints = {
        name: _figures(rows, run_end - run_start if name == LOGIN else steady_seconds)
        for name, rows in sorted(by_endpoint.items())
    }
    failures = sum(1 for s in samples if s[4])
    return {
        "endpoints": endpoints,
        "requests": len(samples),
        "failures": failures,
        "fail_ratio": round(failures / len(samples), 4),
        "duration_s": round(run_end - run_start, 1),
        "steady_s": round(steady_seconds, 1),
        "set_apart_during_logins": set_apart,
    }


# What each kind of row is created by: the endpoint whose 201 means one more row.
CREATED_BY = {"posts": "POST /api/posts/", "comments": "POST /api/posts/[id]/comments/"}


def audit_writes(samples: list[list], *, before: dict, after: dict) -> dict:
    """Nothing lost: rows the database gained against the 201s the load counted, and
    every 5xx. `before`/`after` are /api/health/ counts around the run."""
    audit = {}
    for table, endpoint in CREATED_BY.items():
        created = after[table] - before[table]
        confirmed = sum(1 for s in samples if s[2] == endpoint and s[3] == 201)
        audit[table] = {"created": created, "201s": confirmed}
    audit["5xx"] = sum(1 for s in samples if s[3] >= 500)
    audit["ok"] = audit["5xx"] == 0 and all(
        audit[table]["created"] == audit[table]["201s"] for table in CREATED_BY
    )
    return audit


def add_ratios(stages: dict) -> None:
    """Give each endpoint its ratios to the previous stage: p95 (how many times lower)
    and RPS (how many times higher)."""
    previous = None
    for result in stages.values():
        for name, figures in result["endpoints"].items():
            before = previous["endpoints"].get(name) if previous else None
            figures["vs_previous"] = (
                {
                    "p95_times_lower": _ratio(before["p95_ms"], figures["p95_ms"]),
                    "rps_times_higher": _ratio(figures["rps"], before["rps"]),
                }
                if before
                else None
            )
        previous = result


def _ratio(numerator, denominator):
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def breaches(stages: dict, *, max_fail_ratio=None, max_p95=None) -> list[str]:
    """What broke a threshold, or lost a write, one line each."""
    found = []
    for stage, result in stages.items():
        writes = result.get("writes")
        if writes and not writes["ok"]:
            found.append(
                f"{stage}: writes audit failed: posts {writes['posts']['created']} created, "
                f"{writes['posts']['201s']} 201s; comments {writes['comments']['created']} "
                f"created, {writes['comments']['201s']} 201s; {writes['5xx']} 5xx responses"
            )
        if max_fail_ratio is not None and result["fail_ratio"] > max_fail_ratio:
            found.append(
                f"{stage}: {result['fail_ratio']:.2%} of requests failed "
                f"(--max-fail-ratio {max_fail_ratio})"
            )
        if max_p95 is not None:
            for name, figures in result["endpoints"].items():
                if name != LOGIN and figures["p95_ms"] is not None and figures["p95_ms"] > max_p95:
                    found.append(
                        f"{stage}: {name} p95 {figures['p95_ms']:.0f} ms (--max-p95 {max_p95:g})"
                    )
    return found


def _cell(value, unit="", digits=1):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value:,}{unit}"


def comparison_table(stages: dict) -> str:
    """The per-endpoint comparison across stages, as a Markdown table."""
    lines = [
        "| endpoint | stage | requests | failures | RPS | p50 ms | p95 ms | p99 ms "
        "| queries/req | p95 vs previous |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    names = sorted(
        {name for result in stages.values() for name in result["endpoints"]},
        key=lambda name: (name == LOGIN, name),
    )
    for name in names:
        for stage, result in stages.items():
            figures = result["endpoints"].get(name)
            if not figures:
                continue
            ratio = (figures.get("vs_previous") or {}).get("p95_times_lower")
            lines.append(
                f"| {name}{' (login burst)' if name == LOGIN else ''} | {stage} "
                f"| {_cell(figures['requests'])} | {_cell(figures['failures'])} "
                f"| {_cell(figures['rps'])} | {_cell(figures['p50_ms'])} "
                f"| {_cell(figures['p95_ms'])} | {_cell(figures['p99_ms'])} "
                f"| {_cell(figures['queries_per_request'])} "
                f"| {_cell(ratio, '× lower', 1) if ratio else '–'} |"
            )
    return "\n".join(lines)


def stage_table(stages: dict) -> str:
    lines = [
        "| stage | requests | failures | run s | steady s | set apart during logins "
        "| posts created / 201s | comments created / 201s | 5xx | nothing lost |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for stage, result in stages.items():
        writes = result.get("writes") or {}
        posts, comments = writes.get("posts", {}), writes.get("comments", {})
        lines.append(
            f"| {stage} | {result['requests']:,} | {result['failures']:,} "
            f"| {result['duration_s']} | {result['steady_s']} "
            f"| {result['set_apart_during_logins']:,} "
            f"| {posts.get('created', '–')} / {posts.get('201s', '–')} "
            f"| {comments.get('created', '–')} / {comments.get('201s', '–')} "
            f"| {writes.get('5xx', '–')} | {'yes' if writes.get('ok') else 'NO'} |"
        )
    return "\n".join(lines)


def single_request_table(stages: dict) -> str:
    """One anonymous list request per stage on the idle server: time, SQL, size."""
    lines = [
        "| stage | endpoint | response ms | SQL ms | queries | size |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for stage, result in stages.items():
        for name, probe in (result.get("single_requests") or {}).items():
            lines.append(
                f"| {stage} | {name} | {_cell(probe['ms'])} | {_cell(probe['db_ms'])} "
                f"| {_cell(probe['queries'])} | {probe['bytes'] / 1024:,.1f} KB |"
            )
    return "\n".join(lines)


def write(out: Path, report: dict) -> None:
    """report.json, report.md and chart.png in `out`."""
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_chart(out / "chart.png", report)
    profile, dataset, env = report["profile"], report["dataset"], report["environment"]
    markdown = f"""# Replay: the same load against every stage

Command: `{report["command"]}`

Profile **{profile["name"]}**: up to {profile["users"]} users for {profile["run_time_s"]:g} s
({profile["description"]}). Every stage started from the same data:
{dataset["posts"]:,} posts, {dataset["comments"]:,} comments, {dataset["users"]:,} seeded users.

Machine: {env["cpu_count"]} CPUs, Python {env["python"]}, Django {env["django"]},
{env["database"]}, gunicorn {env["server_workers"]} workers × {env["server_threads"]} threads,
Locust {env["locust"]} ({env["locust_processes"]}) with {env["client"]}.

![latency and throughput per stage](chart.png)

## One request, before the load

What `curl -i` shows: one anonymous request on the idle server, its SQL time and query
count from `Server-Timing`, and the size of the response.

{single_request_table(report["stages"])}

## Per endpoint

Latencies are exact percentiles of each request's response time. Except for the login
row, requests that finished while a login was in flight are set apart (logins cost ~200 ms
of CPU each and would swamp the tail), and RPS is over the time no login was running.
"p95 vs previous" is how many times lower the p95 is than at the stage before.

{comparison_table(report["stages"])}

## Per stage

{stage_table(report["stages"])}

Raw data: `<stage>/samples-*.jsonl` (one request a line), Locust's own report
`<stage>/locust.html` and CSVs, and the server's log `<stage>/server.log`.
"""
    (out / "report.md").write_text(markdown)


def write_chart(path: Path, report: dict) -> None:
    """p50 and p95 per endpoint per stage on a log scale, and RPS per stage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = report["stages"]
    names = sorted(
        {n for r in stages.values() for n in r["endpoints"]}, key=lambda n: (n == LOGIN, n)
    )
    fig, (latency, throughput) = plt.subplots(
        1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [3, 1]}
    )
    width = 0.8 / max(len(stages), 1)
    for i, (stage, result) in enumerate(stages.items()):
        xs = [j + i * width for j in range(len(names))]
        p95 = [(result["endpoints"].get(n) or {}).get("p95_ms") or float("nan") for n in names]
        p50 = [(result["endpoints"].get(n) or {}).get("p50_ms") or float("nan") for n in names]
        latency.bar(xs, p95, width, label=f"{stage} p95")
        latency.scatter(
            xs, p50, marker="_", s=200, color="black", zorder=3, label="p50" if i == 0 else None
        )
    latency.set_yscale("log")
    latency.set_ylabel("response time, ms (log scale)")
    latency.set_xticks([j + width * (len(stages) - 1) / 2 for j in range(len(names))])
    latency.set_xticklabels([n.replace(" /api", "\n/api") for n in names], fontsize=8)
    latency.legend(fontsize=8)
    latency.set_title("Latency per endpoint: bars p95, ticks p50")
    rps = [sum(f["rps"] for n, f in r["endpoints"].items() if n != LOGIN) for r in stages.values()]
    throughput.bar(list(stages), rps, color=[f"C{i}" for i in range(len(stages))])
    throughput.set_ylabel("requests per second (steady)")
    throughput.set_title("Throughput")
    fig.suptitle(
        f"{report['profile']['name']} profile, {report['dataset']['posts']:,} posts, "
        f"{report['environment']['database']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
