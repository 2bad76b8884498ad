from .records import GROUP_ORDER, GROUPS, RECORDS_FILE, load_records, parameter_group, plot, summary
from .walk_diagnostics_hook import WalkDiagnosticsHook, transition_stats

__all__ = ['GROUPS', 'GROUP_ORDER', 'RECORDS_FILE', 'WalkDiagnosticsHook', 'load_records',
           'parameter_group', 'plot', 'summary', 'transition_stats']
