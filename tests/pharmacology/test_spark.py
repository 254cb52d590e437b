"""A Spark run gives the same percentiles and means as the local run for the same seed."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from ketaclinic.clinical.vocabulary import Route
from ketaclinic.pharmacology import (
    Covariates,
    Dose,
    PopulationRequest,
    Regimen,
    simulate_population,
)
from ketaclinic.pharmacology.distributed import run_population_spark


@pytest.mark.spark
def test_spark_matches_local_run() -> None:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .appName("ketaclinic-pk-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    try:
        request = PopulationRequest(
            "herd",
            Regimen((Dose(Route.IV, 30.0),)),
            (0.0, 10.0, 60.0, 120.0),
            300,
            7,
            Covariates(30.0, 8),
            chunk_size=50,
            chunks_per_task=2,
        )
        distributed = run_population_spark(request, spark)
    finally:
        spark.stop()
    local = simulate_population(request, workers=1)
    assert distributed.n_subjects == local.n_subjects == 300
    for output in local.bands_ng_ml:
        np.testing.assert_array_equal(distributed.bands_ng_ml[output], local.bands_ng_ml[output])
        np.testing.assert_array_equal(distributed.mean_ng_ml[output], local.mean_ng_ml[output])
    for key in local.exposure:
        np.testing.assert_array_equal(distributed.exposure[key], local.exposure[key])
