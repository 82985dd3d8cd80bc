"""Fault matrix: the tiny study under the faults a user meets, and whether rerunning recovers the same answer.

Runs the tiny study (tests/configs/tiny.yaml, with trainings long enough to interrupt mid-way: ``LONGER``) once
uninterrupted, the reference; then each fault in a folder of its own: a copy of the reference (``cp -a``: its data
stage stays up to date) without the outputs of the rule to hit and of one evaluation after it, which is the run's
target, so that a row rebuilds one chain (about a minute); the data-stage row starts from an empty folder. The fault
is injected while the rule's job runs, the user's next step is taken (the same command; if that fails,
``snakemake --unlock`` then ``--rerun-incomplete``), and every ``metrics.json`` (and the summary's table.csv) is
compared with the reference's, parsed (NaN equals NaN). Rows (``--rows`` picks some):

  kill-*           SIGKILL to Snakemake's whole process group (os.killpg) while the rule's job runs
  term-*           SIGTERM to the training job alone (a preemption), after two epochs
  disk-full        the folder on a small tmpfs (``mount``, needs root), filled while a classifier trains
  truncated-ckpt   SIGKILL after three epochs, then the classifier checkpoint's weights cut to half their bytes
  second-run       a second snakemake started in the same folder while the first one trains

    .venv/bin/python bench/faults.py [--workdir /tmp/synthaug-faults] [--rows kill-gan disk-full]

Prints one markdown table. Not a test (about 10 minutes on 2 cores, 4 of them the reference); the folders stay for inspection.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from common import REPO, SNAKEFILE, read_benchmarks

TINY = REPO / "tests" / "configs" / "tiny.yaml"
LONGER = "classifier:\n  epochs: 10\n  patience: 10\n  batch_size: 8\ngan:\n  epochs: 6\n"
RUN = "{stage}/baseline/simple_cnn/seed0"
CLASSIFIER = "results/" + RUN.format(stage="classifiers")
EVALUATION = "results/" + RUN.format(stage="evaluation")
BASELINE = f"{EVALUATION}/metrics.json"
GAN_ARM = "synthetic_only-cgan"  # the cheapest arm that needs the generator
GAN_CHAIN = ("results/gan/cgan", "results/synthetic/cgan", f"results/classifiers/{GAN_ARM}",
             f"results/evaluation/{GAN_ARM}")
GAN_TARGET = f"results/evaluation/{GAN_ARM}/simple_cnn/seed0/metrics.json"
CLASSIFIER_LOG = "logs/train_classifier/baseline/simple_cnn/seed0.log"


@dataclass
class Row:
    fault: str
    rule: str
    action: str           # kill | term | disk | truncate | second
    remove: tuple | None  # paths deleted from the reference's copy; None: start from an empty folder
    target: str
    epochs: int = 0       # inject after this many epochs are checkpointed (trainings); else half-way through the job
    log: str = ""         # the job's log, where its own message is
    seen: str = r"cannot be locked|[Ii]ncomplete|Error"  # the line to show, searched in the job's log then the outputs


ROWS = {
    "kill-data": Row("SIGKILL, whole tree", "simulate_phantom", "kill", None, BASELINE),
    "kill-gan": Row("SIGKILL, whole tree", "train_generator", "kill", GAN_CHAIN, GAN_TARGET, epochs=2),
    "kill-classifier": Row("SIGKILL, whole tree", "train_classifier", "kill", (CLASSIFIER, EVALUATION), BASELINE, 2),
    "kill-evaluate": Row("SIGKILL, whole tree", "evaluate_classifier", "kill", (EVALUATION,), BASELINE),
    "kill-summary": Row("SIGKILL, whole tree", "summarize_results", "kill", ("results/summary",),
                        "results/summary/table.md"),
    "term-gan": Row("SIGTERM (preemption)", "train_generator", "term", GAN_CHAIN, GAN_TARGET, 2,
                    "logs/train_generator/cgan/i0.log", r"preempted"),
    "term-classifier": Row("SIGTERM (preemption)", "train_classifier", "term", (CLASSIFIER, EVALUATION), BASELINE, 2,
                           CLASSIFIER_LOG, r"preempted"),
    "disk-full": Row("disk full (tmpfs filled)", "train_classifier", "disk", (CLASSIFIER, EVALUATION), BASELINE, 2,
                     CLASSIFIER_LOG, r"disk full|No space left"),
    "truncated-ckpt": Row("truncated checkpoint", "train_classifier", "truncate", (CLASSIFIER, EVALUATION), BASELINE,
                          3, CLASSIFIER_LOG, r"is incomplete"),
    "second-run": Row("second snakemake, same folder", "train_classifier", "second", (CLASSIFIER, EVALUATION),
                      BASELINE, 1, "", r"seem to be incomplete|cannot be locked"),
}


def snakemake(workdir: Path, *args: str, out: Path, wait: bool = True):
    """``snakemake --cores 2`` on the tiny config plus LONGER in ``workdir``; output to ``out``. In its own process
    group (os.killpg kills it and every job), as a shell would start it."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "-d", str(workdir), "--cores", "2", *args,
           "--configfile", str(TINY), str(out.parent / "longer.yaml")]
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}  # the config chooses the backend
    with open(out, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return proc.wait() if wait else proc


def job_process(proc, rule: str):
    """The Python process running ``rule``'s script among ``proc``'s descendants, or None."""
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            cmd = child.cmdline()
            if "python" in Path(cmd[0]).name and any(part.endswith(f".{rule}.py") for part in cmd):
                return child
        except (psutil.NoSuchProcess, IndexError):
            continue
    return None


def epochs_done(folder: Path) -> int:
    try:
        return json.loads((folder / "checkpoint" / "state.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def wait_for_fault_time(proc, row: Row, workdir: Path, delay: float) -> bool:
    """Wait until the moment to inject (``row.epochs`` done, or ``delay`` s into the job); False if the run ended."""
    folder = workdir / (CLASSIFIER if row.rule == "train_classifier" else "results/gan/cgan/i0")
    while proc.poll() is None:
        try:
            job = job_process(proc, row.rule)
            if job is not None and (epochs_done(folder) >= row.epochs if row.epochs
                                    else time.time() - job.create_time() >= delay):
                return True
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    return False


def kill_tree(proc) -> None:
    tree = psutil.Process(proc.pid).children(recursive=True)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(tree, timeout=10)
    for survivor in alive:  # none expected: Snakemake's local jobs stay in its process group
        print(f"  a process outside the group survived: {survivor.pid}; killed", flush=True)
        survivor.kill()


def fill(folder: Path) -> None:
    """Write zeros into ``folder/filler`` until the file system is full."""
    with open(folder / "filler", "wb", buffering=0) as fh:
        try:
            while fh.write(bytes(1 << 20)):
                pass
        except OSError:
            pass


def first_line(pattern: str, texts) -> str:
    for text in texts:
        for line in text.splitlines():
            if re.search(pattern, line):
                line = re.sub(r"^\S+ \S+ (INFO|WARNING|ERROR) synthaug: ", "", line.strip())
                return (line[:160] + " ...") if len(line) > 160 else line
    return "(nothing)"


def read_log(workdir: Path, row: Row) -> str:
    return (workdir / row.log).read_text() if row.log and (workdir / row.log).exists() else ""


def canonical(path: Path) -> str:
    return json.dumps(json.loads(path.read_text()), sort_keys=True) if path.suffix == ".json" else path.read_text()


def compare(reference: Path, workdir: Path) -> str:
    """Every metrics.json and the summary's table.csv the run holds against the reference's."""
    files = [*sorted(reference.glob("results/evaluation/**/metrics.json")), reference / "results/summary/table.csv"]
    present = equal = rebuilt = 0
    for ref in files:
        mine = workdir / ref.relative_to(reference)
        if ref.exists() and mine.exists():
            present += 1
            rebuilt += mine.stat().st_mtime_ns != ref.stat().st_mtime_ns
            equal += canonical(mine) == canonical(ref)
    return f"{'yes' if equal == present else '**NO**'} ({rebuilt} rebuilt; {equal}/{present} equal)"


def recover(workdir: Path, target: str, out: Path) -> tuple[str, list[str]]:
    """The user's next step: the same command; if it fails, --unlock then --rerun-incomplete."""
    if snakemake(workdir, target, out=out.with_suffix(".rerun.txt")) == 0:
        return "yes: the same command", [out.with_suffix(".rerun.txt").read_text()]
    snakemake(workdir, "--unlock", target, out=out.with_suffix(".unlock.txt"))
    status = snakemake(workdir, "--rerun-incomplete", target, out=out.with_suffix(".incomplete.txt"))
    texts = [out.with_suffix(f".{s}.txt").read_text() for s in ("rerun", "incomplete")]
    return ("yes: `--unlock`, then `--rerun-incomplete`" if status == 0 else f"**NO** (exit {status})"), texts


def run_row(name: str, row: Row, reference: Path, base: Path) -> list[str]:
    workdir, out = base / name, base / f"{name}.txt"
    shutil.rmtree(workdir, ignore_errors=True)
    if row.action == "disk":
        size_mb = int(subprocess.run(["du", "-sm", str(reference)], capture_output=True, text=True).stdout.split()[0])
        workdir.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb + 100}m", "tmpfs", str(workdir)], check=True)
    try:
        if row.remove is None:
            workdir.mkdir()
            shutil.copy(REPO / "config.yaml", workdir)
        else:
            subprocess.run(["cp", "-a", f"{reference}/.", str(workdir)], check=True)
            for path in row.remove:
                shutil.rmtree(workdir / path, ignore_errors=True)
        jobs = read_benchmarks(reference)
        delay = 0.5 * jobs.loc[jobs["rule"] == row.rule, "s"].median()
        proc = snakemake(workdir, row.target, out=out, wait=False)
        if not wait_for_fault_time(proc, row, workdir, delay):
            return [row.fault, row.rule, f"(not injected: the job ended first, exit {proc.returncode})", "n/a", "n/a"]
        texts, recovered = [], None
        if row.action in ("kill", "truncate"):
            kill_tree(proc)
            if row.action == "truncate":
                weights = workdir / CLASSIFIER / "checkpoint" / "model.weights.h5"
                os.truncate(weights, weights.stat().st_size // 2)
        elif row.action == "term":
            job_process(proc, row.rule).send_signal(signal.SIGTERM)
            proc.wait()
        elif row.action == "disk":
            tree = psutil.Process(proc.pid).children(recursive=True)
            fill(workdir)
            proc.wait(timeout=900)
            psutil.wait_procs(tree, timeout=300)  # the job too, should Snakemake stop first
            (workdir / "filler").unlink()  # the user frees space
        else:  # second: as typed, then with --rerun-incomplete, as its message advises
            second, advised = out.with_suffix(".second.txt"), out.with_suffix(".advised.txt")
            status = snakemake(workdir, row.target, out=second)
            status_advised = snakemake(workdir, "--rerun-incomplete", row.target, out=advised)
            seen_second = first_line(row.seen, [second.read_text()]) + "; with `--rerun-incomplete`: " + \
                first_line(row.seen, [advised.read_text()])
            recovered = (f"n/a: the second stopped (exit {status}, then {status_advised}); the first went on "
                         f"(exit {proc.wait()})")
        logs = [read_log(workdir, row)]  # before a rerun replaces it
        if recovered is None:
            recovered, texts = recover(workdir, row.target, out)
        seen = first_line(row.seen, [*logs, read_log(workdir, row), *texts, out.read_text()])
        if row.action == "kill":  # the killed run says nothing; the next one does
            seen = "nothing, then on rerun: " + first_line(row.seen, texts)
        elif row.action == "second":
            seen = seen_second
        if row.action in ("term", "disk"):  # how the job ended, as Snakemake reports it
            ended = re.search(r"died with <Signals\.(\w+)|non-zero exit status (\d+)", out.read_text())
            seen += f" (job ended: {ended.group(1) or 'exit ' + ended.group(2)})" if ended else ""
        elif row.action == "disk":
            recovered = "once space is freed, " + recovered
        return [row.fault, row.rule, seen.replace("|", "\\|"), recovered, compare(reference, workdir)]
    finally:
        if row.action == "disk":
            subprocess.run(["umount", str(workdir)], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=None, help="an empty or new folder (default: a temporary one)")
    parser.add_argument("--rows", nargs="*", choices=list(ROWS), default=list(ROWS))
    args = parser.parse_args()
    base = (args.workdir or Path(tempfile.mkdtemp(prefix="synthaug-faults-"))).resolve()
    base.mkdir(parents=True, exist_ok=True)
    (base / "longer.yaml").write_text(LONGER)
    started = time.perf_counter()
    reference = base / "reference"
    if not (reference / "results" / "summary" / "table.md").exists():
        reference.mkdir(exist_ok=True)
        shutil.copy(REPO / "config.yaml", reference)
        if snakemake(reference, out=base / "reference.txt") != 0:
            sys.exit(f"the uninterrupted run failed: see {base / 'reference.txt'}")
    print(f"reference run: {time.perf_counter() - started:.0f} s", flush=True)
    table = ["| fault | rule hit | what the user saw (first line) | recovered? | metrics identical to the "
             "uninterrupted run? |", "|---|---|---|---|---|"]
    for name in args.rows:
        row_start = time.perf_counter()
        cells = run_row(name, ROWS[name], reference, base)
        table.append("| " + " | ".join(cells) + " |")
        print(f"{name} ({time.perf_counter() - row_start:.0f} s): {table[-1]}", flush=True)
    print(f"\nworkdir: {base}\nwall time: {time.perf_counter() - started:.0f} s\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
