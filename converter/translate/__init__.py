"""Translation of TorchScript graphs to ONNX through a registry of per-op handlers."""
