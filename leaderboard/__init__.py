"""Rankings at equal storage, export, the static site and W&B publishing (built on results dirs)."""
