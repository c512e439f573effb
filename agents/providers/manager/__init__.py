"""The model manager: the curated catalog, downloads from the hub, models already on this machine, the GPU."""
