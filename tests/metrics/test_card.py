import re

import pandas as pd
import pytest

from dermnet import ParameterError
from dermnet.data import Records, load_sample, split
from dermnet.metrics import ModelCard
from dermnet.metrics.card import DEFAULT_LIMITATIONS


@pytest.fixture(scope="module")
def parts():
    return split(load_sample("ham10000"), test_size=0.25, val_size=0.15, seed=0)


def test_card_from_a_split_describes_data_split_and_population(parts):
    card = ModelCard.from_data(parts, model="simple_cnn, 30 epochs")
    assert card.model == "simple_cnn, 30 epochs"
    assert f"train {len(parts.train)} images" in card.split
    assert "no lesion_id and no image shared" in card.split
    assert "lesion_id" in card.data
    assert "Vienna" in card.population  # the HAM10000 sites
    assert set(card.class_counts) == {"train", "val", "test"}
    assert card.class_counts["test"] == parts.test.class_counts()
    assert card.limitations == DEFAULT_LIMITATIONS
    assert any("not a medical device" in item.lower() for item in card.limitations)


def test_card_warns_in_words_when_train_and_test_share_lesions(parts):
    frame = pd.concat([parts.train.frame, parts.test.frame.head(20)], ignore_index=True)
    t = parts.train
    leaky = Records(frame, t.classes, name=t.name, group_cols=t.group_cols, role="train")
    card = ModelCard.from_data({"train": leaky, "test": parts.test})
    assert "WARNING" in card.split
    assert "optimistic" in card.split


def test_card_from_text_records_or_by_hand_round_trips(parts):
    text = ModelCard.from_data("ISIC 2019, 5-fold", population="multi-centre")
    assert text.data == "ISIC 2019, 5-fold"
    assert text.population == "multi-centre"
    one = ModelCard.from_data(parts.test)
    assert list(one.class_counts) == ["test"]
    for card in (text, one, ModelCard(model="m", limitations=("x",))):
        assert ModelCard.from_dict(card.to_dict()) == card
    with pytest.raises(ParameterError, match="'data'"):
        ModelCard.from_data(42)


RUN = {
    "model": "fast_cnn",
    "weights": None,
    "image_size": [64, 64],
    "dataset": "ham10000",
    "num_images": 10015,
    "classes": ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"],
    "split": {"train": 7000, "val": 1500, "test": 1515},
    "group_by": "lesion_id",
    "seed": 0,
    "recipe": "cpu_best",
    "epochs": 16,
    "training": "AdamW, cosine schedule.",
    "evaluated_on": "test",
    "tensorboard": True,  # a key the card does not use is ignored
}


def test_card_from_run_info_states_every_known_fact():
    card = ModelCard.from_run_info(RUN)
    assert (
        card.model == "fast_cnn, trained from scratch (no pretrained weights), input 64x64 pixels"
    )
    assert card.training == "Recipe cpu_best, 16 epochs, seed 0. AdamW, cosine schedule."
    assert card.data == "ham10000: 10015 images, 7 classes (akiec, bcc, bkl, df, mel, nv, vasc)"
    assert card.split.startswith("Train 7000, val 1500, test 1515 images; grouped by lesion_id")
    assert card.split.endswith("the metrics below are on the test part (1515 images).")
    assert "Vienna" in card.population
    assert card.limitations[: len(DEFAULT_LIMITATIONS)] == DEFAULT_LIMITATIONS
    extra = " ".join(card.limitations[len(DEFAULT_LIMITATIONS) :])
    assert "64x64 pixels" in extra
    assert "only on ham10000 images" in extra
    assert "not described" not in str(card.to_dict())
    assert ModelCard.from_dict(card.to_dict()) == card


def test_card_from_run_info_tolerates_missing_facts_and_says_what_follows():
    assert ModelCard.from_run_info({}) == ModelCard()
    card = ModelCard.from_run_info(
        {"weights": "imagenet", "dataset": "my_clinic", "split": {"train": 8, "val": 2},
         "group_by": None, "evaluated_on": "val", "metadata": ["age", "sex"]}
    )  # fmt: skip
    assert card.model == (
        "model not named, initialised from imagenet weights, with patient metadata (age, sex)"
    )
    assert card.data == "my_clinic: 10 images"
    assert "split by image, not by lesion or patient" in card.split
    assert "optimistic" in card.split
    assert card.population == "not described for the dataset 'my_clinic'"
    assert card.training == "not described"
    assert any("validation part" in item for item in card.limitations)
    sample = ModelCard.from_run_info({"dataset": "ham10000_sample (bundled sample)"})
    assert "Vienna" in sample.population
    assert ModelCard.from_run_info({"training": "SGD"}).training == "SGD."


@pytest.mark.parametrize(
    ("info", "key"),
    [
        ("fast_cnn", "info"),
        ({"split": {"train": -1}}, "info['split']"),
        ({"epochs": "16"}, "info['epochs']"),
        ({"image_size": [64]}, "info['image_size']"),
        ({"classes": "akiec"}, "info['classes']"),
        ({"model": 3}, "info['model']"),
    ],
)
def test_card_from_run_info_names_the_bad_key(info, key):
    with pytest.raises(ParameterError, match=re.escape(repr(key))):
        ModelCard.from_run_info(info)
