"""The paper's claims, one module per paper location (section, table, figure or appendix), in paper order.

Each module exports ``CLAIMS``; a claim lives in the module of the place the paper prints it (its id's prefix:
``abs``/``intro`` → :mod:`.abstract`, ``s3`` → :mod:`.section3`, ``t1`` → :mod:`.table1`, ``fig2`` →
:mod:`.figures`, ``appH`` → :mod:`.appendix_h`, ...; §7 is a package with one module per subsection). The
NO DATA register entries (docs/claims-reference.md §2.12) sit in the section of their location, after the checked claims.
Measurements that the paper prints in several places are built once in :mod:`claims.measures`.

:data:`MODULES` is the order of the registry, the verify table and ``--json``.
"""

MODULES = (
    "abstract",
    "setup",
    "section3",
    "table1",
    "table2",
    "figures",
    "section6",
    "section7.transfer",
    "section7.intrinsic_dim",
    "section7.spectral_newton",
    "table3",
    "discussion",
    "reproducibility",
    "appendix_a",
    "appendix_b",
    "appendix_c",
    "appendix_d",
    "appendix_e",
    "appendix_f",
    "appendix_g",
    "appendix_h",
    "appendix_i",
    "appendix_k",
    "appendix_l",
    "appendix_m",
)
