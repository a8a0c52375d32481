"""The label-efficiency curve: held-out accuracy against labels per class, one line per method."""

from __future__ import annotations

from pathlib import Path

import numpy as np

STYLES = {
    "raw_input": ("raw input, logistic regression", "tab:gray", "x"),
    "linear_probe": ("frozen linear probe", "tab:blue", "o"),
    "fine_tune": ("fine-tuned SSL encoder", "tab:green", "s"),
    "scratch": ("same network from scratch", "tab:red", "^"),
}


def plot_label_efficiency(table: list, path, title: str = "label efficiency") -> Path:
    """Draw ``table`` (rows with ``labels_per_class`` and a list of accuracies per method) into a PNG at ``path``.

    x: labels per class on a log axis; y: mean held-out accuracy with error bars of one
    standard deviation over the draws. Written atomically; returns the path.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    rows = sorted(table, key=lambda r: r["labels_per_class"])
    x = np.array([r["labels_per_class"] for r in rows], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    for method, (label, color, marker) in STYLES.items():
        if not all(method in r for r in rows):
            continue
        mean = np.array([np.mean(r[method]) for r in rows])
        std = np.array([np.std(r[method]) for r in rows])
        ax.errorbar(x, mean, yerr=std, label=label, color=color, marker=marker, capsize=3, linewidth=1.5)
    ax.set_xscale("log")
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_xlabel("labels per class")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, format="png")
    plt.close(fig)
    tmp.replace(path)
    return path
