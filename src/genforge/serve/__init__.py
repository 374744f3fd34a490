"""``genforge serve``: trained runs, embeddings and RAG behind HTTP APIs clients already speak.

A shell like ``cli/``: OpenAI-compatible ``/v1`` for language models, embeddings and ``rag``; Open
Inference Protocol v2 for image models; health, keys, limits and Prometheus metrics. Every answer comes
from the same one-call Python API the CLI uses (:func:`genforge.pipelines.generation.generate`,
:mod:`genforge.pipelines.inference`, :class:`genforge.embed.sentence.SentenceEmbedding`,
:func:`genforge.rag.api.ask`); this package holds no algorithm.
"""
