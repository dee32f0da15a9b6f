from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from annotation.sampling.estimates import hajek_proportion


def test_it_weights_each_item_by_one_over_its_probability() -> None:
    result = hajek_proportion([1, 0, 0, 1], [1.0, 0.5, 0.25, 0.1])

    # Weights 1, 2, 4, 10: (1 + 10) / 17 of the 17 candidates they stand for.
    assert result.n == 4
    assert result.population == pytest.approx(17.0)
    assert result.estimate == pytest.approx(11 / 17)


def test_its_variance_is_the_linearised_poisson_variance() -> None:
    y = np.array([1, 0, 0, 1, 0, 1])
    pi = np.array([1.0, 0.5, 0.25, 0.1, 0.1, 0.8])

    result = hajek_proportion(y, pi)

    w = 1 / pi
    p = (w * y).sum() / w.sum()
    variance = sum((1 - pi[i]) * (w[i] * (y[i] - p) / w.sum()) ** 2 for i in range(len(y)))
    z = stats.norm.ppf(0.975)
    assert result.standard_error == pytest.approx(variance**0.5)
    assert result.low == pytest.approx(max(0, p - z * variance**0.5))
    assert result.high == pytest.approx(min(1, p + z * variance**0.5))


def test_items_taken_with_certainty_add_no_variance() -> None:
    result = hajek_proportion([1, 0, 1, 0], [1.0, 1.0, 1.0, 1.0])

    assert result.estimate == 0.5
    assert result.standard_error == 0.0
    assert (result.low, result.high) == (0.5, 0.5)


def test_the_with_replacement_form_matches_weighted_least_squares_hc1() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(300) < 0.3).astype(float)
    pi = rng.uniform(0.05, 1.0, 300)

    result = hajek_proportion(y, pi, with_replacement=True, level=0.9)

    fit = sm.WLS(y, np.ones_like(y), weights=1 / pi).fit(cov_type="HC1")
    assert result.estimate == pytest.approx(fit.params[0])
    assert result.standard_error == pytest.approx(fit.bse[0])
    low, high = fit.conf_int(alpha=0.1)[0]
    assert (result.low, result.high) == (pytest.approx(low), pytest.approx(high))


@pytest.mark.parametrize(
    ("outcomes", "probabilities", "problem"),
    [
        ([], [], "no reviewed items"),
        ([1, 0], [0.5], "same length"),
        ([2], [0.5], "outcomes must lie in"),
        ([1], [0.0], "probabilities must lie in"),
        ([1], [1.5], "probabilities must lie in"),
    ],
)
def test_it_refuses_input_it_cannot_weight(
    outcomes: list[float], probabilities: list[float], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        hajek_proportion(outcomes, probabilities)
