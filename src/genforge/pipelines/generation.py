"""Text generation and translation from trained runs (the API behind ``genforge generate`` / ``translate``).

``generate(run, prompt)`` continues a prompt with a language-model run (gpt, lstm-lm, gru-lm): the prompt
is encoded with the run's own tokenizer after an ``<|endoftext|>`` token (training documents start that
way), then decoded with :mod:`genforge.samplers.decoding` (sampling, greedy or beam search) until
``max_tokens``, the end-of-text token or a stop sequence. ``translate(run, text)`` runs a seq2seq run and
can draw its attention as a heat map.

Both load the model from the data description saved in the run and its ``tokenizer.json`` (checked against
the digest the run recorded), never the training corpus: a run is self-contained for generation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from genforge.core.errors import ConfigError
from genforge.core.paths import check_output_file
from genforge.core.runs import Run
from genforge.core.seed import make_generator
from genforge.data.tokenizers import END_OF_TEXT, TOKENIZER_FILE, TextTokenizer, load_run_tokenizer
from genforge.models.language import LanguageModel
from genforge.models.seq2seq import Seq2Seq
from genforge.pipelines.loading import LoadedRun, load_run
from genforge.render.attention import save_attention_heatmap
from genforge.render.images import image_format
from genforge.samplers.decoding import DecodingConfig, TextStream, beam_search, iter_token_rows, iter_tokens


@dataclass
class Generation:
    prompt: str
    completion: str
    prompt_tokens: int
    generated_tokens: int
    stopped_by: str  # "max_tokens", "end_of_text" or "stop_sequence"
    seconds: float
    tokens_per_second: float
    run: str
    settings: dict[str, Any] = field(default_factory=dict)
    prompt_truncated_tokens: int = 0

    @property
    def text(self) -> str:
        return self.prompt + self.completion

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "text": self.text}


@dataclass
class Translation:
    source: str
    translation: str
    source_tokens: list[str]
    output_tokens: list[str]
    attention: list[list[float]]  # output position x source position
    run: str
    unknown_characters: list[str] = field(default_factory=list)
    attention_map: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_TOKENIZERS: dict[tuple, TextTokenizer] = {}  # (tokenizer file, its stat, digest) -> tokenizer


def _run_tokenizer(loaded: LoadedRun) -> TextTokenizer:
    """The run's own tokenizer, read and checked once per file version (a server generates from one run
    many times; reading and hashing tokenizer.json on every call cost more than a short completion)."""
    model = loaded.model
    path = Path(loaded.run.path) / TOKENIZER_FILE
    try:
        stat = path.stat()
        version: tuple = (str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    except OSError:
        version = (str(path), None)  # missing: load_run_tokenizer says so
    key = (*version, model.info.extra.get("tokenizer_sha256"), model.info.vocab_size)
    tokenizer = _TOKENIZERS.get(key)
    if tokenizer is None:
        tokenizer = load_run_tokenizer(
            loaded.run.path,
            expected_digest=model.info.extra.get("tokenizer_sha256"),
            vocab_size=model.info.vocab_size,
            run_id=loaded.run.id,
        )
        if len(_TOKENIZERS) > 64:
            _TOKENIZERS.clear()
        _TOKENIZERS[key] = tokenizer
    return tokenizer


def _load(run: str | Path | Run | LoadedRun, kind: str) -> tuple[LoadedRun, TextTokenizer]:
    """The run's model and its own tokenizer. A run given by path is loaded without its dataset: the
    tokenizer comes from the run directory, so the corpus is neither needed nor re-tokenized."""
    loaded = run if isinstance(run, LoadedRun) else load_run(run, data=False)
    model = loaded.model
    wanted = LanguageModel if kind == "tokens" else Seq2Seq
    if not isinstance(model, wanted):
        family = loaded.config["family"]
        hint = (
            "genforge translate"
            if isinstance(model, Seq2Seq)
            else ("genforge generate" if isinstance(model, LanguageModel) else "genforge sample")
        )
        what = "a language model (gpt, lstm-lm, gru-lm)" if kind == "tokens" else "a seq2seq model"
        raise ConfigError(f"run {loaded.run.id} is a {family} model, not {what}: use {hint}")
    return loaded, _run_tokenizer(loaded)


@dataclass
class _Request:
    """One generation's prompt, settings and progress, shared by :func:`generate` and
    :func:`generate_batch`."""

    prompt: str
    text_ids: list[int]
    prompt_ids: list[int]
    dropped: int
    settings: DecodingConfig
    seed: int
    stop: Sequence[str]
    stream: TextStream
    emit: Callable[[str], None]
    generated: int = 0
    stopped_by: str = "max_tokens"
    seconds: float = 0.0

    def push(self, token: int, eot: int) -> bool:
        """Take one generated id; True when the text has ended (end-of-text or a stop sequence)."""
        self.generated += 1
        if token == eot:
            self.stopped_by = "end_of_text"
            return True
        self.emit(self.stream.push(token))
        if self.stream.stopped is not None:
            self.stopped_by = "stop_sequence"
            return True
        return False

    def result(self, loaded: LoadedRun, tokenizer: TextTokenizer) -> Generation:
        self.emit(self.stream.finish())
        return Generation(
            prompt=tokenizer.decode(self.text_ids) if self.dropped else self.prompt,
            completion=self.stream.text,
            prompt_tokens=len(self.text_ids),
            generated_tokens=self.generated,
            stopped_by=self.stopped_by,
            seconds=self.seconds,
            tokens_per_second=self.generated / max(self.seconds, 1e-9),
            run=loaded.run.id,
            settings={**self.settings.model_dump(), "seed": self.seed, "stop": list(self.stop)},
            prompt_truncated_tokens=self.dropped,
        )


def _request(
    loaded: LoadedRun,
    tokenizer: TextTokenizer,
    prompt: str = "",
    *,
    max_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    beam: int = 1,
    repetition_penalty: float = 1.0,
    stop: Sequence[str] = (),
    seed: int = 0,
    truncate_prompt: bool = False,
    on_text: Callable[[str], None] | None = None,
) -> _Request:
    model: LanguageModel = loaded.model  # type: ignore[assignment]
    settings = DecodingConfig.build(
        {
            "max_new_tokens": max_tokens,
            "temperature": temperature,
            "top_k": top_k,
            "top_p": top_p,
            "num_beams": beam,
            "repetition_penalty": repetition_penalty,
        },
        where="generation",
    )
    eot = tokenizer.token_id(END_OF_TEXT)
    if not truncate_prompt:
        _refuse_prompts_too_long_to_tokenize(loaded, prompt)
    text_ids = tokenizer.encode(prompt)
    prompt_ids = [eot, *text_ids]  # training documents start after <|endoftext|>
    dropped = 0
    if model.max_context is not None and len(prompt_ids) > model.max_context:
        if not truncate_prompt:
            raise ConfigError(
                f"the prompt is {len(text_ids)} tokens but run {loaded.run.id} has a context window of "
                f"{model.max_context} tokens (including the start token): shorten it or pass --truncate-prompt"
            )
        dropped = len(text_ids) - model.max_context
        text_ids = text_ids[dropped:]
        prompt_ids = text_ids  # the prompt's end no longer starts a document
    stream = TextStream(tokenizer.decode, stop)
    emit = on_text or (lambda piece: None)
    return _Request(prompt, text_ids, prompt_ids, dropped, settings, seed, stop, stream, emit)


def _refuse_prompts_too_long_to_tokenize(loaded: LoadedRun, prompt: str) -> None:
    """A prompt with more bytes than the context window's tokens can spell cannot fit: refuse it before
    tokenizing (byte-level BPE is quadratic in the length of a word, so a long unbroken string would take
    seconds to count). Each token spells at most the widest token's bytes (recorded by the run)."""
    limit = loaded.model.max_context
    widest = max(loaded.model.info.extra.get("token_bytes") or [0])
    size = len(prompt.encode("utf-8"))
    if limit is not None and widest > 0 and size > (limit - 1) * widest:
        raise ConfigError(
            f"the prompt is {size} bytes, more than run {loaded.run.id}'s context window of {limit} tokens "
            "(including the start token) can hold: shorten it or pass --truncate-prompt"
        )


def prompt_length(run: str | Path | Run | LoadedRun, prompt: str) -> int:
    """How many tokens the model reads for ``prompt`` (its start token included): what
    :func:`generate_batch` groups requests by."""
    loaded, tokenizer = _load(run, "tokens")
    _refuse_prompts_too_long_to_tokenize(loaded, prompt)
    return len(tokenizer.encode(prompt)) + 1


def generate(
    run: str | Path | Run | LoadedRun,
    prompt: str = "",
    *,
    max_tokens: int = 200,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    beam: int = 1,
    repetition_penalty: float = 1.0,
    stop: Sequence[str] = (),
    seed: int = 0,
    truncate_prompt: bool = False,
    on_text: Callable[[str], None] | None = None,
) -> Generation:
    """Continue ``prompt`` with a language-model run.

    ``temperature`` 0 is greedy decoding; ``beam`` > 1 is beam search (deterministic, not streamed).
    ``on_text`` receives the completion piece by piece as tokens are generated (streaming). A prompt longer
    than the model's context window is an error unless ``truncate_prompt`` keeps only its last tokens;
    generation past the window slides it (see :mod:`genforge.samplers.decoding`).
    """
    loaded, tokenizer = _load(run, "tokens")
    model: LanguageModel = loaded.model  # type: ignore[assignment]
    request = _request(
        loaded, tokenizer, prompt, max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p,
        beam=beam, repetition_penalty=repetition_penalty, stop=stop, seed=seed,
        truncate_prompt=truncate_prompt, on_text=on_text,
    )  # fmt: skip
    eot = tokenizer.token_id(END_OF_TEXT)
    start = time.perf_counter()
    with torch.no_grad():
        if beam > 1:
            tokens: Iterable[int] = beam_search(model, request.prompt_ids, request.settings, eos_id=eot)[
                0
            ].ids
        else:
            generator = make_generator(seed)
            tokens = iter_tokens(model, request.prompt_ids, request.settings, generator=generator, eos_id=eot)
        for token in tokens:
            if request.push(token, eot):
                break
    request.seconds = time.perf_counter() - start
    return request.result(loaded, tokenizer)


def generate_batch(
    run: str | Path | Run | LoadedRun, requests: Sequence[Mapping[str, Any]]
) -> list[Generation | Exception]:
    """Several :func:`generate` calls (``requests`` hold its keyword arguments, ``beam`` 1) decoded
    together: prompts of one token length share each forward pass (:func:`iter_token_rows`), while every
    request keeps its own seed, settings, stop sequences and ``on_text``, so its result is what
    :func:`generate` gives it alone. An error that belongs to one request (a prompt too long, an
    ``on_text`` that raises because its client left) is returned in its place and ends only that row."""
    loaded, tokenizer = _load(run, "tokens")
    eot = tokenizer.token_id(END_OF_TEXT)
    results: list[Generation | Exception | None] = [None] * len(requests)
    groups: dict[int, list[tuple[int, _Request]]] = {}
    for index, arguments in enumerate(requests):
        try:
            if arguments.get("beam", 1) > 1:
                raise ConfigError("beam search is not batched: call generate() for it")
            request = _request(loaded, tokenizer, **arguments)
        except Exception as exc:  # returned: it belongs to this request only
            results[index] = exc
            continue
        groups.setdefault(len(request.prompt_ids), []).append((index, request))
    for group in groups.values():
        start = time.perf_counter()
        ended: set[int] = set()
        rows = iter_token_rows(
            loaded.model, [r.prompt_ids for _, r in group], [r.settings for _, r in group],
            generators=[make_generator(r.seed) for _, r in group], eos_id=eot, ended=ended,
        )  # fmt: skip
        for step in rows:
            for row, token in step.items():
                index, request = group[row]
                try:
                    finished = request.push(token, eot)
                except Exception as exc:  # on_text refused: this request is over
                    results[index], finished = exc, True
                if finished or row in ended:
                    ended.add(row)
                    request.seconds = time.perf_counter() - start
        for index, request in group:
            if results[index] is None:
                try:
                    results[index] = request.result(loaded, tokenizer)
                except Exception as exc:  # returned, like the errors above
                    results[index] = exc
    return results  # type: ignore[return-value]


def translate(
    run: str | Path | Run | LoadedRun,
    text: str,
    *,
    beam: int = 1,
    max_tokens: int | None = None,
    attention_map: str | Path | None = None,
) -> Translation:
    """Translate ``text`` with a seq2seq run (greedy, or beam search with ``beam`` > 1); when
    ``attention_map`` is a path, draw the attention of each output character over the source there."""
    if not text.strip():
        raise ConfigError("nothing to translate: the text is empty")
    if attention_map is not None:  # a picture we cannot write is refused before the model loads
        image_format(attention_map)
        check_output_file(attention_map)
    loaded, tokenizer = _load(run, "pairs")
    model: Seq2Seq = loaded.model  # type: ignore[assignment]
    source_ids = tokenizer.encode(text)
    source = torch.tensor([source_ids], dtype=torch.long)
    limit = max_tokens or 2 * model.max_target_length
    with torch.no_grad():
        if beam > 1:
            settings = DecodingConfig.build({"max_new_tokens": limit, "num_beams": beam}, where="translation")
            output = beam_search(model.decoder_for(source), [model.bos_id], settings, eos_id=model.eos_id)[
                0
            ].ids
        else:
            output = model.greedy(source, limit)[0][0].tolist()
        output = model.strip_special(output)
        weights = (
            model.attention_map(source, torch.tensor([output], dtype=torch.long))[0]
            if output
            else torch.zeros(0, len(source_ids))
        )
    source_tokens = [tokenizer.token_label(i) for i in source_ids]
    output_tokens = [tokenizer.token_label(i) for i in output]
    unknown = sorted({ch for ch in text if any(tokenizer.is_byte_token(i) for i in tokenizer.encode(ch))})
    result = Translation(
        source=text,
        translation=tokenizer.decode(output, skip_special_tokens=True),
        source_tokens=source_tokens,
        output_tokens=output_tokens,
        attention=[[round(float(w), 4) for w in row] for row in weights],
        run=loaded.run.id,
        unknown_characters=unknown,
    )
    if attention_map is not None:
        if not output:
            raise ConfigError("the model produced an empty translation: there is no attention to draw")
        path = save_attention_heatmap(
            weights,
            source_tokens,
            output_tokens,
            attention_map,
            title=f"{loaded.config['family']} ({loaded.config['model'].get('attention')}) "
            f"run {loaded.run.id}",
        )
        result.attention_map = str(path)
    return result
