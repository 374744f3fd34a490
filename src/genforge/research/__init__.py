"""The research workflow: repeat a run over seeds with confidence intervals (:mod:`.repeat`, :mod:`.stats`),
compare two sets of runs with a Bayesian test (:mod:`.compare`, :mod:`.bayes`), and the figures both read
from run directories (:mod:`.runsets`). See docs/research.md."""
