"""The transforms on real images under $DERMNET_DATA_ROOT (skipped where the folder is absent)."""

import numpy as np
import pytest
from PIL import Image

from dermnet import transforms as T
from dermnet.transforms import functional as F
from tests.conftest import shared_dataset

pytestmark = pytest.mark.slow


def _pairs():
    folder = shared_dataset("ham10000_fullres_sample")
    images = sorted((folder / "images").glob("*.jpg"))
    assert len(images) == 150
    for path in images:
        mask_path = folder / "masks_expert" / f"{path.stem}_expert.png"
        image = np.asarray(Image.open(path).convert("RGB"))
        mask = np.asarray(Image.open(mask_path)) > 0
        yield path.name, image, mask


def _p_norms(image, p=6.0):
    x = image.reshape(-1, 3).astype(np.float64)
    return np.power(np.mean(x**p, axis=0), 1 / p)


def test_dermoscopy_preset_on_all_150_keeps_the_lesion_inside_the_frame():
    pipeline = T.preset("dermoscopy", image_size=224)
    spreads_in, spreads_out, hair_on_lesion, kept = [], [], [], []
    for name, image, mask in _pairs():
        assert image.shape == (450, 600, 3), name
        out, out_mask = pipeline(image, mask=mask)
        assert out.shape == (224, 224, 3), name
        assert out.dtype == np.uint8
        assert out.max() > 0
        # padded resize: scale 224/600, so the lesion area scales by its square
        area_ratio = out_mask.sum() / (mask.sum() * (224 / 600) ** 2)
        kept.append(area_ratio)
        top, left, bottom, right = F.mask_bbox(out_mask)
        assert top >= 0
        assert left >= 0
        assert bottom <= 224
        assert right <= 224
        spreads_in.append(np.ptp(_p_norms(image)))
        spreads_out.append(np.ptp(_p_norms(out[25:199])))  # without the black bars
        hair_on_lesion.append(pipeline[0].hair_mask(image)[mask].mean())
    kept = np.array(kept)
    assert np.all(np.abs(kept - 1.0) < 0.05), kept.min()
    # Shades of Gray equalises the channel 6-norms of every image
    assert np.median(spreads_out) < 0.1 * np.median(spreads_in)
    # hair removal inpaints a small part of the lesion (hairs over it, pigment network)
    assert np.median(hair_on_lesion) < 0.06


def test_crop_to_the_expert_mask_keeps_every_lesion_pixel():
    crop = T.Compose([T.CropToMask(margin=0.1, square=True), T.Resize(128)])
    for name, image, mask in _pairs():
        cropped, cropped_mask = T.CropToMask(margin=0.1, square=True)(image, mask=mask)
        assert cropped_mask.sum() == mask.sum(), name
        assert cropped.shape[:2] == cropped_mask.shape
        out, _ = crop(image, mask=mask)
        assert out.shape == (128, 128, 3)


def test_preset_in_tf_data_on_real_jpegs():
    import tensorflow as tf

    folder = shared_dataset("ham10000_fullres_sample")
    paths = [str(p) for p in sorted((folder / "images").glob("*.jpg"))[:6]]
    pipeline = T.preset("dermoscopy", image_size=(96, 128))

    def decode(path):
        return tf.io.decode_jpeg(tf.io.read_file(path), channels=3)

    ds = tf.data.Dataset.from_tensor_slices(paths).map(decode)
    ds = ds.map(T.tf_map(pipeline, output_dtype="float32")).batch(3)
    assert ds.element_spec.shape.as_list() == [None, 96, 128, 3]
    batches = list(ds)
    assert [tuple(b.shape) for b in batches] == [(3, 96, 128, 3)] * 2
    assert float(tf.reduce_max(batches[0])) <= 255.0


def test_microscopy_preset_on_the_malaria_cells():
    folder = shared_dataset("malaria_rgb")
    pipeline = T.preset("microscopy", image_size=64)
    paths = sorted(folder.glob("*/*.png"))
    assert len(paths) == 200
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        assert pipeline(image).shape == (64, 64, 3), path.name
        normalised = pipeline[0](image)  # Reinhard, before the resize
        background = image.max(axis=2) <= 10
        np.testing.assert_array_equal(normalised[background], image[background])
        assert np.abs(normalised[~background].astype(int) - image[~background]).mean() > 0
