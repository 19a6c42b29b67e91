"""Keep the walkthrough's code and figures identical to the repository's files.

Chapters mark generated blocks with HTML comments, which GitHub does not render:

    <!-- include stages/paginated.py -->            the whole file
    <!-- include stages/paginated.py#Pagination --> one top-level class, function or name
    <!-- include project/urls.py#if settings.DEBUG -->  a top-level `if` block
    <!-- diff stages/naive.py stages/select_related.py -->   a unified diff
    <!-- queries -->                                 the expected query table (stages/)
    <!-- figures reports/reference/sqlite GET /api/posts/ -->  one endpoint, every stage
    <!-- run reports/reference/sqlite -->            the command and machine of a report
    <!-- single reports/reference/sqlite -->         one list request per stage, idle server
    <!-- depth reports/reference/pagination-sqlite --> page 1 and a deep page as data grows

Each marker is followed by its generated block and closed by `<!-- end -->`.

    python docs/sync.py          # rewrite the blocks from the files
    python docs/sync.py --check  # exit 1 if a chapter is out of date (the tests do this)
"""

import ast
import difflib
import json
import re
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs"
BLOCK = re.compile(
    r"(<!-- (include|diff|queries|figures|run|single|depth)\b(.*?)-->\n)(.*?)(<!-- end -->)", re.S
)
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


def diff(argument: str) -> str:
    old, new = argument.split()
    lines = difflib.unified_diff(
        _read(old).splitlines(keepends=True),
        _read(new).splitlines(keepends=True),
        fromfile=old,
        tofile=new,
    )
    return fence("".join(lines), "diff")


def queries(argument: str) -> str:
    sys.path.insert(0, str(BASE_DIR))
    from stages import EXPECTED_QUERIES, STAGES

    lines = ["| endpoint | " + " | ".join(f"`{s}`" for s in STAGES) + " |"]
    lines.append("|---|" + "--:|" * len(STAGES))
    for endpoint, costs in EXPECTED_QUERIES.items():
        lines.append(f"| `{endpoint}` | " + " | ".join(str(costs[s]) for s in STAGES) + " |")
    return "\n".join(lines) + "\n"


def figures(argument: str) -> str:
    folder, endpoint = argument.split(maxsplit=1)
    report = _report(folder)
    lines = [
        "| stage | requests | p50 ms | p95 ms | p99 ms | RPS | queries/request | p95 vs previous |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for stage, result in report["stages"].items():
        row = result["endpoints"].get(endpoint)
        if row is None:
            # The stage was too slow for any user to get this far in their journey.
            lines.append(f"| `{stage}` | 0 | – | – | – | 0.0 | – | – |")
            continue
        ratio = (row.get("vs_previous") or {}).get("p95_times_lower")
        lines.append(
            f"| `{stage}` | {row['requests']:,} | {_num(row['p50_ms'])} | {_num(row['p95_ms'])} "
            f"| {_num(row['p99_ms'])} | {row['rps']:.1f} | {_num(row['queries_per_request'])} "
            f"| {f'{ratio:,.1f}× lower' if ratio else '–'} |"
        )
    return "\n".join(lines) + "\n"


def run(argument: str) -> str:
    report = _report(argument.strip())
    env, data, profile = report["environment"], report["dataset"], report["profile"]
    return (
        f"Measured with `{report['command']}` on {data['posts']:,} posts, "
        f"{data['comments']:,} comments and {data['users']:,} users; profile "
        f"`{profile['name']}` (up to {profile['users']} users, {profile['run_time_s']:g} s per "
        f"stage); {env['cpu_count']} CPUs, Python {env['python']}, Django {env['django']}, "
        f"{env['database']}, gunicorn {env['server_workers']} workers × "
        f"{env['server_threads']} threads, Locust {env['locust']}.\n"
    )


def single(argument: str) -> str:
    sys.path.insert(0, str(BASE_DIR))
    from loadtest.report import single_request_table

    return single_request_table(_report(argument.strip())["stages"]) + "\n"


def depth(argument: str) -> str:
    sys.path.insert(0, str(BASE_DIR))
    from loadtest.depth import PAGE_KINDS, goal_line, table

    report = _report(argument.strip())
    parts = [f"{kind.capitalize()}:\n\n{table(report, kind)}\n" for kind in PAGE_KINDS]
    parts.append(
        f"Measured with `{report['command']}`; {goal_line(report['goal'], report['sizes'])}.\n"
    )
    return "\n".join(parts)


def render(text: str) -> str:
    """The chapter `text` with every generated block made anew."""

    def regenerate(match):
        marker, kind, argument, _, end = match.groups()
        body = GENERATORS[kind](argument.strip())
        return f"{marker}{body}{end}"

    return BLOCK.sub(regenerate, text)


GENERATORS = {
    "include": include,
    "diff": diff,
    "queries": queries,
    "figures": figures,
    "run": run,
    "single": single,
    "depth": depth,
}


def _read(path: str) -> str:
    file = BASE_DIR / path
    if not file.is_file():
        raise SyncError(f"no file {path}")
    return file.read_text()


def _symbol(source: str, name: str, path: str) -> str:
    """A top-level class, function, assignment or `if` block, with the comment lines
    just above it."""
    lines = source.splitlines()
    for node in ast.parse(source).body:
        targets = [getattr(t, "id", None) for t in getattr(node, "targets", [])]
        if isinstance(node, ast.AnnAssign):
            targets.append(getattr(node.target, "id", None))
        is_if = isinstance(node, ast.If) and f"if {ast.unparse(node.test)}" == name
        if getattr(node, "name", None) == name or name in targets or is_if:
            start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
            while start > 1 and lines[start - 2].lstrip().startswith("#"):
                start -= 1
            return "\n".join(lines[start - 1 : node.end_lineno])
    raise SyncError(f"no top-level {name} in {path}")


def _report(folder: str) -> dict:
    return json.loads(_read(f"{folder}/report.json"))


def _num(value) -> str:
    return "–" if value is None else f"{value:,.1f}"


def main(argv: list[str]) -> int:
    # The depth tables come from loadtest.depth, which imports the models.
    import os

    import django

    sys.path.insert(0, str(BASE_DIR))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    django.setup()
    check = "--check" in argv
    stale = []
    for chapter in sorted(DOCS.glob("*.md")):
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
