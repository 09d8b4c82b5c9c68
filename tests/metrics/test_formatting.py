import math

import pytest

from dermnet import ParameterError
from dermnet.metrics import evaluate, format_interval
from dermnet.metrics.formatting import format_value


@pytest.mark.parametrize(
    ("args", "options", "expected"),
    [
        ((0.6413, 0.6, 0.6872), {}, "0.641 [0.600, 0.687]"),
        ((0.6413, 0.6, 0.6872), {"digits": 2}, "0.64 [0.60, 0.69]"),
        ((0.5, 0.25, 0.75), {"digits": 0}, "0 [0, 1]"),
        ((-0.25, -0.5, 0.125), {}, "-0.250 [-0.500, 0.125]"),
        ((0.5, None, None), {}, "0.500 [-]"),
        ((0.5, 0.4, math.nan), {}, "0.500 [-]"),
        ((None, None, None), {}, "- [-]"),
        ((math.nan, 0.1, 0.2), {"undefined": "n/a"}, "n/a [0.100, 0.200]"),
        ((1, 0, 1), {"digits": 1}, "1.0 [0.0, 1.0]"),
    ],
)
def test_format_interval(args, options, expected):
    assert format_interval(*args, **options) == expected


@pytest.mark.parametrize("digits", [-1, 7, 1.5, "2"])
def test_format_interval_refuses_bad_digits(digits):
    with pytest.raises(ParameterError, match="'digits' parameter of format_interval"):
        format_interval(0.5, 0.4, 0.6, digits=digits)


def test_format_value():
    assert format_value(0.12345) == "0.123"
    assert format_value(0.12345, 1) == "0.1"
    assert format_value(None) == "undefined"
    assert format_value(math.nan, undefined="-") == "-"
    assert format_value(12) == "12"
    assert format_value("mel") == "mel"


def test_every_report_formats_intervals_with_format_interval():
    y = [0, 1, 1, 0, 1, 0, 0, 1] * 3
    p = [0.1, 0.8, 0.7, 0.3, 0.4, 0.2, 0.6, 0.9] * 3
    report = evaluate(y, p, ["benign", "malignant"], n_bootstrap=50)
    low, high = report.intervals["balanced_accuracy"]
    summary = report.summary(digits=2)
    line = next(x for x in summary.splitlines() if x.startswith("balanced accuracy"))
    assert line.rstrip().endswith(format_interval(report.balanced_accuracy, low, high, digits=2))
    markdown = report.to_markdown()
    assert f"| {format_interval(report.balanced_accuracy, low, high)} |" in markdown
    card = report.model_card_markdown()
    assert f"| {format_interval(report.balanced_accuracy, low, high)} |" in card
