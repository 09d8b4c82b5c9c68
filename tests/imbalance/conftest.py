"""Fixtures for the imbalance tests: tiny records whose pixels encode their class."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dermnet.data import Records

CLASSES = ("a", "b", "c")


@pytest.fixture
def tiny_records(tmp_path, write_image):
    """Records of 8x8 PNGs: 12 of 'a', 5 of 'b', 3 of 'c'; every pixel = 40 * (class + 1).

    Each image is its own lesion except two 'a' images that share lesion L0.
    """

    def build(counts=(12, 5, 3), role="train"):
        rows = []
        for c, count in enumerate(counts):
            for i in range(count):
                value = 40 * (c + 1)
                path = write_image(
                    tmp_path / CLASSES[c] / f"{i}.png", np.full((8, 8, 3), value, np.uint8)
                )
                lesion = "L0" if (c == 0 and i < 2) else f"L{c}_{i}"
                rows.append(
                    {"image_path": str(path), "label": CLASSES[c], "lesion_id": lesion,
                     "image_id": f"{CLASSES[c]}{i}"}
                )  # fmt: skip
        frame = pd.DataFrame(rows)
        return Records(frame, CLASSES, name="tiny", group_cols=("lesion_id",), role=role)

    return build
