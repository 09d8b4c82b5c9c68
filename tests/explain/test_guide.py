"""The Python examples of the guide docs/explaining.md must run as written."""

import re
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "explaining.md"


@pytest.mark.slow
def test_guide_examples_run():
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(blocks) == 3
    namespace: dict = {"__name__": "__guide__"}
    for block in blocks:
        exec(compile(block, str(GUIDE), "exec"), namespace)
    assert namespace["heatmaps"].shape == (4, 64, 64)
    assert namespace["shap_exp"].values.shape == (1, 64, 64, 3)
    assert 0.0 <= namespace["deletion"].mean_auc <= 1.0
