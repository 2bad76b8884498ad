from .flops import gflops
from .study_results import finished_runs, has_run, latest_test_metrics, merge_earlier_runs
from .study_statistics import RULES, fmt_mean_std, mean_std, verdict
from .timing import autocast, device_name, interleaved, ratio_stats, spread, sync, timed
from .two_arm_study import two_arm_study_table

__all__ = ['RULES', 'autocast', 'device_name', 'finished_runs', 'fmt_mean_std', 'gflops',
           'has_run', 'interleaved', 'latest_test_metrics', 'mean_std', 'merge_earlier_runs',
           'ratio_stats', 'spread', 'sync', 'timed', 'two_arm_study_table', 'verdict']
