import dataclasses
import json

import pytest

from dermnet import __version__
from dermnet._core import ConfigMixin, ParameterError


@dataclasses.dataclass(frozen=True)
class _Cfg(ConfigMixin):
    size: tuple[int, int] = (64, 64)
    name: str = "x"


def test_round_trip_through_json_keeps_tuples_and_version():
    cfg = _Cfg(size=(32, 48), name="y")
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["dermnet_version"] == __version__
    assert _Cfg.from_dict(data) == cfg


def test_unknown_fields_and_wrong_class_are_errors():
    with pytest.raises(ParameterError, match="unknown fields"):
        _Cfg.from_dict({"class_name": "_Cfg", "config": {"bogus": 1}})
    with pytest.raises(ParameterError, match="not a '_Cfg'"):
        _Cfg.from_dict({"class_name": "Other", "config": {}})
