"""Privacy audits of trained runs: membership inference (:mod:`.mia`).

DP training itself lives in the trainer (:mod:`genforge.trainer.dp`), since it changes how every step is
taken; this package measures what a run leaks afterwards, DP or not.
"""
