"""Export, compression and deployment artefacts of a trained serkit model.

:mod:`serkit.export.onnx_export` (TorchScript and ONNX graphs, feature-level and end-to-end),
:mod:`serkit.export.quantize` (INT8 and the size/latency measurements),
:mod:`serkit.export.card` (what a deployment needs: labels, features, CMVN; the model card),
:mod:`serkit.export.modules` (export-friendly forms of the models and the log-mel front end).
Command line: ``python -m serkit.bin.export``.
"""
