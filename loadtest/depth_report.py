"""`measure_pagination`'s report: report.json, report.md and chart.png, and the tables.

Rendering only; depth.py measures. docs/sync.py renders chapter 10's tables with these.
"""

import json
from pathlib import Path

from .depth import PAGE_KINDS, POSTS, SEED_USERS
from .markdown import number, table


def goal_line(verdict: dict, sizes: list[int]) -> str:
    if verdict["met"] is None:
        return f"goal not checked: {verdict['why']}"
    span = f"{min(sizes):,} to {max(sizes):,} posts"
    return (
        f"goal {'met' if verdict['met'] else 'missed'}: from {span}, the cursor's deep-page "
        f"p95 grew {verdict['cursor_deep_page_growth']:g}x (limit {verdict['limit']:g}x), "
        f"paginated's {verdict['paginated_deep_page_growth']:g}x (must exceed "
        f"{verdict['limit']:g}x)"
    )


def page_table(report: dict, kind: str) -> str:
    """A markdown table of one page kind: sizes down, each stage's p50, p95 and SQL
    across, and the p95's growth from the smallest size to the largest."""
    stages, sizes = list(report["results"]), report["sizes"]
    rows = []
    for size in sizes:
        row = [number(size)]
        for stage in stages:
            f = report["results"][stage][kind][str(size)]
            row += [_ms(f["p50_ms"]), _ms(f["p95_ms"]), f"{_ms(f['sql_ms'])} ({f['queries']})"]
        rows.append(row)
    if len(sizes) > 1:
        row = [f"p95 growth, {number(max(sizes))} / {number(min(sizes))}"]
        for stage in stages:
            growth = report["growth_p95"][stage][kind]
            row += ["", number(growth, "x", digits=2, grouping=False), ""]
        rows.append(row)
    header = ["posts"]
    for stage in stages:
        header += [f"{stage} p50", f"{stage} p95", f"{stage} SQL (queries)"]
    return table(header, ["---:"] * len(header), rows)


def _ms(value: float) -> str:
    # Without grouping, as the published tables have it: "1156.7 ms".
    return number(value, " ms", grouping=False)


def tables(report: dict) -> str:
    """Both tables, each under its page kind, as the command prints them."""
    return "\n\n".join(f"{kind}:\n{page_table(report, kind)}" for kind in PAGE_KINDS)


def write(out: Path, report: dict) -> None:
    """report.json, report.md and chart.png in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    write_chart(out / "chart.png", report)
    env = report["environment"]
    settle = " and `VACUUM (ANALYZE)`" if report["database"] == "postgresql" else ""
    markdown = f"""# Pagination depth: what a list page costs as the data grows

Command: `{report["command"]}`

- Data: one scratch {env["database"]} database per size, seeded with
  `seed_posts --users {SEED_USERS} --posts <size> --comments 0`{settle}, dropped after.
- Server: gunicorn {env["gunicorn"]}, {env["server"]}: each figure is the cost of
  one request, not throughput.
- Client: {env["client"]}; {env["requests_per_measurement"]} timed requests per cell
  after {env["warmup_requests"]} untimed ones.
- Figures: p50 and p95 (nearest rank) of the response time as the client saw it; the
  median SQL time and the query count from `Server-Timing`.
- Machine: {env["cpu_count"]} CPUs, Python {env["python"]}, Django {env["django"]}; load
  average (1 / 5 / 15 min) {env["load_average_start"]} at the start and
  {env["load_average_end"]} at the end. Other work on the machine shows in the tails.

![latency against rows, log-log](chart.png)

## Page 1: `{POSTS}`

{page_table(report, "page 1")}

## Deep page: the last page

{page_table(report, "deep page")}

The deep page is `paginated`'s last page; `cursor` serves the page that starts at the
same row, from a cursor built by the stage's own encoder. The guard: every stage's deep
page served the rows the database lists at that position, so each did the same job.

{guard_table(report)}

## Goal

{goal_line(report["goal"], report["sizes"])}.
"""
    (out / "report.md").write_text(markdown)


def guard_table(report: dict) -> str:
    """Per size: the deep page's first row, its rows, each stage's path to it."""
    stages = list(report["results"])
    rows = [
        [number(int(size)), number(g["first_row"]), number(g["rows"])]
        + [f"`{path}`" for path in g["paths"].values()]
        + ["yes"]
        for size, g in report["deep_pages"].items()
    ]
    header = ["posts", "first row", "rows", *stages, "same rows"]
    return table(header, ["---:"] * 3 + ["---"] * (len(stages) + 1), rows)


def write_chart(path: Path, report: dict) -> None:
    """Latency against rows on log-log axes: a line per stage and page kind, p95
    solid, p50 dashed in the same colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    sizes = report["sizes"]
    fig, axes = plt.subplots(figsize=(9, 6))
    colour = 0
    for stage, pages in report["results"].items():
        for kind in PAGE_KINDS:
            figures = [pages[kind][str(size)] for size in sizes]
            style = {"color": f"C{colour}", "marker": "o"}
            axes.plot(
                sizes, [f["p95_ms"] for f in figures], "-", label=f"{stage}, {kind}, p95", **style
            )
            axes.plot(
                sizes, [f["p50_ms"] for f in figures], "--", label=f"{stage}, {kind}, p50", **style
            )
            colour += 1
    axes.set_xscale("log")
    axes.set_yscale("log")
    # Plain numbers, not powers of ten: the sizes are the ones measured.
    axes.set_xticks(sizes, [f"{size:,}" for size in sizes])
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.yaxis.set_major_formatter(FuncFormatter(lambda ms, _: f"{ms:g}"))
    low, high = axes.get_ylim()
    # Label 2s and 5s between the powers of ten; every tick when they span one decade.
    shown = "123456789" if high / low < 10 else "25"
    axes.yaxis.set_minor_formatter(
        FuncFormatter(lambda ms, _: f"{ms:g}" if f"{ms:g}"[0] in shown else "")
    )
    axes.set_xlabel("posts in the table (log scale)")
    axes.set_ylabel("response time, ms (log scale)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(
        f"One list page as the data grows, {report['environment']['database']}\n"
        "p95 solid, p50 dashed; one gunicorn worker, one thread, sequential requests"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
