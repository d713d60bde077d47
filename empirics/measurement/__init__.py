"""Measuring a model: the layer loop (:mod:`~empirics.measurement.runner`), progress reporting, and the
public :func:`empirics.measure` API with its result object."""
