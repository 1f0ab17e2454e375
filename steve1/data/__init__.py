"""Episodes on disk, contractor conversion, mixed-agent generation, samplings, hindsight datasets."""
