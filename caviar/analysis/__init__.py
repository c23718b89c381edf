"""Looking at a sweep's results: loading a stored sweep, ranking, importance, figures, the report.

Modules: ``sweep`` (a stored sweep: its spec, objectives and tables), ``ranking``, ``importance``
(fANOVA), ``confirm`` (fresh-seed confirmations), the figures (``scales``, ``curves``, ``rungs``,
``params``, ``pareto``) and ``report`` (the HTML page). ``caviar.plot`` gathers the figures for
notebooks. Nothing here is imported by the package's import, so a command that needs none of it
does not pay for plotly.
"""
