from .build import build_for_export, switch_to_deploy
from .export_wrapper import ExportWrapper, export_onnx, metadata

__all__ = ['ExportWrapper', 'build_for_export', 'export_onnx', 'metadata', 'switch_to_deploy']
