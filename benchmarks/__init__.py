"""Performance benchmarks (plain scripts; see benchmarks/README.md). Not imported by the library."""
