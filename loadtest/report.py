"""The replay's report: report.json, report.md and chart.png, and the tables in them.

Rendering only; the figures come from stats.py. docs/sync.py renders the walkthrough's
tables with these functions too, so the docs show what the report shows.
"""

import json
import math
from pathlib import Path

from .endpoints import LOGIN
from .markdown import LEFT, RIGHT, number, table
from .stats import audit_problems

# What the chart says where a stage has no bar: no request to that endpoint finished
# in the steady part of the run (too slow for any user to get that far), which an
# empty slot would show as if it were too fast to see.
NO_BAR = "no request finished"


# Within a URL, the rows in the order a resource's life goes.
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def endpoint_names(stages: dict) -> list[str]:
    """Every endpoint any stage has figures for, in report order: by URL, each URL's
    methods in METHODS' order, and the login row last."""
    return sorted(
        {name for result in stages.values() for name in result["endpoints"]},
        key=lambda name: (name == LOGIN, *_url_and_method(name)),
    )


def _url_and_method(name: str) -> tuple[str, int]:
    method, _, url = name.partition(" ")
    return url, METHODS.index(method) if method in METHODS else len(METHODS)


def times(ratio: float | None, *, above_one: str, below_one: str) -> str:
    """A ratio to the stage before in words, whichever way it went: with the p95's
    "times lower" ratio, 100.0 is "100× lower" and 0.016 is "63× higher"; "–" for no
    ratio. One decimal under 10, whole numbers from 10 on; "same" when that reads 1.0."""
    if not ratio:
        return "–"
    factor, word = (ratio, above_one) if ratio >= 1 else (1 / ratio, below_one)
    tenths = math.floor(factor * 10 + 0.5)
    if tenths == 10:
        return "same"
    written = f"{tenths / 10:.1f}" if tenths < 100 else f"{math.floor(factor + 0.5):,}"
    return f"{written}× {word}"


def _p95_change(figures: dict) -> str:
    """How the p95 compares with the stage before's: "3.4× lower", "63× higher", "–"."""
    ratio = (figures.get("vs_previous") or {}).get("p95_times_lower")
    return times(ratio, above_one="lower", below_one="higher")


def _rps_change(figures: dict) -> str:
    """How the RPS compares with the stage before's: "50× higher", "2.5× lower", "–"."""
    ratio = (figures.get("vs_previous") or {}).get("rps_times_higher")
    return times(ratio, above_one="higher", below_one="lower")


def cache_hits(cache: dict | None) -> str:
    """A cache hit ratio as a cell: "93 %", with errors apart ("93 %, 2 errors"); "–"
    where responses had no `cache` metric (an uncached stage)."""
    if not cache:
        return "–"
    ratio = cache["hit_ratio"]
    cell = "–" if ratio is None else f"{ratio * 100:.0f} %"
    return cell + (f", {cache['errors']:,} errors" if cache["errors"] else "")


def comparison_table(stages: dict) -> str:
    """The per-endpoint comparison across stages, as a Markdown table."""
    rows = [
        [
            f"{name}{' (login burst)' if name == LOGIN else ''}",
            stage,
            *(number(figures[key]) for key in ("requests", "failures", "rps")),
            *(number(figures[key]) for key in ("p50_ms", "p95_ms", "p99_ms")),
            number(figures["queries_per_request"]),
            cache_hits(figures.get("cache")),
            _p95_change(figures),
            _rps_change(figures),
        ]
        for name in endpoint_names(stages)
        for stage, result in stages.items()
        if (figures := result["endpoints"].get(name))
    ]
    header = ["endpoint", "stage", "requests", "failures", "RPS", "p50 ms", "p95 ms", "p99 ms"]
    header += ["queries/req", "cache hits", "p95 vs previous", "RPS vs previous"]
    return table(header, [LEFT] * 2 + [RIGHT] * 10, rows)


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
                _p95_change(figures),
            ]
        )
    header = ["stage", "requests", "p50 ms", "p95 ms", "p99 ms", "RPS", "queries/request"]
    return table([*header, "p95 vs previous"], [LEFT] + [RIGHT] * 7, rows)


def stage_table(stages: dict) -> str:
    """Per stage: requests, run and steady time, the cache hit ratio, and the writes
    audit."""
    rows = []
    for stage, result in stages.items():
        writes = result.get("writes")
        rows.append(
            [
                stage,
                *(number(result[key]) for key in ("requests", "failures")),
                *(number(result[key]) for key in ("duration_s", "steady_s")),
                number(result["set_apart_during_logins"]),
                cache_hits(result.get("cache")),
                *(_writes(writes) if writes else ["–"] * 3),
            ]
        )
    header = ["stage", "requests", "failures", "run s", "steady s", "set apart during logins"]
    header += ["cache hits", "posts: 201 / edits 200 / 204", "comments: 201 (gone with post)"]
    header += ["writes audit"]
    return table(header, [LEFT] + [RIGHT] * 8 + [LEFT], rows)


def _writes(writes: dict) -> list[str]:
    posts, comments = writes["posts"], writes["comments"]
    problems = audit_problems(writes)
    return [
        " / ".join(number(posts[key]) for key in ("201s", "200s", "204s")),
        f"{number(comments['201s'])} ({number(comments['gone_with_post'])})",
        "nothing lost" if not problems else "NO: " + "; ".join(problems),
    ]


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


def skipped_line(report: dict) -> str:
    """The stages this machine could not serve, a line each with the reason, after a
    blank line; nothing when every stage ran."""
    skipped = report.get("skipped") or {}
    return "".join(f"\nNot replayed: {reason}\n" for reason in skipped.values())


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
{skipped_line(report)}
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
row, requests that started or finished while a login was in flight are set apart (logins
cost hundreds of ms of CPU each and would swamp the tail), and RPS is over the time no
login was running.
"p95 vs previous" and "RPS vs previous" say how many times lower or higher each is
than at the stage before. "cache hits" is the share of cache lookups that hit, where a
stage's responses say (`Server-Timing: cache;desc="hit"` or `"miss"`); lookups the
cache did not answer are counted apart, as errors.

{comparison_table(report["stages"])}

## Per stage

The writes audit reads each stage's database after its run and checks every write's
answer against it: a post answered 201 exists unless the run deleted it with a 204, a
deleted post stays gone, a post holds the title of its last edit answered 200, a
comment answered 201 exists unless its post was deleted, no comment points at a
missing post, each table gained only the rows the 201s account for, and no request
got a 5xx.

{stage_table(report["stages"])}

Raw data: `<stage>/samples-*.jsonl` (one request a line), Locust's own report
`<stage>/locust.html` and CSVs, and the server's log `<stage>/server.log`.
"""
    (out / "report.md").write_text(markdown)


def write_chart(path: Path, report: dict) -> None:
    """The chart (`chart`) as a PNG at `path`."""
    import matplotlib.pyplot as plt

    fig = chart(report)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def chart(report: dict):
    """p50 and p95 per endpoint per stage on a log scale, and RPS per stage: a
    matplotlib Figure. A stage with no figures for an endpoint gets NO_BAR in its slot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.transforms import blended_transform_factory

    stages = report["stages"]
    names = endpoint_names(stages)
    fig, (latency, throughput) = plt.subplots(
        1, 2, figsize=(15, 6.5), gridspec_kw={"width_ratios": [3, 1]}
    )
    # x in data units, y as a fraction of the axes: a label sits at the foot of its slot.
    foot = blended_transform_factory(latency.transData, latency.transAxes)
    width = 0.8 / max(len(stages), 1)
    for i, (stage, result) in enumerate(stages.items()):
        xs = [j + i * width for j in range(len(names))]
        p95 = [(result["endpoints"].get(n) or {}).get("p95_ms") or math.nan for n in names]
        p50 = [(result["endpoints"].get(n) or {}).get("p50_ms") or math.nan for n in names]
        latency.bar(xs, p95, width, color=f"C{i}", label=f"{stage} p95")
        latency.scatter(
            xs, p50, marker="_", s=200, color="black", zorder=3, label="p50" if i == 0 else None
        )
        for x, value in zip(xs, p95, strict=True):
            if math.isnan(value):
                latency.text(
                    x, 0.02, NO_BAR, transform=foot, rotation=90, ha="center", va="bottom",
                    fontsize=7, color=f"C{i}",
                )  # fmt: skip
    if any(figures.get("p95_ms") for r in stages.values() for figures in r["endpoints"].values()):
        latency.set_yscale("log")  # not without a bar: there would be nothing to scale
    latency.set_ylabel("response time, ms (log scale)")
    latency.set_xticks([j + width * (len(stages) - 1) / 2 for j in range(len(names))])
    latency.set_xticklabels(names, fontsize=8, rotation=25, ha="right", rotation_mode="anchor")
    latency.set_title("Latency per endpoint: bars p95, ticks p50")
    rps = [sum(f["rps"] for n, f in r["endpoints"].items() if n != LOGIN) for r in stages.values()]
    throughput.bar(list(stages), rps, color=[f"C{i}" for i in range(len(stages))])
    throughput.set_xticks(range(len(stages)))
    throughput.set_xticklabels(list(stages), rotation=25, ha="right", rotation_mode="anchor")
    throughput.set_ylabel("requests per second (steady)")
    throughput.set_title("Throughput")
    fig.suptitle(
        f"{report['profile']['name']} profile, {report['dataset']['posts']:,} posts, "
        f"{report['environment']['database']}"
    )
    # Above the plots, not in them: inside, it would cover some endpoint's bars.
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0.955), ncol=len(stages) + 1, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    return fig
