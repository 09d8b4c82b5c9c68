"""The old module paths of the dataset loaders keep working, with a DeprecationWarning."""

import pytest

import dermnet.data as data
from dermnet.data.datasets import DATASETS


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("loaders", "load_ham10000"),
        ("loaders", "DATASETS"),
        ("loaders", "load_csv"),
        ("loaders", "MALARIA_CLASSES"),
        ("isic", "load_isic2019"),
        ("isic", "ISIC2020_CLASSES"),
        ("arrays", "load_medmnist"),
        ("arrays", "HMNIST_LABELS"),
    ],
)
def test_old_paths_warn_and_give_the_same_object(module, name):
    import importlib

    old = importlib.import_module(f"dermnet.data.{module}")
    with pytest.warns(
        DeprecationWarning,
        match=rf"dermnet\.data\.{module}\.{name} is deprecated; import {name} from",
    ):
        value = getattr(old, name)
    assert value is (DATASETS if name == "DATASETS" else getattr(data, name))


def test_old_paths_refuse_unknown_names():
    import dermnet.data.loaders as loaders

    with pytest.raises(AttributeError, match="has no attribute '_finish'"):
        loaders._finish  # noqa: B018
