"""Evaluation metrics for generative models: one module per metric group.

Every metric is a class with ``update`` / ``compute`` / ``reset`` / ``merge`` (see :mod:`.base`) and a
functional twin. Importing this package imports nothing heavy: the Fréchet, KID and k-NN metrics need
only numpy, so ``genforge metrics fd`` on saved features starts without torch.
"""
