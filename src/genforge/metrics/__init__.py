"""Evaluation metrics for generative models, and for any images, features, labels or text you bring.

Every metric is one module with a functional form and a streaming class (``update`` / ``compute`` /
``reset`` / ``merge``, its options and state declared, see :mod:`.base`), registered once in
:mod:`.registry`, which the CLI, ``pipelines.measure`` and ``genforge eval`` read. Importing this package
or the registry imports nothing heavy: the Fréchet, KID and k-NN metrics need only numpy (and pydantic
for their options), so ``genforge metrics fd`` on saved features starts without torch.
"""
