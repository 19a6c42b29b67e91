"""Keep the walkthrough's code and figures identical to the repository's files.

Chapters mark generated blocks with HTML comments, which GitHub does not render:

    <!-- include stages/paginated.py -->            the whole file
    <!-- include stages/paginated.py#Pagination --> one top-level class, function or name
    <!-- include project/urls.py#if settings.SILK_ENABLED -->  a top-level `if` block
    <!-- diff stages/naive.py stages/select_related.py -->   a unified diff
    <!-- queries -->                                 the expected query table (stages/)
    <!-- figures reports/reference/sqlite GET /api/posts/ -->  one endpoint, every stage
    <!-- run reports/reference/sqlite -->            the command and machine of a report
    <!-- single reports/reference/sqlite -->         requests on the idle server, cold and warm
    <!-- depth reports/reference/pagination-sqlite --> page 1 and a deep page as data grows

Each marker is followed by its generated block and closed by `<!-- end -->`. The
figures are rendered by the reports' own code (loadtest/report.py and
loadtest/depth_report.py), so a chapter shows what the report shows.

    python docs/sync.py          # rewrite the blocks from the files
    python docs/sync.py --check  # exit 1 if a chapter is out of date (tests/test_docs.py
                                 # checks the same)
"""

import ast
import difflib
import json
import re
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs"
# The renderers live in the project's packages.
sys.path.insert(0, str(BASE_DIR))
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

    folder, endpoint = argument.split(maxsplit=1)
    return endpoint_table(_report(folder)["stages"], endpoint) + "\n"


def run(argument: str) -> str:
    from loadtest.report import measured_with

    return measured_with(_report(argument.strip())) + "\n"


def single(argument: str) -> str:
    from loadtest.report import single_request_note, single_request_table

    stages = _report(argument.strip())["stages"]
    # Which figure is cold and which warm; reports made before the warm-up have one.
    note = single_request_note(stages)
    return single_request_table(stages) + "\n" + (f"\n{note}\n" if note else "")


def depth(argument: str) -> str:
    from loadtest.depth import PAGE_KINDS
    from loadtest.depth_report import goal_line, page_table

    report = _report(argument.strip())
    parts = [f"{kind.capitalize()}:\n\n{page_table(report, kind)}\n" for kind in PAGE_KINDS]
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


def main(argv: list[str]) -> int:
    # The depth tables come from loadtest.depth, which imports the models.
    import os

    import django

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
