# mmdeploy 1.3.1: a model of this package to ONNX Runtime at a fixed 240×320 (CamVid's test
# size), mmdeploy's own segmentation_onnxruntime_static config with the shape set. See the
# docs/deploy.md for the exporter mmdeploy gets on torch >= 2.9 and what to do about it.
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=18,  # torch.onnx dynamo: 18 and up (at 11 the down-conversion fails)
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=[320, 240],  # W, H
    optimize=True)
codebase_config = dict(type='mmseg', task='Segmentation', with_argmax=True)
backend_config = dict(type='onnxruntime')
