"""Champion-challenger comparison: AP difference with a paired bootstrap, and guardrails.

Both models score the same labeled rows. The primary metric is average precision (AP).
Its difference gets a percentile confidence interval from a paired bootstrap that
resamples whole clusters (customers by default), because the transactions of one card
are correlated: a card-testing burst is several frauds on one card within an hour.
The challenger is promoted only when the interval's lower bound is above zero and no
guardrail (Brier score, expected calibration error, false alert rate at the operating
threshold) gets worse by more than its tolerance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class PromotionPolicy:
    """Rules of the champion-challenger evaluation.

    Attributes:
        operating_threshold: Score at or above which a transaction raises an alert.
        bootstrap_samples: Paired bootstrap resamples of the AP difference.
        confidence: Two-sided confidence level of the interval.
        max_brier_increase: Largest allowed rise of the Brier score.
        max_ece_increase: Largest allowed rise of the expected calibration error.
        max_false_alert_rate_increase: Largest allowed rise of the share of genuine
            transactions that raise an alert at the operating threshold. The total
            alert rate is reported too, but not guarded, because catching a new fraud
            pattern raises it for a good reason.
        seed: Seed of the bootstrap.
    """

    operating_threshold: float = 0.5
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    max_brier_increase: float = 0.002
    max_ece_increase: float = 0.01
    max_false_alert_rate_increase: float = 0.005
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence={self.confidence} must lie strictly between 0 and 1")
        if self.bootstrap_samples < 100:
            raise ValueError(
                f"bootstrap_samples={self.bootstrap_samples} is too few for a percentile "
                "interval; use at least 100"
            )


# Guardrail metric -> PromotionPolicy field with its tolerance.
GUARDRAILS = {
    "brier": "max_brier_increase",
    "ece": "max_ece_increase",
    "false_alert_rate": "max_false_alert_rate_increase",
}


@dataclass(frozen=True)
class PromotionDecision:
    """Outcome of one champion-challenger comparison.

    Attributes:
        promote: Whether the challenger should become champion.
        reasons: Why, one sentence per rule that decided.
        champion_ap: Champion's AP on the comparison rows.
        challenger_ap: Challenger's AP on the same rows.
        ap_difference: ``challenger_ap - champion_ap``.
        ci_low: Lower bound of the bootstrap interval of the difference.
        ci_high: Upper bound of the interval.
        confidence: Level of the interval.
        bootstrap_samples: Resamples that had at least one fraud.
        rows: Rows compared.
        frauds: Frauds among them.
        champion_guardrails: Brier, ECE, alert rate and false alert rate of the champion.
        challenger_guardrails: The same for the challenger.
        guardrails_passed: Guardrail name -> whether the challenger stayed in tolerance.
    """

    promote: bool
    reasons: list[str]
    champion_ap: float
    challenger_ap: float
    ap_difference: float
    ci_low: float
    ci_high: float
    confidence: float
    bootstrap_samples: int
    rows: int
    frauds: int
    champion_guardrails: dict[str, float] = field(default_factory=dict)
    challenger_guardrails: dict[str, float] = field(default_factory=dict)
    guardrails_passed: dict[str, bool] = field(default_factory=dict)

    def as_dict(self) -> dict:
        """Return the decision as a JSON-serializable dict."""
        return asdict(self)


def average_precision(
    labels: np.ndarray, scores: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """Compute AP as scikit-learn does (sum of recall steps times precision), with weights.

    Tied scores form one threshold. Row weights let the bootstrap count a resampled
    row several times without copying it. Returns NaN when no positive has weight.
    """
    order = np.argsort(-scores, kind="stable")
    return _sorted_average_precision(labels[order], scores[order], _weights(weights, order))


def _weights(weights: np.ndarray | None, order: np.ndarray) -> np.ndarray:
    return np.ones(len(order)) if weights is None else np.asarray(weights, float)[order]


def _sorted_average_precision(
    labels: np.ndarray, sorted_scores: np.ndarray, weights: np.ndarray
) -> float:
    group_end = np.r_[sorted_scores[1:] != sorted_scores[:-1], True]
    true_positives = np.cumsum(weights * labels)[group_end]
    false_positives = np.cumsum(weights * (1 - labels))[group_end]
    positives = true_positives[-1] if len(true_positives) else 0.0
    if positives <= 0:
        return float("nan")
    flagged = true_positives + false_positives
    precision = np.divide(
        true_positives, flagged, out=np.zeros_like(true_positives), where=flagged > 0
    )
    recall = true_positives / positives
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> float:
    """Compute the expected calibration error over equal-width score bins.

    It is the row-weighted mean, over bins, of |mean score - fraud rate|.
    """
    edges = np.linspace(0.0, 1.0, bins + 1)
    bin_index = np.clip(np.digitize(scores, edges[1:-1], right=False), 0, bins - 1)
    error = 0.0
    for index in range(bins):
        inside = bin_index == index
        if inside.any():
            error += inside.mean() * abs(scores[inside].mean() - labels[inside].mean())
    return float(error)


def guardrail_metrics(labels: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Compute Brier score, ECE, alert rate and false alert rate at ``threshold``."""
    alerts = scores >= threshold
    genuine = labels == 0
    return {
        "brier": float(np.mean((scores - labels) ** 2)),
        "ece": expected_calibration_error(labels, scores),
        "alert_rate": float(alerts.mean()),
        "false_alert_rate": float(alerts[genuine].mean()) if genuine.any() else 0.0,
    }


def paired_bootstrap_ap_difference(
    labels: np.ndarray,
    champion_scores: np.ndarray,
    challenger_scores: np.ndarray,
    clusters: np.ndarray | None,
    samples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float, int]:
    """Bootstrap the AP difference (challenger minus champion) on shared resamples.

    Each resample draws clusters with replacement and weights every row by its
    cluster's draw count, the same weights for both models. Resamples without any
    fraud are dropped.

    Returns:
        Lower bound, upper bound and the number of resamples used.
    """
    codes = (
        np.unique(clusters, return_inverse=True)[1]
        if clusters is not None
        else np.arange(len(labels))
    )
    n_clusters = int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    champion_order = np.argsort(-champion_scores, kind="stable")
    challenger_order = np.argsort(-challenger_scores, kind="stable")
    differences = []
    for _ in range(samples):
        counts = np.bincount(rng.integers(0, n_clusters, n_clusters), minlength=n_clusters)
        weights = counts[codes].astype(float)
        champion_ap = _sorted_average_precision(
            labels[champion_order], champion_scores[champion_order], weights[champion_order]
        )
        challenger_ap = _sorted_average_precision(
            labels[challenger_order], challenger_scores[challenger_order], weights[challenger_order]
        )
        if not (np.isnan(champion_ap) or np.isnan(challenger_ap)):
            differences.append(challenger_ap - champion_ap)
    if not differences:
        raise ValueError("no bootstrap resample contains a fraud; compare on a wider window")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(differences, [tail, 100 - tail])
    return float(low), float(high), len(differences)


def compare_models(
    labels: np.ndarray,
    champion_scores: np.ndarray,
    challenger_scores: np.ndarray,
    clusters: np.ndarray | None = None,
    policy: PromotionPolicy | None = None,
) -> PromotionDecision:
    """Decide whether the challenger beats the champion on the same labeled rows.

    Args:
        labels: 0/1 fraud labels.
        champion_scores: Champion's fraud probabilities for the rows.
        challenger_scores: Challenger's probabilities for the same rows.
        clusters: Bootstrap cluster of each row (such as the customer id); None
            resamples rows.
        policy: Promotion rules.

    Raises:
        ValueError: The arrays differ in length, or the labels hold a single class.
    """
    policy = policy or PromotionPolicy()
    labels = np.asarray(labels, dtype=float)
    champion_scores = np.asarray(champion_scores, dtype=float)
    challenger_scores = np.asarray(challenger_scores, dtype=float)
    if not len(labels) == len(champion_scores) == len(challenger_scores):
        raise ValueError(
            f"labels ({len(labels)}), champion scores ({len(champion_scores)}) and challenger "
            f"scores ({len(challenger_scores)}) must have one value per compared row"
        )
    frauds = int(labels.sum())
    if frauds == 0 or frauds == len(labels):
        raise ValueError(
            f"the comparison window has {len(labels)} rows and {frauds} frauds; AP needs "
            "both classes, so compare on a wider labeled window"
        )
    champion_ap = average_precision(labels, champion_scores)
    challenger_ap = average_precision(labels, challenger_scores)
    low, high, used = paired_bootstrap_ap_difference(
        labels,
        champion_scores,
        challenger_scores,
        clusters,
        policy.bootstrap_samples,
        policy.confidence,
        policy.seed,
    )
    champion_guard = guardrail_metrics(labels, champion_scores, policy.operating_threshold)
    challenger_guard = guardrail_metrics(labels, challenger_scores, policy.operating_threshold)

    reasons = []
    level = f"{policy.confidence:.0%}"
    if low > 0:
        reasons.append(f"AP gain {challenger_ap - champion_ap:+.4f}, {level} CI low {low:+.4f} > 0")
    else:
        reasons.append(
            f"AP gain {challenger_ap - champion_ap:+.4f} is not significant: "
            f"{level} CI low {low:+.4f} <= 0"
        )
    passed = {}
    for metric, tolerance_field in GUARDRAILS.items():
        tolerance = getattr(policy, tolerance_field)
        increase = challenger_guard[metric] - champion_guard[metric]
        passed[metric] = bool(increase <= tolerance)
        if not passed[metric]:
            reasons.append(f"guardrail {metric} rose by {increase:.4f} > tolerance {tolerance}")
    return PromotionDecision(
        promote=bool(low > 0 and all(passed.values())),
        reasons=reasons,
        champion_ap=champion_ap,
        challenger_ap=challenger_ap,
        ap_difference=challenger_ap - champion_ap,
        ci_low=low,
        ci_high=high,
        confidence=policy.confidence,
        bootstrap_samples=used,
        rows=len(labels),
        frauds=frauds,
        champion_guardrails=champion_guard,
        challenger_guardrails=challenger_guard,
        guardrails_passed=passed,
    )
