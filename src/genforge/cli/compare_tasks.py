"""``genforge compare A B --metric a,b,c``: A against B over several metrics and/or datasets (tasks),
the runs × tasks matrix of :mod:`genforge.research.multitask`."""

from __future__ import annotations

import argparse

from genforge.cli.common import console, table


def run_tasks(args: argparse.Namespace) -> int:
    from genforge.cli.compare import check_outputs, posterior_options, save_or_print
    from genforge.research.multitask import compare_tasks
    from genforge.research.plot import save_posterior

    check_outputs(args)
    result = compare_tasks(args.a, args.b, args.metric, normalise=args.normalise, **posterior_options(args))
    record = result.to_dict()
    if args.plot:
        record["plot"] = str(save_posterior(result.posterior, "mean normalised score", args.plot))
    if args.profile:
        from genforge.render.images import save_picture
        from genforge.research.profiles import performance_profile, profiles_png, thresholds

        taus = thresholds(result.scores_a + result.scores_b)
        found = {
            side: performance_profile(
                scores,
                taus,
                direction=result.settings["direction"],
                confidence=args.confidence,
                seed=args.seed,
            )
            for side, scores in (("A", result.scores_a), ("B", result.scores_b))
        }
        record["profile"] = str(save_picture(profiles_png(found, "score"), args.profile))
        record["profiles"] = found
    if save_or_print(args, record):
        return 0
    out = console()
    out.print(
        f"{len(result.tasks)} tasks, paired by seed ({len(result.seeds)} seeds); normalisation: "
        f"{record['normalisation']}",
        soft_wrap=True,
    )
    rows = [
        [t["task"], t["direction"], f"{t['mean_a']:.4g}", f"{t['mean_b']:.4g}",
         *(f"{max(t[k], 0.0):.3f}" for k in ("p_a_better", "p_equivalent", "p_b_better"))]
        for t in result.tasks
    ]  # fmt: skip
    out.print(
        table(None, ["task", "better", "A mean", "B mean", "P(A better)", "P(equal)", "P(B better)"], rows)
    )
    level = f"{args.confidence:.0%}"
    for side, agg in (("A", result.aggregate_a), ("B", result.aggregate_b)):
        lo, hi = agg["iqm"]["ci"]
        out.print(
            f"{side}: IQM of the scores {agg['iqm']['value']:.3f}, {level} stratified bootstrap interval "
            f"[{lo:.3f}, {hi:.3f}]; mean {agg['mean']['value']:.3f}",
            soft_wrap=True,
        )
    lo, hi = result.improvement["ci"]
    out.print(
        f"probability of improvement (rliable) {result.improvement['value']:.3f}, {level} interval "
        f"[{lo:.3f}, {hi:.3f}]",
        soft_wrap=True,
    )
    p = result.posterior
    out.print(
        f"over the tasks: P(A better) {p.p_a_better:.3f} · P(practically equal) {max(p.p_equivalent, 0.0):.3f} · "
        f"P(B better) {p.p_b_better:.3f}   ({args.method} on each seed's mean score, ROPE ±{args.rope:g})",
        soft_wrap=True,
    )
    out.print(result.verdict(), soft_wrap=True)
    for note in result.notes:
        out.print(f"note: {note}", soft_wrap=True)
    for key in ("plot", "profile", "saved"):
        if key in record:
            out.print(f"{key}: {record[key]}", soft_wrap=True)
    return 0
