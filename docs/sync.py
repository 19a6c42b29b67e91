"""Keep the walkthrough's code and figures identical to the repository's files.

Chapters (and the README) mark generated blocks with HTML comments, which GitHub does
not render:

    <!-- include stages/paginated.py -->            the whole file
    <!-- include stages/paginated.py#Pagination --> one top-level class, function or name
    <!-- include tests/test_silk.py#TestSilkOn.silk_database_url -->  one of a class's own
    <!-- include project/urls.py#if settings.SILK_ENABLED -->  a top-level `if` block
    <!-- output reports/reference/benchmarks/login_cpu.md -->  a committed output, as it is
    <!-- queries -->                                 the expected query table (stages/)
    <!-- figures reports/reference/sqlite GET /api/posts/ -->  one endpoint, every stage
    <!-- endpoints reports/reference/sqlite -->      every endpoint, every stage
    <!-- per-stage reports/reference/sqlite -->      requests, run time and writes audit
    <!-- single reports/reference/sqlite -->         requests on the idle server, cold and warm
    <!-- per-query naive reports/reference/sqlite,reports/reference/postgresql GET /api/posts/ -->
                                                     SQL time per query, database by database
    <!-- run reports/reference/sqlite -->            the command and machine of a report
    <!-- load-time reports/reference/sqlite -->      how long a replay's load ran
    <!-- depth reports/reference/pagination-sqlite --> page 1 and a deep page as data grows
    <!-- ceiling reports/reference/ceiling-sqlite -->  each endpoint against a trivial one
    <!-- ceiling reports/reference/servers-sqlite setups -->  server setups side by side

`figures`, `endpoints`, `per-stage` and `single` take `stages=paginated,cursor` last, to
show only those stages: a chapter shows its own step's rows. The stages must follow
each other in the journey, and the first one shown is compared with nothing, so that
"p95 vs previous" always compares a row with the row above it.

Each marker is followed by its generated block and closed by `<!-- end -->`. The
figures are rendered by the reports' own code (loadtest/report.py and
loadtest/depth_report.py), so a chapter shows what the report shows.

    python docs/sync.py          # rewrite the blocks from the files
    python docs/sync.py --check  # exit 1 if a chapter is out of date (tests/test_docs.py
                                 # checks the same)
"""

import ast
import json
import re
import sys
import textwrap
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs"
# The README quotes a figure or two too.
PAGES = [*sorted(DOCS.glob("*.md")), BASE_DIR / "README.md"]
# The renderers live in the project's packages.
sys.path.insert(0, str(BASE_DIR))
KINDS = (
    "include|output|queries|figures|endpoints|per-stage|single|per-query|run|load-time|depth"
    "|ceiling"
)
BLOCK = re.compile(rf"(<!-- ({KINDS})(?=\s)(.*?)-->\n)(.*?)(<!-- end -->)", re.S)
LANGUAGES = {".py": "python", ".conf": "ini", ".toml": "toml", ".json": "json", "": "text"}


class SyncError(Exception):
    """A marker points at something that does not exist."""


def fence(body: str, language: str) -> str:
    return f"```{language}\n{body.rstrip()}\n```\n"


def include(argument: str) -> str:
    path, _, symbol = argument.partition("#")
    source = _read(path)
    if symbol:
        source = _symbol(source, symbol, path)
    return fence(source, LANGUAGES.get(Path(path).suffix, "text"))


def output(argument: str) -> str:
    """A committed output (a benchmark's Markdown), exactly as it was written."""
    return _read(argument.strip()).rstrip() + "\n"


def queries(argument: str) -> str:
    from loadtest.markdown import LEFT, RIGHT, table
    from stages import EXPECTED_QUERIES, STAGES

    header = ["endpoint", *(f"`{stage}`" for stage in STAGES)]
    rows = [
        [f"`{endpoint}`", *(costs[stage] for stage in STAGES)]
        for endpoint, costs in EXPECTED_QUERIES.items()
    ]
    return table(header, [LEFT] + [RIGHT] * len(STAGES), rows) + "\n"


def figures(argument: str) -> str:
    from loadtest.report import endpoint_table

    (folder, *endpoint), chosen = _options(argument)
    return endpoint_table(_stages(folder, chosen), " ".join(endpoint)) + "\n"


def endpoints(argument: str) -> str:
    from loadtest.report import comparison_table

    (folder,), chosen = _options(argument)
    return comparison_table(_stages(folder, chosen)) + "\n"


def per_stage(argument: str) -> str:
    from loadtest.report import stage_table

    (folder,), chosen = _options(argument)
    return stage_table(_stages(folder, chosen)) + "\n"


def single(argument: str) -> str:
    from loadtest.report import single_request_note, single_request_table

    (folder,), chosen = _options(argument)
    stages = _stages(folder, chosen)
    # Which figure is cold and which warm; reports made before the warm-up have one.
    note = single_request_note(stages)
    return single_request_table(stages) + "\n" + (f"\n{note}\n" if note else "")


def per_query(argument: str) -> str:
    """One idle request at one stage, on each report's database: its SQL time divided
    by its queries, which is what one query cost there, round trip and rows included.
    The warm request's, where the report has cold and warm ones."""
    from loadtest.markdown import LEFT, RIGHT, number, table

    stage, folders, *endpoint = argument.split()
    endpoint = " ".join(endpoint)
    rows = []
    for folder in folders.split(","):
        report = _report(folder)
        probe = _probe(report, folder, stage, endpoint)
        probe = probe.get("warm", probe)
        per_query_us = probe["db_ms"] * 1000 / probe["queries"]
        database = report["environment"]["database"]
        rows.append(
            [database, number(probe["queries"]), number(probe["db_ms"]), number(per_query_us)]
        )
    header = ["database", "queries", "SQL ms", "µs per query"]
    return table(header, [LEFT] + [RIGHT] * 3, rows) + "\n"


def run(argument: str) -> str:
    from loadtest.report import measured_with

    return measured_with(_report(argument.strip())) + "\n"


def load_time(argument: str) -> str:
    """How long a replay's load ran: the time its requests spanned, stage by stage."""
    from loadtest.markdown import number

    report = _report(argument.strip())
    seconds = [result["duration_s"] for result in report["stages"].values()]
    return (
        f"In the reference run ({report['environment']['database']}), the load's requests "
        f"spanned {number(float(sum(seconds)), ' s', digits=0)} in all: from "
        f"{number(float(min(seconds)))} to {number(float(max(seconds)))} s at each of its "
        f"{len(seconds)} stages, from the first request sent to the last answer.\n"
    )


def depth(argument: str) -> str:
    from loadtest.depth import PAGE_KINDS
    from loadtest.depth_report import goal_line, page_table

    report = _report(argument.strip())
    parts = [f"{kind.capitalize()}:\n\n{page_table(report, kind)}\n" for kind in PAGE_KINDS]
    parts.append(
        f"Measured with `{report['command']}`; {goal_line(report['goal'], report['sizes'])}.\n"
    )
    return "\n".join(parts)


def ceiling(argument: str) -> str:
    """A measure_ceiling report: every figure, or with `setups` the server setups side
    by side; then whether the generator stayed lighter than the server, and the command."""
    from loadtest import ceiling_report

    folder, *options = argument.split()
    if options not in ([], ["setups"]):
        raise SyncError(f"ceiling {folder}: unknown option {' '.join(options)} (setups)")
    report = _report(folder)
    render_table = ceiling_report.comparison_table if options else ceiling_report.results_table
    rounds = report["settings"]["rounds"]
    how = f"the median of {rounds} rounds" if rounds > 1 else "one round"
    return (
        f"{render_table(report)}\n\n{ceiling_report.generator_line(report)} Each figure is "
        f"{how}; measured with `{report['command']}` on {report['environment']['database']}, "
        f"{report['data']['posts']:,} posts.\n"
    )


def render(text: str) -> str:
    """The chapter `text` with every generated block made anew."""

    def regenerate(match):
        marker, kind, argument, _, end = match.groups()
        body = GENERATORS[kind](argument.strip())
        return f"{marker}{body}{end}"

    fresh, blocks = BLOCK.subn(regenerate, text)
    if blocks != text.count("<!-- end -->"):
        # An `<!-- end -->` that no known marker opens: a marker of another kind, or a typo.
        raise SyncError(f"{text.count('<!-- end -->') - blocks} block(s) with an unknown marker")
    return fresh


GENERATORS = {
    "include": include,
    "output": output,
    "queries": queries,
    "figures": figures,
    "endpoints": endpoints,
    "per-stage": per_stage,
    "single": single,
    "per-query": per_query,
    "run": run,
    "load-time": load_time,
    "depth": depth,
    "ceiling": ceiling,
}


def _read(path: str) -> str:
    file = BASE_DIR / path
    if not file.is_file():
        raise SyncError(f"no file {path}")
    return file.read_text()


def _symbol(source: str, name: str, path: str) -> str:
    """A top-level class, function, assignment or `if` block, with the comment lines
    just above it; `Class.name`, one of a class's own, dedented."""
    lines = source.splitlines()
    body = ast.parse(source).body
    if "." in name and not name.startswith("if "):
        outer, name = name.split(".", 1)
        classes = [n for n in body if isinstance(n, ast.ClassDef) and n.name == outer]
        if not classes:
            raise SyncError(f"no top-level class {outer} in {path}")
        body = classes[0].body
    for node in body:
        targets = [getattr(t, "id", None) for t in getattr(node, "targets", [])]
        if isinstance(node, ast.AnnAssign):
            targets.append(getattr(node.target, "id", None))
        is_if = isinstance(node, ast.If) and f"if {ast.unparse(node.test)}" == name
        if getattr(node, "name", None) == name or name in targets or is_if:
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            while start > 1 and lines[start - 2].lstrip().startswith("#"):
                start -= 1
            return textwrap.dedent("\n".join(lines[start - 1 : node.end_lineno]))
    raise SyncError(f"no {name} in {path}")


def _report(folder: str) -> dict:
    return json.loads(_read(f"{folder}/report.json"))


def _options(argument: str) -> tuple[list[str], list[str] | None]:
    """A marker's words, and the stages its last word `stages=a,b` picks (None: all)."""
    words = argument.split()
    if words and words[-1].startswith("stages="):
        return words[:-1], words[-1].removeprefix("stages=").split(",")
    return words, None


def _stages(folder: str, chosen: list[str] | None) -> dict:
    """A report's results by stage: all of them, or the `chosen` ones, which must follow
    each other in the journey. The first one shown is compared with nothing: the stage
    it was compared with is not in the table."""
    stages = _report(folder)["stages"]
    if chosen is None:
        return stages
    names = list(stages)
    if unknown := [name for name in chosen if name not in stages]:
        raise SyncError(f"{folder} has no stage {', '.join(unknown)} (it has {', '.join(names)})")
    first = names.index(chosen[0])
    if names[first : first + len(chosen)] != chosen:
        raise SyncError(f"stages={','.join(chosen)}: not consecutive stages of {folder}")
    picked = {name: stages[name] for name in chosen}
    lead = picked[chosen[0]]
    picked[chosen[0]] = {
        **lead,
        "endpoints": {
            name: {**figures, "vs_previous": None} for name, figures in lead["endpoints"].items()
        },
    }
    return picked


def _probe(report: dict, folder: str, stage: str, endpoint: str) -> dict:
    """The idle-server request to `endpoint` at `stage`: its `db_ms` and `queries`."""
    try:
        return report["stages"][stage]["single_requests"][endpoint]
    except KeyError:
        raise SyncError(f"{folder} has no single request to {endpoint} at {stage}") from None


def main(argv: list[str]) -> int:
    # The depth tables come from loadtest.depth, which imports the models.
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    check = "--check" in argv
    stale = []
    for chapter in PAGES:
        text = chapter.read_text()
        fresh = render(text)
        if fresh != text:
            stale.append(chapter.relative_to(BASE_DIR))
            if not check:
                chapter.write_text(fresh)
    if check and stale:
        print("Out of date (run `make docs`): " + ", ".join(map(str, stale)))
        return 1
    for path in stale:
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
