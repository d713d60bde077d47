"""The claims, grouped by where the paper prints them. Each module exports ``CLAIMS``."""
