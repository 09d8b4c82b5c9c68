import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.explain import ShapExplainer
from tests.explain.conftest import metadata_model


def test_partition_values_add_up_and_sit_in_the_quadrant(quadrant):
    images = np.random.default_rng(0).uniform(50, 200, (2, 16, 16, 3)).astype("float32")
    shap_exp = ShapExplainer(quadrant, masker="blur(4,4)", max_evals=200).explain(
        images, class_index=1
    )
    assert shap_exp.values.shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(shap_exp.classes, [1, 1])
    probs = quadrant.predict(images, verbose=0)[:, 1]
    # Owen values are efficient: they add up to f(x) - f(everything masked)
    np.testing.assert_allclose(
        shap_exp.values.sum(axis=(1, 2, 3)), probs - shap_exp.base_values, atol=1e-4
    )
    # only the top-left quadrant moves class 1's score
    attribution = np.abs(shap_exp.attribution)
    assert np.all(attribution[:, :8, :8].sum((1, 2)) / attribution.sum((1, 2)) > 0.9)
    heat = shap_exp.heatmaps
    assert heat.shape == (2, 16, 16)
    assert heat.min() >= 0.0
    assert heat.max() == pytest.approx(1.0)


def test_partition_is_deterministic_and_per_image(cnn, images32):
    explainer = ShapExplainer(cnn, max_evals=60)
    first = explainer.explain(images32[:2])
    np.testing.assert_array_equal(first.values, explainer.explain(images32[:2]).values)
    alone = explainer.explain(images32[1])
    np.testing.assert_allclose(alone.values[0], first.values[1], atol=1e-6)
    np.testing.assert_array_equal(first.classes, cnn.predict(images32[:2], verbose=0).argmax(1))


def test_inpaint_masker_runs(cnn, images32):
    shap_exp = ShapExplainer(cnn, masker="inpaint_telea", max_evals=20).explain(images32[0])
    assert np.isfinite(shap_exp.values).all()


def test_gradient_explainer_with_background_is_seeded(cnn, images32):
    background = images32[2:]
    explainer = ShapExplainer(cnn, algorithm="gradient", background=background, nsamples=16)
    state = np.random.get_state()  # noqa: NPY002 (the global RNG is what is checked)
    first = explainer.explain(images32[:2], class_index=[0, 2])
    after = np.random.get_state()  # noqa: NPY002
    assert after[1].tolist() == state[1].tolist()  # NumPy's global RNG is left alone
    again = explainer.explain(images32[:2], class_index=[0, 2])
    np.testing.assert_array_equal(first.values, again.values)
    np.testing.assert_array_equal(first.classes, [0, 2])
    other = ShapExplainer(
        cnn, algorithm="gradient", background=background, nsamples=16, seed=5
    ).explain(images32[:2], class_index=[0, 2])
    assert not np.allclose(other.values, first.values)
    assert first.values.shape == (2, 32, 32, 3)
    assert np.isnan(first.base_values).all()
    fig = first.plot(images32[:2], class_names=["a", "b", "c"])
    assert fig.axes[0].get_title() == "SHAP for a"


def test_image_and_metadata_model():
    model = metadata_model()
    rng = np.random.default_rng(5)
    inputs = {"image": rng.uniform(0, 255, (1, 32, 32, 3)), "metadata": rng.normal(size=(1, 4))}
    part = ShapExplainer(model, max_evals=40).explain(inputs)
    prob = model.predict(inputs, verbose=0)[0, part.classes[0]]
    np.testing.assert_allclose(part.values.sum(), prob - part.base_values[0], atol=1e-4)
    background = {"image": rng.uniform(0, 255, (3, 32, 32, 3)), "metadata": rng.normal(size=(3, 4))}
    grad = ShapExplainer(model, algorithm="gradient", background=background, nsamples=8)
    assert grad.explain(inputs).values.shape == (1, 32, 32, 3)


def test_bad_arguments(cnn):
    with pytest.raises(ParameterError, match="background"):
        ShapExplainer(cnn, algorithm="gradient")
    with pytest.raises(ParameterError, match="masker"):
        ShapExplainer(cnn, masker="blurry")
    with pytest.raises(ParameterError, match="max_evals"):
        ShapExplainer(cnn, max_evals=1)
    with pytest.raises(ParameterError, match="algorithm"):
        ShapExplainer(cnn, algorithm="kernel")
