from .diffusion_study import format_table3, study, walk_params_from_checkpoint, write_figures

__all__ = ["format_table3", "study", "walk_params_from_checkpoint", "write_figures"]
