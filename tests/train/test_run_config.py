"""RunConfig: recipes as data, TOML run files, validation that names the field and file."""

import dataclasses
import subprocess
import sys

import pytest

from dermnet import MissingFileError, ParameterError, UnknownNameError
from dermnet.train import RunConfig, get_recipe, list_recipes, load_run_config, recipe_summary


def test_every_field_declares_help_and_its_constraint_is_enforced():
    described = RunConfig.describe()
    assert list(described) == RunConfig.field_names()
    for name, facts in described.items():
        assert facts["help"], name
    assert described["augment"]["choices"][:3] == ("none", "flips", "dihedral")
    with pytest.raises(ParameterError, match=r"'batch_size' field of RunConfig must be >= 1"):
        RunConfig(sample="malaria", batch_size=0).validate()
    with pytest.raises(ParameterError, match=r"'tta' field .* Got 'diheral'; did you mean"):
        RunConfig(sample="malaria", tta="diheral").validate()
    with pytest.raises(ParameterError, match="'epochs' must be an integer"):
        RunConfig.from_mapping({"epochs": 2.5})
    with pytest.raises(ParameterError, match="must leave images to train on"):
        RunConfig(sample="malaria", test_size=0.5, val_size=0.5).validate()
    with pytest.raises(ParameterError, match=r"'keep' field .* needs validation images"):
        RunConfig(sample="malaria", val_size=0.0).validate()
    with pytest.raises(ParameterError, match=r"'warmup_epochs' field .* must be below"):
        RunConfig(sample="malaria", epochs=2, warmup_epochs=2.0).validate()
    with pytest.raises(UnknownNameError, match="simple_cnn"):
        RunConfig(sample="malaria", model="simple_cn").validate()


def test_the_built_in_recipes_load_validate_and_summarize():
    names = list_recipes()
    for required in ("baseline_cnn", "cpu_best", "efficientnet_imagenet", "demo"):
        assert required in names
    for name in names:
        config = get_recipe(name)
        assert config.recipe == name
        assert recipe_summary(name)  # one line for `dermnet recipes`
        data = {"sample": "ham10000"} if config.sample is None else {}
        dataclasses.replace(config, **data).validate()
    best = get_recipe("cpu_best")
    assert (best.model, best.image_size, best.metadata) == ("fast_cnn", 64, True)
    assert (best.augment, best.optimizer, best.lr_schedule) == ("dihedral", "adamw", "cosine")
    assert (best.tta, best.logit_adjustment, best.class_weights) == ("dihedral", 1.0, "none")
    baseline = get_recipe("baseline_cnn")
    assert (baseline.model, baseline.early_stopping, baseline.epochs) == ("simple_cnn", 5, 30)
    assert get_recipe("efficientnet_imagenet").weights == "imagenet"
    with pytest.raises(ParameterError, match="Unknown recipe 'cpu_bst'; did you mean 'cpu_best'"):
        get_recipe("cpu_bst")


def test_a_run_file_starts_from_its_recipe_and_flags_win(tmp_path):
    file = tmp_path / "run.toml"
    file.write_text('recipe = "cpu_best"\nsample = "ham10000"\nepochs = 3\nwarmup_epochs = 0.5\n')
    config = load_run_config(file, overrides={"seed": 7})
    assert (config.recipe, config.model, config.epochs, config.seed) == (
        "cpu_best",
        "fast_cnn",
        3,
        7,
    )
    assert config.tta == "dihedral"  # from the recipe
    assert load_run_config(file, overrides={"epochs": 5}).epochs == 5
    # the recipe named on the command line replaces the file's
    assert load_run_config(file, recipe="baseline_cnn").model == "simple_cnn"
    # a config written out as TOML reads back to the same config
    again = tmp_path / "again.toml"
    again.write_text(config.to_toml())
    assert load_run_config(again) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('sample = "ham10000"\nepoch = 3\n', r"unknown field 'epoch'; did you mean 'epochs'\?"),
        ('sample = "ham10000"\nepochs = "3"\n', r"field 'epochs' must be an integer\. Got '3'"),
        ('sample = "ham10000"\nmetadata = 1\n', r"field 'metadata' must be true or false"),
        ('sample = "ham10000"\naugment = "dihedrl"\n', r"did you mean 'dihedral'"),
        ('recipe = "nope"\n', r"Unknown recipe 'nope'"),
        ('sample = "ham10000"\n[train]\nepochs = 3\n', r"has a table \[train\]"),
        ("sample = \n", "is not valid TOML"),
    ],
)
def test_bad_run_files_name_the_field_and_the_file(tmp_path, text, message):
    file = tmp_path / "bad.toml"
    file.write_text(text)
    with pytest.raises(ParameterError, match=message) as info:
        load_run_config(file)
    if "recipe" not in text:
        assert str(file) in str(info.value)


def test_a_missing_run_file_is_named(tmp_path):
    with pytest.raises(MissingFileError, match=r"does not exist: .*nowhere\.toml"):
        load_run_config(tmp_path / "nowhere.toml")


def test_reading_and_validating_a_config_does_not_import_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from dermnet.train.run_config import load_run_config\n"
        "load_run_config(recipe='cpu_best', overrides={'sample': 'ham10000'})\n"
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
