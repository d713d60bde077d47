"""claims — every quantitative claim of the paper as a falsifiable check (torch-free)."""
