#!/usr/bin/env python3
"""How often would the soft-RoCE latency gate fail by chance? Resamples recorded rounds.

Usage: scripts/softroce-resample.py OUTDIR/comparison.json [--rounds N] [--draws D]

Reads the per-round p50s that scripts/softroce-vm.sh keeps in comparison.json (linkbench's one-way p50
and perftest's t_typical, per op), draws N rounds a side with replacement D times, and prints for each
op how often three candidate statistics put linkbench above 1.05 x perftest: each tool's best round, its
second-best round, and the mean of its fastest third, and how often the gate fails (it fails only when
the best-round, fastest-third and paired-median ratios are all above 1.05), and how often the median of per-round
ratios (each draw's rounds paired in order) is above 1.20, the second latency gate. It also prints perftest against itself
(an A/A test: a statistic that fails that often measures the emulator's modes, not the tools) and
linkbench's rounds made 10% and 30% slower (the gates' power: how often they catch a real overhead; 30%
is what linkbench's write-latency rounds cost on one AMD host, where they fell in TCG's slow mode more
often than perftest's).
Resampling from one boot says nothing about boot-to-boot changes; run it on several boots' files.
"""

import argparse
import json
import random


def fastest_third(xs):
    xs = sorted(xs)
    k = max(1, len(xs) // 3)
    return sum(xs[:k]) / k


STATISTICS = {
    "best round": min,
    "second-best round": lambda xs: sorted(xs)[1],
    "fastest third": fastest_third,
}
GATE = "gate: all above"  # the gate fails only when best-round, fastest-third and paired-median ratios all do
ONE_BOOT = "both gates, one boot"  # floor or paired median failing on the first rounds alone
CONFIRMED = "gate, confirmed"  # a failed gate draws as many rounds again and judges them all together
PAIRED = "paired median"  # the median of per-round ratios; its own gate is MEDIAN_LIMIT
FLOOR_LIMIT = 1.05
MEDIAN_LIMIT = 1.20


def median(xs):
    """The median as softroce-check.py takes it (the mean of the two middle values of an even count)."""
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def gates_pass(a, b):
    """Both latency gates as softroce-check.py applies them to rounds a (linkbench) and b (perftest)."""
    paired = median([x / y for x, y in zip(a, b)])
    floor = min(min(a) / min(b), fastest_third(a) / fastest_third(b), paired)
    return floor <= FLOOR_LIMIT and paired <= MEDIAN_LIMIT, floor


def failure_rates(ours, theirs, rounds, draws, rng, scale=1.0):
    """Per statistic and for the gate: (share of draws above 1.05, median ratio, 95th percentile).

    CONFIRMED is the floor gate as softroce-vm.sh applies it: when the first rounds fail either latency
    gate (floor or paired median), as many rounds again are drawn (a second boot) and both gates judge
    all of them together; a draw counts as failed when either gate still fails."""
    ratios = {name: [] for name in [*STATISTICS, GATE, PAIRED, ONE_BOOT, CONFIRMED]}
    # A draw that fails only the paired-median gate is recorded just above the floor limit.
    either = lambda passed, floor: floor if passed or floor > FLOOR_LIMIT else FLOOR_LIMIT + 1e-9
    draw = lambda: ([scale * rng.choice(ours) for _ in range(rounds)], [rng.choice(theirs) for _ in range(rounds)])
    for _ in range(draws):
        a, b = draw()
        for name, stat in STATISTICS.items():
            ratios[name].append(stat(a) / stat(b))
        ratios[PAIRED].append(sorted(x / y for x, y in zip(a, b))[rounds // 2])
        ratios[GATE].append(min(ratios["best round"][-1], ratios["fastest third"][-1], ratios[PAIRED][-1]))
        passed, floor = gates_pass(a, b)
        ratios[ONE_BOOT].append(either(passed, floor))
        if not passed:
            a2, b2 = draw()
            passed, floor = gates_pass(a + a2, b + b2)
        ratios[CONFIRMED].append(either(passed, floor))
    out = {}
    for name, rs in ratios.items():
        rs.sort()
        limit = MEDIAN_LIMIT if name == PAIRED else FLOOR_LIMIT
        out[name] = (sum(1 for r in rs if r > limit) / draws, rs[draws // 2], rs[int(0.95 * draws)])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("comparison", nargs="+", help="comparison.json files from scripts/softroce-vm.sh")
    ap.add_argument("--rounds", type=int, default=30, help="rounds a side per draw (the gate's LAT_ROUNDS)")
    ap.add_argument("--draws", type=int, default=20000)
    args = ap.parse_args()
    rng = random.Random(1)
    for path in args.comparison:
        with open(path) as f:
            table = json.load(f)
        print(f"== {path}: {args.rounds} rounds a side, {args.draws} draws")
        for row in table:
            rounds = row.get("rounds", {})
            ours, theirs = rounds.get("linkbench_p50_us", []), rounds.get("perftest_typical_us", [])
            if len(ours) < 2 or len(theirs) < 2:
                continue
            cases = (("linkbench vs perftest", ours, theirs, 1.0), ("perftest vs itself", theirs, theirs, 1.0),
                     ("linkbench x 1.10", ours, theirs, 1.10), ("linkbench x 1.30", ours, theirs, 1.30))
            for label, a, b, scale in cases:
                for name, (fail, med, p95) in failure_rates(a, b, args.rounds, args.draws, rng, scale).items():
                    print(f"{row['op']:6} {label:22} {name:19} fails {100 * fail:5.1f}%"
                          f"  median ratio {med:.3f}  95th percentile {p95:.3f}")


if __name__ == "__main__":
    main()
