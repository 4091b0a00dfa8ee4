"""Every figure actcli draws. Functions take data and return a Figure; callers save.

Figures are built with ``matplotlib.figure.Figure`` directly (Agg when saved), never
through pyplot, so there is no global current figure and nothing opens a window.
"""

from actcli.plots._layout import FEW_POINTS, log_ticks, series_colors
from actcli.plots.activations import (
    LayerCurves,
    activation_curves,
    learned_activations,
    softmax_stem,
)
from actcli.plots.animation import MAX_FRAMES, fit_animation, frame_indices, surface_animation
from actcli.plots.compare import (
    compare_bars,
    compare_curves,
    gradient_flow,
    lr_range_tests,
    seed_scores,
    time_to_target,
)
from actcli.plots.plane import (
    PlaneGrid,
    PlanePoints,
    decision_animation,
    decision_grid,
    decision_map,
    unit_maps,
)
from actcli.plots.run import (
    Curve,
    confusion_matrix,
    fit_curve,
    image_grid,
    learning_curves,
    weight_histograms,
)
from actcli.plots.surfaces import loss_landscape, surface_paths

__all__ = [
    "Curve",
    "LayerCurves",
    "FEW_POINTS",
    "MAX_FRAMES",
    "PlaneGrid",
    "PlanePoints",
    "activation_curves",
    "compare_bars",
    "compare_curves",
    "confusion_matrix",
    "decision_animation",
    "decision_grid",
    "decision_map",
    "fit_animation",
    "fit_curve",
    "frame_indices",
    "gradient_flow",
    "image_grid",
    "learned_activations",
    "learning_curves",
    "log_ticks",
    "loss_landscape",
    "lr_range_tests",
    "series_colors",
    "softmax_stem",
    "surface_animation",
    "surface_paths",
    "seed_scores",
    "time_to_target",
    "unit_maps",
    "weight_histograms",
]
