from .diffusion_study import format_table3, study, write_figures

__all__ = ["format_table3", "study", "write_figures"]
