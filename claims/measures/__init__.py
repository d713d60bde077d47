"""Measurement builders shared by claims printed at several places of the paper (public, one topic each).

The catalogue (:mod:`claims.catalog`) is organised by paper location only; a statistic that the paper prints
in more than one place (the pooled transfer error in the Abstract, §7 and Fig. 2; the ResNet-50 conv
statistics in Table 1 and §3; ...) is built here once and declared in each location's module.
"""
