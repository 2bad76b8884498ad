"""What the study tools of this folder share: mean ± std, one ``verdict`` for the unpaired,
paired and 2·SE rules, where one new value lies against the spread of earlier ones, the
finished runs of a study directory, the two-arm table. Part of the repository, not of the
installed package; the tools import it from their own folder (run them by path)."""
from .study_results import finished_runs, has_run, latest_test_metrics, merge_earlier_runs
from .study_statistics import RULES, against_spread, fmt_mean_std, mean_std, verdict
from .two_arm_study import two_arm_study_table

__all__ = ['RULES', 'against_spread', 'finished_runs', 'fmt_mean_std', 'has_run',
           'latest_test_metrics', 'mean_std', 'merge_earlier_runs', 'two_arm_study_table',
           'verdict']
