"""Cohort analytics, written once with Ibis, run on DuckDB (default) or Spark.

Public surface::

    open_dataset(folder, engine="duckdb", backend=None) -> Dataset       (analytics.dataset)
    analyse_cohort(dataset) -> CohortResults                             (analytics.cohorts)
    compare_with_evidence(outcomes, durability) -> list[ComparisonRow]   (analytics.comparison)
    wilson(events, n) -> Proportion                                      (analytics.stats)

The report (HTML, PDF) is ``ketaclinic.reports.cohort``.
"""
