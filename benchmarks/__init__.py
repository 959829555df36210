"""The harness: benchmark definitions (TOML), the compressed-set store, the grid runner, results, fits, CLI."""
