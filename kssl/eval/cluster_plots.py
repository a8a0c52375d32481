"""PNG pictures of a clustering, drawn with Pillow: a confusion matrix and a 2-D embedding map."""

from __future__ import annotations

import numpy as np

# A 20-colour qualitative palette (Tableau 20); larger ids wrap around.
PALETTE = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (174, 199, 232),
    (255, 187, 120),
    (152, 223, 138),
    (255, 152, 150),
    (197, 176, 213),
    (196, 156, 148),
    (247, 182, 210),
    (199, 199, 199),
    (219, 219, 141),
    (158, 218, 229),
]


def _font():
    from PIL import ImageFont

    return ImageFont.load_default()


def _text_size(draw, text, font):
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def ordered_columns(counts: np.ndarray) -> list[int]:
    """Cluster order for a (classes x clusters) table: Hungarian-matched clusters in class order, then the rest."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(counts, maximize=True)
    matched = [int(c) for _, c in sorted(zip(rows, cols))]
    return matched + [c for c in range(counts.shape[1]) if c not in matched]


def confusion_image(y_true, y_pred, class_names=None, title: str = "clusters vs labels", cell: int = 28):
    """A heat map of counts, rows = true classes, columns = clusters (matched clusters on the diagonal)."""
    from PIL import Image, ImageDraw

    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    n_classes, n_clusters = int(y_true.max()) + 1, int(y_pred.max()) + 1
    counts = np.zeros((n_classes, n_clusters), dtype=np.int64)
    np.add.at(counts, (y_true, y_pred), 1)
    order = ordered_columns(counts)
    counts = counts[:, order]
    names = [str(c) for c in (class_names if class_names is not None else range(n_classes))][:n_classes]
    names += [str(i) for i in range(len(names), n_classes)]
    font = _font()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_w = max(_text_size(probe, n, font)[0] for n in names) + 10
    top, left = 44, label_w + 18
    width = left + cell * n_clusters + 12
    height = top + cell * n_classes + 34
    image = Image.new("RGB", (max(width, 260), height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((8, 6), title, fill="black", font=font)
    draw.text((left, 24), "cluster (matched order)", fill=(80, 80, 80), font=font)
    row_max = np.maximum(counts.max(axis=1, keepdims=True), 1)
    for i in range(n_classes):
        tw, th = _text_size(draw, names[i], font)
        draw.text((left - tw - 6, top + i * cell + (cell - th) // 2), names[i], fill="black", font=font)
        for j in range(n_clusters):
            shade = counts[i, j] / row_max[i, 0]
            colour = tuple(int(255 - shade * (255 - c)) for c in (8, 48, 107))
            x0, y0 = left + j * cell, top + i * cell
            draw.rectangle([x0, y0, x0 + cell - 1, y0 + cell - 1], fill=colour, outline=(220, 220, 220))
            if counts[i, j]:
                text = str(counts[i, j])
                tw, th = _text_size(draw, text, font)
                draw.text((x0 + (cell - tw) // 2, y0 + (cell - th) // 2), text, fill="white" if shade > 0.5 else "black", font=font)
    for j, c in enumerate(order):
        text = str(c)
        tw, _ = _text_size(draw, text, font)
        draw.text((left + j * cell + (cell - tw) // 2, top + n_classes * cell + 4), text, fill="black", font=font)
    draw.text((8, top + n_classes * cell + 18), "rows: true label", fill=(80, 80, 80), font=font)
    return image


def project_2d(features, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """2-D coordinates of ``features`` by t-SNE (scikit-learn) or PCA."""
    features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    n = len(features)
    if n < 3 or features.shape[1] <= 2:
        out = np.zeros((n, 2))
        out[:, : min(2, features.shape[1])] = features[:, :2]
        return out
    if method == "tsne" and n > 5:
        from sklearn.manifold import TSNE

        return TSNE(2, perplexity=min(30.0, (n - 1) / 3.0), init="pca", random_state=seed).fit_transform(features)
    from sklearn.decomposition import PCA

    return PCA(2, random_state=seed).fit_transform(features)


def legend_entries(ids, colours: dict | None = None, names: dict | None = None) -> list[tuple[str, int]]:
    """``(text, palette index)`` of each id present in ``ids``, in palette order (the same order in every panel).

    ``colours`` maps an id to its palette index (default: the id itself); ``names`` maps an
    id to its legend text (default: the id).
    """
    colours, names = colours or {}, names or {}
    present = sorted(set(np.asarray(ids, int).tolist()), key=lambda c: (colours.get(c, c), c))
    return [(str(names.get(c, c)), colours.get(c, c)) for c in present]


def scatter_panel(points, colour_ids, title: str, size: int = 360, colours: dict | None = None, names: dict | None = None):
    """One square scatter plot of 2-D ``points`` coloured by integer ids, with a legend strip.

    ``colours`` optionally maps an id to a palette index (so matched clusters can share
    their class's colour); by default an id is its own index. ``names`` maps an id to its
    legend text (a class name); by default the id.
    """
    from PIL import Image, ImageDraw

    points = np.asarray(points, dtype=np.float64)
    ids = np.asarray(colour_ids, int)
    font = _font()
    pad, top = 12, 24
    image = Image.new("RGB", (size, size + top + 22), "white")
    draw = ImageDraw.Draw(image)
    draw.text((pad, 6), title, fill="black", font=font)
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    xy = (points - lo) / span * (size - 2 * pad - 1) + pad
    draw.rectangle([pad - 4, top + pad - 4, size - pad + 3, top + size - pad + 3], outline=(200, 200, 200))
    colours = colours or {}

    for (px, py), c in zip(xy, ids):
        colour = PALETTE[colours.get(c, c) % len(PALETTE)]
        py = top + (size - py)
        draw.ellipse([px - 2, py - 2, px + 2, py + 2], fill=colour)
    x = pad
    entries = legend_entries(ids, colours, names)
    for n, (text, index) in enumerate(entries):
        step = 14 + _text_size(draw, text, font)[0] + 6
        if x + step > size - 50 and n < len(entries) - 1:
            draw.text((x, size + top + 4), f"+{len(entries) - n} more", fill="black", font=font)
            break
        draw.rectangle([x, size + top + 6, x + 8, size + top + 14], fill=PALETTE[index % len(PALETTE)])
        draw.text((x + 10, size + top + 4), text, fill="black", font=font)
        x += step
    return image


def cluster_colours(clusters, labels) -> dict[int, int]:
    """Palette index of each cluster: the index of the class it is matched to (Hungarian), then spare indices after the classes."""
    from kssl.eval.cluster_metrics import cluster_to_class

    clusters, labels = np.asarray(clusters, int), np.asarray(labels, int)
    matched = cluster_to_class(labels, clusters)
    spare = int(labels.max()) + 1
    colours = {}
    for c in sorted(set(clusters.tolist())):
        if c in matched:
            colours[c] = matched[c]
        else:
            colours[c], spare = spare, spare + 1
    return colours


def panel_legends(clusters, labels=None, class_names=None) -> tuple[dict, dict | None, dict | None]:
    """``(cluster colours, cluster names, class names)`` of the two panels of :func:`embedding_map_image`.

    Every class keeps one colour, its id's, in both panels; a cluster takes the colour of
    the class it is matched to and is named after it (``c3: seven``), an unmatched cluster
    a spare colour and its id alone (``c9``). Classes are named by ``class_names``
    (e.g. the digits' ``'0'`` .. ``'9'``), else by their ids.
    """
    clusters = np.asarray(clusters, int)
    if labels is None:
        return {}, {c: f"c{c}" for c in set(clusters.tolist())}, None
    labels = np.asarray(labels, int)
    names = list(class_names) if class_names is not None else []
    label_names = {y: str(names[y]) if y < len(names) else str(y) for y in range(int(labels.max()) + 1)}
    colours = cluster_colours(clusters, labels)
    cluster_names = {c: f"c{c}: {label_names[colours[c]]}" if colours[c] in label_names else f"c{c}" for c in colours}
    return colours, cluster_names, label_names


def embedding_map_image(points, clusters, labels=None, method: str = "tsne", class_names=None):
    """Side-by-side scatter plots: the embedding coloured by cluster (and by true label).

    With labels, each class has one colour in both panels and each cluster is drawn in
    the colour of the class it is matched to (Hungarian matching), so the two panels can
    be compared at a glance; the legends name the classes (``class_names``, see
    :func:`panel_legends`).
    """
    from PIL import Image

    colours, cluster_names, label_names = panel_legends(clusters, labels, class_names)
    panels = [scatter_panel(points, clusters, f"{method} of the embedding, coloured by cluster", colours=colours, names=cluster_names)]
    if labels is not None:
        panels.append(scatter_panel(points, labels, f"{method} of the embedding, coloured by label", names=label_names))
    width = sum(p.width for p in panels)
    image = Image.new("RGB", (width, panels[0].height), "white")
    x = 0
    for p in panels:
        image.paste(p, (x, 0))
        x += p.width
    return image
