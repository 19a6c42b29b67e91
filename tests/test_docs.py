"""The walkthrough cannot drift: its code, diffs and figures are the repository's own."""

import importlib.util
import json
import re
from pathlib import Path

import pytest

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
    assert [chapter.name[:2] for chapter in CHAPTERS] == [f"{n:02}" for n in range(9)]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_every_included_snippet_diff_and_figure_matches_the_repository(chapter):
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
