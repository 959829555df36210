"""Analyses of results dirs: the fit and its summary, the cross-compression matrix, storage curves and reductions
tabulated, rate–distortion cards, the paper's stylized model, and their figures. Reads results; never trains."""
