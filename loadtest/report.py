"""The replay's report: report.json, report.md and chart.png, and the tables in them.

Rendering only; the figures come from stats.py. docs/sync.py renders the walkthrough's
tables with these functions too, so the docs show what the report shows.
"""

import json
from pathlib import Path

from .endpoints import LOGIN
from .markdown import LEFT, RIGHT, number, table


def endpoint_names(stages: dict) -> list[str]:
    """Every endpoint any stage has figures for, in report order: the login row last."""
    return sorted(
        {name for result in stages.values() for name in result["endpoints"]},
        key=lambda name: (name == LOGIN, name),
    )


def _times_lower(figures: dict) -> str:
    """How many times lower the p95 is than at the stage before, or "–"."""
    ratio = (figures.get("vs_previous") or {}).get("p95_times_lower")
    return number(ratio, "× lower") if ratio else "–"


def comparison_table(stages: dict) -> str:
    """The per-endpoint comparison across stages, as a Markdown table."""
    rows = [
        [
            f"{name}{' (login burst)' if name == LOGIN else ''}",
            stage,
            *(number(figures[key]) for key in ("requests", "failures", "rps")),
            *(number(figures[key]) for key in ("p50_ms", "p95_ms", "p99_ms")),
            number(figures["queries_per_request"]),
            _times_lower(figures),
        ]
        for name in endpoint_names(stages)
        for stage, result in stages.items()
        if (figures := result["endpoints"].get(name))
    ]
    header = ["endpoint", "stage", "requests", "failures", "RPS", "p50 ms", "p95 ms", "p99 ms"]
    header += ["queries/req", "p95 vs previous"]
    return table(header, [LEFT] * 2 + [RIGHT] * 8, rows)


def endpoint_table(stages: dict, endpoint: str) -> str:
    """One endpoint at every stage, as the walkthrough shows it."""
    rows = []
    for stage, result in stages.items():
        figures = result["endpoints"].get(endpoint)
        if figures is None:
            # The stage was too slow for any user to get this far in their journey.
            rows.append([f"`{stage}`", 0, "–", "–", "–", "0.0", "–", "–"])
            continue
        rows.append(
            [
                f"`{stage}`",
                number(figures["requests"]),
                *(number(figures[key]) for key in ("p50_ms", "p95_ms", "p99_ms")),
                number(figures["rps"]),
                number(figures["queries_per_request"]),
                _times_lower(figures),
            ]
        )
    header = ["stage", "requests", "p50 ms", "p95 ms", "p99 ms", "RPS", "queries/request"]
    return table([*header, "p95 vs previous"], [LEFT] + [RIGHT] * 7, rows)


def stage_table(stages: dict) -> str:
    """Per stage: requests, run and steady time, and the writes audit."""
    rows = []
    for stage, result in stages.items():
        writes = result.get("writes") or {}
        posts, comments = writes.get("posts", {}), writes.get("comments", {})
        rows.append(
            [
                stage,
                *(number(result[key]) for key in ("requests", "failures")),
                *(number(result[key]) for key in ("duration_s", "steady_s")),
                number(result["set_apart_during_logins"]),
                f"{number(posts.get('created'))} / {number(posts.get('201s'))}",
                f"{number(comments.get('created'))} / {number(comments.get('201s'))}",
                number(writes.get("5xx")),
                "yes" if writes.get("ok") else "NO",
            ]
        )
    header = ["stage", "requests", "failures", "run s", "steady s", "set apart during logins"]
    header += ["posts created / 201s", "comments created / 201s", "5xx", "nothing lost"]
    return table(header, [LEFT] + [RIGHT] * 8 + [LEFT], rows)


def single_request_table(stages: dict) -> str:
    """The anonymous requests on the idle server, per stage and endpoint: time, SQL
    time, queries, size; cold and warm (see `single_request_note`)."""
    probes = [
        (stage, name, probe)
        for stage, result in stages.items()
        for name, probe in (result.get("single_requests") or {}).items()
    ]
    if not any("warm" in probe for _, _, probe in probes):
        return _one_request_table(probes)
    rows = [
        [
            stage,
            name,
            *(number(probe[when][key]) for when in ("cold", "warm") for key in ("ms", "db_ms")),
            _cold_and_warm(probe, "queries", number),
            _cold_and_warm(probe, "bytes", lambda size: number(size / 1024, " KB")),
        ]
        for stage, name, probe in probes
    ]
    header = ["stage", "endpoint", "cold ms", "cold SQL ms", "warm ms", "warm SQL ms"]
    return table([*header, "queries", "size"], [LEFT] * 2 + [RIGHT] * 6, rows)


def _cold_and_warm(probe: dict, key: str, show) -> str:
    """One figure when the cold request and the warm ones agree on it, else both."""
    cold, warm = probe["cold"][key], probe["warm"][key]
    return show(cold) if cold == warm else f"{show(cold)} cold, {show(warm)} warm"


def _one_request_table(probes: list) -> str:
    """The table of a report made before the warm-up: one request per endpoint."""
    rows = [
        [
            stage,
            name,
            number(probe["ms"]),
            number(probe["db_ms"]),
            number(probe["queries"]),
            number(probe["bytes"] / 1024, " KB"),
        ]
        for stage, name, probe in probes
    ]
    header = ["stage", "endpoint", "response ms", "SQL ms", "queries", "size"]
    return table(header, [LEFT] * 2 + [RIGHT] * 4, rows)


def single_request_note(stages: dict) -> str:
    """What the cold and the warm figures of `single_request_table` are ("" when the
    stages have none)."""
    result = next((r for r in stages.values() if r.get("warm_up")), None)
    if result is None:
        return ""
    warm_up = result["warm_up"]
    warm = next(iter(result["single_requests"].values()))["warm"]
    times = "once" if warm_up["per_worker"] == 1 else f"{warm_up['per_worker']} times"
    return (
        "**Cold** is the first request for the endpoint that the freshly started server\n"
        "answered: its worker may still be loading code, opening its database connection\n"
        f"and filling caches. **Warm** is the median of {warm['requests']} more, sent after "
        f"each of the\nserver's {warm_up['workers']} workers had answered the endpoint "
        f"{times}: what a request costs a server\nthat has been running."
    )


def accounts_sentence(accounts: dict | None) -> str:
    """How many accounts the users logged in as, and where they came from ("" when the
    report does not say)."""
    if not accounts:
        return ""
    users, seeded, added = accounts["users"], accounts["seeded"], accounts["added"]
    if not added:
        return (
            f"Each of the {users:,} users logged in as an account of its own, of the "
            f"{seeded:,} seeded."
        )
    return (
        f"Each of the {users:,} users logged in as an account of its own: the {seeded:,} "
        f"seeded, and {added:,} added to each stage's copy."
    )


def measured_with(report: dict) -> str:
    """One sentence: the command, data, profile and machine a report was made with."""
    env, data, profile = report["environment"], report["dataset"], report["profile"]
    return (
        f"Measured with `{report['command']}` on {data['posts']:,} posts, "
        f"{data['comments']:,} comments and {data['users']:,} users; profile "
        f"`{profile['name']}` (up to {profile['users']} users, {profile['run_time_s']:g} s per "
        f"stage); {env['cpu_count']} CPUs, Python {env['python']}, Django {env['django']}, "
        f"{env['database']}, gunicorn {env['server_workers']} workers × "
        f"{env['server_threads']} threads, Locust {env['locust']}."
    )


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
{accounts_sentence(report.get("accounts"))}

Machine: {env["cpu_count"]} CPUs, Python {env["python"]}, Django {env["django"]},
{env["database"]}, gunicorn {env["server_workers"]} workers × {env["server_threads"]} threads,
Locust {env["locust"]} ({env["locust_processes"]}) with {env["client"]}.

![latency and throughput per stage](chart.png)

## One request, before the load

What `curl -i` shows on the idle server: anonymous requests, each on a new connection,
timed by this client, with the SQL time and query count from `Server-Timing` and the
size of the response. The post is the newest one.
{single_request_note(report["stages"])}

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
    names = endpoint_names(stages)
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
