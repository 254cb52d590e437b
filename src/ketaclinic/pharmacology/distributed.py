"""Large virtual trials on Apache Spark, with the same results as a local run for the same seed.

Spark gets one row per task (a fixed group of subject chunks). ``mapInArrow`` computes each
task's tally on the executors (the same ``tally_task`` the local pool runs) and returns it as
bytes; the driver merges the tallies in task order. Chunk seeds come from (seed, chunk index),
histogram counts are integers and float sums are added in the same order as locally, so the
percentiles and means are identical to ``simulate_population`` for the same request.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterator
from typing import Any

import numpy as np

from ketaclinic.pharmacology.checks import check_population_request
from ketaclinic.pharmacology.population import PopulationRequest, Tally, tally_task
from ketaclinic.pharmacology.trial import DEFAULT_PERCENTILES, PopulationResult, summarise


def _encode(tally: Tally) -> bytes:
    arrays: dict[str, Any] = {"n": np.array([tally.n])}
    for prefix, mapping in (
        ("counts", tally.counts),
        ("sums", tally.sums),
        ("band", tally.in_band),
    ):
        for key, value in mapping.items():
            arrays[f"{prefix}|{key}"] = value
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _decode(payload: bytes) -> Tally:
    tally = Tally()
    with np.load(io.BytesIO(payload)) as data:
        for name in data.files:
            if name == "n":
                tally.n = int(data[name][0])
                continue
            prefix, key = name.split("|", 1)
            targets: dict[str, dict[str, Any]] = {
                "counts": tally.counts,
                "sums": tally.sums,
                "band": tally.in_band,
            }
            target = targets[prefix]
            target[key] = data[name]
    return tally


def run_population_spark(
    request: PopulationRequest, spark: Any, *, percentiles: tuple[float, ...] = DEFAULT_PERCENTILES
) -> PopulationResult:
    """Run ``request`` on a SparkSession (``spark``) and summarise it on the driver."""
    import pyarrow as pa

    check_population_request(request)
    # The request travels to executors inside the closure (pickled once per task by Spark).
    request_bytes = pickle.dumps(request)

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        task_request: PopulationRequest = pickle.loads(request_bytes)
        for batch in batches:
            tasks = batch.column("task").to_pylist()
            payloads = [_encode(tally_task(task_request, int(task))) for task in tasks]
            yield pa.RecordBatch.from_pydict(
                {"task": tasks, "payload": payloads},
                schema=pa.schema([("task", pa.int64()), ("payload", pa.binary())]),
            )

    frame = spark.range(request.n_tasks).withColumnRenamed("id", "task")
    frame = frame.repartition(
        max(1, min(request.n_tasks, spark.sparkContext.defaultParallelism * 4))
    )
    rows = frame.mapInArrow(compute, "task long, payload binary").collect()
    total = Tally()
    for row in sorted(rows, key=lambda r: r["task"]):
        total.add(_decode(bytes(row["payload"])))
    return summarise(request, total, percentiles)
