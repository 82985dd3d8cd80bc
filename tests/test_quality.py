"""Quality metrics against direct implementations and known answers; label fidelity; the data-copying test
calibrated with planted near-copies of training images."""

import numpy as np
import pytest

from synthaug.quality import (
    FLOOR_RULE,
    TABLE_COLUMNS,
    aggregate,
    class_mean_kid,
    comparison_markdown,
    data_copying,
    distances,
    feature_metrics,
    generator_quality_table,
    kid,
    label_fidelity,
    patient_halves,
    prdc,
)


def _direct_mmd2(x, y):
    """Unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, written out pair by pair."""
    d, m, n = x.shape[1], len(x), len(y)
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def _direct_prdc(real, fake, pr_k, dc_k):
    def kth(points, k):
        return [sorted(np.linalg.norm(points - p, axis=1))[k] for p in points]

    r_pr, f_pr, r_dc = kth(real, pr_k), kth(fake, pr_k), kth(real, dc_k)
    dist = lambda a, b: float(np.linalg.norm(a - b))  # noqa: E731
    precision = np.mean([any(dist(r, f) < r_pr[i] for i, r in enumerate(real)) for f in fake])
    recall = np.mean([any(dist(r, f) < f_pr[j] for j, f in enumerate(fake)) for r in real])
    density = np.mean([sum(dist(r, f) < r_dc[i] for i, r in enumerate(real)) for f in fake]) / dc_k
    coverage = np.mean([min(dist(r, f) for f in fake) < r_dc[i] for i, r in enumerate(real)])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def test_kid_equals_the_direct_unbiased_mmd_and_is_near_zero_for_one_distribution():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 5)), rng.normal(0.5, 1.0, size=(30, 5))
    mean, sd = kid(x, y, n_subsets=3, subset_size=30, rng=rng)  # full sets: every subset is the whole set
    assert mean == pytest.approx(_direct_mmd2(x, y), rel=1e-9) and sd == pytest.approx(0.0, abs=1e-9)

    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same, same_sd = kid(a, b, n_subsets=20, subset_size=200, rng=rng)
    shifted, _ = kid(a, b + 1.0, n_subsets=20, subset_size=200, rng=rng)
    assert abs(same) < 3 * same_sd + 1e-3 and shifted > 100 * abs(same)


def test_prdc_equals_the_direct_definitions():
    rng = np.random.default_rng(1)
    real, fake = rng.normal(size=(25, 3)), rng.normal(0.3, 1.2, size=(20, 3))
    for key, value in _direct_prdc(real, fake, 3, 5).items():
        assert prdc(real, fake, 3, 5)[key] == pytest.approx(value)


def test_prdc_known_answers():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 4))
    disjoint = prdc(real, real + 100.0)
    assert disjoint == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    same = prdc(real, rng.normal(size=(200, 4)))
    assert same["precision"] > 0.8 and same["recall"] > 0.8 and same["coverage"] > 0.8
    assert 0.7 < same["density"] < 1.3
    collapsed = prdc(real, np.zeros((200, 4)) + rng.normal(scale=0.01, size=(200, 4)))
    assert collapsed["recall"] < 0.1 and collapsed["coverage"] < 0.2  # one mode: precise, but covers little


def test_patient_halves_share_no_patient_and_halve_each_class():
    rng = np.random.default_rng(3)
    patients = np.repeat(np.arange(150), rng.integers(1, 4, 150))
    labels = (rng.random(len(patients)) < 0.4).astype(int)
    half = patient_halves(patients, labels, seed=0)
    assert not set(patients[half]) & set(patients[~half])
    for c in (0, 1):
        assert abs(half[labels == c].sum() - (labels == c).sum() / 2) <= 3


def test_feature_metrics_give_value_and_floor_per_class_and_overall():
    rng = np.random.default_rng(4)
    labels = np.arange(300) % 2
    feats = rng.normal(size=(300, 6)) + labels[:, None] * 3.0
    patients = np.arange(300)
    half = patient_halves(patients, labels, seed=0)
    good = rng.normal(size=(120, 6)) + (np.arange(120) % 2)[:, None] * 3.0
    bad = rng.normal(size=(120, 6)) + 10.0
    out_good = feature_metrics(feats, labels, half, good, np.arange(120) % 2, n_subsets=10, subset_size=50, seed=0)
    out_bad = feature_metrics(feats, labels, half, bad, np.arange(120) % 2, n_subsets=10, subset_size=50, seed=0)
    assert set(out_good) == {"benign", "malignant", "overall"}
    for group in out_good:
        g, b = out_good[group], out_bad[group]
        # Same distribution: KID within noise of the floor's; far away: orders of magnitude above both.
        assert abs(g["kid"]["synthetic"]) < 1e-4 * b["kid"]["synthetic"]
        assert b["kid"]["synthetic"] > 1e4 * abs(g["kid"]["floor"])
        assert g["precision"]["synthetic"] > 0.7 and b["precision"]["synthetic"] == 0.0
        assert abs(g["coverage"]["synthetic"] - g["coverage"]["floor"]) < 0.2


def test_within_class_kid_sees_a_generator_that_ignores_its_label():
    """Images drawn from the two classes' mixture whatever their label match the real images overall but not per
    class: the overall KID is near its floor, the within-class KID far above it; a label-faithful generator is low on
    both."""
    rng = np.random.default_rng(8)
    labels = np.arange(400) % 2
    feats = rng.normal(size=(400, 6)) + labels[:, None] * 3.0
    half = patient_halves(np.arange(400), labels, seed=0)
    asked = np.arange(200) % 2
    ignoring = rng.normal(size=(200, 6)) + rng.integers(0, 2, 200)[:, None] * 3.0  # the class drawn is not `asked`
    faithful = rng.normal(size=(200, 6)) + asked[:, None] * 3.0
    kw = dict(n_subsets=20, subset_size=60, seed=0)
    out_ignoring = feature_metrics(feats, labels, half, ignoring, asked, **kw)
    out_faithful = feature_metrics(feats, labels, half, faithful, asked, **kw)
    within_ignoring, within_faithful = class_mean_kid(out_ignoring), class_mean_kid(out_faithful)
    assert abs(out_ignoring["overall"]["kid"]["synthetic"]) < 0.05 * within_ignoring["synthetic"]
    assert within_ignoring["synthetic"] > 20 * within_faithful["synthetic"]
    assert within_faithful["synthetic"] < 0.05 * within_ignoring["synthetic"]
    np.testing.assert_allclose(within_faithful["synthetic"], np.mean(
        [out_faithful[c]["kid"]["synthetic"] for c in ("benign", "malignant")]))
    assert class_mean_kid({"overall": out_faithful["overall"]}) is None


def test_label_fidelity_scores_ignored_labels_near_zero():
    rng = np.random.default_rng(5)
    test_labels = np.arange(200) % 2
    p_test = np.clip(0.5 + 0.3 * (test_labels - 0.5) + rng.normal(0, 0.15, 200), 0, 1)
    # Benign and malignant rows made from the same noise, almost the same images: the classifier scores them alike.
    same = rng.random(100)
    p_syn = np.concatenate([same, same + rng.normal(0, 1e-3, 100)])
    labels = np.repeat([0, 1], 100)
    ignored = label_fidelity(p_syn, labels, p_test, test_labels)
    assert abs(ignored["label_effect"]) < 0.15
    faithful = label_fidelity(labels.astype(float), labels, p_test, test_labels)
    assert faithful["auc_synthetic"] == 1.0 and faithful["label_effect"] > 1.0


def _copying_data(seed=6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 6, size=(3, 20))

    def draw(n):
        return centres[rng.integers(0, 3, n)] + rng.normal(size=(n, 20))

    return rng, draw(600), draw(300), draw


def test_fresh_samples_are_not_data_copying():
    rng, train, heldout, draw = _copying_data()
    out = data_copying(train, heldout, draw(300), n_cells=3, seed=0)
    assert not out["copying"] and abs(out["C_T"]) < 3
    assert out["flags"].sum() <= 10  # about 1% by chance
    assert all(c["z"] is not None for c in out["cells"])


def test_planted_near_copies_are_flagged_and_fresh_images_are_not():
    rng, train, heldout, draw = _copying_data()
    planted = train[:60] + rng.normal(0, 0.01, size=(60, 20))
    synthetic = np.concatenate([planted, draw(240)])
    out = data_copying(train, heldout, synthetic, n_cells=3, seed=0)
    assert out["flags"][:60].all()  # every near-copy flagged, with the training image it copies
    np.testing.assert_array_equal(out["nearest_train"][:60], np.arange(60))
    assert out["flags"][60:].mean() < 0.05
    copies = data_copying(train, heldout, train[:300] + rng.normal(0, 0.01, size=(300, 20)), n_cells=3, seed=0)
    assert copies["copying"] and copies["C_T"] < -3 and copies["verdict"] == "data copying"


def test_distances_match_numpy():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(5, 4)), rng.normal(size=(6, 4))
    np.testing.assert_allclose(distances(a, b), np.linalg.norm(a[:, None] - b[None], axis=2), atol=1e-9)


def test_comparison_markdown_lists_every_generator():
    values = {m: {"synthetic": 0.5, "floor": 0.6} for m in ("kid", "precision", "recall", "density", "coverage")}
    report = {"metrics": {"random_cnn": {"overall": values}},
              "label_fidelity": {"auc_synthetic": 0.6, "auc_real_test": 0.8, "label_effect": 0.33},
              "memorisation": {"C_T": 0.5, "copying": False, "n_flagged": 2, "n_flagged_expected_by_chance": 5.5}}
    text = comparison_markdown({"cgan": report, "ddpm": report})
    assert "| cgan | random_cnn | 500.00 (600.00) | — | 0.500 (0.600)" in text
    assert "| ddpm | 0.600 | 0.800 | 0.33" in text


def _report(precision, coverage, *, kid=0.04, auc=0.85, copying=False, c_t=0.5):
    """A quality.json as assess writes it, with chosen overall random_cnn values (floors: real-vs-real)."""
    floors = {"kid": 0.0089, "precision": 0.92, "recall": 0.95, "density": 1.0, "coverage": 0.99}
    values = {"kid": kid, "precision": precision, "recall": 0.5, "density": 0.8, "coverage": coverage}
    overall = {m: {"synthetic": values[m], "floor": floors[m]} for m in floors}
    return {"metrics": {"random_cnn": {"overall": overall}, "classifier": {"overall": overall}},
            "label_fidelity": {"auc_synthetic": auc, "auc_real_test": 0.9, "label_effect": (auc - .5) / .4},
            "label_effect": (auc - .5) / .4,
            "memorisation": {"C_T": c_t, "copying": copying, "n_flagged": 1, "n_flagged_expected_by_chance": 5.0,
                             "verdict": "data copying" if copying else "no data copying"}}


def test_generator_quality_table_fails_a_collapsed_generator_and_passes_a_good_one():
    table = generator_quality_table({"cgan": _report(0.004, 0.005, kid=0.0417),
                                     "cgan_diffaug": _report(0.80, 0.85, kid=0.012),
                                     "narrow": _report(0.85, 0.30), "blurry": _report(0.20, 0.90, auc=0.55)})
    assert tuple(table.columns) == TABLE_COLUMNS and list(table["generator"])[0] == "cgan"
    rows = table.set_index("generator")
    collapsed, good = rows.loc["cgan"], rows.loc["cgan_diffaug"]
    assert not collapsed["passes_floor"] and good["passes_floor"]
    assert collapsed["sentence"].startswith("collapsed: its images cover 0.5% of the real images' feature space, "
                                            "real images 99%")
    assert good["sentence"].startswith("passes: its images cover 85%")
    assert collapsed["kid"] == pytest.approx(41.7) and collapsed["kid_floor"] == pytest.approx(8.9)
    assert good["coverage_floor"] == pytest.approx(0.99) and good["precision_floor"] == pytest.approx(0.92)
    assert good["label_fidelity"] == pytest.approx(0.85) and good["label_fidelity_real"] == pytest.approx(0.9)
    assert good["n_instances"] == 1 and good["copying"] == "no data copying" and good["floor_rule"] == FLOOR_RULE
    assert not rows.loc["narrow", "passes_floor"] and rows.loc["narrow", "sentence"].startswith("too narrow")
    assert not rows.loc["blurry", "passes_floor"] and rows.loc["blurry", "sentence"].startswith("unrealistic")
    assert "AUC 0.55" in rows.loc["blurry", "sentence"] and "AUC" not in good["sentence"]
    # Realistic and broad but blind to its label (the 96-px default's cgan: coverage 0.48 of 0.96, label fidelity
    # 0.53 against real 0.76): fails, and says why.
    blind = generator_quality_table({"cgan": _report(0.84, 0.60, auc=0.60)}).iloc[0]
    assert not blind["passes_floor"] and blind["sentence"].startswith("label-blind: its images cover 60%")
    assert "tells its two labels apart at AUC 0.60, real test images 0.90" in blind["sentence"]
    for sentence in table["sentence"]:
        assert sentence.endswith(".") and ". " not in sentence  # one sentence


def test_generator_quality_table_on_the_floor_edge_and_missing_metrics():
    """Exactly half the floor passes, just under fails; a report without random_cnn metrics fails and says so."""
    edge = generator_quality_table({"a": _report(0.46, 0.495), "b": _report(0.46, 0.494), "c": {}})
    assert list(edge["passes_floor"]) == [True, False, False]
    assert edge["sentence"][2].startswith("not assessed")
    # The label leg: real test images at AUC 0.9, so 0.7 (half as far above chance) passes and just under fails;
    # a missing label fidelity, or real images at chance, leaves the leg unjudged.
    labels = generator_quality_table({"at": _report(0.8, 0.9, auc=0.7), "under": _report(0.8, 0.9, auc=0.699),
                                      "missing": _report(0.8, 0.9, auc=float("nan"))})
    assert list(labels["passes_floor"]) == [True, False, True]
    chance = _report(0.8, 0.9, auc=0.52)
    chance["label_fidelity"]["auc_real_test"] = 0.5
    assert generator_quality_table({"g": chance}).iloc[0]["passes_floor"]


def test_aggregate_averages_instances_and_keeps_the_worst_copying_verdict():
    good, collapsed = _report(0.8, 0.9, kid=0.01), _report(0.0, 0.1, kid=0.05, copying=True, c_t=-4.0)
    combined = aggregate({0: good, 1: collapsed})
    overall = combined["metrics"]["random_cnn"]["overall"]
    assert overall["coverage"]["synthetic"] == pytest.approx(0.5) and overall["coverage"]["floor"] == 0.99
    assert combined["memorisation"]["copying"] and combined["memorisation"]["generator_seed"] == 1
    assert combined["n_instances"] == 2 and [i["generator_seed"] for i in combined["instances"]] == [0, 1]
    row = generator_quality_table({"cgan": combined}).iloc[0]
    assert row["n_instances"] == 2 and row["coverage"] == pytest.approx(0.5)
    assert "mean over 2 trained instances" in row["sentence"] and "copies training images" in row["sentence"]
    one = aggregate({0: good})
    assert one["metrics"] == good["metrics"] and one["n_instances"] == 1
