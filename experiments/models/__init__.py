"""Model definitions: one library-independent spec, one module per implementation, one registry."""

from .registry import get, names
from .spec import LayerSpec, ModelSpec, spec_from_config

__all__ = ["LayerSpec", "ModelSpec", "get", "names", "spec_from_config"]
