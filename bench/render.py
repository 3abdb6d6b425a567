"""Write the tables of measured figures of README.md and docs/benchmarks.md from
bench/results/*.json, so that a figure in the documentation is always one a benchmark
measured, with the machine it ran on.

Each table sits between `<!-- bench/render.py: NAME -->` and `<!-- end NAME -->`; running this
rewrites what lies between (nothing else of the files is touched).

    python bench/render.py
"""

from __future__ import annotations

import json
import re
from statistics import median
import tomllib
from pathlib import Path

from course_lib.instructor.similarity import CODE_THRESHOLD

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "bench" / "results"
PRACTICALS = {"tp1_dense": "TP1 dense", "tp2_convol": "TP2 convnet"}


def percent(fraction: float) -> str:
    return f"{100 * fraction:.2f} %"


def honest_runs(run: dict) -> list[dict]:
    """A calibration's runs of the solution (not those of its cheats)."""
    return [r for r in run["runs"] if r.get("notebook", "solution") == "solution"]


def calibration_table() -> str:
    thresholds = tomllib.loads((PROJECT / "course.toml").read_text())["assignments"]
    lines = [
        "| practical | measured | seeds | mean | σ (points) | min | 5th percentile | max | "
        "sample digits: mean (min) | T_full | T_part |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows = [(f"calibration-{a}{tail}.json", name) for a, name in PRACTICALS.items() for tail in ("", "-previous")]
    for file, name in rows:
        path = RESULTS / file
        if not path.is_file():
            continue
        run = json.loads(path.read_text())
        assignment = run["assignment"]
        if "recipe" in run:
            name = f"{name} ({run['recipe']})"
        seeds = f"{run['seeds']} students'" if "seeds_from" in run else f"{run['seeds']} fixed"
        machine = run.get("machine", {})
        where = (f"{machine.get('date', '?')[:10]}, {machine.get('cpu', '?')}, {run['threads']} thread(s) a run, "
                 f"{run.get('parallel', 1)} at a time, commit {machine.get('commit', '?')}")
        accuracy = thresholds[assignment]["accuracy"]
        lines.append(
            f"| {name} | {where} | {seeds} | {percent(run['mean'])} | {100 * run['sigma']:.3f} | "
            f"{percent(run['min'])} | {percent(run['p5'])} | {percent(run['max'])} | "
            f"{100 * run['sample_digits_mean']:.1f} % ({100 * run['sample_digits_min']:.0f} %) | "
            f"**{100 * accuracy['full']:g} %** | {100 * accuracy['partial']:g} % |")
    return "\n".join(lines)


def practicals_table() -> str:
    """The README's one line per practical: the solution's accuracy over the calibration's
    seeds, and what grading it costs in epochs of its own training (bench/training_speed.py)."""
    speed = json.loads((RESULTS / "training-speed.json").read_text())
    lines = ["| practical | mean over the students' seeds | range | 99 % or more | "
             "grading the solution, in bare epochs | measured |",
             "| --- | --- | --- | --- | --- | --- |"]
    for assignment, name in PRACTICALS.items():
        run = json.loads((RESULTS / f"calibration-{assignment}.json").read_text())
        high = sum(r["accuracy"] >= 0.99 for r in honest_runs(run))
        cost = speed[assignment]["grading_cost_bare_epochs"]
        lines.append(f"| {name} | {percent(run['mean'])} | {percent(run['min'])} – {percent(run['max'])} | "
                     f"{high} of {run['seeds']} seeds | {cost:.1f} | "
                     f"{run['machine']['date'][:10]}, {run['machine']['cpu']} |")
    return "\n".join(lines)


def digit_samples_table() -> str:
    """course_lib/digit_samples/README.md: the solutions on MNIST and on the 50 sample digits."""
    lines = ["| solution | measured | MNIST test accuracy (mean; min – max) | accuracy on these 50 digits (mean; min – max) |",
             "| --- | --- | --- | --- |"]
    for assignment, name in PRACTICALS.items():
        run = json.loads((RESULTS / f"calibration-{assignment}.json").read_text())
        digits = [r["sample_digits_accuracy"] for r in honest_runs(run)]
        lines.append(f"| {name} | {_where(run['machine'])} | {run['mean']:.4f}; {run['min']:.4f} – {run['max']:.4f} | "
                     f"**{run['sample_digits_mean']:.3f}**; {min(digits):.2f} – {max(digits):.2f} |")
    return "\n".join(lines)


def suite_line() -> str:
    run = json.loads((RESULTS / "suite.json").read_text())
    minutes, seconds = divmod(round(run["seconds"]), 60)
    counts = ", ".join(f"{number} {word}" for word, number in run["counts"].items() if word != "warnings")
    return (f"{counts} in **{minutes} min {seconds:02d} s** on {run['machine']['date'][:10]} "
            f"({run['machine']['cpu']}, {run['machine']['cores']} cores, commit {run['machine']['commit']}).")


def demo_line() -> str:
    run = json.loads((RESULTS / "demo.json").read_text())
    minutes, seconds = divmod(round(run["seconds"]), 60)
    return (f"`make demo` took **{minutes} min {seconds:02d} s** once the environment existed, on "
            f"{run['machine']['date'][:10]} ({run['machine']['cpu']}, {run['machine']['cores']} cores, "
            f"commit {run['machine']['commit']}; bench/demo.py); creating `.venv` first adds the download "
            "of the pinned packages.")


def suite_table() -> str:
    run = json.loads((RESULTS / "suite.json").read_text())
    machine = run["machine"]
    counts = ", ".join(f"{number} {word}" for word, number in run["counts"].items())
    minutes, seconds = divmod(round(run["seconds"]), 60)
    lines = [f"`bash .ci/run` from a fresh clone on {machine['date'][:10]}, {machine['cpu']}, "
             f"{machine['cores']} cores, commit {machine['commit']}: {counts}, **{minutes} min {seconds:02d} s** "
             "of pytest. Its slowest steps:", "",
             "| seconds | step | test |", "| --- | --- | --- |"]
    lines += [f"| {step['seconds']:.0f} | {step['phase']} | `{step['test']}` |" for step in run["slowest"]]
    return "\n".join(lines)


def _where(machine: dict) -> str:
    return f"{machine.get('date', '?')[:10]}, {machine.get('cpu', '?')}, commit {machine.get('commit', '?')}"


def grading_time_table() -> str:
    lines = ["| practical | `course grade` of the solution | of which the sandboxed run | "
             "`nbconvert --execute` (autograde cells) | ratio | score | runs | measured |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for assignment, name in PRACTICALS.items():
        run = json.loads((RESULTS / f"grading-time-{assignment}.json").read_text())
        lines.append(
            f"| {name} | {median(run['course_grade_seconds']):.1f} s | {median(run['sandboxed_run_seconds']):.1f} s | "
            f"{median(run['nbconvert_execute_autograde_seconds']):.1f} s | "
            f"**{run['ratio_of_medians_grade_over_execute']:.3f}** | {run['course_grade_score']} | {run['repeat']} | "
            f"{_where(run.get('machine', {}))} |")
    return "\n".join(lines)


def parallel_table() -> str:
    """Throughput on 1 and 2 workers, and the 200-student projection computed here from the
    grading-time files and this speed-up (one source for each figure)."""
    run = json.loads((RESULTS / "parallel-grading.json").read_text())
    seconds, per_minute = run["seconds"], run["throughput_per_minute"]
    names = {"workers_1": "`--workers 1`", "workers_2": "`--workers 2`",
             "dask_cli_cluster_2": "`--scheduler` (a `dask scheduler` and 2 `dask worker`)"}
    lines = [f"{run['batch']}, {_where(run.get('machine', {}))}, {run['cores']} cores; same scores everywhere: "
             f"{'yes' if run['same_scores'] else '**no**'}.", "",
             "| where | wall time | submissions per minute |", "| --- | --- | --- |"]
    lines += [f"| {names[key]} | {seconds[key]:.1f} s | {per_minute[key]:.2f} |" for key in names]
    lines += ["", f"Speed-up of 2 workers: **{run['speedup_2_workers']:.2f}** (scaling efficiency "
              f"{run['scaling_efficiency_2_workers']:.2f}). A year group of 200, from the solution's "
              "grading time above and this speed-up:", "",
              "| practical | per submission | 200 on 1 worker | 200 on 2 workers (this machine) |",
              "| --- | --- | --- | --- |"]
    for assignment, name in PRACTICALS.items():
        cost = median(json.loads((RESULTS / f"grading-time-{assignment}.json").read_text())["course_grade_seconds"])
        lines.append(f"| {name} | {cost:.0f} s | {200 * cost / 3600:.1f} h | "
                     f"{200 * cost / run['speedup_2_workers'] / 3600:.1f} h |")
    return "\n".join(lines)


def training_speed_table() -> str:
    """Epoch times of the final training, bare / in `course grade` / under nbconvert, one run."""
    runs = json.loads((RESULTS / "training-speed.json").read_text())
    lines = ["| practical | bare epoch (a) | in `course grade` (b) | under `nbconvert` (c) | (b)/(a) | (c)/(a) | "
             "GFLOP an epoch | GFLOP/s (a) / (b) / (c) | grading the solution, in bare epochs | measured |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for assignment, name in PRACTICALS.items():
        if assignment not in runs:
            continue
        run, machine = runs[assignment], runs[assignment]["machine"]
        epoch, rate = run["epoch_seconds"], run["gflops_per_second"]
        lines.append(
            f"| {name} | {epoch['bare']:.2f} s | {epoch['course_grade']:.2f} s | {epoch['nbconvert']:.2f} s | "
            f"**{run['ratio_grade_over_bare']:.3f}** | {run['ratio_nbconvert_over_bare']:.3f} | "
            f"{run['bare']['flops_per_epoch'] / 1e9:.1f} | {rate['bare']:.2f} / {rate['course_grade']:.2f} / "
            f"{rate['nbconvert']:.2f} | **{run['grading_cost_bare_epochs']:.1f}** "
            f"({run['course_grade']['grade_seconds']:.0f} s, {run['course_grade']['epochs']} epochs) | "
            f"{_where(machine)}, {machine['threads']} thread(s) |")
    return "\n".join(lines)


def regrade_table() -> str:
    run = json.loads((RESULTS / "regrade-cache.json").read_text())
    verify = run["warm_verify_seconds_per_submission"]
    return "\n".join([
        f"{run['batch']}, {_where(run.get('machine', {}))}; same scores: {'yes' if run['same_scores'] else '**no**'}.",
        "", "| cold (every notebook run) | warm (`--force`, the cache answers) | ratio | verifier per submission (warm) |",
        "| --- | --- | --- | --- |",
        f"| {run['cold_seconds']:.1f} s | {run['warm_seconds']:.1f} s | **{run['ratio_cold_over_warm']:.1f}** | "
        f"{min(verify):.1f}–{max(verify):.1f} s |"])


def integrity_table() -> str:
    """The trained-on-the-test-set rules (course_lib.pipeline.integrity) on the calibration's
    honest runs and alternatives (each rule's statistic, course.toml's threshold, the false
    alarms) and on its cheats (how many the rules flagged, and which); the κ of honest models'
    mistakes (similarity)."""
    honest = ["| practical | measured | position: mean (σ; min) / threshold | block gap: mean (max; alternatives) / "
              "threshold | hard images right: mean (max; alternatives) / threshold | best accuracy / ceiling | "
              "κ of mistakes, honest pairs: mean (max) / threshold | false alarms |",
              "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    cheats = ["| practical | cheat (grader_tests/fixtures) | flagged | by | accuracy | position | block gap | "
              "hard images right |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for assignment, name in PRACTICALS.items():
        run = json.loads((RESULTS / f"calibration-{assignment}.json").read_text())
        position, blocks, hard, kappa = run["test_position"], run["test_blocks"], run["hard_images"], run["mistake_kappa"]
        ceiling = run["ceiling"]["threshold"]
        honest.append(
            f"| {name} | {_where(run['machine'])} | {position['mean']:.2f} ({position['sigma']:.2f}; {position['min']:.2f}; "
            f"{position['undecided']} undecided) / {position['threshold']:g} | {blocks['gap_mean']:.2f} "
            f"({blocks['gap_max']:.2f}; {blocks['alternatives_max']:.2f}) / "
            + (f"{blocks['threshold']:g}" if blocks["shares"] else "not judged") + " | "
            f"{100 * hard['recovered_mean']:.1f} % ({100 * hard['recovered_max']:.1f} %; "
            f"{100 * hard['alternatives_max']:.1f} %) of {hard['configured']} / {100 * hard['threshold']:.0f} % | "
            f"{100 * run['ceiling']['honest_max']:.2f} % / " + (f"{100 * ceiling:.1f} %" if ceiling else "none")
            + f" | {kappa['mean']:.2f} ({kappa['max']:.2f}) / {kappa['threshold']:g}, {kappa['over_threshold']} of "
            f"{kappa['pairs']} over | **{run['false_alarms']} of {run['seeds']}**, alternatives "
            f"**{run['alternatives_flagged']} of {len(run['alternatives'])}** |")
        for notebook, found in run["cheats"].items():
            cheats.append(
                f"| {name} | {notebook} | **{found['flagged']} of {found['runs']}** | {', '.join(found['rules']) or '—'} | "
                + ", ".join(f"{100 * a:.2f} %" for a in found["accuracy"]) + " | "
                + ", ".join("—" if v is None else f"{v:.2f}" for v in found["test_position"]) + " | "
                + ", ".join(f"{v:.1f}" for v in found["block_gap"]) + " | "
                + ", ".join(f"{100 * v:.0f} %" for v in found["hard_recovered"]) + " |")
    return "\n".join([*honest, "", *cheats])


def similarity_table() -> str:
    """bench/similarity.py: `course similarity` on a class, against copydetect's own run."""
    path = RESULTS / "similarity.json"
    if not path.is_file():
        return "(not measured yet: `python bench/similarity.py`)"
    run = json.loads(path.read_text())
    honest = run["honest_class"]
    return "\n".join([
        "| students | pairs | over a threshold | course similarity | copydetect's CopyDetector | ratio | report | measured |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {run['students']} | {run['pairs']:,} | {run['flagged']:,} | {run['course_similarity_seconds']:.1f} s | "
        f"{run['copydetect_seconds']:.1f} s | {run['ratio']:.2f} | {run['report_bytes'] / 1e6:.1f} MB | "
        f"{_where(run['machine'])} |",
        "", "| honest class (written without one another) | pairs | over a threshold | most alike: code | median |",
        "| --- | --- | --- | --- | --- |",
        f"| {round((1 + (1 + 8 * honest['pairs']) ** 0.5) / 2)} TP1 notebooks (most alike: {' and '.join(honest['most_alike'])}) | {honest['pairs']} | "
        f"**{honest['flagged']}** | {100 * honest['code_max']:.0f} % (threshold {100 * CODE_THRESHOLD:.0f} %) | "
        f"{100 * honest['code_median']:.0f} % |"])


TABLES = {"integrity": integrity_table, "similarity": similarity_table, "calibration": calibration_table, "suite": suite_table, "practicals": practicals_table,
          "suite_line": suite_line, "demo_line": demo_line, "grading_time": grading_time_table,
          "parallel": parallel_table, "regrade": regrade_table, "training_speed": training_speed_table,
          "digit_samples": digit_samples_table}
DOCUMENTS = (PROJECT / "README.md", PROJECT / "docs" / "benchmarks.md", PROJECT / "course_lib" / "digit_samples" / "README.md")


def render(documents: tuple[Path, ...] = DOCUMENTS) -> None:
    found = set()
    for document in documents:
        text = document.read_text()
        for name, table in TABLES.items():
            block = re.compile(rf"(<!-- bench/render.py: {name} -->\n).*?(<!-- end {name} -->)", flags=re.S)
            if block.search(text):
                found.add(name)
                text = block.sub(lambda match: match.group(1) + table() + "\n" + match.group(2), text)
        document.write_text(text)
    if missing := set(TABLES) - found:
        raise SystemExit(f"no block for {', '.join(sorted(missing))} in {', '.join(d.name for d in documents)}")


if __name__ == "__main__":
    render()
