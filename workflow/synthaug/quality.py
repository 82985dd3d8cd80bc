"""How good, how label-faithful and how original a generator's images are, each against a real-vs-real reference.

**Feature spaces** (no downloaded weights needed): ``random_cnn``, a fixed, seeded, randomly initialised CNN
(random embeddings are informative for these metrics: Naeem et al. 2020); ``classifier``, the penultimate layer of
the baseline classifier (domain features); and ``inception`` when the user gives a local InceptionV3 weights file.

**Metrics**, per class and overall, each computed twice on the same reference set R (one patient-disjoint half of
the training split): once for the synthetic images, once for the other half (the *floor*: what real images of
other patients score, so a value reads as "x times the floor"). Both candidate sets are cut to the same size.

- KID (Binkowski et al. 2018): unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3,
  averaged over random subsets; 0 for identical distributions. For a conditional generator the overall KID can
  mislead: images that ignore their label, each a blend of the classes, can match the mixture of both classes while
  matching neither. :func:`class_mean_kid`, the mean of the per-class KIDs (the KID form of the intra-class FID of
  Miyato & Koyama 2018), judges each image against real images of the label it was made for.
- precision and recall (Kynkaanniemi et al. 2019, k = 3): the share of candidates inside the real k-NN balls,
  and of real images inside the candidates' k-NN balls.
- density and coverage (Naeem et al. 2020, k = 5): the mean number of real k-NN balls a candidate falls in, / k;
  the share of real images whose ball holds at least one candidate.

**Label fidelity** (GAN-test, Shmelkov et al. 2018): the baseline classifier's AUC on the synthetic images against
the labels they were asked for, beside its AUC on real test images. ``label_effect`` = (AUC_synthetic - 0.5) /
(AUC_real - 0.5): 0 when the classifier cannot tell the requested labels apart (the label is ignored), 1 when
they differ as much as real classes do.

**Memorisation** (data-copying test, Meehan et al. 2020): the distance of each synthetic image to its nearest
training image against the same for held-out real images (validation + test, never shown to a generator), in
pixels. The training images are cut into k-means cells; in every cell holding enough of both, a Mann-Whitney
Z-score compares the two sets of distances (Z < 0: synthetic images sit closer to the training images than new
real images do). C_T, their average weighted by the held-out images' share, below ``COPYING_Z`` means data
copying. Each synthetic image closer to a training image than all but ``FLAG_QUANTILE`` of held-out real images
is flagged.
"""

from __future__ import annotations

import logging

import numpy as np

from .constants import CLASS_NAMES
from .errors import ConfigError
from .metrics import macro_auc, roc_auc

log = logging.getLogger("synthaug")

PR_K = 3  # Kynkaanniemi et al. 2019
DC_K = 5  # Naeem et al. 2020
COPYING_Z = -3.0  # C_T below this: data copying
FLAG_QUANTILE = 0.01  # a synthetic image nearer to the training set than 99% of held-out real images is flagged
MIN_PER_CELL = 20  # held-out and synthetic images a cell needs to enter the data-copying test
METRICS = ("kid", "precision", "recall", "density", "coverage")


# --- feature spaces ---------------------------------------------------------------------------------------------

def random_cnn(image_size: int, seed: int):
    """A fixed CNN with seeded random weights: 4 stride-2 ReLU convolutions, global average pooling (256 features)."""
    import keras
    from keras import layers

    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Rescaling(2.0, offset=-1.0)(inputs)
    for i, filters in enumerate((32, 64, 128, 256)):
        init = keras.initializers.HeNormal(seed=seed * 16 + i)
        x = layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu", kernel_initializer=init)(x)
    return keras.Model(inputs, layers.GlobalAveragePooling2D()(x), name="random_cnn")


def penultimate(classifier):
    """The classifier up to the input of its last (output) layer."""
    import keras

    return keras.Model(classifier.inputs, classifier.layers[-1].input, name="classifier_features")


def inception(weights: str, image_size: int):
    """InceptionV3 with the user's ImageNet weights (no top), average-pooled, on images resized to 299 px."""
    from pathlib import Path

    import keras

    if not Path(weights).is_file():
        raise ConfigError("assess.inception_weights", f"'{weights}' is not a file; give a local InceptionV3 "
                                                      "ImageNet weights file (no top) or null")
    from keras import layers

    inputs = keras.Input((image_size, image_size, 3))
    x = layers.Rescaling(2.0, offset=-1.0)(layers.Resizing(299, 299)(inputs))
    net = keras.applications.InceptionV3(include_top=False, weights=weights, input_shape=(299, 299, 3), pooling="avg")
    return keras.Model(inputs, net(x), name="inception")


def embed(model, images: np.ndarray, batch_size: int = 128) -> np.ndarray:
    return np.concatenate([np.asarray(model.predict_on_batch(images[i : i + batch_size]))
                           for i in range(0, len(images), batch_size)]).astype(np.float64)


# --- metrics ----------------------------------------------------------------------------------------------------

def distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``a`` and ``b``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.maximum(sq, 0.0))


def kid(x: np.ndarray, y: np.ndarray, *, n_subsets: int, subset_size: int, rng) -> tuple[float, float]:
    """Kernel inception distance (mean, sd over subsets): unbiased MMD^2, cubic polynomial kernel."""
    d = x.shape[1]
    m = min(subset_size, len(x), len(y))
    values = []
    for _ in range(n_subsets):
        a, b = x[rng.choice(len(x), m, replace=False)], y[rng.choice(len(y), m, replace=False)]
        kxx, kyy, kxy = ((a @ a.T) / d + 1) ** 3, ((b @ b.T) / d + 1) ** 3, ((a @ b.T) / d + 1) ** 3
        within = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(within - 2.0 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


def _kth_neighbour(x: np.ndarray, k: int) -> np.ndarray:
    """Distance of each row of ``x`` to its k-th nearest other row."""
    d = distances(x, x)
    return np.sort(d, axis=1)[:, k]  # column 0 is the row itself


def prdc(real: np.ndarray, fake: np.ndarray, pr_k: int = PR_K, dc_k: int = DC_K) -> dict:
    """Precision, recall (k = ``pr_k``), density and coverage (k = ``dc_k``) of ``fake`` against ``real``."""
    d = distances(real, fake)  # (n_real, n_fake)
    real_pr, fake_pr, real_dc = _kth_neighbour(real, pr_k), _kth_neighbour(fake, pr_k), _kth_neighbour(real, dc_k)
    return {
        "precision": float((d < real_pr[:, None]).any(axis=0).mean()),
        "recall": float((d < fake_pr[None, :]).any(axis=1).mean()),
        "density": float((d < real_dc[:, None]).sum(axis=0).mean() / dc_k),
        "coverage": float((d.min(axis=1) < real_dc).mean()),
    }


def patient_halves(patient_ids: np.ndarray, labels: np.ndarray, seed: int) -> np.ndarray:
    """A boolean mask, True for half A: patients shuffled with ``seed`` and split so each class is about halved."""
    rng = np.random.default_rng(seed)
    in_a = np.zeros(len(patient_ids), bool)
    patients = rng.permutation(np.unique(patient_ids))
    k = max(2, int(np.max(labels)) + 1) if len(labels) else 2  # the classes (2, or k)
    counts = np.zeros(k)
    targets = np.bincount(labels, minlength=k) / 2.0
    for p in patients:
        rows = patient_ids == p
        gain = np.bincount(labels[rows], minlength=k)
        if np.all(counts + gain <= targets + 0.5) or counts.sum() == 0:
            in_a[rows] = True
            counts += gain
    return in_a


def compare(reference: np.ndarray, synthetic: np.ndarray, other_real: np.ndarray, *, n_subsets: int,
            subset_size: int, rng) -> dict:
    """Every metric of ``synthetic`` and of ``other_real`` (the floor) against ``reference``, on equal-sized sets."""
    n = min(len(synthetic), len(other_real))
    syn = synthetic[rng.choice(len(synthetic), n, replace=False)]
    other = other_real[rng.choice(len(other_real), n, replace=False)]
    result = {}
    for name, candidate in (("synthetic", syn), ("floor", other)):
        mean, sd = kid(reference, candidate, n_subsets=n_subsets, subset_size=subset_size, rng=rng)
        result[name] = {"kid": mean, "kid_sd": sd, **prdc(reference, candidate)}
    out = {m: {"synthetic": result["synthetic"][m], "floor": result["floor"][m]} for m in METRICS}
    out["kid"]["synthetic_sd"], out["kid"]["floor_sd"] = result["synthetic"]["kid_sd"], result["floor"]["kid_sd"]
    out["n"] = {"reference": int(len(reference)), "candidates": int(n)}
    return out


def feature_metrics(train_feats, train_labels, half_a, syn_feats, syn_labels, *, n_subsets, subset_size,
                    seed, names=CLASS_NAMES) -> dict:
    """:func:`compare` per class (by name: ``names``, in label order) and ``overall``, reference = half A, floor =
    half B."""
    rng = np.random.default_rng(seed)
    groups = {name: (train_labels == c, syn_labels == c) for c, name in enumerate(names)}
    groups["overall"] = (np.ones(len(train_labels), bool), np.ones(len(syn_labels), bool))
    out = {}
    for name, (real_rows, syn_rows) in groups.items():
        ref, other = train_feats[real_rows & half_a], train_feats[real_rows & ~half_a]
        if min(len(ref), len(other), syn_rows.sum()) <= DC_K:
            continue  # too few images for the k-NN balls
        out[name] = compare(ref, syn_feats[syn_rows], other, n_subsets=n_subsets, subset_size=subset_size, rng=rng)
    return out


def class_mean_kid(groups: dict, names=None) -> dict | None:
    """The mean over classes (``names``; None: benign and malignant) of the per-class KID, value and floor (None
    unless every class was measured)."""
    names = CLASS_NAMES if names is None else names
    if not all(name in groups for name in names):
        return None
    return {k: float(np.mean([groups[name]["kid"][k] for name in names])) for k in ("synthetic", "floor")}


# --- label fidelity ---------------------------------------------------------------------------------------------

def label_fidelity(p_synthetic, synthetic_labels, p_test, test_labels, names=None) -> dict:
    """GAN-test AUC beside the real test AUC, and label_effect = (AUC_syn - 0.5) / (AUC_real - 0.5). A k-class
    classifier's ``(n, k)`` probabilities give macro one-vs-rest AUCs and, per class (``names``), the mean
    probability the classifier gives synthetic images of that class for their own class."""
    p_synthetic = np.asarray(p_synthetic, float)
    if p_synthetic.ndim == 2:
        labels = np.asarray(synthetic_labels, int)
        names = list(names) if names is not None else [f"class {c}" for c in range(p_synthetic.shape[1])]
        auc_syn, auc_real = macro_auc(labels, p_synthetic), macro_auc(test_labels, p_test)
        return {
            "auc_synthetic": auc_syn,
            "auc_real_test": auc_real,
            "label_effect": (auc_syn - 0.5) / (auc_real - 0.5) if auc_real != 0.5 else float("nan"),
            "mean_p_own_class": {name: float(p_synthetic[labels == c, c].mean())
                                 for c, name in enumerate(names) if np.any(labels == c)},
        }
    auc_syn, auc_real = roc_auc(synthetic_labels, p_synthetic), roc_auc(test_labels, p_test)
    return {
        "auc_synthetic": auc_syn,
        "auc_real_test": auc_real,
        "label_effect": (auc_syn - 0.5) / (auc_real - 0.5) if auc_real != 0.5 else float("nan"),
        "mean_p_malignant": {name: float(p_synthetic[np.asarray(synthetic_labels) == c].mean())
                             for c, name in enumerate(CLASS_NAMES) if np.any(np.asarray(synthetic_labels) == c)},
    }


# --- memorisation -----------------------------------------------------------------------------------------------

def _z_score(synthetic_d: np.ndarray, heldout_d: np.ndarray) -> float:
    """Mann-Whitney Z of the synthetic distances vs the held-out ones (negative: synthetic are smaller)."""
    from scipy.stats import mannwhitneyu  # here: compare_generators imports this module without needing it

    m, n = len(synthetic_d), len(heldout_d)
    u = mannwhitneyu(synthetic_d, heldout_d, alternative="two-sided").statistic  # pairs with synthetic > held-out
    return float((u - m * n / 2.0) / np.sqrt(m * n * (m + n + 1) / 12.0))


def data_copying(train: np.ndarray, heldout: np.ndarray, synthetic: np.ndarray, *, n_cells: int, seed: int,
                 min_per_cell: int = MIN_PER_CELL) -> dict:
    """Meehan et al.'s C_T with per-cell Z-scores, per-image flags and nearest training images (rows = vectors)."""
    from sklearn.cluster import KMeans

    d_heldout = distances(heldout, train).min(axis=1)
    d_syn_all = distances(synthetic, train)
    nearest = d_syn_all.argmin(axis=1)
    d_syn = d_syn_all[np.arange(len(synthetic)), nearest]
    n_cells = max(1, min(n_cells, len(train)))
    km = KMeans(n_clusters=n_cells, random_state=seed, n_init=3).fit(train)
    cell_h, cell_s = km.predict(heldout), km.predict(synthetic)
    cells = []
    for c in range(n_cells):
        h, s = d_heldout[cell_h == c], d_syn[cell_s == c]
        row = {"cell": c, "n_heldout": int(len(h)), "n_synthetic": int(len(s)), "z": None}
        if len(h) >= min_per_cell and len(s) >= min_per_cell:
            row["z"] = _z_score(s, h)
        cells.append(row)
    used = [r for r in cells if r["z"] is not None]
    if used:
        weights = np.array([r["n_heldout"] for r in used], float)
        c_t = float(np.sum(weights * [r["z"] for r in used]) / weights.sum())
    else:  # too few images for any cell: one pooled test
        c_t = _z_score(d_syn, d_heldout) if min(len(d_syn), len(d_heldout)) >= 2 else float("nan")
    threshold = float(np.quantile(d_heldout, FLAG_QUANTILE))
    flags = d_syn < threshold
    if c_t < COPYING_Z:
        verdict = "data copying"
    elif c_t > -COPYING_Z:
        verdict = "no data copying (synthetic images lie farther from the training images than new real ones)"
    else:
        verdict = "no data copying"
    return {
        "C_T": c_t,
        "threshold_z": COPYING_Z,
        "verdict": verdict,
        "copying": bool(c_t < COPYING_Z),
        "cells": cells,
        "flag_distance": threshold,
        "flag_quantile": FLAG_QUANTILE,
        "n_flagged": int(flags.sum()),
        "n_flagged_expected_by_chance": float(FLAG_QUANTILE * len(synthetic)),
        "median_distance": {"synthetic": float(np.median(d_syn)), "heldout": float(np.median(d_heldout))},
        "flags": flags,
        "nearest_train": nearest,
        "nearest_distance": d_syn,
    }


# --- the whole assessment ---------------------------------------------------------------------------------------

def _pixels(images: np.ndarray) -> np.ndarray:
    from .synthesize import _vectors

    return _vectors(images)


def assess(synthetic: dict, train: dict, heldout: dict, test: dict, train_patients: np.ndarray, classifier, *,
           seed: int, kid_subsets: int, kid_subset_size: int, memorisation_cells: int,
           inception_weights: str | None = None, names=None) -> tuple[dict, dict]:
    """quality.json's content, and what the closest-pairs figure needs (``flags``, nearest training images).

    ``synthetic``/``train``/``heldout``/``test``: image bundles (``images`` in [0, 1], ``labels``);
    ``train_patients``: the patient of every training image; ``classifier``: the baseline classifier.
    ``names``: the classes, in label order (:func:`synthaug.generators.class_names`); per-class results of a binary
    dataset are keyed benign and malignant as always, those of k > 2 classes by these names (also in ``classes``).
    """
    from .split import report_names
    from .synthesize import quality_checks

    names = report_names(names if names is not None else CLASS_NAMES)

    size = train["images"].shape[1]
    half_a = patient_halves(train_patients, train["labels"], seed)
    spaces = {"random_cnn": random_cnn(size, seed), "classifier": penultimate(classifier)}
    if inception_weights:
        spaces["inception"] = inception(inception_weights, size)
    metrics = {}
    for name, model in spaces.items():
        metrics[name] = feature_metrics(
            embed(model, train["images"]), train["labels"], half_a, embed(model, synthetic["images"]),
            synthetic["labels"], n_subsets=kid_subsets, subset_size=kid_subset_size, seed=seed, names=names,
        )
    p_synthetic, p_test = embed(classifier, synthetic["images"]), embed(classifier, test["images"])
    if p_synthetic.shape[1] == 1:  # a binary classifier's P(class 1)
        p_synthetic, p_test = p_synthetic[:, 0], p_test[:, 0]
    fidelity = label_fidelity(p_synthetic, synthetic["labels"], p_test, test["labels"], names)
    copying = data_copying(_pixels(train["images"]), _pixels(heldout["images"]), _pixels(synthetic["images"]),
                           n_cells=memorisation_cells, seed=seed)
    figure = {k: copying.pop(k) for k in ("flags", "nearest_train", "nearest_distance")}
    copying["flagged_case_ids"] = [str(c) for c in np.asarray(synthetic["case_ids"])[figure["flags"]]]
    report = {
        "metrics": metrics,
        "label_fidelity": fidelity,
        "label_effect": fidelity["label_effect"],
        "memorisation": copying,
        "pixel_checks": quality_checks(synthetic, train["images"], train["labels"], seed=seed, names=names),
        "halves": {"n_a": int(half_a.sum()), "n_b": int((~half_a).sum()),
                   "patients_shared": int(len(set(train_patients[half_a]) & set(train_patients[~half_a])))},
    }
    if len(names) > 2:
        report["classes"] = list(names)
    _log_summary(report)
    return report, figure


def _log_summary(report: dict) -> None:
    for space, groups in report["metrics"].items():
        if "overall" in groups:
            o = groups["overall"]
            log.info("%s overall: " + ", ".join(f"{m} %.4g (floor %.4g)" for m in METRICS), space,
                     *[v for m in METRICS for v in (o[m]["synthetic"], o[m]["floor"])])
        within = class_mean_kid(groups, report.get("classes"))
        if within:
            log.info("%s KID within class (mean over classes): %.4g (floor %.4g)", space, within["synthetic"],
                     within["floor"])
    f = report["label_fidelity"]
    log.info("label fidelity: classifier AUC %.3f on synthetic images vs %.3f on real test images (effect %.2f)",
             f["auc_synthetic"], f["auc_real_test"], f["label_effect"])
    m = report["memorisation"]
    log.info("data-copying test: C_T = %.2f -> %s; %d images flagged (%.1f expected by chance)",
             m["C_T"], m["verdict"], m["n_flagged"], m["n_flagged_expected_by_chance"])
    if m["copying"]:
        log.warning("synthetic images sit closer to training images than new real images do: data copying")


def summary_rows(generator: str, report: dict) -> list[dict]:
    """One row per feature space x group x metric: value, floor and value / floor (for the comparison table)."""
    rows = []
    for space, groups in report["metrics"].items():
        for group, values in groups.items():
            for m in METRICS:
                v, f = values[m]["synthetic"], values[m]["floor"]
                rows.append({"generator": generator, "space": space, "group": group, "metric": m, "value": v,
                             "floor": f})
        within = class_mean_kid(groups, report.get("classes"))
        if within:
            rows.append({"generator": generator, "space": space, "group": "class_mean", "metric": "kid",
                         "value": within["synthetic"], "floor": within["floor"]})
    return rows


def comparison_markdown(reports: dict[str, dict]) -> str:
    """A markdown table: per generator, overall metrics (value, floor) per feature space, label fidelity, copying."""
    lines = ["| generator | features | KID x 1000 (floor) | KID x 1000 within class (floor) | precision (floor) "
             "| recall (floor) | density (floor) | coverage (floor) |", "|---|---|---|---|---|---|---|---|"]
    for gen, report in reports.items():
        for space, groups in report["metrics"].items():
            o = groups.get("overall")
            if o is None:
                continue
            within = class_mean_kid(groups, report.get("classes"))
            cells = [f"{1000 * o['kid']['synthetic']:.2f} ({1000 * o['kid']['floor']:.2f})",
                     f"{1000 * within['synthetic']:.2f} ({1000 * within['floor']:.2f})" if within else "—"]
            cells += [f"{o[m]['synthetic']:.3f} ({o[m]['floor']:.3f})" for m in METRICS[1:]]
            lines.append(f"| {gen} | {space} | " + " | ".join(cells) + " |")
    lines += ["", "| generator | classifier AUC on its images | on real test images | label effect | C_T "
              "| data copying | flagged images (by chance) |", "|---|---|---|---|---|---|---|"]
    for gen, report in reports.items():
        f, m = report["label_fidelity"], report["memorisation"]
        lines.append(f"| {gen} | {f['auc_synthetic']:.3f} | {f['auc_real_test']:.3f} | {f['label_effect']:.2f} "
                     f"| {m['C_T']:.2f} | {'yes' if m['copying'] else 'no'} | {m['n_flagged']} "
                     f"({m['n_flagged_expected_by_chance']:.1f}) |")
    names = next((r["classes"] for r in reports.values() if r.get("classes")), None)  # k > 2 classes: their names
    each = "the benign and the malignant KID" if names is None else f"the KIDs of the {len(names)} classes"
    lines += ["", "Floors: the same metric for real images of other patients (one half of the training split "
              f"against the other). KID: 0 is best; within class: the mean of {each}, "
              "each image against real images of its label (images that ignore their label can match the mixture "
              "of classes overall); precision, recall, coverage: up to 1; density: about 1 for real images. "
              "Label effect: (AUC on synthetic - 0.5) / (AUC on real - 0.5). C_T < -3: data copying."]
    return "\n".join(lines) + "\n"


# --- several trained instances of one generator -----------------------------------------------------------------

def _mean_tree(values: list):
    """The element-wise mean of equally-shaped JSON trees: numbers averaged, booleans any(), the rest the first's."""
    first = values[0]
    if isinstance(first, dict):
        return {k: _mean_tree([v[k] for v in values]) for k in first if all(isinstance(v, dict) and k in v
                                                                             for v in values)}
    if isinstance(first, bool):
        return any(bool(v) for v in values)
    if isinstance(first, (int, float)) and all(isinstance(v, (int, float)) and v is not None for v in values):
        return float(np.mean([float(v) for v in values]))
    return first


def aggregate(instances: dict[int, dict]) -> dict:
    """quality.json of a generator with trained instances {generator seed: its :func:`assess` report}.

    The top level keeps the layout of one report (so every reader of one instance reads the method): each number
    the mean over instances (the quality expected of one training run), each boolean any(); ``memorisation`` is the
    worst instance's (lowest C_T). ``n_instances`` and ``instances`` (each report whole, with its
    ``generator_seed``) follow.
    """
    seeds = list(instances)
    reports = [instances[k] for k in seeds]
    out = {key: _mean_tree([r[key] for r in reports]) for key in reports[0] if key != "memorisation"}
    worst = min(range(len(reports)), key=lambda i: reports[i]["memorisation"]["C_T"]
                if np.isfinite(reports[i]["memorisation"]["C_T"]) else np.inf)
    out["memorisation"] = {**reports[worst]["memorisation"], "generator_seed": seeds[worst]}
    out["n_instances"] = len(reports)
    out["instances"] = [{"generator_seed": k, **instances[k]} for k in seeds]
    return out


# --- quality beside the verdicts --------------------------------------------------------------------------------

FLOOR_SPACE = "random_cnn"  # the feature space the floor is judged in (no downloaded weights, not the classifier's)
FLOOR_SHARE = 0.5  # a generator passes with precision and coverage each at least this share of its real-vs-real floor,
                   # and label fidelity at least this share of the real images' distance above chance
FLOOR_RULE = (f"precision >= {FLOOR_SHARE:g} x and coverage >= {FLOOR_SHARE:g} x their real-vs-real floors "
              f"({FLOOR_SPACE} features, overall), and label fidelity at least {FLOOR_SHARE:g} x as far above chance "
              "as on real test images")
TABLE_COLUMNS = ("generator", "n_instances", "precision", "recall", "density", "coverage", "kid", "precision_floor",
                 "recall_floor", "coverage_floor", "kid_floor", "label_fidelity", "label_fidelity_real", "copying",
                 "passes_floor", "floor_rule", "sentence")


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%" if x < 0.1 else f"{100 * x:.0f}%"


def _floor_legs(row: dict) -> tuple[bool, bool, bool]:
    """The floor rule's three legs (:data:`FLOOR_RULE`): precision, coverage, and labels kept (the real-trained
    classifier's AUC on the images at least :data:`FLOOR_SHARE` x as far above chance as on real test images; not
    judged, True, when either AUC is missing or real images sit at chance: nothing to fall short of)."""
    precise = row["precision"] >= FLOOR_SHARE * row["precision_floor"]
    cover = row["coverage"] >= FLOOR_SHARE * row["coverage_floor"]
    auc, auc_real = row["label_fidelity"], row["label_fidelity_real"]
    labels = (not (np.isfinite(auc) and np.isfinite(auc_real)) or auc_real <= 0.5
              or auc - 0.5 >= FLOOR_SHARE * (auc_real - 0.5) - 1e-9)  # the edge passes (0.7 - 0.5 is 0.19999...)
    return bool(precise), bool(cover), bool(labels)


def quality_sentence(row: dict) -> str:
    """One plain sentence on a generator's images against the floor rule (:data:`FLOOR_RULE`)."""
    if not np.isfinite(row["coverage"]) or not np.isfinite(row["precision"]):
        return f"not assessed: quality.json holds no overall {FLOOR_SPACE} metrics"
    cover = (f"its images cover {_percent(row['coverage'])} of the real images' feature space, "
             f"real images {_percent(row['coverage_floor'])}")
    real = (f"{_percent(row['precision'])} of them lie among real images, "
            f"real images {_percent(row['precision_floor'])}")
    ok_precise, ok_cover, ok_labels = _floor_legs(row)
    if ok_cover and ok_precise:
        text = f"{'passes' if ok_labels else 'label-blind'}: {cover}; {real}"
    elif not ok_cover and not ok_precise:
        text = f"collapsed: {cover}; {real}"
    elif not ok_cover:
        text = f"too narrow: {cover}, though {real}"
    else:
        text = f"unrealistic: only {real}, though {cover}"
    auc, auc_real = row["label_fidelity"], row["label_fidelity_real"]
    if not ok_labels:
        k = int(row.get("n_classes", 2))
        labels = "two labels" if k == 2 else f"{k} labels (macro one-vs-rest AUC)"
        text += (f"; the real-trained classifier tells its {labels} apart at AUC {auc:.2f}, real test images "
                 f"{auc_real:.2f}")
    if row["copying"].startswith("data copying"):
        text += "; it copies training images"
    if row["n_instances"] > 1:
        text += f" (mean over {row['n_instances']} trained instances)"
    return text + "."


def generator_quality_table(reports: dict[str, dict]) -> "pd.DataFrame":
    """One row per generator: its quality against the real-vs-real floors, label fidelity, copying verdict, whether it
    passes the stated floor (:data:`FLOOR_RULE`) and one plain sentence.

    ``reports`` = {generator: parsed results/synthetic/{generator}/quality.json}; metrics are the overall
    :data:`FLOOR_SPACE` ones (for several trained instances, the file's top level holds their mean: :func:`aggregate`);
    ``kid`` and ``kid_floor`` are KID x 1000.
    """
    import pandas as pd

    rows = []
    for generator, report in reports.items():
        overall = report.get("metrics", {}).get(FLOOR_SPACE, {}).get("overall", {})
        value = {m: float(overall[m]["synthetic"]) if m in overall else float("nan") for m in METRICS}
        floor = {m: float(overall[m]["floor"]) if m in overall else float("nan") for m in METRICS}
        fidelity = report.get("label_fidelity", {})
        row = {
            "generator": generator,
            "n_instances": int(report.get("n_instances", len(report.get("instances", [])) or 1)),
            **{m: value[m] for m in ("precision", "recall", "density", "coverage")},
            "kid": 1000 * value["kid"],
            "precision_floor": floor["precision"], "recall_floor": floor["recall"],
            "coverage_floor": floor["coverage"], "kid_floor": 1000 * floor["kid"],
            "label_fidelity": float(fidelity.get("auc_synthetic", float("nan"))),
            "label_fidelity_real": float(fidelity.get("auc_real_test", float("nan"))),
            "copying": str(report.get("memorisation", {}).get("verdict", "not tested")),
            "floor_rule": FLOOR_RULE,
            "n_classes": len(report.get("classes") or ()) or 2,  # for the sentence (k-class reports name them)
        }
        row["passes_floor"] = all(_floor_legs(row))
        row["sentence"] = quality_sentence(row)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
