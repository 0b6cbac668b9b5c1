"""py3langid's model, kept ready to load in milliseconds, and read without NumPy.

py3langid ships its model LZMA-compressed: decompressing its 68 MB takes about half a second at
the first Latin-script text of every process, a Lambda cold start included, and its scoring
imports NumPy (another 0.1 s and 20 MB). Kopichat reads only a few languages, so it keeps, next
to this file, the model restricted to them and uncompressed: the classes' scores (2.8 MB, read)
and the tokenizer's transition table (39 MB, mapped: a short text touches a few pages). Scoring
is py3langid's own naive Bayes over that model (`CompactIdentifier.classify`), in plain Python:
for a message, a few hundred multiply-adds. It gives py3langid's answers (the same language, the
probability within 1e-4: tests/unit/test_langid_model.py).

Made at install (`make install`, the images' build: `python -m agent.understanding.langid_model`),
or by the first process that loads the model, where it may write here. Where it is missing or
stale, it is made from py3langid's file in memory, as before.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import math
import mmap
import os
import sys
import tempfile
import unicodedata
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPACT_DIR = Path(__file__).parent / "_langid_model"
_META = "meta.json"
# name: array typecode (4-byte float, int and unsigned int on every platform Python runs on)
_ARRAYS = {"ptc": "f", "pc": "f", "out": "i", "row": "I", "nextmove": "I"}


@dataclass(frozen=True, slots=True)
class CompactIdentifier:
    """py3langid's LanguageIdentifier with `norm_probs=True`, restricted to `classes`."""

    classes: list[str]
    ptc: Sequence[float]  # feature-major: ptc[feature * len(classes) + class]
    pc: Sequence[float]
    out: Sequence[int]  # the feature a tokenizer state emits, or -1
    rowbase: list[int]  # each state's row offset in `nextmove`
    nextmove: Sequence[int]  # state transitions, 256 per row

    def classify(self, text: str) -> tuple[str, float]:
        """The likeliest language and its probability, as py3langid's `classify`."""
        data = _encode(text)
        features = self._features(data)
        width = len(self.classes)
        scores = [0.0] * width
        if features:
            scores = list(self.pc)
            for feature, count in features.items():
                weight, base = math.log1p(count), feature * width
                for k in range(width):
                    scores[k] += weight * self.ptc[base + k]
        # py3langid's calibration: a softmax at temperature sqrt(bytes).
        scale = 1.0 / math.sqrt(len(data) or 1)
        top = max(scores) * scale
        exps = [math.exp(s * scale - top) for s in scores]
        total = sum(exps)
        best = max(range(width), key=lambda k: (exps[k], -k))  # the first of equals
        return self.classes[best], exps[best] / total

    def _features(self, data: bytes) -> Counter[int]:
        state, found = 0, []
        for byte in data:
            state = self.nextmove[self.rowbase[state] + byte]
            feature = self.out[state]
            if feature >= 0:
                found.append(feature)
        return Counter(found)


def _encode(text: str) -> bytes:
    # As py3langid encodes a str: all-capital text is lower-cased, then NFC, then UTF-8.
    if text.isupper():
        text = text.lower()
    return unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")


def _source() -> Path:
    """py3langid's model file, found from its installed metadata: importing py3langid would
    import NumPy."""
    return Path(str(_distribution().locate_file("py3langid/data/model.npz.xz")))


def _distribution() -> importlib.metadata.Distribution:
    return importlib.metadata.distribution("py3langid")


def _stamp(languages: list[str]) -> dict[str, Any]:
    """What the compact model was made from: another py3langid release or language list makes
    it stale."""
    return {
        "py3langid": _distribution().version,
        "source_bytes": _source().stat().st_size,
        "languages": languages,
    }


def load_identifier(languages: list[str]) -> CompactIdentifier:
    """py3langid's model restricted to `languages`: the compact copy, else made now."""
    identifier = _compact(languages)
    if identifier is not None:
        return identifier
    arrays, classes = _restricted(languages)
    # A read-only install (Lambda's /var/task) keeps none: the next process makes it again.
    with contextlib.suppress(OSError):
        _save(arrays, classes, languages)
    return _identifier(arrays, classes)


def _identifier(arrays: dict[str, Any], classes: list[str]) -> CompactIdentifier:
    return CompactIdentifier(
        classes=classes,
        ptc=arrays["ptc"],
        pc=arrays["pc"],
        out=arrays["out"],
        rowbase=[r << 8 for r in arrays["row"]],
        nextmove=arrays["nextmove"],
    )


def _compact(languages: list[str]) -> CompactIdentifier | None:
    try:
        meta = json.loads((COMPACT_DIR / _META).read_text())
        if meta["stamp"] != _stamp(languages):
            return None
        arrays: dict[str, Any] = {}
        for name, typecode in _ARRAYS.items():
            if name == "nextmove":
                with open(COMPACT_DIR / name, "rb") as file:
                    table = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
                arrays[name] = memoryview(table).cast("I")
            else:
                arrays[name] = array(typecode, (COMPACT_DIR / name).read_bytes())
        return _identifier(arrays, list(meta["classes"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _restricted(languages: list[str]) -> tuple[dict[str, array[Any]], list[str]]:
    """py3langid's own model (decompressed: about 0.5 s) restricted to `languages`."""
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    full = LanguageIdentifier.from_modelpath(_source(), norm_probs=True)
    full.set_languages(languages)

    def typed(values: Any, typecode: str) -> array[Any]:
        dtype = {"f": np.float32, "i": np.int32, "I": np.uint32}[typecode]
        return array(typecode, np.ascontiguousarray(np.asarray(values, dtype=dtype)).tobytes())

    sources = {
        "ptc": full.nb_ptc,
        "pc": full.nb_pc,
        "out": full.tk_output,
        "row": full.tk_row,
        "nextmove": full.tk_nextmove,
    }
    arrays = {name: typed(sources[name], code) for name, code in _ARRAYS.items()}
    return arrays, list(full.nb_classes)


def _save(arrays: dict[str, array[Any]], classes: list[str], languages: list[str]) -> None:
    """Each file to a temporary name first and the stamp last, so a reader never sees half."""
    COMPACT_DIR.mkdir(exist_ok=True)
    for name, values in arrays.items():
        _write(name, values.tobytes())
    meta = {"stamp": _stamp(languages), "classes": classes}
    _write(_META, json.dumps(meta).encode())


def _write(name: str, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=COMPACT_DIR, delete=False) as file:
        file.write(data)
    # Readable by all, as an installed file is: Lambda runs the image's files as another user.
    os.chmod(file.name, 0o644)
    os.replace(file.name, COMPACT_DIR / name)


def main() -> int:
    """Make the compact model now (at install or image build), from py3langid's file."""
    from agent.understanding.language import LATIN_LANGUAGES

    (COMPACT_DIR / _META).unlink(missing_ok=True)
    load_identifier(LATIN_LANGUAGES)
    if _compact(LATIN_LANGUAGES) is None:
        print(f"kopichat: could not write the language model to {COMPACT_DIR}", file=sys.stderr)
        return 1
    print(f"kopichat: language model ready in {COMPACT_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
