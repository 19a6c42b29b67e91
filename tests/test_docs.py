"""The walkthrough cannot drift: its code, diffs and figures are the repository's own."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from loadtest import databases
from stages import STAGES

BASE_DIR = Path(__file__).resolve().parent.parent
DOCS = BASE_DIR / "docs"
CHAPTERS = sorted(DOCS.glob("*.md"))
REFERENCE = BASE_DIR / "reports" / "reference"
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def load_sync():
    spec = importlib.util.spec_from_file_location("docs_sync", DOCS / "sync.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.*)$", markdown, re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_there_is_a_chapter_per_step_of_the_walkthrough():
    assert [chapter.name[:2] for chapter in CHAPTERS] == [f"{n:02}" for n in range(14)]


@pytest.mark.parametrize("chapter", [*CHAPTERS, BASE_DIR / "README.md"], ids=lambda p: p.name)
def test_every_included_snippet_and_figure_matches_the_repository(chapter):
    text = chapter.read_text()

    fresh = load_sync().render(text)

    assert fresh == text, f"{chapter.name} is out of date: run `make docs`"


@pytest.mark.parametrize("chapter", [*CHAPTERS, BASE_DIR / "README.md"], ids=lambda p: p.name)
def test_every_relative_link_resolves(chapter):
    text = chapter.read_text()
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s) and mailto links are not checked offline
        path, _, anchor = target.partition("#")
        file = (chapter.parent / path).resolve() if path else chapter
        if not file.exists():
            broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in anchors(file.read_text()):
            broken.append(target)

    assert broken == []


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_each_chapter_has_the_sections_and_links_to_the_next(chapter):
    text = chapter.read_text()
    position = CHAPTERS.index(chapter)

    sections = re.findall(r"^## (.+)$", text, re.M)
    assert sections == ["Background", "Objectives", "Steps", "Analysis", "Extra credit"]
    if chapter != CHAPTERS[-1]:
        assert "Next: [" in text and f"]({CHAPTERS[position + 1].name})" in text


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_reference_report_has_every_stage_and_says_how_it_was_made(database):
    folder = REFERENCE / database
    report = json.loads((folder / "report.json").read_text())

    assert list(report["stages"]) == list(STAGES)
    assert report["command"].startswith("python manage.py replay")
    assert {"cpu_count", "python", "django", "database"} <= set(report["environment"])
    assert (folder / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert all(result["writes"]["ok"] for result in report["stages"].values())


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_reference_pagination_report_covers_both_paginating_stages(database):
    report = json.loads((REFERENCE / f"pagination-{database}" / "report.json").read_text())

    assert set(report["results"]) == {"paginated", "cursor"}
    assert report["sizes"] == [5_000, 100_000, 1_000_000]


def test_a_stale_snippet_is_caught(tmp_path):
    sync = load_sync()
    stale = "<!-- include stages/paginated.py#Pagination -->\n```python\nold\n```\n<!-- end -->\n"

    assert sync.render(stale) != stale
    assert "page_size = 20" in sync.render(stale)


def test_a_marker_of_an_unknown_kind_is_caught():
    sync = load_sync()

    with pytest.raises(sync.SyncError, match="unknown marker"):
        sync.render("<!-- diff stages/naive.py stages/cursor.py -->\nold\n<!-- end -->\n")


class TestStageFilter:
    """A chapter shows its own step's rows: `stages=` picks them from a report."""

    def test_only_the_stages_asked_for_are_shown(self):
        rendered = load_sync().render(
            "<!-- figures reports/reference/sqlite GET /api/posts/ stages=select_related,paginated"
            " -->\n<!-- end -->\n"
        )

        rows = [line.split("|")[1].strip() for line in rendered.splitlines()[3:-1]]
        assert rows == ["`select_related`", "`paginated`"]

    def test_the_first_stage_shown_is_compared_with_nothing(self):
        rendered = load_sync().render(
            "<!-- figures reports/reference/sqlite GET /api/posts/ stages=paginated,cursor -->"
            "\n<!-- end -->\n"
        )

        first, second = (
            line.rstrip(" |").rsplit("|", 1)[1].strip() for line in rendered.splitlines()[3:5]
        )
        assert first == "–"
        assert re.fullmatch(r"[\d,.]+× (lower|higher)|same", second)

    @pytest.mark.parametrize("stages", ["naive,paginated", "naive,fast"])
    def test_stages_that_do_not_follow_each_other_are_refused(self, stages):
        sync = load_sync()

        with pytest.raises(sync.SyncError):
            sync.render(f"<!-- single reports/reference/sqlite stages={stages} -->\n<!-- end -->\n")


class TestCeilingMarker:
    """Chapters 11 to 13 show measure_ceiling's reports through the report's own tables."""

    def test_setups_are_columns_side_by_side(self):
        rendered = load_sync().render(
            "<!-- ceiling reports/reference/servers-sqlite setups -->\n<!-- end -->\n"
        )

        header = rendered.splitlines()[1]
        assert "`sync:2`" in header and "`gthread:2x1`" in header and "`gthread:4x1`" in header
        assert "measure_ceiling" in rendered

    def test_without_setups_every_figure_is_a_row(self):
        report = json.loads((REFERENCE / "ceiling-sqlite" / "report.json").read_text())
        rendered = load_sync().render(
            "<!-- ceiling reports/reference/ceiling-sqlite -->\n<!-- end -->\n"
        )

        rows = [line for line in rendered.splitlines() if line.startswith("| ")][1:]
        stages = report["results"]["gthread:2x1"]
        assert len(rows) == sum(len(endpoints) for endpoints in stages.values())

    def test_an_unknown_option_is_refused(self):
        sync = load_sync()

        with pytest.raises(sync.SyncError, match="unknown option"):
            sync.render("<!-- ceiling reports/reference/ceiling-sqlite fast -->\n<!-- end -->\n")


class TestExamples:
    """The scripts the chapters include run as the chapters say."""

    def run(self, script, *arguments):
        return subprocess.run(
            [sys.executable, DOCS / "examples" / script, *map(str, arguments)],
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def test_littles_law_reads_a_report(self):
        result = self.run("littles_law.py", REFERENCE / "sqlite")

        assert result.returncode == 0, result.stderr
        assert [line.split(":")[0] for line in result.stdout.splitlines()] == list(STAGES)

    def test_compare_runs_compares_two_folders_of_samples(self):
        before, after = REFERENCE / "sqlite" / "paginated", REFERENCE / "sqlite" / "cursor"

        result = self.run("compare_runs.py", before, after)

        assert result.returncode == 0, result.stderr
        assert "| GET /api/posts/ | paginated |" in result.stdout
        assert "| GET /api/posts/ | cursor |" in result.stdout


def test_each_benchmark_output_names_the_command_that_made_it():
    outputs = sorted((REFERENCE / "benchmarks").glob("*.md"))

    assert outputs
    for output in outputs:
        # <script>.md, or <script>-<stage>.md for a run with --stage <stage>.
        script, _, stage = output.stem.partition("-")
        first_line = output.read_text().splitlines()[0]
        command = f"Command: `python benchmarks/{script}.py"
        assert first_line.startswith(command), output.name
        assert not stage or f"--stage {stage}" in first_line, output.name
        assert (BASE_DIR / "benchmarks" / f"{script}.py").is_file()


def sh_blocks(chapter: Path) -> list[list[str]]:
    """The command lines of each ```sh block of a chapter."""
    blocks = re.findall(r"```sh\n(.*?)```", chapter.read_text(), re.S)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


@pytest.mark.skipif(databases.project_server() is None, reason="needs PostgreSQL")
def test_chapter_8_commands_set_up_a_fresh_postgresql_database_in_order():
    """Chapter 8's first block as written, but for the replay, on a database of the test's
    own instead of `test`: createdb, then migrate, then seed."""
    commands = sh_blocks(DOCS / "08-sqlite-vs-postgresql.md")[0]
    exported, *commands = commands
    assert exported == "export DATABASE_URL=postgres://postgres@127.0.0.1:5432/test"
    name = f"docs_{uuid.uuid4().hex[:12]}"
    environment = {**os.environ, "DATABASE_URL": exported.split("=", 1)[1][: -len("test")] + name}
    try:
        for command in commands:
            if " replay" in command:
                continue  # minutes long: the replay is tested in test_load.py
            command = re.sub(r"\btest$", name, command)
            command = command.replace(".venv/bin/python", sys.executable)
            result = subprocess.run(
                command,
                shell=True,
                cwd=BASE_DIR,
                env=environment,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, f"{command}: {result.stderr[-2000:]}"
    finally:
        with databases.admin(databases.project_server()) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
