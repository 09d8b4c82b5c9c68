"""The README's Python quickstart must run as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quickstart_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README.md has no ```python block"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {"__name__": "__readme__"})
    from PIL import Image

    with Image.open(tmp_path / "gradcam_overlay.png") as saved:  # the file the reader opens
        assert saved.size == (64, 64)


def test_readme_shows_both_commands():
    text = README.read_text()
    assert 'pip install -e ".[dev]" && dermnet demo' in text
    assert "scripts/test" in text
