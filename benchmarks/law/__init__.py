"""The storage scaling law as numbers: its forms, the fits, their uncertainty and the optimal allocation of a budget.
Pure computation on arrays: no files, no results dirs, no training (the harness and the analyses both build on it)."""
