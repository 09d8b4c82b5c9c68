import numpy as np
import pytest

from dermnet import ParameterError, UnknownNameError
from dermnet.explain import LimeExplainer
from tests.explain.conftest import block_images, metadata_model

BLOCKS = {"scale": 1.0, "sigma": 0.0, "min_size": 1}  # felzenszwalb: one segment per block


def _lime(model, **options):
    defaults = {
        "segmentation": "felzenszwalb",
        "segmentation_params": BLOCKS,
        "num_samples": 200,
        "hide_color": 0.0,
        "num_features": 4,
        "seed": 0,
    }
    return LimeExplainer(model, **{**defaults, **options})


def test_top_superpixels_lie_in_the_quadrant_that_drives_the_class(quadrant):
    images = block_images(2)
    explanations = _lime(quadrant).explain(images, class_index=1)
    for exp in explanations:
        assert exp.segments.max() + 1 == 16  # the 4x4 blocks
        assert exp.class_index == 1
        # the 4 blocks of the top-left quadrant carry the positive weights
        assert exp.positive_mask[:8, :8].all()
        assert not exp.positive_mask[8:, :].any()
        assert not exp.positive_mask[:, 8:].any()
        inside = np.unique(exp.segments[:8, :8])
        outside = np.setdiff1d(np.arange(16), inside)
        # the other blocks get (near) zero weight, whatever their sign
        assert np.abs(exp.weights[outside]).max() < 0.2 * exp.weights[inside].min()
        assert not exp.negative_mask[:8, :8].any()
        assert exp.score > 0.8  # a linear model explains this (softmax of linear) model well
        heat = exp.heatmap
        assert heat.shape == (16, 16)
        assert heat[:8, :8].sum() / heat.sum() > 0.9


def test_same_seed_same_result_and_it_matches_lime_itself(cnn, images32):
    from lime import lime_image

    lime = _lime(cnn, segmentation="slic", segmentation_params=None, hide_color=None)
    first = lime.explain(images32[:2])
    again = lime.explain(images32[:2])
    alone = lime.explain(images32[1])
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.segments, b.segments)
    np.testing.assert_array_equal(alone[0].weights, first[1].weights)
    other = _lime(cnn, segmentation="slic", segmentation_params=None, seed=1).explain(images32[0])
    assert not np.allclose(other[0].weights, first[0].weights)
    # the same perturbations and fit as lime's own explainer, called slowly
    exp = first[0]
    direct = lime_image.LimeImageExplainer(random_state=0).explain_instance(
        images32[0],
        lambda batch: cnn.predict(batch, verbose=0),
        labels=(exp.class_index,),
        top_labels=None,
        num_samples=200,
        batch_size=50,
        segmentation_fn=lambda _image: exp.segments,
    )
    weights = np.zeros_like(exp.weights)
    for feature, weight in direct.local_exp[exp.class_index]:
        weights[feature] = weight
    np.testing.assert_allclose(exp.weights, weights, rtol=1e-4, atol=1e-7)
    assert exp.intercept == pytest.approx(direct.intercept[exp.class_index], rel=1e-4)


@pytest.mark.parametrize("segmentation", ["quickshift", "slic", "felzenszwalb"])
def test_every_segmentation_gives_labels_from_zero(cnn, images32, segmentation):
    lime = LimeExplainer(cnn, segmentation=segmentation, num_samples=20)
    segments = lime.segment(images32[0], 0)
    assert segments.shape == (32, 32)
    assert segments.min() == 0
    assert set(np.unique(segments)) == set(range(segments.max() + 1))


def test_image_and_metadata_model():
    model = metadata_model()
    rng = np.random.default_rng(4)
    inputs = {
        "image": rng.uniform(0, 255, (2, 32, 32, 3)),
        "metadata": rng.normal(size=(2, 4)),
    }
    explanations = _lime(model, segmentation="slic", segmentation_params=None).explain(inputs)
    predicted = model.predict(inputs, verbose=0)
    for i, exp in enumerate(explanations):
        assert exp.class_index == predicted[i].argmax()
        assert exp.prediction == pytest.approx(predicted[i].max(), rel=1e-5)


def test_bad_arguments(cnn):
    with pytest.raises(UnknownNameError, match="slic"):
        LimeExplainer(cnn, segmentation="slick")
    with pytest.raises(ParameterError, match="num_samples"):
        LimeExplainer(cnn, num_samples=1)
    lime = LimeExplainer(cnn, num_samples=10)
    with pytest.raises(ParameterError, match="class indices"):
        lime.explain(np.zeros((32, 32, 3)), class_index=5)
    with pytest.raises(ParameterError, match=r"\(32, 32, 3\)"):
        lime.explain(np.zeros((16, 16, 3)))
