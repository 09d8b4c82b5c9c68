"""The docs stay buildable and honest: include lines intact (a formatter once turned them
into plain text), the strict build not silenced, every figure present and drawn by
scripts/build_doc_figures.py, docstring sections that mkdocstrings understands."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIGURES = DOCS / "figures"
#: Pages that must show at least one figure drawn by scripts/build_doc_figures.py.
PAGES_WITH_FIGURES = (
    "explaining.md",
    "imbalance-and-evaluation.md",
    "preprocessing.md",
    "tutorials/ham10000-7class.md",
)
_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*(?:<([^>]+)>|([^)\s]+))(?:\s+\"[^\"]*\")?\s*\)")
_HTML_IMAGE = re.compile(r"<img\b[^>]*\bsrc=[\"']([^\"']+)[\"']", re.IGNORECASE)


def _images(page: Path) -> list[str]:
    text = page.read_text()
    markdown = [bracketed or plain for bracketed, plain in _MARKDOWN_IMAGE.findall(text)]
    return markdown + _HTML_IMAGE.findall(text)


def test_snippet_includes_are_well_formed_and_point_to_files():
    root = DOCS.parent
    found = 0
    for page in DOCS.rglob("*.md"):
        for line in page.read_text().splitlines():
            if "--8" not in line:
                continue
            match = re.fullmatch(r'--8<-- "([^"]+)"', line.strip())
            assert match, f"{page.name}: malformed snippet include {line!r}"
            assert (root / match.group(1)).is_file(), f"{page.name}: {match.group(1)} is missing"
            found += 1
    assert found >= 2


def test_image_pattern_reads_markdown_and_html_references(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        '![a](figures/a.png)\n![b](<../figures/b c.png> "title")\n<img alt="c" src="c.png">\n'
        "[not an image](d.png)\n"
    )
    assert _images(page) == ["figures/a.png", "../figures/b c.png", "c.png"]


def _mkdocs_builds(script: str) -> list[list[str]]:
    """The words of each ``mkdocs build`` command line of a shell script."""
    calls = [
        shlex.split(line.split("#", 1)[0])
        for line in script.splitlines()
        if re.search(r"\bmkdocs\b", line) and not line.lstrip().startswith(("#", "echo"))
    ]
    return [words for words in calls if "build" in words]


def test_mkdocs_builds_finds_the_build_line_and_its_flags():
    script = 'echo "== mkdocs build"\n# mkdocs build --quiet\n"$PY" -m mkdocs build -q --strict\n'
    assert _mkdocs_builds(script) == [["$PY", "-m", "mkdocs", "build", "-q", "--strict"]]


def test_scripts_test_builds_the_docs_strictly_without_quiet():
    """--quiet hides the warnings that --strict counts; the check could then never fail."""
    builds = _mkdocs_builds((ROOT / "scripts" / "test").read_text())
    assert builds, "scripts/test no longer runs mkdocs build"
    for words in builds:
        assert "--strict" in words, f"mkdocs build without --strict: {words}"
        assert not {"--quiet", "-q"} & set(words), f"mkdocs build hides warnings: {words}"


def test_every_image_in_the_docs_exists():
    found = 0
    for page in DOCS.rglob("*.md"):
        for ref in _images(page):
            if re.match(r"[a-z]+://", ref):
                continue
            target = (page.parent / ref.split("#")[0]).resolve()
            assert target.is_file(), f"{page.relative_to(DOCS)}: image {ref} does not exist"
            found += 1
    assert found >= len(PAGES_WITH_FIGURES)


@pytest.mark.parametrize("name", PAGES_WITH_FIGURES)
def test_page_shows_a_figure_drawn_by_the_figure_script(name):
    page = DOCS / name
    figures = [ref for ref in _images(page) if (page.parent / ref).resolve().parent == FIGURES]
    assert figures, f"{name} shows no figure from docs/figures/"
    assert "scripts/build_doc_figures.py" in page.read_text(), (
        f"{name}: the captions must say which script drew the figures"
    )


def test_committed_figures_are_small_and_all_used():
    pngs = sorted(FIGURES.glob("*.png"))
    assert pngs
    for png in pngs:
        assert png.stat().st_size < 160_000, f"{png.name} is {png.stat().st_size} bytes"
    assert sum(p.stat().st_size for p in pngs) < 2_000_000
    used = {(page.parent / ref).resolve() for page in DOCS.rglob("*.md") for ref in _images(page)}
    unused = [p.name for p in pngs if p.resolve() not in used]
    assert not unused, f"figures no page shows: {unused}"


def test_docstrings_use_section_names_that_mkdocstrings_renders():
    """griffe knows "Examples:", not "Example:"; under the latter the doctests render as
    nested quotes and their output (``['a', 'b']``) is read as cross-references."""
    bad = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if re.fullmatch(r"\s+Example:\s*", line):
                bad.append(f"{path.relative_to(ROOT)}:{number}")
    assert not bad, f"'Example:' section headers (use 'Examples:'): {bad}"


@pytest.mark.slow
def test_figure_script_draws_every_figure_the_docs_show(tmp_path):
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_doc_figures.py"), "--epochs", "1",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    drawn = {p.name for p in tmp_path.glob("*.png")}
    assert drawn == {p.name for p in FIGURES.glob("*.png")}
    for png in tmp_path.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert png.stat().st_size < 160_000
