"""empirics — measure curvature along gradient singular directions on real networks.

This package's top level imports nothing heavy: ``empirics.schema`` (the results-file contract) is
torch-free so that ``claims`` can read results without importing torch. The measurement engine,
model zoo, data and training live in submodules that import torch on their own.
"""
