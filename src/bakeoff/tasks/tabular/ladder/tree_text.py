"""A fitted tree as if-else text in the inputs' own words: category levels, not indicator columns.

    if Contract is 'Month-to-month':
        if tenure <= 5.5:
            predict Yes (61 % Yes, 520 rows)
        else:
            predict No (38 % Yes, 1,210 rows)
    else:
        predict No (7 % Yes, 2,777 rows)
    missing numbers count as the training median: tenure 29
"""

from __future__ import annotations

import numpy as np

INDENT = "    "


def if_else_text(fitted, class_names: tuple[str, ...] | None) -> str:
    """The tree of a fitted sklearn-pipeline candidate (preprocessing + tree) as if-else lines.

    `class_names` None means regression: leaves give the predicted value (e^leaf - 1 for a tree
    that learnt log(1 + y))."""
    inputs, medians = _input_words(fitted.inputs)
    tree = fitted.model.tree_
    labels = None if class_names is None else [class_names[int(c)] for c in fitted.model.classes_]
    shown = class_names[-1] if class_names is not None and len(class_names) == 2 else None
    value = np.expm1 if getattr(fitted, "log_target", False) else float
    used = set()
    lines = _node(tree, 0, 0, inputs, (labels, shown, value), used)
    missing = [f"{name} {medians[name]:.4g}" for name in sorted(used) if name in medians]
    if missing:
        lines.append("missing numbers count as the training median: " + ", ".join(missing))
    return "\n".join(lines)


def _input_words(inputs) -> tuple[list[tuple], dict[str, float]]:
    """Per model input: ("number", column) or ("level", column, level); and numeric medians."""
    words = [("number", n.column) for n in inputs.numbers]
    words += [("level", c.column, str(level)) for c in inputs.categories for level in c.levels]
    return words, {n.column: n.median for n in inputs.numbers}


def _node(tree, node: int, depth: int, inputs, class_names, used: set) -> list[str]:
    pad = INDENT * depth
    left, right = tree.children_left[node], tree.children_right[node]
    if left == -1:
        return [pad + _leaf(tree, node, class_names)]
    what = inputs[tree.feature[node]]
    used.add(what[1])
    if what[0] == "level":  # indicator <= 0.5 means "not this level": say the level first
        head, first, second = f"if {what[1]} is {what[2]!r}:", right, left
    else:
        head, first, second = f"if {what[1]} <= {tree.threshold[node]:.4g}:", left, right
    return [pad + head, *_node(tree, first, depth + 1, inputs, class_names, used),
            pad + "else:", *_node(tree, second, depth + 1, inputs, class_names, used)]


def _leaf(tree, node: int, classes) -> str:
    """The leaf's answer; binary leaves give the positive class's share, others the answer's."""
    labels, positive, to_target = classes
    rows = int(tree.n_node_samples[node])
    value = tree.value[node][0]
    if labels is None:
        return f"predict {float(to_target(value[0])):.4g} ({rows:,} rows)"
    shares = dict(zip(labels, value / value.sum()))
    label = max(shares, key=shares.get)
    shown = positive or label
    return f"predict {label} ({shares.get(shown, 0.0):.0%} {shown}, {rows:,} rows)"
