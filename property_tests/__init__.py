"""Property tests (hypothesis): the exact identities, the statements that hold and the refutations of :mod:`theory` on
generated recipes A–H (docs/theory-reference.md §3.0)."""
