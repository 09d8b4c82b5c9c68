"""The docs' include lines stay intact (a formatter once turned them into plain text)."""

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


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
