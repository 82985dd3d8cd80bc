"""The verdict rules before and after issue 26, on the simulation of tests/test_calibration.py (not a test).

Before: Satterthwaite's df from the seed variance's estimate, Holm over all rows, each row's equivalence read from
its inherited Holm level. After: df from the variance's 90% upper bound, the testing order of synthaug.stats
(docs/statistics.md). Prints the null miss rate at alpha/8 per regime and number of seeds, and the family-wise error
of false helps/hurts (global null) and of false equivalent (every row at the margin). A few minutes on 2 cores.

    .venv/bin/python bench/calibration_before_after.py
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow"))
sys.path.insert(0, str(REPO / "tests"))
import numpy as np
from scipy import stats as sps
from test_calibration import experiments, family, claims, ROLES, MARGIN, REGIMES
from synthaug.stats import EQUIVALENT, HELPS, HURTS

def satt(tr, te, k):
    return np.where(tr > 0, (tr + te) ** 2 * (k - 1) / np.maximum(tr, 1e-300) ** 2, np.inf)

level = 0.05 / 8
print("miss rate at alpha/8 (x nominal): regime, k, old Satterthwaite, new")
for k in (3, 5, 10):
    for name, comp in REGIMES.items():
        r = experiments(np.random.default_rng([k, list(REGIMES).index(name)]), comp, 8000, n_seeds=k)
        old_df = satt(r["se_train"] ** 2, r["se_test"] ** 2, k)
        old = np.mean(np.abs(r["mean_difference"] / r["se"]) > sps.t.ppf(1 - level / 2, old_df)) / level
        new = np.mean(np.abs(r["mean_difference"] / r["se"]) > sps.t.ppf(1 - level / 2, r["df"])) / level
        print(f"  {name:12s} k={k:2d}  old {old:.2f}x  new {new:.2f}x", flush=True)

def old_rule(rows, f, k):
    """Holm over all 8 rows, Satterthwaite df from the estimate, equivalence = the (1 - level) interval inside."""
    d = np.array([float(r["mean_difference"][f]) for r in rows]); se = np.array([float(r["se"][f]) for r in rows])
    df = np.array([float(satt(r["se_train"][f] ** 2, r["se_test"][f] ** 2, k)) for r in rows])
    p = 2 * sps.t.sf(np.abs(d / se), df)
    order = np.argsort(p); levels = np.empty(len(p)); m = len(p)
    for i, j in enumerate(order):
        levels[j] = 0.05 / (m - i)
        if p[j] >= levels[j]:
            levels[order[i:]] = 0.05 / (m - i); break
    out = []
    for di, si, dfi, lv in zip(d, se, df, levels):
        half = sps.t.ppf(1 - lv / 2, dfi) * si
        out.append(HELPS if di - half > 0 else HURTS if di + half < 0 else EQUIVALENT if abs(di) + half < MARGIN else "inc")
    return out

n = 2000
rng = np.random.default_rng(3)
for k in (3, 5):
    rows = family(rng, [0.0] * 8, n, n_seeds=k)
    old = np.mean([any(v in (HELPS, HURTS) for v in old_rule(rows, f, k)) for f in range(n)])
    new = np.mean([any(v["verdict"] in (HELPS, HURTS) for v in claims(rows, f)) for f in range(n)])
    print(f"global null, k={k}: FWER false helps/hurts old {old:.3f} new {new:.3f}", flush=True)
rows = family(rng, [0.06, 0.06] + [MARGIN * (-1) ** i for i in range(6)], n, n_seeds=5)
old = np.mean([any(v == EQUIVALENT for v in old_rule(rows, f, 5)[2:]) for f in range(n)])
new = np.mean([any(v["verdict"] == EQUIVALENT for v in claims(rows, f)[2:]) for f in range(n)])
print(f"every row at the margin, k=5: FWER false equivalent old {old:.3f} new {new:.3f}", flush=True)
rows = family(rng, [MARGIN * (-1) ** i for i in range(8)], n, n_seeds=10)
old = np.mean([any(v == EQUIVALENT for v in old_rule(rows, f, 10)) for f in range(n)])
print(f"eight rows at the margin, k=10: FWER false equivalent old {old:.3f}", flush=True)
