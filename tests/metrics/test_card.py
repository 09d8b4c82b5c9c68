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
