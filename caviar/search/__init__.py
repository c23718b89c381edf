"""Search planning without Ray: seeded config streams, coarse-to-fine rounds, confirmations,
trial budgets and grown plans, fusion planning, the next zoomed spec, warm starts, and the checks
of ``caviar extend``/``continue`` (``caviar.tune`` runs what is planned here)."""
