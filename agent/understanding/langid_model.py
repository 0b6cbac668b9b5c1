"""py3langid's model, kept ready to load in milliseconds.

py3langid ships its model LZMA-compressed: decompressing its 68 MB takes about half a second at
the first Latin-script text of every process, a Lambda cold start included. Kopichat reads only a
few languages, so it keeps, next to this file, the model restricted to them and uncompressed:
the classes' scores (1.4 MB) and the tokenizer's transition table, mapped from its file rather
than read. It gives exactly py3langid's own answers (tests/unit/test_langid_model.py).

Made at install (`make install`, the Lambda image's build: `python -m
agent.understanding.langid_model`), or by the first process that loads the model, where it may
write here. Where it is missing or stale, the model loads from py3langid's file as before.
"""

from __future__ import annotations

import contextlib
import json
import mmap
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

COMPACT_DIR = Path(__file__).parent / "_langid_model"
_META = "meta.json"
_TABLE = "nextmove.u32"
_ARRAYS = "arrays.npz"


def _source() -> Path:
    import py3langid

    return Path(py3langid.__file__).parent / "data" / "model.npz.xz"


def _stamp(languages: list[str]) -> dict[str, Any]:
    """What the compact model was made from: another py3langid release or language list makes
    it stale."""
    import py3langid

    source = _source()
    return {
        "py3langid": getattr(py3langid, "__version__", ""),
        "source_bytes": source.stat().st_size,
        "languages": languages,
    }


def load_identifier(languages: list[str]) -> Any:
    """py3langid's LanguageIdentifier restricted to `languages`, with probabilities."""
    identifier = _compact(languages)
    if identifier is not None:
        return identifier
    from py3langid.langid import LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(_source(), norm_probs=True)
    identifier.set_languages(languages)
    # A read-only install (Lambda's /var/task) keeps none: the next process decompresses again.
    with contextlib.suppress(OSError):
        save(identifier, languages)
    return identifier


def _compact(languages: list[str]) -> Any:
    try:
        meta = json.loads((COMPACT_DIR / _META).read_text())
    except (OSError, ValueError):
        return None
    if meta != _stamp(languages):
        return None
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    with open(COMPACT_DIR / _TABLE, "rb") as table_file:
        # Mapped, not read: the walk over a short text touches a few pages of the 39 MB table.
        table = mmap.mmap(table_file.fileno(), 0, access=mmap.ACCESS_READ)
    with np.load(COMPACT_DIR / _ARRAYS) as arrays:
        return LanguageIdentifier(
            arrays["ptc"],
            arrays["pc"],
            arrays["classes"].tolist(),
            memoryview(table).cast("I"),
            arrays["out"].tolist(),
            norm_probs=True,
            tk_row=arrays["row"].tolist(),
        )


def save(identifier: Any, languages: list[str]) -> None:
    """Write the restricted model (from an identifier restricted to `languages`) next to this
    file: each file to a temporary name first, the stamp last, so a reader never sees half."""
    import numpy as np

    COMPACT_DIR.mkdir(exist_ok=True)
    table = np.asarray(identifier.tk_nextmove, dtype=np.uint32)
    _write(_TABLE, table.tobytes())
    with tempfile.NamedTemporaryFile(dir=COMPACT_DIR, suffix=".npz", delete=False) as arrays:
        np.savez(
            arrays,
            ptc=np.ascontiguousarray(identifier.nb_ptc),
            pc=np.asarray(identifier.nb_pc),
            classes=np.array(identifier.nb_classes),
            out=np.asarray(identifier.tk_output, dtype=np.int32),
            row=np.asarray(identifier.tk_row, dtype=np.uint32),
        )
    _publish(arrays.name, _ARRAYS)
    _write(_META, json.dumps(_stamp(languages)).encode())


def _write(name: str, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=COMPACT_DIR, delete=False) as file:
        file.write(data)
    _publish(file.name, name)


def _publish(temporary: str, name: str) -> None:
    # Readable by all, as an installed file is: Lambda runs the image's files as another user.
    os.chmod(temporary, 0o644)
    os.replace(temporary, COMPACT_DIR / name)


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
