"""`measure_ceiling`'s report: report.json, report.md and chart.png, and the tables.

Rendering only; ceiling.py measures.
"""

import json
from pathlib import Path

from .markdown import LEFT, RIGHT, number, table


def _percent(ratio: float | None) -> str:
    return number(None if ratio is None else ratio * 100, " %", digits=1)


def _rows(report: dict):
    """(server setup, stage, endpoint, figures), in the order they were measured."""
    for config, stages in report["results"].items():
        for stage, endpoints in stages.items():
            for endpoint, figures in endpoints.items():
                yield config, stage, endpoint, figures


def results_table(report: dict) -> str:
    """Every server setup, stage and endpoint: rps, p50, p99, the share of the trivial
    endpoint's rps, both CPUs, and whether the generator used less than the server."""
    several = len(report["results"]) > 1
    generator = report["environment"]["generator_name"]
    header = ["stage", "endpoint", "rps", "p50", "p99", "of trivial"]
    header += ["server CPU", "per request", f"{generator} CPU", f"{generator} lighter"]
    header.append("failures")
    rows = []
    for config, stage, endpoint, f in _rows(report):
        row = [config] if several else []
        row += [stage, endpoint, number(f["rps"]), _ms(f["p50_ms"]), _ms(f["p99_ms"])]
        row += [_percent(f["ratio"]), _s(f["server_cpu_s"])]
        row += [_ms(f["server_cpu_ms_per_request"]), _s(f["generator_cpu_s"])]
        row += ["yes" if f["generator_lighter"] else "**no**", number(f["failures"])]
        rows.append(row)
    if several:
        header = ["server", *header]
    text_columns = 3 if several else 2
    align = [LEFT] * text_columns + [RIGHT] * 7 + [LEFT, RIGHT]
    return table(header, align, rows)


def comparison_table(report: dict) -> str:
    """Server setups side by side: for each stage and endpoint, each setup's rps and its
    share of the trivial endpoint on the same server."""
    configs = list(report["results"])
    rows = {}
    for config, stage, endpoint, f in _rows(report):
        cell = f"{number(f['rps'], digits=0)} ({_percent(f['ratio'])})"
        rows.setdefault((stage, endpoint), {})[config] = cell
    body = [
        [stage, endpoint, *(cells.get(config, "–") for config in configs)]
        for (stage, endpoint), cells in rows.items()
    ]
    header = ["stage", "endpoint", *(f"`{config}`" for config in configs)]
    return table(header, [LEFT, LEFT] + [RIGHT] * len(configs), body)


def generator_line(report: dict) -> str:
    verdict, name = report["generator"], report["environment"]["generator_name"]
    if verdict["lighter_everywhere"]:
        return f"{name} used less CPU than the server in every run."
    return (
        f"{name} used as much CPU as the server, or more, in {len(verdict['heavier_in'])} "
        f"run(s) ({'; '.join(verdict['heavier_in'])}): there it may have been the "
        "bottleneck, and the rps is a floor."
    )


def _ms(value: float | None) -> str:
    return number(value, " ms", digits=2, grouping=False)


def _s(value: float | None) -> str:
    return number(value, " s", digits=2)


def tables(report: dict) -> str:
    """What the command prints: the comparison of server setups (if several), then
    every figure."""
    parts = []
    if len(report["results"]) > 1:
        parts.append(comparison_table(report))
    parts.append(results_table(report))
    return "\n\n".join(parts)


def write(out: Path, report: dict) -> None:
    """report.json, report.md and chart.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_chart(out / "chart.png", report)
    env, data = report["environment"], report["data"]
    rounds = report["settings"]["rounds"]
    combined = (
        f"Each figure is the median of {rounds} rounds; the setups and stages were "
        "interleaved, round by round."
        if rounds > 1
        else "One round."
    )
    comparison = ""
    if len(report["results"]) > 1:
        comparison = (
            "## Server setups side by side\n\nrps, and in brackets the share of the "
            "trivial endpoint's rps on the same server.\n\n"
            f"{comparison_table(report)}\n\n"
        )
    markdown = f"""# The ceiling: each endpoint against a trivial one on the same server

Command: `{report["command"]}`

- Data: {number(data["posts"])} posts, {number(data["comments"])} comments, served from
  {data["served_from"]}; {env["database"]}.
- Server: gunicorn {env["gunicorn"]} on 127.0.0.1, each setup named as
  `sync:<workers>` or `gthread:<workers>x<threads>`; the project's settings plus
  `/api/trivial/`, a DRF view that answers `{{"ok": true}}` with no query.
- Load: {env["generator"]}, {report["settings"]["connections"]} connections, no pause
  between requests, {report["settings"]["seconds"]:g} s per endpoint after a warm-up.
  {combined}
- "of trivial" is the endpoint's rps over the trivial endpoint's on the same server.
  CPU is user + system seconds over the run: the server's is gunicorn's master and
  workers (not the database server's), the generator's is every process of it. "per
  request" is the server's CPU over the requests answered: where other work on the
  machine takes CPU from the server, rps falls but this does not, much.
- Machine: {env["cpu_count"]} CPUs, Python {env["python"]}, Django {env["django"]}; load
  average (1 / 5 / 15 min) {env["load_average_start"]} at the start and
  {env["load_average_end"]} at the end. Other work on the machine shows in the figures.

![requests a second, per endpoint](chart.png)

{comparison}## Every figure

{results_table(report)}

{generator_line(report)}
"""
    (out / "report.md").write_text(markdown)


def write_chart(path: Path, report: dict) -> None:
    """Horizontal bars of rps: a group per server setup and stage, a bar per endpoint."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = [
        (f"{config} {stage}" if len(report["results"]) > 1 else stage, endpoints)
        for config, stages in report["results"].items()
        for stage, endpoints in stages.items()
    ]
    names = list(report["settings"]["endpoints"])
    height = 0.8 / len(names)
    fig, axes = plt.subplots(figsize=(9, 1 + 0.5 * len(groups) * max(1, len(names) / 2)))
    for index, name in enumerate(names):
        positions = [group + index * height for group in range(len(groups))]
        values = [endpoints[name]["rps"] for _, endpoints in groups]
        axes.barh(positions, values, height=height, label=name, color=f"C{index}")
    axes.set_yticks([group + 0.4 - height / 2 for group in range(len(groups))])
    axes.set_yticklabels([label for label, _ in groups])
    axes.invert_yaxis()
    axes.set_xlabel("requests a second")
    axes.grid(True, axis="x", alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(
        f"Each endpoint against a trivial one, {report['environment']['database']}\n"
        f"{report['environment']['generator']}, {report['settings']['connections']} connections"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
