"""Concentration-time plots with the concentration bands shaded and an optional percentile ribbon.

Matplotlib's Agg canvas on a bare Figure (no pyplot state, no display), so the web app can call
this from any thread and embed the PNG bytes or the SVG text beside a treatment plan.
"""

from __future__ import annotations

import io
from typing import Literal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ketaclinic.pharmacology.predict import Prediction
from ketaclinic.pharmacology.schema import load_pharmacodynamics
from ketaclinic.pharmacology.trial import PopulationResult

_BAND_COLOURS = {"analgesia": "#cfe8cf", "dissociation": "#f6e3b4", "anaesthesia": "#f3c4c4"}


def _draw(
    prediction: Prediction | None, population: PopulationResult | None, title: str | None
) -> Figure:
    figure = Figure(figsize=(8, 4.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    peak = 0.0
    if population is not None:
        bands = population.bands_ng_ml["concentration"]
        low, high = bands[0], bands[-1]
        label = f"{population.percentiles[0]:g}th-{population.percentiles[-1]:g}th percentile"
        axes.fill_between(population.times_min, low, high, color="#9ecae1", alpha=0.6, label=label)
        middle = len(population.percentiles) // 2
        axes.plot(
            population.times_min,
            bands[middle],
            color="#3182bd",
            label=(
                f"{population.percentiles[middle]:g}th percentile "
                f"({population.n_subjects:,} subjects)"
            ),
        )
        peak = max(peak, float(high.max()))
    if prediction is not None:
        axes.plot(
            prediction.times_min,
            prediction.concentration_ng_ml,
            color="#08306b",
            linewidth=2,
            label=f"{prediction.analyte} plasma ({prediction.sampling_site})",
        )
        axes.plot(
            prediction.times_min,
            prediction.effect_site_ng_ml,
            color="#08306b",
            linestyle="--",
            label="effect site",
        )
        if prediction.metabolite_ng_ml is not None:
            axes.plot(
                prediction.times_min,
                prediction.metabolite_ng_ml,
                color="#756bb1",
                label=f"{prediction.metabolite} plasma",
            )
        peak = max(peak, float(prediction.concentration_ng_ml.max()))
    top = max(peak * 1.15, 10.0)
    for band in load_pharmacodynamics().bands:
        if band.low_ng_ml < top:
            axes.axhspan(
                band.low_ng_ml,
                min(band.high_ng_ml, top),
                color=_BAND_COLOURS.get(band.id, "#eeeeee"),
                alpha=0.5,
                zorder=0,
                label=f"{band.label} {band.low_ng_ml:g}-{band.high_ng_ml:g} ng/mL",
            )
    axes.set_ylim(0, top)
    axes.set_xlabel("Time (min)")
    axes.set_ylabel("Concentration (ng/mL)")
    model_id = prediction.model_id if prediction else population.model_id if population else ""
    axes.set_title(title or f"Predicted concentration ({model_id} model)")
    axes.legend(loc="upper right", fontsize=7)
    axes.grid(alpha=0.3)
    figure.text(
        0.01, 0.01, "Model prediction; supports clinical judgement, never replaces it.", fontsize=6
    )
    figure.tight_layout()
    return figure


def plot_concentration(
    prediction: Prediction | None = None,
    population: PopulationResult | None = None,
    *,
    image_format: Literal["png", "svg"] = "png",
    title: str | None = None,
) -> bytes | str:
    """PNG bytes or SVG text of the concentration plot (a prediction, a population, or both)."""
    if prediction is None and population is None:
        raise ValueError("plot_concentration needs a prediction or a population result")
    figure = _draw(prediction, population, title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format)
    data = buffer.getvalue()
    return data.decode("utf-8") if image_format == "svg" else data
