from .export_wrapper import ExportWrapper, export_onnx, metadata

__all__ = ['ExportWrapper', 'export_onnx', 'metadata']
