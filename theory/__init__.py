"""theory — the Spectral Alignment Decomposition, statement by statement.

Submodules are imported lazily, so ``import theory.fits`` (pure numpy) stays light for the claims
verifier, while ``from theory import ...`` in a REPL gives the symbolic objects.
"""
