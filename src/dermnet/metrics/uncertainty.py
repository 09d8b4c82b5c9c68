"""Per-prediction uncertainty, risk-coverage curves and abstention.

Convention: every score that `confidence_scores` returns is a *confidence*: higher
means the model is surer (or the input more in-distribution). The uncertainty
functions (`predictive_entropy`, `energy`, `disagreement`) return the natural
uncertainty, higher meaning less sure; `confidence_scores` negates them so that one
rule serves risk-coverage curves, abstention and `ood_scores_report`.

An abstention threshold is chosen on validation data (`choose_abstention_threshold`)
and applied unchanged at test time (`apply_abstention`); choosing it on the test set
would make the reported risk optimistic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.protocols import two_class_scores
from dermnet._core.validation import check_float, check_int, check_option, check_seed, fail

__all__ = [
    "DISAGREEMENT_MEASURES",
    "AbstentionThreshold",
    "apply_abstention",
    "aurc",
    "choose_abstention_threshold",
    "confidence_scores",
    "disagreement",
    "energy",
    "max_probability",
    "mc_dropout_predict",
    "optimal_aurc",
    "predictive_entropy",
    "risk_coverage_curve",
]

#: Ways to measure how much a stack of predictions (TTA views, ensemble members, MC
#: dropout passes) disagree: mutual information between prediction and member (the
#: BALD score), the share of members whose top class differs from the mean's, and the
#: mean per-class variance.
DISAGREEMENT_MEASURES = ("mutual_information", "vote", "variance")
_ROW_SUM_TOLERANCE = 1e-2
_DROPOUT_LAYERS = (
    "Dropout",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "GaussianDropout",
    "AlphaDropout",
)


def _probabilities(probs: Any, param: str, where: str) -> np.ndarray:
    p = two_class_scores(np.asarray(probs, dtype=np.float64))
    if p.ndim != 2 or p.shape[0] == 0:
        raise fail(param, where, "a non-empty (n, classes) array of probabilities", p.shape)
    if not np.all(np.isfinite(p)):
        raise DataError(f"{where}: {param!r} has NaN or infinite values.")
    if (
        p.min() < -1e-6
        or p.max() > 1 + 1e-6
        or np.any(np.abs(p.sum(axis=1) - 1.0) > _ROW_SUM_TOLERANCE)
    ):
        raise DataError(
            f"{where}: each row of {param!r} must be a probability distribution (a softmax "
            f"output). Got values from {p.min():.3g} to {p.max():.3g}, row sums from "
            f"{p.sum(axis=1).min():.3g} to {p.sum(axis=1).max():.3g}."
        )
    return np.clip(p, 0.0, 1.0)


def _stack(stack: Any, param: str, where: str) -> np.ndarray:
    s = np.asarray(stack, dtype=np.float64)
    if s.ndim == 2:  # (members, n): one sigmoid column each
        s = s[..., None]
    if s.ndim != 3 or s.shape[0] < 2:
        raise fail(
            param, where, "a stack (members >= 2, n, classes) of probability arrays", s.shape
        )
    return np.stack([_probabilities(member, param, where) for member in s])


def max_probability(probs: Any) -> np.ndarray:
    """The top-class probability of each prediction (a confidence).

    Examples:
        >>> max_probability([[0.7, 0.3], [0.5, 0.5]]).tolist()
        [0.7, 0.5]
    """
    return _probabilities(probs, "probs", "max_probability").max(axis=1)


def predictive_entropy(probs: Any) -> np.ndarray:
    """Shannon entropy of each predicted distribution, in nats (an uncertainty).

    ``0 log 0`` counts as 0; the maximum is ``log(classes)`` (a uniform prediction).

    Examples:
        >>> np.round(predictive_entropy([[1.0, 0.0], [0.5, 0.5]]), 4).tolist()
        [0.0, 0.6931]
    """
    p = _probabilities(probs, "probs", "predictive_entropy")
    return _entropy(p)


def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return 0.0 - terms.sum(axis=-1)  # 0.0 - x: no negative zero


def energy(logits: Any, *, temperature: float = 1.0) -> np.ndarray:
    """The free energy ``-T * logsumexp(logits / T)`` of each prediction (an uncertainty).

    Lower energy means more in-distribution (Liu et al., 2020). Energy needs the raw
    logits, the inputs of the final softmax: log-probabilities (``log softmax``) have
    ``logsumexp == 0`` for every row, so their energy is the constant 0 and carries no
    information; this function refuses them rather than return a useless score.

    Args:
        logits: pre-softmax outputs ``(n, classes)``.
        temperature: ``T`` > 0.

    Raises:
        DataError: the rows are log-probabilities (``exp`` sums to 1), or not finite.

    Examples:
        >>> np.round(energy([[2.0, 0.0], [0.0, 0.0]]), 4).tolist()
        [-2.1269, -0.6931]
    """
    where = "energy"
    z = np.asarray(logits, dtype=np.float64)
    t = check_float(temperature, "temperature", where, low=0.0, low_open=True)
    if z.ndim != 2 or z.shape[0] == 0:
        raise fail("logits", where, "a non-empty (n, classes) array", z.shape)
    if not np.all(np.isfinite(z)):
        raise DataError(f"{where}: 'logits' has NaN or infinite values.")
    top = z.max(axis=1, keepdims=True) / t
    lse = top[:, 0] + np.log(np.exp(z / t - top).sum(axis=1))
    if z.shape[1] > 1 and t == 1.0 and np.allclose(lse, 0.0, atol=1e-6):
        raise DataError(
            f"{where}: 'logits' are log-probabilities (exp of every row sums to 1), whose "
            "energy is 0 for every input. Pass the pre-softmax logits (a model whose last "
            "activation is removed)."
        )
    return -t * lse


def disagreement(stack: Any, *, measure: str = "mutual_information") -> np.ndarray:
    """How much several predictions of the same inputs disagree (an uncertainty).

    The stack holds the probabilities of test-time-augmented views, ensemble members or
    MC dropout passes. See `DISAGREEMENT_MEASURES`.

    Args:
        stack: ``(members, n, classes)`` probabilities, ``members >= 2``.
        measure: ``"mutual_information"`` (entropy of the mean minus the mean entropy,
            in nats), ``"vote"`` (share of members whose top class is not the mean's)
            or ``"variance"`` (variance over members, averaged over classes).

    Examples:
        >>> same = [[[0.9, 0.1]], [[0.9, 0.1]]]
        >>> split = [[[0.9, 0.1]], [[0.1, 0.9]]]
        >>> disagreement(same).round(6).tolist(), disagreement(split, measure="vote").tolist()
        ([0.0], [0.5])
    """
    where = "disagreement"
    measure = check_option(measure, DISAGREEMENT_MEASURES, "measure", where)
    s = _stack(stack, "stack", where)
    mean = s.mean(axis=0)
    if measure == "mutual_information":
        return np.maximum(_entropy(mean) - _entropy(s).mean(axis=0), 0.0)
    if measure == "vote":
        return (s.argmax(axis=2) != mean.argmax(axis=1)[None, :]).mean(axis=0)
    return s.var(axis=0).mean(axis=1)


def _dropout_layers(model: Any) -> list[Any]:
    layers = model._flatten_layers(include_self=False, recursive=True)  # Keras 3 API
    return [layer for layer in layers if type(layer).__name__ in _DROPOUT_LAYERS]


def mc_dropout_predict(model: Any, x: Any, n: int = 20, *, seed: int | None = None) -> np.ndarray:
    """Monte Carlo dropout: ``n`` stochastic passes with only the dropout layers active.

    Every other layer runs in inference mode (batch normalization keeps its moving
    statistics, augmentation layers stay off): each dropout layer's ``call`` is wrapped
    for the duration to receive ``training=True``, and the model itself is called with
    ``training=False``. The model is unchanged afterwards.

    Args:
        model: a Keras model with at least one dropout layer.
        x: its input (an array, or a dict of named inputs).
        n: number of passes, >= 2.
        seed: seeds the dropout masks for repeatable passes (each dropout layer gets a
            fresh generator for the call; its own is restored afterwards); ``None`` uses
            the layers' own generators.

    Returns:
        ``(n, samples, classes)`` probabilities (one sigmoid column becomes two), for
        `disagreement` or their mean as the prediction.

    Raises:
        ParameterError: the model has no dropout layer (the message names the model).
    """
    import keras

    where = "mc_dropout_predict"
    n = check_int(n, "n", where, low=2)
    seed = check_seed(seed, "seed", where)
    layers = _dropout_layers(model)
    if not layers:
        raise ParameterError(
            f"mc_dropout_predict: model {getattr(model, 'name', type(model).__name__)!r} has "
            "no dropout layer, so MC dropout would repeat one deterministic prediction. Use "
            "a model with dropout (e.g. a classifier head with dropout > 0) or another score."
        )
    originals = {
        id(layer): (layer.call, getattr(layer, "seed_generator", None)) for layer in layers
    }

    def wrap(original: Any) -> Any:
        def call(inputs: Any, training: Any = None, **kwargs: Any) -> Any:
            return original(inputs, training=True, **kwargs)

        return call

    try:
        for i, layer in enumerate(layers):
            object.__setattr__(layer, "call", wrap(layer.call))
            if seed is not None and originals[id(layer)][1] is not None:
                generator = keras.random.SeedGenerator(seed + i)
                object.__setattr__(layer, "seed_generator", generator)
        passes = [
            two_class_scores(keras.ops.convert_to_numpy(model(x, training=False))) for _ in range(n)
        ]
    finally:
        for layer in layers:
            call, generator = originals[id(layer)]
            object.__setattr__(layer, "call", call)
            if generator is not None:
                object.__setattr__(layer, "seed_generator", generator)
    return np.stack(passes).astype(np.float64)


def confidence_scores(
    probs: Any,
    *,
    logits: Any = None,
    tta: Any = None,
    ensemble: Any = None,
    mc_dropout: Any = None,
    measure: str = "mutual_information",
) -> dict[str, np.ndarray]:
    """Every confidence score the inputs allow, higher meaning surer.

    Keys: ``max_probability``; ``negative_entropy``; ``negative_energy`` (with
    ``logits``); ``negative_tta_disagreement``, ``negative_ensemble_disagreement``,
    ``negative_mc_dropout_disagreement`` (with the stacks, see `disagreement`).

    Examples:
        >>> scores = confidence_scores([[0.9, 0.1], [0.6, 0.4]])
        >>> sorted(scores), bool(scores["negative_entropy"][0] > scores["negative_entropy"][1])
        (['max_probability', 'negative_entropy'], True)
    """
    p = _probabilities(probs, "probs", "confidence_scores")
    out = {"max_probability": p.max(axis=1), "negative_entropy": -_entropy(p)}
    if logits is not None:
        out["negative_energy"] = -energy(logits)
    stacks: Mapping[str, Any] = {"tta": tta, "ensemble": ensemble, "mc_dropout": mc_dropout}
    for name, stack in stacks.items():
        if stack is not None:
            out[f"negative_{name}_disagreement"] = -disagreement(stack, measure=measure)
    for name, values in out.items():
        if len(values) != len(p):
            raise DataError(
                f"confidence_scores: {name} has {len(values)} predictions but 'probs' has "
                f"{len(p)}; they must match."
            )
    return out


# -- risk-coverage ----------------------------------------------------------------------
def _confidence_correct(confidence: Any, correct: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct)
    if c.ndim != 1 or c.size == 0:
        raise fail("confidence", where, "a non-empty 1-D array", c.shape)
    if ok.shape != c.shape:
        raise DataError(
            f"{where}: 'confidence' has {c.size} values but 'correct' has shape {ok.shape}; "
            "they must match."
        )
    if not np.isin(ok, (0, 1)).all():
        raise fail("correct", where, "booleans (or 0/1), one per prediction", ok[:5].tolist())
    if not np.all(np.isfinite(c)):
        raise DataError(f"{where}: 'confidence' has NaN or infinite values.")
    return c, ok.astype(bool)


def risk_coverage_curve(confidence: Any, correct: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Selective risk at every coverage, keeping the most confident predictions first.

    At coverage ``k / n`` the ``k`` most confident predictions are kept and the risk is
    their error rate. Tied confidences are kept or dropped together, so the curve has
    one point per distinct confidence (highest first).

    Args:
        confidence: ``(n,)`` confidences, higher = surer.
        correct: ``(n,)`` booleans, whether each prediction is right.

    Returns:
        ``(coverage, risk, thresholds)``: keeping predictions with confidence
        ``>= thresholds[i]`` covers ``coverage[i]`` with risk ``risk[i]``.

    Examples:
        >>> cov, risk, thr = risk_coverage_curve([0.9, 0.8, 0.7, 0.6], [1, 1, 0, 1])
        >>> cov.tolist(), np.round(risk, 3).tolist()
        ([0.25, 0.5, 0.75, 1.0], [0.0, 0.0, 0.333, 0.25])
    """
    c, ok = _confidence_correct(confidence, correct, "risk_coverage_curve")
    order = np.argsort(-c, kind="stable")
    cs, errors = c[order], np.cumsum(~ok[order])
    ends = np.r_[np.flatnonzero(np.diff(cs) != 0), len(cs) - 1]
    kept = ends + 1
    return kept / len(c), errors[ends] / kept, cs[ends]


def aurc(confidence: Any, correct: Any) -> float:
    """Area under the risk-coverage curve (lower is better).

    The mean selective risk over the coverages ``1/n, 2/n, ..., 1``. Within a group of
    tied confidences the errors are spread evenly (the expected risk under a random
    order of the ties), so a constant confidence gets the overall error rate, as a
    ranking that knows nothing should. Compare with `optimal_aurc`.

    Examples:
        >>> aurc([0.9, 0.8, 0.7, 0.6], [1, 1, 1, 0]) == optimal_aurc([1, 1, 1, 0])
        True
        >>> aurc([0.5, 0.5, 0.5, 0.5], [1, 1, 1, 0])
        0.25
    """
    c, ok = _confidence_correct(confidence, correct, "aurc")
    order = np.argsort(-c, kind="stable")
    cs, wrong = c[order], (~ok[order]).astype(np.float64)
    starts = np.r_[0, np.flatnonzero(np.diff(cs) != 0) + 1]
    sizes = np.diff(np.r_[starts, len(cs)])
    group_rate = np.add.reduceat(wrong, starts) / sizes
    expected_wrong = np.repeat(group_rate, sizes)  # each tied item: the group's error rate
    risk = np.cumsum(expected_wrong) / np.arange(1, len(cs) + 1)
    return float(risk.mean())


def optimal_aurc(correct: Any) -> float:
    """The lowest AURC any confidence can reach: every error ranked below every hit.

    Examples:
        >>> round(optimal_aurc([1, 1, 1, 0]), 4)  # (1 / 4) * (1 / 4)
        0.0625
    """
    ok = np.asarray(correct)
    _confidence_correct(np.zeros(ok.shape), ok, "optimal_aurc")
    return aurc(ok.astype(np.float64), ok)


@dataclasses.dataclass(frozen=True)
class AbstentionThreshold:
    """An abstention rule chosen on validation data: abstain where confidence < threshold.

    Attributes:
        threshold: the confidence below which the model abstains.
        target_risk: the risk it was chosen for, or ``None``.
        target_coverage: the coverage it was chosen for, or ``None``.
        coverage: the coverage it reached on the validation data.
        risk: the selective risk it reached on the validation data.
        n: validation predictions it was chosen on.
    """

    threshold: float
    target_risk: float | None
    target_coverage: float | None
    coverage: float
    risk: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (for JSON run folders)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AbstentionThreshold:
        """Rebuild from `to_dict`."""
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})


def choose_abstention_threshold(
    confidence: Any,
    correct: Any,
    *,
    target_risk: float | None = None,
    target_coverage: float | None = None,
) -> AbstentionThreshold:
    """Choose, on validation data, the confidence below which to abstain.

    Give exactly one target. For ``target_risk`` the threshold keeps as many
    predictions as possible while their error rate stays at or below the target; for
    ``target_coverage`` it keeps the most confident predictions until at least that
    share is covered. Ties are kept together, so coverage can exceed the target. The
    risk on new data is an estimate, not a guarantee: report it with its interval.

    Raises:
        ParameterError: neither or both targets, or a target outside (0, 1].
        DataError: no threshold reaches ``target_risk`` on these data.

    Examples:
        >>> rule = choose_abstention_threshold([0.9, 0.8, 0.7, 0.6], [1, 1, 0, 1],
        ...                                    target_risk=0.0)
        >>> rule.threshold, rule.coverage
        (0.8, 0.5)
    """
    where = "choose_abstention_threshold"
    if (target_risk is None) == (target_coverage is None):
        raise ParameterError(
            f"{where} needs exactly one of 'target_risk' and 'target_coverage'. Got "
            f"target_risk={target_risk!r}, target_coverage={target_coverage!r} instead."
        )
    coverage, risk, thresholds = risk_coverage_curve(confidence, correct)
    n = len(np.asarray(confidence))
    if target_risk is not None:
        target_risk = check_float(target_risk, "target_risk", where, low=0.0, high=1.0)
        ok = np.flatnonzero(risk <= target_risk + 1e-12)
        if not ok.size:
            best = int(np.argmin(risk))
            raise DataError(
                f"{where}: no threshold reaches risk <= {target_risk:g} on these data; the "
                f"lowest risk is {risk[best]:.3g} at coverage {coverage[best]:.3g} "
                f"(threshold {thresholds[best]:.4g})."
            )
        i = int(ok[-1])
    else:
        target_coverage = check_float(
            target_coverage, "target_coverage", where, low=0.0, high=1.0, low_open=True
        )
        i = int(np.flatnonzero(coverage >= target_coverage - 1e-12)[0])
    return AbstentionThreshold(
        threshold=float(thresholds[i]),
        target_risk=target_risk,
        target_coverage=target_coverage,
        coverage=float(coverage[i]),
        risk=float(risk[i]),
        n=n,
    )


def apply_abstention(confidence: Any, threshold: AbstentionThreshold | float) -> np.ndarray:
    """Which predictions to abstain on: ``confidence < threshold`` (a boolean array).

    Examples:
        >>> apply_abstention([0.9, 0.75, 0.8], 0.8).tolist()
        [False, True, False]
    """
    where = "apply_abstention"
    value = threshold.threshold if isinstance(threshold, AbstentionThreshold) else threshold
    value = check_float(value, "threshold", where)
    c = np.asarray(confidence, dtype=np.float64)
    if c.ndim != 1:
        raise fail("confidence", where, "a 1-D array", c.shape)
    if not np.all(np.isfinite(c)):
        raise DataError(f"{where}: 'confidence' has NaN or infinite values.")
    return c < value
