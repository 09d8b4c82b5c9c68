import json

import numpy as np
import pytest

from dermnet import UnknownNameError, __version__
from dermnet.transforms import Compose, Resize, ShadesOfGray, list_transforms, transform_from_dict


def test_compose_round_trips_through_json_and_gives_the_same_pixels():
    pipeline = Compose([ShadesOfGray(p=4), Resize((8, 12), mode="pad")])
    data = json.loads(json.dumps(pipeline.to_dict()))
    assert data["dermnet_version"] == __version__
    rebuilt = transform_from_dict(data)
    assert rebuilt == pipeline
    image = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(rebuilt(image), pipeline(image))


def test_batches_are_transformed_image_by_image():
    batch = np.random.default_rng(1).integers(0, 255, (3, 10, 10, 3), dtype=np.uint8)
    out = ShadesOfGray()(batch)
    assert out.shape == batch.shape
    np.testing.assert_array_equal(out[1], ShadesOfGray()(batch[1]))


def test_registry_and_unknown_name():
    assert {"shades_of_gray", "resize", "compose"} <= set(list_transforms())
    with pytest.raises(UnknownNameError, match="shades_of_gray"):
        transform_from_dict({"name": "shades_of_grey", "config": {}})
