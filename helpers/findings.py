r"""Findings: measured values in, the sentence a student reads out, one decision rule each.

A notebook's verdicts ("Grad-CAM passes the sanity check", "the maps expose the ink") are
written by these functions from the numbers the cell above just measured, never typed into
the prose: the same notebook then reads right on the demo, on another seed and on a class's
real data. Each function

* holds **one decision rule**, stated in its docstring and in the sentence it writes;
* returns a :class:`Finding`, which Jupyter, Colab and the book display as Markdown (its
  ``_repr_markdown_``) in the output of the cell that measured it;
* appends the finding (notebook, name, rule, verdict, values) as one JSON line to the run
  record, ``<outputs>/findings/<notebook>.jsonl``, once :func:`start` has named the notebook.
  The tests that assert what the demo must show read that record (:func:`read_record`), and
  :func:`summary` gathers the notebook's findings for its summary.

Intervals are percentile bootstrap intervals (:mod:`helpers.stats`); "excludes 0" and "lies
below the floor" are strict: an interval that touches the bound does not count.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from .config import default_output_dir
from .stats import format_p, holm

__all__ = [
    "Finding",
    "RECORD_ENV",
    "start",
    "stop",
    "record_path",
    "read_record",
    "summary",
    "randomisation",
    "comparison",
    "comparisons",
    "disagreement",
    "shortcut_maps",
    "intervention",
    "class_sensitivity",
    "follows_turn",
    "threshold",
]

RECORD_ENV = "TUTORIAL_FINDINGS"
"""Environment variable: the folder of the run record (default ``<outputs>/findings``)."""

RANDOMISATION_RULE = (
    "a method passes the {test} test at the first randomisation step whose 95 % "
    "bootstrap interval of the mean Spearman correlation with the trained model's maps lies "
    "wholly below the method's floor (the higher of: maps of different images, maps of two "
    "random models); if no step's interval does, it fails")


@dataclass(frozen=True)
class Finding:
    """One verdict with its rule and values; displays as Markdown in a notebook."""

    name: str
    rule: str
    verdict: str
    values: dict = field(default_factory=dict)
    text: str = ""

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


_state: dict[str, object] = {"notebook": None, "folder": None, "rendered": []}


def record_path(notebook: str, folder: str | Path | None = None) -> Path:
    """Where ``notebook``'s findings are recorded: ``folder`` (default: ``$TUTORIAL_FINDINGS``,
    else ``<outputs>/findings``) / ``<notebook>.jsonl``."""
    if folder is None:
        folder = os.environ.get(RECORD_ENV) or default_output_dir() / "findings"
    return Path(folder).expanduser() / f"{notebook}.jsonl"


def start(notebook: str, folder: str | Path | None = None) -> None:
    """Begin ``notebook``'s run record (``"05"``, at :func:`record_path`): an earlier run's
    record is replaced, and the findings rendered from now on are recorded there and listed by
    :func:`summary`. Returns nothing, so a cell that ends with it prints nothing."""
    if not isinstance(notebook, str) or not notebook:
        raise ValueError(f"notebook must name the notebook, e.g. '05'; got {notebook!r}")
    path = record_path(notebook, folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")
    _state.update(notebook=notebook, folder=path.parent, rendered=[])


def stop() -> None:
    """End the run record: findings rendered from now on are shown, not recorded."""
    _state.update(notebook=None, folder=None, rendered=[])


def read_record(notebook: str, folder: str | Path | None = None) -> list[dict]:
    """The findings recorded for ``notebook``, in order (one dict each: notebook, name, rule,
    verdict, values)."""
    path = record_path(notebook, folder)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def _plain(value: object) -> object:
    """``value`` as JSON can hold it (NaN as None, tuples as lists, numbers as floats)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    try:
        number = float(value)  # numpy and torch scalars too
    except (TypeError, ValueError):
        return str(value)
    return None if math.isnan(number) else number


def _emit(name: str, rule: str, verdict: str, values: Mapping, lines: Sequence[str]) -> Finding:
    text = "\n".join([*lines, "", f"*Rule: {rule}.*"])
    finding = Finding(name, rule, verdict, dict(values), text)
    notebook = _state["notebook"]
    if notebook is not None:
        entry = {"notebook": notebook, "name": name, "rule": rule, "verdict": verdict,
                 "values": _plain(values)}
        with record_path(str(notebook), _state["folder"]).open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")
        rendered = [f for f in _state["rendered"] if f.name != name]  # a re-run cell replaces
        _state["rendered"] = [*rendered, finding]
    return finding


def summary() -> Finding:
    """This run's findings, one bullet each (the verdict of every finding rendered since
    :func:`start`), for the second half of a notebook's summary."""
    rendered: list[Finding] = list(_state["rendered"])
    if not rendered:
        lines = ["This run rendered no findings yet: run the notebook's cells from the top."]
    else:
        lines = [f"- **{f.name}**: {f.verdict}" for f in rendered]
    return Finding("summary", "the findings this notebook rendered, in order",
                   f"{len(rendered)} findings", {"names": [f.name for f in rendered]},
                   "**This run's findings** (computed above):\n\n" + "\n".join(lines))


def _interval(mean: float, low: float, high: float) -> str:
    return f"{mean:.3g} [{low:.3g}, {high:.3g}]"


def _groups(row: Mapping[str, float], n: int) -> int:
    """How many independent groups (lesions) a paired row rests on: its ``groups`` entry
    (:func:`helpers.stats.paired_table` adds it), else ``n``."""
    value = row.get("groups", n)
    return n if value is None or value != value else int(value)


def _finite(*values: float) -> bool:
    return all(isinstance(v, (int, float)) and math.isfinite(float(v)) for v in values)


# ----------------------------------------------------------------------------------------------
# Model randomisation (Adebayo et al. 2018): 06 and 08
# ----------------------------------------------------------------------------------------------


def below_floor(high: float, floor: float) -> bool:
    """The randomisation rule's test of one step: the whole interval under the floor,
    ``high < floor`` (a tie, or NaN, is not below). :func:`helpers.sanity.similarity_intervals`
    records it per row as ``below``; :func:`randomisation` applies it."""
    return bool(high < floor)


def randomisation(table: pd.DataFrame, unit: str = "image", name: str = "model randomisation",
                  test: str = "model-randomisation") -> Finding:
    r"""Model-randomisation verdict per method: the first step whose interval lies below the floor.

    ``table``: one row per (``step``, ``method``) in cascade order, with ``mean``, ``low``,
    ``high`` (the mean Spearman correlation :math:`\rho` of the step's maps with the trained
    model's, and its 95 % bootstrap interval over ``n`` groups: lesions or source photographs)
    and ``floor`` (:func:`helpers.sanity.similarity_intervals` makes it). **Rule**: a method
    passes at the first step with ``high < floor`` (the whole interval under the floor, Adebayo
    et al. 2018, sec. 4, with the floors of notebook 06); it fails when no step's interval does.
    A method is *undecided* when, before any step passes, a step has no finite interval (no
    image, or NaN similarities) or rests on fewer than two groups (one lesion or photograph
    gives no interval). Passing does not rank methods: maps that carry little about the model
    pass too (Binder et al., CVPR 2023).
    """
    verdicts: dict[str, str] = {}
    lines = []
    if table.empty:
        lines.append(f"No {unit} was scored: there is nothing to decide.")
    for method, rows in table.groupby("method", sort=False):
        verdict, detail = "fails", "no step's interval lies below its floor"
        for row in rows.itertuples():
            n = int(getattr(row, "n", 2))
            if n < 2 or not _finite(row.mean, row.low, row.high, row.floor):
                verdict = "undecided"
                detail = (f"at `{row.step}` only {n} {unit}: no interval" if n < 2 else
                          f"at `{row.step}` the similarity is not a number (no {unit} or NaN)")
                break
            if below_floor(row.high, row.floor):
                one_step = table["step"].nunique() == 1  # e.g. the shuffled-label model
                verdict = "passes" if one_step else f"passes at {row.step}"
                detail = (f"at `{row.step}` Spearman {_interval(row.mean, row.low, row.high)} "
                          f"lies below its floor {row.floor:.2f}")
                break
        verdicts[str(method)] = verdict
        lines.append(f"- **{method}** {verdict}: {detail}.")
    overall = "; ".join(f"{m}: {v}" for m, v in verdicts.items()) or "nothing to decide"
    values = {"verdicts": verdicts, "unit": unit,
              "rows": table.to_dict(orient="records") if not table.empty else []}
    lines.insert(0, f"**{name[0].upper() + name[1:]}, over {unit}s** (95 % bootstrap "
                    "intervals):")
    return _emit(name, RANDOMISATION_RULE.format(test=test), overall, values, lines)


# ----------------------------------------------------------------------------------------------
# Paired comparisons: multi-object gain (03, 05, 08), method against method (05)
# ----------------------------------------------------------------------------------------------


def _side(low: float, high: float) -> Literal["above", "below", "includes"]:
    if low > 0:
        return "above"
    if high < 0:
        return "below"
    return "includes"


def comparison(row: Mapping[str, float], a: str, b: str, quantity: str,
               better: Literal["higher", "lower"] = "higher", name: str | None = None,
               adjusted_p: float | None = None, unit: str = "image",
               groups: tuple[int, str] | None = None) -> Finding:
    r"""Does ``a`` beat ``b`` on ``quantity``? The paired 95 % interval of ``a`` minus ``b``.

    ``row``: a :func:`helpers.stats.paired_difference` result (``mean``, ``low``, ``high``,
    ``p``, ``n``) of :math:`d_i = a_i - b_i` over the same ``n`` images. **Rule**: ``a`` beats
    ``b`` only when the paired interval excludes 0 on ``better``'s side *and* the sign-flip
    test's p (Holm-adjusted when ``adjusted_p`` is given, :func:`helpers.stats.holm`, for a
    table of several comparisons) is below 0.05; it loses to ``b`` under the same two
    conditions on the other side; otherwise no winner at this sample size. Overlapping or
    separate *marginal* intervals decide nothing. ``groups``: ``(G, "source photograph")``
    when the interval and the test resampled ``G`` groups rather than the images: with few
    groups the test cannot reach 0.05 and the verdict is "no winner", which is the honest
    answer. Undecided when the row has no finite interval (NaN, an empty set) or rests on one
    image or group.
    """
    name = name or f"{a} vs {b}, {quantity}"
    verdict, sentence, values = _judge(row, a, b, quantity, better, adjusted_p, unit, groups)
    rule = (f"{a} beats {b} only when the paired 95 % interval of {a} minus {b} excludes 0 on "
            f"the {better} side and the paired test's "
            f"{'Holm-adjusted ' if adjusted_p is not None else ''}p is below 0.05")
    return _emit(name, rule, verdict, values, [sentence])


def _judge(row: Mapping[str, float], a: str, b: str, quantity: str, better: str,
           adjusted_p: float | None, unit: str, groups: tuple[int, str] | None,
           ) -> tuple[str, str, dict]:
    """:func:`comparison`'s rule applied: (verdict, sentence, values)."""
    if better not in ("higher", "lower"):
        raise ValueError(f"better must be 'higher' or 'lower', got {better!r}")
    mean, low, high = (float(row.get(k, math.nan)) for k in ("mean", "low", "high"))
    n = int(row.get("n", 0) or 0)
    n_groups, group_word = groups if groups is not None else (_groups(row, n), unit)
    p = adjusted_p if adjusted_p is not None else row.get("p")
    p = float(p) if p is not None else math.nan
    over = f"{n} {unit}s" + (f" from {n_groups} {group_word}s" if groups is not None else "")
    if min(n, n_groups) < 2 or not _finite(mean, low, high):
        verdict = "undecided"
        sentence = (f"{a} minus {b}, {quantity}: no interval ({n} {unit}s, {n_groups} "
                    f"{group_word}s{', NaN values' if n >= 2 else ''}), so no verdict.")
    else:
        side = _side(low, high)
        significant = not math.isfinite(p) or p < 0.05
        if side == "includes" or not significant:
            verdict = "no winner"
        else:
            wins = (side == "above") == (better == "higher")
            verdict = f"{a} {'beats' if wins else 'loses to'} {b}"
        where = {"includes": "includes 0", "above": "excludes 0 (above)",
                 "below": "excludes 0 (below)"}[side]
        sentence = (f"{a} minus {b}, {quantity} ({better} is better): "
                    f"{_interval(mean, low, high)} over {over}")
        if math.isfinite(p):
            sentence += (f", {'Holm-adjusted ' if adjusted_p is not None else ''}{format_p(p)}")
        but = "" if side == "includes" or significant else " but p is not below 0.05"
        sentence += f"; the paired interval {where}{but}: **{verdict}**."
    values = {"mean": mean, "low": low, "high": high, "n": n, "groups": n_groups,
              "p": row.get("p"), "adjusted_p": adjusted_p}
    return verdict, sentence, values


def comparisons(table: pd.DataFrame, a: str, b: str, better: Mapping[str, str],
                name: str, unit: str = "image") -> Finding:
    """Several paired comparisons in one table, Holm-adjusted: :func:`comparison` per row.

    ``table``: one row per score (its index), as :func:`helpers.stats.paired_scores` returns
    (``mean``, ``low``, ``high``, ``p``, ``n``); or indexed by ``(a_i, b_i, score)`` tuples,
    one row per pair of methods (``a`` and ``b`` are then the defaults only). ``better``: per
    score, ``"higher"`` or ``"lower"``, and only those rows are judged. **Rule**: ``a`` beats
    ``b`` on a row only when that row's paired 95 % interval excludes 0 on the better side and
    its Holm-adjusted p (:func:`helpers.stats.holm`, over the judged rows) is below 0.05.
    """
    def parts(key: object) -> tuple[str, str, str]:
        return tuple(map(str, key)) if isinstance(key, tuple) else (a, b, str(key))

    rows = [key for key in table.index if parts(key)[2] in better]
    adjusted = holm([float(table.loc[[key]].iloc[0].get("p", math.nan)) for key in rows])
    verdicts, lines, values = {}, [], {}
    for key, p in zip(rows, adjusted, strict=True):
        ai, bi, quantity = parts(key)
        verdict, sentence, value = _judge(table.loc[[key]].iloc[0], ai, bi, quantity,
                                          better[quantity], p, unit, None)
        key = " vs ".join(parts(key)[:2]) + f", {quantity}" if isinstance(key, tuple) else key
        verdicts[str(key)] = verdict
        values[str(key)] = value
        lines.append(f"- {sentence}")
    who = f"{a} beats {b}" if a and b else "a method beats its rival"
    rule = (f"{who} on a score only when its paired 95 % interval excludes 0 on the better "
            f"side and its p, Holm-adjusted over the {len(rows)} comparisons of this table, is "
            "below 0.05" if len(rows) != 1 else f"{who} only when the paired 95 % interval "
            "excludes 0 on the better side and the paired test's p is below 0.05")
    overall = "; ".join(f"{k}: {v}" for k, v in verdicts.items()) or "nothing compared"
    return _emit(name, rule, overall, {"verdicts": verdicts, "rows": values},
                 [f"**{name[0].upper() + name[1:]}** (paired, Holm-adjusted):", *lines])


def disagreement(faithful: Finding, plausible: Finding, a: str = "Grad-CAM++",
                 name: str = "faithfulness vs plausibility") -> Finding:
    """Do faithfulness and plausibility agree on ``a``? Two comparison findings, read together.

    ``faithful`` and ``plausible``: :func:`comparison` or :func:`comparisons` findings of ``a``
    against the same rival on a faithfulness score (Average Drop, deletion) and on a
    plausibility score (energy or pointing on the lesion). **Rule**: they disagree when ``a``
    beats its rival on one kind of score and loses to it on the other (each by its own paired,
    Holm-adjusted rule); they agree when it wins, or loses, on both; otherwise one of them has
    no winner and the question stays open.
    """
    def side(finding: Finding) -> set[str]:
        text = finding.verdict
        return {w for w in ("beats", "loses to") if f"{a} {w}" in text}

    faith, plaus = side(faithful), side(plausible)
    rule = (f"faithfulness and plausibility disagree when {a} beats its rival on one and loses "
            "to it on the other, each by its paired Holm-adjusted rule")
    if (faith == {"beats"} and "loses to" in plaus) or (faith == {"loses to"} and "beats" in plaus):
        verdict = "they disagree"
        other = "loses to" if faith == {"beats"} else "beats"
        text = (f"**Faithfulness and plausibility disagree** about {a}: on faithfulness it "
                f"{next(iter(faith))} its rival, on plausibility it {other} it.")
    elif faith and faith == plaus:
        verdict = "they agree"
        text = (f"**Faithfulness and plausibility agree** about {a}: it {next(iter(faith))} "
                "its rival on both.")
    else:
        verdict = "open"
        text = (f"**Open**: on faithfulness {a} {('/'.join(faith) or 'has no winner')}, on "
                f"plausibility it {('/'.join(plaus) or 'has no winner')}; a score without a "
                "winner decides nothing.")
    return _emit(name, rule, verdict, {"faithfulness": sorted(faith),
                                       "plausibility": sorted(plaus)}, [text])


# ----------------------------------------------------------------------------------------------
# The shortcut (06): what the maps show against a clean model, and what the intervention shows
# ----------------------------------------------------------------------------------------------


def shortcut_maps(gaps: pd.DataFrame, peaks: Mapping[str, tuple[int, int]] | None = None,
                  mark: str = "ink", name: str = "shortcut in the maps") -> Finding:
    r"""Do the maps expose the mark? Per measure, the biased model's maps against the clean one's.

    ``gaps``: one row per measure (its index), the :func:`helpers.stats.paired_difference` of
    the biased model's per-image score minus the clean model's on the same marked images
    (``mean``, ``low``, ``high``, ``n``). ``peaks`` (optional): per model, ``(k, n)`` shown maps
    whose peak lies on the mark. **Rule**: the maps expose the mark on a measure when the paired
    95 % interval of biased minus clean lies above 0; they expose nothing when no measure's
    does (an interval at or around 0, or below it). The counts of peaks are shown, not decided
    on: a handful of maps is no sample. Undecided when no measure has a finite interval over
    two or more images.
    """
    exposing, lines, decided = [], [], 0
    for measure, row in gaps.iterrows():
        mean, low, high = (float(row[k]) for k in ("mean", "low", "high"))
        n = int(row.get("n", 0) or 0)
        if min(n, _groups(row, n)) < 2 or not _finite(mean, low, high):
            lines.append(f"- {measure}: no interval ({n} images from {_groups(row, n)} "
                         "lesions, or NaN).")
            continue
        decided += 1
        side = _side(low, high)
        if side == "above":
            exposing.append(str(measure))
        word = {"above": f"above 0: more on the {mark}", "includes": "includes 0: no difference",
                "below": f"below 0: less on the {mark}"}[side]
        verb = "includes" if side == "includes" else "lies"
        word = word.removeprefix("includes ")
        lines.append(f"- {measure}: biased minus clean {_interval(mean, low, high)} over {n} "
                     f"images, the interval {verb} {word}.")
    if decided == 0:
        verdict = "undecided"
        head = "No measure has an interval: the maps cannot be read against the clean model."
    elif exposing:
        verdict = f"the maps expose the {mark} on {len(exposing)} of {decided} measures"
        head = (f"**Against the clean model, the maps expose the {mark}** on "
                f"{', '.join(exposing)}:")
    else:
        verdict = f"the maps expose nothing about the {mark}"
        head = (f"**Against the clean model, the maps expose nothing**: on no measure does the "
                f"biased model's map hold more of the {mark}:")
    for model, (k, n) in (peaks or {}).items():
        lines.append(f"- {model}: {k} of the {n} maps shown peak on the {mark}.")
    rule = (f"the maps expose the {mark} on a measure when the paired 95 % interval of the "
            f"biased model's score minus the clean model's, on the same images, lies above 0")
    values = {"gaps": {str(k): dict(v) for k, v in gaps.to_dict(orient="index").items()},
              "exposing": exposing, "peaks": {k: list(v) for k, v in (peaks or {}).items()}}
    return _emit(name, rule, verdict, values, [head, *lines])


def intervention(row: Mapping[str, float], mark: str = "ink", unit: str = "image",
                 name: str = "shortcut by intervention") -> Finding:
    r"""Does the model use the mark? Moving it, biased model against clean model.

    ``row``: the :func:`helpers.stats.paired_difference` over the marked non-melanomas of the
    test split with the mark moved onto them: per image, 1 if the biased model calls it
    melanoma, minus 1 if the clean model does. **Rule**: the model uses the mark when the paired
    95 % interval of that difference lies above 0 (the mark alone turns them into melanomas);
    it shows no use when the interval includes 0 or lies below it. Undecided without a finite
    interval over two or more images (no marked image, NaN).
    """
    mean, low, high = (float(row.get(k, math.nan)) for k in ("mean", "low", "high"))
    n = min(int(row.get("n", 0) or 0), _groups(row, int(row.get("n", 0) or 0)))
    rule = (f"the model uses the {mark} when the paired 95 % interval of (the biased model "
            f"calls a non-melanoma with the {mark} melanoma) minus (the clean model does) lies "
            "above 0")
    if n < 2 or not _finite(mean, low, high):
        verdict = "undecided"
        text = f"With {n} non-melanomas carrying the {mark} there is no interval: no verdict."
    elif low > 0:
        verdict = f"the model uses the {mark}"
        text = (f"**The model uses the {mark}**: once the {mark} moves onto non-melanomas, the "
                f"biased model calls {100 * mean:.0f} percentage points more of them melanoma "
                f"than the clean model, 95 % interval [{100 * low:.0f}, {100 * high:.0f}] over "
                f"{n} {unit}s; the interval lies above 0.")
    else:
        verdict = f"no use of the {mark} shown"
        text = (f"**No use of the {mark} shown**: with the {mark} moved onto non-melanomas, the "
                f"share of them called melanoma, biased minus clean model, is "
                f"{100 * mean:+.0f} percentage points, 95 % interval [{100 * low:+.0f}, "
                f"{100 * high:+.0f}] over {n} {unit}s; the interval does not lie above 0.")
    return _emit(name, rule, verdict, {"mean": mean, "low": low, "high": high, "n": n},
                 [text])


# ----------------------------------------------------------------------------------------------
# Class sensitivity (08, 09): do the maps of different classes differ?
# ----------------------------------------------------------------------------------------------


def class_sensitivity(mean: float, low: float, high: float, floor: float, n: int,
                      unit: str = "image", name: str = "class sensitivity") -> Finding:
    r"""Are the maps of different classes told apart on the same image?

    ``mean``, ``low``, ``high``: the mean Spearman correlation between the maps of two different
    classes of one image, and its 95 % bootstrap interval over ``n`` images; ``floor``: the
    Spearman correlation between maps of *different images* (what two unrelated maps share).
    **Rule**: the maps depend on the class when the interval lies below the midpoint between
    the floor and 1 (two classes' maps closer to unrelated maps than to copies); they barely
    depend on it when the interval lies above that midpoint. Otherwise undecided at this sample
    size; undecided too without a finite interval over two or more images (NaN, an empty set,
    one image).
    """
    rule = ("the maps depend on the class when the 95 % interval of the Spearman correlation "
            "between two classes' maps of one image lies below the midpoint between the "
            "different-images floor and 1; they barely depend on it when it lies above")
    cut = (float(floor) + 1) / 2
    if n < 2 or not _finite(mean, low, high, floor):
        verdict, text = "undecided", f"With {n} {unit}s there is no interval: no verdict."
    elif high < cut:
        verdict = "the maps depend on the class"
        text = (f"**The maps depend on the class**: two classes' maps of one {unit} correlate "
                f"{_interval(mean, low, high)} (Spearman, {n} {unit}s), below {cut:.2f}, halfway "
                f"from the different-images floor {floor:.2f} to 1.")
    elif low > cut:
        verdict = "the maps barely depend on the class"
        text = (f"**The maps barely depend on the class**: two classes' maps of one {unit} "
                f"correlate {_interval(mean, low, high)} (Spearman, {n} {unit}s), above "
                f"{cut:.2f}, halfway from the different-images floor {floor:.2f} to 1.")
    else:
        verdict = "undecided"
        text = (f"Two classes' maps of one {unit} correlate {_interval(mean, low, high)} "
                f"(Spearman, {n} {unit}s); the interval includes {cut:.2f}, halfway from the "
                f"different-images floor {floor:.2f} to 1: no verdict at this sample size.")
    return _emit(name, rule, verdict, {"mean": mean, "low": low, "high": high, "floor": floor,
                                       "n": n, "cut": cut}, [text])


# ----------------------------------------------------------------------------------------------
# Turned images (09): does the map move with the image?
# ----------------------------------------------------------------------------------------------


def follows_turn(table: pd.DataFrame, unit: str = "image",
                 name: str = "maps of turned images") -> Finding:
    r"""Does each method's map follow the image when the image is turned or flipped?

    ``table``: one row per (``method``, ``transform``) with ``mean``, ``low``, ``high`` (the
    mean Spearman correlation of a map with the turned image's map turned back, and its 95 %
    bootstrap interval over ``n`` groups: lesions), ``n`` and ``in_place`` (the mean
    correlation of the map with the turned image's map *not* turned back: what a map fixed to
    the pixel grid would score; :func:`helpers.agreement.follows_turn` gives both per image).
    **Rule**: the map follows the image when the interval lies wholly above ``in_place``; it
    stays with the grid when the interval lies wholly below it; otherwise the turn hardly
    changes the map (a map as symmetric as the transform) and the test cannot tell. Undecided
    without a finite interval over two or more groups.
    """
    rule = ("a map follows the image when the 95 % interval of its Spearman correlation with "
            "the turned image's map, turned back, lies wholly above the correlation with that "
            "map left in place; it stays with the pixel grid when the interval lies wholly below")
    verdicts: dict[str, str] = {}
    lines = []
    if table.empty:
        lines.append(f"No {unit} was scored: there is nothing to decide.")
    for row in table.itertuples():
        key = f"{row.method}, {row.transform}"
        n = int(row.n)
        shown = f"{_interval(row.mean, row.low, row.high)} over {n} {unit}s"
        if n < 2 or not _finite(row.mean, row.low, row.high, row.in_place):
            verdict = "undecided"
            detail = f"no interval ({n} {unit}s, or NaN)"
        elif row.low > row.in_place:
            verdict = "follows the image"
            detail = f"{shown}, above {row.in_place:.2f} left in place"
        elif row.high < row.in_place:
            verdict = "stays with the grid"
            detail = f"{shown}, below {row.in_place:.2f} left in place"
        else:
            verdict = "cannot tell"
            detail = (f"{shown} includes {row.in_place:.2f} left in place: the {row.transform} "
                      "hardly changes the map")
        verdicts[key] = verdict
        lines.append(f"- **{key}** {verdict}: Spearman {detail}.")
    overall = "; ".join(f"{k}: {v}" for k, v in verdicts.items()) or "nothing to decide"
    values = {"verdicts": verdicts,
              "rows": table.to_dict(orient="records") if not table.empty else []}
    return _emit(name, rule, overall, values,
                 [f"**{name[0].upper() + name[1:]}**, turned back against left in place:",
                  *lines])


# ----------------------------------------------------------------------------------------------
# A precondition: a measured share that must reach a bound (e.g. a model memorised its labels)
# ----------------------------------------------------------------------------------------------


def threshold(value: float, bound: float, what: str, then: str, otherwise: str,
              at: Literal["least", "most"] = "least", name: str | None = None,
              values: Mapping[str, float] | None = None) -> Finding:
    """A condition read from one measured value: ``value >= bound`` (or ``<=`` with
    ``at="most"``).

    **Rule**: ``then`` holds when ``what`` (``value``) is at least (at most) ``bound``; on the
    other side, or NaN, ``otherwise`` holds; a tie meets the bound. For a condition a later
    result rests on, e.g. "the shuffled-label model memorised its labels" before its maps are
    compared (Adebayo et al. 2018, sec. 3.2), or an identity checked to rounding ("CAM equals
    Grad-CAM"). ``values``: further numbers measured with it, recorded beside it.
    """
    if at not in ("least", "most"):
        raise ValueError(f"at must be 'least' or 'most', got {at!r}")
    name = name or what
    rule = f"{then} when {what} is at {at} {bound:.3g}; otherwise {otherwise}"
    value = float(value)
    met = math.isfinite(value) and (value >= bound if at == "least" else value <= bound)
    verdict = then if met else otherwise
    shown = f"{value:.3g}" if math.isfinite(value) else "not a number"
    other = "below" if at == "least" else "above"
    text = (f"{what[0].upper() + what[1:]}: {shown}, "
            f"{f'at {at}' if met else other} {bound:.3g}: **{verdict}**.")
    return _emit(name, rule, verdict, {**(values or {}), "value": value, "bound": bound}, [text])
