"""Front end: archive pre-scan, loading, and the typed view of TorchScript graphs."""
