"""Factor research: does a factor predict returns?

``data.load`` (the only store reader) or ``data.from_panel`` -> a ``FactorPanel`` (factor
values, forward returns from labels.py and each session's cross-section, as dense arrays) ->
``ic.ic_summary`` / ``ic.ic_series`` (IC and rank IC) and ``quantiles.quantile_analysis``
(quantile returns, spread, turnover, rank autocorrelation) -> ``tearsheet.tear_sheet`` for the
HTML page. Every result is a polars frame.
"""
