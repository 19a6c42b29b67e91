"""A report names the commit it was made at; a reference report whose figures' files
have changed since then fails here, with the command that makes it anew."""

import json
import subprocess

import pytest

from loadtest import provenance
from tests.conftest import BASE_DIR

REFERENCE = BASE_DIR / "reports" / "reference"
REPORTS = sorted(path.parent for path in REFERENCE.glob("*/report.json"))


def git(*args, cwd):
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def in_git_checkout() -> bool:
    try:
        git("rev-parse", "HEAD", cwd=BASE_DIR)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository of its own, with a stage module and a README committed, as the
    checkout provenance reads."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    git("init", "-q", cwd=tmp_path)
    git("config", "user.email", "reader@example.com", cwd=tmp_path)
    git("config", "user.name", "A reader", cwd=tmp_path)
    (tmp_path / "stages").mkdir()
    (tmp_path / "stages" / "paginated.py").write_text("page_size = 20\n")
    (tmp_path / "README.md").write_text("Hello\n")
    git("add", "-A", cwd=tmp_path)
    git("commit", "-qm", "first", cwd=tmp_path)
    monkeypatch.setattr(provenance, "BASE_DIR", tmp_path)
    return tmp_path


def commit_all(repo, message):
    git("add", "-A", cwd=repo)
    git("commit", "-qm", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


class TestRecord:
    def test_a_clean_checkout_gives_its_commit_and_nothing_uncommitted(self, repo):
        assert provenance.record("replay") == {
            "report": "replay",
            "commit": git("rev-parse", "HEAD", cwd=repo),
            "uncommitted": [],
        }

    def test_uncommitted_changes_to_files_that_decide_the_figures_are_named(self, repo):
        (repo / "stages" / "paginated.py").write_text("page_size = 50\n")
        (repo / "stages" / "faster.py").write_text("")
        (repo / "README.md").write_text("Hello again\n")  # decides no figure

        recorded = provenance.record("replay")

        assert recorded["uncommitted"] == ["stages/faster.py", "stages/paginated.py"]

    def test_outside_a_git_checkout_there_is_no_commit(self, tmp_path, monkeypatch):
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
        monkeypatch.setattr(provenance, "BASE_DIR", tmp_path)

        assert provenance.record("pagination") == {
            "report": "pagination",
            "commit": None,
            "uncommitted": [],
        }


class TestChangedSince:
    def test_changes_elsewhere_do_not_count(self, repo):
        made_at = git("rev-parse", "HEAD", cwd=repo)
        (repo / "README.md").write_text("Hello again\n")
        commit_all(repo, "docs")

        assert provenance.changed_since(made_at, "replay") == []

    def test_a_committed_change_to_a_stage_is_named(self, repo):
        made_at = git("rev-parse", "HEAD", cwd=repo)
        (repo / "stages" / "paginated.py").write_text("page_size = 50\n")
        commit_all(repo, "bigger pages")

        assert provenance.changed_since(made_at, "pagination") == ["stages/paginated.py"]

    def test_a_commit_this_clone_does_not_have_is_an_error(self, repo):
        with pytest.raises(provenance.GitError, match="bad object"):
            provenance.changed_since("0" * 40, "replay")


def regenerate(report: dict, folder) -> str:
    """What to run to make the reference report in `folder` anew."""
    command = report["command"]
    database = report["environment"]["database"]
    if database.startswith("PostgreSQL") and "--database" not in command:
        command = f"DATABASE_URL=postgres://postgres@127.0.0.1:5432/test {command}"
    return (
        f"`{command} --out <new folder>`, then replace {folder.relative_to(BASE_DIR)}/ "
        "with it (reports/reference/README.md says how each was made)"
    )


@pytest.mark.skipif(not in_git_checkout(), reason="not a git checkout: no history to compare")
@pytest.mark.parametrize("folder", REPORTS, ids=lambda folder: folder.name)
def test_the_reference_report_was_made_from_the_code_as_it_is(folder):
    report = json.loads((folder / "report.json").read_text())
    name = folder.relative_to(BASE_DIR)
    source = report.get("provenance") or {}
    again = regenerate(report, folder)

    assert source.get("commit"), (
        f"{name} names no commit: it was made before reports recorded theirs. "
        f"Regenerate it: {again}"
    )
    assert source["uncommitted"] == [], (
        f"{name} was made with uncommitted changes to {', '.join(source['uncommitted'])}. "
        f"Commit them, then regenerate it: {again}"
    )
    try:
        changed = provenance.changed_since(source["commit"], source["report"])
    except provenance.GitError as error:
        pytest.fail(
            f"{name} was made at commit {source['commit']}, which this clone does not have "
            f"({error}). In a shallow clone, `git fetch --unshallow`; else regenerate it: "
            f"{again}"
        )
    assert changed == [], (
        f"{name} was made at commit {source['commit'][:12]}; since then, files that decide "
        f"its figures have changed: {', '.join(changed)}. Regenerate it: {again}"
    )
