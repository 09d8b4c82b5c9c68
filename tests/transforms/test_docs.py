"""The preprocessing guide's Python blocks run as written, in order."""

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "preprocessing.md"


@pytest.mark.slow
def test_the_preprocessing_guide_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__guide__"}
    for block in blocks:
        exec(compile(block, str(GUIDE), "exec"), namespace)
    assert namespace["out"].shape == (128, 128, 3)
    assert tuple(namespace["y"].shape) == (4, 7)
