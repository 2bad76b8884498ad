# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The studies' statistics: mean ± sample std, and the verdict of a criterion fixed before
the runs (docs/studies/)."""
import statistics
from typing import Dict, List, Optional

RULES = ('unpaired', 'paired', 'paired_se')


def mean_std(values: List[float]) -> Dict[str, float]:
    """Mean and sample standard deviation (NaN for one value)."""
    return dict(mean=statistics.mean(values),
                std=statistics.stdev(values) if len(values) > 1 else float('nan'))


def fmt_mean_std(values: List[float], digits: int = 2) -> str:
    """'46.59 ± 1.20'."""
    m = mean_std(values)
    return f'{m["mean"]:.{digits}f} ± {m["std"]:.{digits}f}'


def verdict(rule: str, a: List[float], b: Optional[List[float]] = None) -> Dict:
    """The verdict of one comparison: 'positive' if the difference exceeds the margin,
    'negative' if it is below minus the margin, else 'null'.

    ``rule``:

    - 'unpaired': ``a`` and ``b`` are two arms' values over seeds; the difference is
      mean(a) − mean(b), the margin twice the larger of the two sample stds;
    - 'paired': ``a`` are per-seed differences; mean(a) against twice their sample std;
    - 'paired_se': ``a`` are per-seed differences; mean(a) against twice its standard error
      (sample std / √n).

    Returns dict(mean=difference, margin=margin, verdict=...); with one value the margin is
    NaN and the verdict 'null'.
    """
    if rule not in RULES:
        raise ValueError(f'verdict: rule={rule!r} is not one of {RULES}.')
    if (rule == 'unpaired') != (b is not None):
        takes = 'two arms (a, b)' if rule == 'unpaired' else 'one list of paired differences'
        raise ValueError(f'verdict: rule {rule!r} takes {takes}.')
    n = len(a)
    if rule == 'unpaired':
        d = statistics.mean(a) - statistics.mean(b)
        margin = 2 * max(statistics.stdev(a), statistics.stdev(b)) if min(n, len(b)) > 1 \
            else float('nan')
    else:
        d = statistics.mean(a)
        sd = statistics.stdev(a) if n > 1 else float('nan')
        margin = 2 * sd / (n ** 0.5 if rule == 'paired_se' else 1)
    v = 'positive' if d > margin else 'negative' if d < -margin else 'null'
    return dict(mean=d, margin=margin, verdict=v)


def against_spread(value: float, earlier: List[float]) -> Dict:
    """Where one new value lies against the spread of ``earlier`` ones (at least two): 'within'
    their mean ± 2 sample std (what one more of them would give), else 'below' or 'above'.

    Returns dict(value=value, low=mean − 2 std, high=mean + 2 std, reading=...).
    """
    if len(earlier) < 2:
        raise ValueError(f'against_spread: {len(earlier)} earlier value(s) {earlier!r} have no '
                         'spread; pass at least two.')
    m, sd = statistics.mean(earlier), statistics.stdev(earlier)
    low, high = m - 2 * sd, m + 2 * sd
    reading = 'below' if value < low else 'above' if value > high else 'within'
    return dict(value=value, low=low, high=high, reading=reading)
