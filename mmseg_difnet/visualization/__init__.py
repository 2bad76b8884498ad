from .diffusion_study import format_table3, study, walk_params_from_checkpoint, write_figures
from .walk_diagnostics import load_records
from .walk_diagnostics import plot as plot_diagnostics
from .walk_diagnostics import summary as summarise_diagnostics

__all__ = ["format_table3", "load_records", "plot_diagnostics", "study",
           "summarise_diagnostics", "walk_params_from_checkpoint", "write_figures"]
