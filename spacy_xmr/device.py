"""Device and mixed-precision choices. A device setting is parsed once, here, without importing torch;
"auto" picks CUDA when torch sees it."""
from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from .errors import ConfigError
from .settings import setting

if TYPE_CHECKING:
    import torch

DEVICE_FORMS = "auto, cpu, cuda or cuda:N"
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def parse_device(device: str) -> str:
    """The device setting checked: "auto", "cpu", "cuda" or "cuda:N" (raises ConfigError otherwise)."""
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ConfigError(f"device {device!r} is not a device name; use {DEVICE_FORMS}")
    return device


def device_setting(default: str = "auto"):
    """A settings field (`spacy_xmr.settings`) holding a device, checked by `parse_device`."""
    return setting(default, parse=parse_device, expected=DEVICE_FORMS)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" -> cuda when available else cpu; "cpu", "cuda" or "cuda:N" as given, checked against what torch sees."""
    import torch

    if isinstance(device, torch.device):
        return device
    device = parse_device(device)
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} asked for, but torch sees no CUDA device; use --device cpu or auto")
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ConfigError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return resolved


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision` on `device`; None means full fp32. "auto" is bf16/fp16 on CUDA only."""
    if precision == "fp32" or (precision == "auto" and device.type != "cuda"):
        return None
    import torch

    if precision == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def autocast(device: torch.device, dtype: torch.dtype | None):
    import torch

    return contextlib.nullcontext() if dtype is None else torch.autocast(device_type=device.type, dtype=dtype)
