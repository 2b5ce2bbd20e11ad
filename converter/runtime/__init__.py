"""Runtime: ONNX Runtime sessions, input files and generation, comparison and verification."""
