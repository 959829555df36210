"""The harness: what runs a benchmark. Plans, the compressed-set and reduced-set stores, the results layer, the grid
runner, storage curves, reductions, the harness's own baselines and compressor submission."""
