"""Write an evaluation as report.json, report.md (tables: rows = modes) and report.png (bar charts)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from corpus.errors import InvalidInputError
from eval.runner import AnswerReport, ModeReport, compare, worst


def main_columns(k: int) -> list[str]:
    """The retrieval table's columns for hit@k and recall@k of the k evaluated."""
    return list(dict.fromkeys(["hit@1", f"hit@{k}", f"recall@{k}", "mrr@10", "ndcg@10"]))  # k = 1: no repeat


ANSWER = [
    "citation_precision",
    "relevant_citation",
    "fact_recall",
    "refusal_accuracy",
    "false_refusal",
    "dangling_citations",
    "generated_share",
    "supported_words",
    "supported_sentences",
    "probe_assertions",
]
# The figures whose 95 % intervals the Markdown report shows (the JSON has every metric's).
SURE = ["hit@1", "mrr@10"]
SURE_ANSWERS = ["citation_precision", "relevant_citation", "fact_recall", "refusal_accuracy", "false_refusal"]


def build_report(modes: list[ModeReport], answers: list[AnswerReport], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **meta,
        "retrieval": {
            m.mode: {
                "overall": m.summary(),
                "ci95": m.intervals(),
                "by_kind": m.by("kind"),
                "by_kind_ci95": m.intervals_by("kind"),
                "by_split": m.by("split"),
                "latency_ms": m.latency(),
                "notice": m.notice,
                "worst": [r.__dict__ for r in worst(m)],
            }
            for m in modes
        },
        # Every later mode against every earlier one, on the same questions: is the gap more than noise?
        "differences": [d for i, b in enumerate(modes) for a in modes[i + 1 :] for d in compare(a, b, SURE)],
        "answers": {
            a.name: {"overall": a.summary(), "ci95": a.intervals(), "latency_ms": a.latency(), "rows": a.rows}
            for a in answers
        },
    }


def _fmt(v: float | None, column: str = "") -> str:
    if v is None or math.isnan(v):
        return "–"
    return str(int(v)) if column in ("n", "probe_assertions") else f"{v:.3f}"


def _table(rows: dict[str, dict[str, float]], cols: list[str], first: str = "mode") -> list[str]:
    out = [f"| {first} | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, vals in rows.items():
        out.append(f"| {name} | " + " | ".join(_fmt(vals.get(c, float("nan")), c) for c in cols) + " |")
    return out


def _between(value: float, ci: list[float] | tuple[float, float], sign: str = "") -> str:
    if math.isnan(value):
        return "–"
    return f"{value:{sign}.3f} [{ci[0]:{sign}.3f}, {ci[1]:{sign}.3f}]"


def _intervals(r: dict[str, Any]) -> list[str]:
    """Retrieval: each mode's main figures with their 95 % intervals, then the paired differences."""
    kinds = sorted({k for v in r.values() for k in v["by_kind"]})
    cols = [*SURE, *(f"hit@1 ({k})" for k in kinds)]
    lines = ["", "### 95 % intervals (bootstrap over questions)", "", f"| mode | {' | '.join(cols)} |"]
    lines.append("|---" * (len(cols) + 1) + "|")
    for m, v in r.items():
        cells = [_between(v["overall"][c], v["ci95"][c]) for c in SURE]
        cells += [_between(v["by_kind"][k]["hit@1"], v["by_kind_ci95"][k]["hit@1"]) for k in kinds]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    return lines


def _differences(differences: list[dict[str, Any]]) -> list[str]:
    """Paired differences, one row per pair of modes; an interval that holds 0 is a gap within noise."""
    if not differences:
        return []
    cols = list(dict.fromkeys(f"{d['metric']} ({d['group']})" for d in differences))
    rows: dict[str, dict[str, str]] = {}
    for d in differences:
        cell = _between(d["difference"], d["ci95"], "+")
        rows.setdefault(f"{d['a']} − {d['b']}", {})[f"{d['metric']} ({d['group']})"] = cell
    lines = ["", "### Paired differences (same questions, 95 % intervals)", "", f"| modes | {' | '.join(cols)} |"]
    lines.append("|---" * (len(cols) + 1) + "|")
    lines += [f"| {pair} | " + " | ".join(cells.get(c, "–") for c in cols) + " |" for pair, cells in rows.items()]
    return lines


def to_markdown(report: dict[str, Any]) -> str:
    r = report["retrieval"]
    main = main_columns(report.get("k", 5))
    lines = [
        "# askdoc evaluation",
        "",
        f"Queries: `{report.get('queries')}` ({report.get('n_questions')} questions, "
        f"{report.get('n_answerable')} answerable); split: {report.get('split')}; "
        f"collection: {report.get('collection', 'default')}; created {report['created_at']}.",
        "",
    ]
    if r:
        lines += ["## Retrieval (answerable questions)", ""]
        lines += _table({m: v["overall"] for m, v in r.items()}, [*main, "n"])
        lines += [f"\nMode {m}: {v['notice']}." for m, v in r.items() if v.get("notice")]
        for name, key in (("Kind", "by_kind"), ("Split", "by_split")):
            groups = sorted({g for v in r.values() for g in v[key]})
            for group in groups if len(groups) > 1 else []:  # one group repeats the table above
                lines += ["", f"### {name}: {group}", ""]
                lines += _table({m: v[key].get(group, {}) for m, v in r.items()}, [*main, "n"])
        lines += _intervals(r) + _differences(report.get("differences", []))
        lines += ["", "### Latency per stage (ms, p50 / p95)", ""]
        stages = sorted({s for v in r.values() for s in v["latency_ms"]})
        lines += [f"| mode | {' | '.join(stages)} |", "|---" * (len(stages) + 1) + "|"]
        for m, v in r.items():
            cells = [
                f"{v['latency_ms'][s]['p50']:.1f} / {v['latency_ms'][s]['p95']:.1f}" if s in v["latency_ms"] else "–"
                for s in stages
            ]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
        for m, v in ((m, v) for m, v in r.items() if v["worst"]):
            lines += ["", f"### Worst questions ({m}; at most five, none ranked perfectly)", ""]
            for w in v["worst"]:
                lines.append(
                    f"- {w['question']!r}: expected {', '.join(w['expected'])}; got {', '.join(w['retrieved'][:3])}"
                )
    if report["answers"]:
        lines += ["", "## Answers", ""]
        lines += _table({a: v["overall"] for a, v in report["answers"].items()}, [*ANSWER, "n"], "pipeline")
        lines += ["", "### 95 % intervals (bootstrap over questions)", ""]
        lines += [f"| pipeline | {' | '.join(SURE_ANSWERS)} |", "|---" * (len(SURE_ANSWERS) + 1) + "|"]
        for a, v in report["answers"].items():
            cells = [_between(v["overall"][c], v["ci95"][c]) for c in SURE_ANSWERS]
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
        lines += ["", "### Answer latency (ms, p50 / p95)", ""]
        for a, v in report["answers"].items():
            cells = ", ".join(f"{s} {x['p50']:.0f} / {x['p95']:.0f}" for s, x in sorted(v["latency_ms"].items()))
            lines.append(f"- {a}: {cells}")
    return "\n".join(lines) + "\n"


def to_png(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r = report["retrieval"]
    panels = 2 + bool(report["answers"])
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.5))
    modes = list(r)
    width = 0.8 / max(len(modes), 1)
    ax = axes[0]
    main = main_columns(report.get("k", 5))
    for i, m in enumerate(modes):
        vals = [r[m]["overall"].get(c, 0.0) for c in main]
        ax.bar([x + i * width for x in range(len(main))], vals, width, label=m)
    ax.set_xticks([x + width * (len(modes) - 1) / 2 for x in range(len(main))], main)
    ax.set_ylim(0, 1)
    ax.set_title("Retrieval quality (answerable questions)")
    ax.legend(loc="lower right")
    ax = axes[1]
    p50 = [r[m]["latency_ms"].get("total", {}).get("p50", 0.0) for m in modes]
    p95 = [r[m]["latency_ms"].get("total", {}).get("p95", 0.0) for m in modes]
    ax.bar([x - 0.2 for x in range(len(modes))], p50, 0.4, label="p50")
    ax.bar([x + 0.2 for x in range(len(modes))], p95, 0.4, label="p95")
    ax.set_xticks(range(len(modes)), modes)
    ax.set_ylabel("ms per query")
    ax.set_title("Search latency")
    ax.legend()
    if report["answers"]:
        ax = axes[2]
        names = list(report["answers"])
        for i, a in enumerate(names):
            vals = [report["answers"][a]["overall"].get(c, 0.0) for c in ANSWER[:5]]
            vals = [0.0 if math.isnan(v) else v for v in vals]
            w = 0.8 / len(names)
            ax.bar([x + i * w for x in range(5)], vals, w, label=a)
        ax.set_xticks(range(5), [c.replace("_", "\n") for c in ANSWER[:5]], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title("Answer quality")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _finite(obj: Any) -> Any:
    """NaN (a metric with nothing to average) becomes null: JSON has no NaN."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set):
        return [_finite(v) for v in (sorted(obj) if isinstance(obj, set) else obj)]
    return obj


def writable_folder(out: Path) -> None:
    """Make the report folder, or say why it cannot be: checked before an evaluation runs, not after."""
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"--out {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInputError(f"--out {out}: cannot make the folder ({exc.strerror})") from None


def write_report(report: dict[str, Any], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "report.png"]
    paths[0].write_text(json.dumps(_finite(report), indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(to_markdown(report), encoding="utf-8")
    to_png(report, paths[2])
    return paths
