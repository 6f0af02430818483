"""Attribute values as short strings for the browser; big values (Const tensors) elided with their size."""

from __future__ import annotations

from .ops import dtype_name, format_shape

# An attribute whose serialized value is larger than this is shown as its type, shape and size only.
MAX_ATTR_BYTES = 1024
MAX_TEXT = 200
MAX_LIST_ITEMS = 16


def format_attrs(attrs) -> dict:
    return {key: format_attr(attrs[key]) for key in sorted(attrs.keys())}


def format_attr(value) -> str:
    kind = value.WhichOneof("value")
    if kind == "tensor":
        return _format_tensor(value.tensor, value.ByteSize())
    size = value.ByteSize()
    if size > MAX_ATTR_BYTES:
        return f"{kind} ({_human_bytes(size)}, elided)"
    if kind == "s":
        text = value.s.decode("utf-8", errors="replace")
        return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"… ({len(value.s)} bytes)"
    if kind == "type":
        return dtype_name(value.type)
    if kind == "shape":
        return format_shape(value.shape)
    if kind == "b":
        return "true" if value.b else "false"
    if kind in ("i", "f"):
        return repr(getattr(value, kind))
    if kind == "func":
        return value.func.name
    if kind == "placeholder":
        return "$" + value.placeholder
    if kind == "list":
        return _format_list(value.list)
    return ""


def _format_list(values) -> str:
    items = (
        [dtype_name(t) for t in values.type]
        or [format_shape(s) for s in values.shape]
        or [f.name for f in values.func]
        or [repr(i) for i in values.i]
        or [repr(f) for f in values.f]
        or ["true" if b else "false" for b in values.b]
        or [s.decode("utf-8", errors="replace") for s in values.s]
        or [_format_tensor(t, t.ByteSize()) for t in values.tensor]
    )
    shown = items[:MAX_LIST_ITEMS]
    more = f", … {len(items) - len(shown)} more" if len(items) > len(shown) else ""
    return "[" + ", ".join(shown) + more + "]"


def _format_tensor(tensor, size: int) -> str:
    head = f"{dtype_name(tensor.dtype)} {format_shape(tensor.tensor_shape)}"
    if size > MAX_ATTR_BYTES:
        return f"{head} ({_human_bytes(size)}, elided)"
    for field in ("float_val", "double_val", "int_val", "int64_val", "bool_val", "half_val"):
        values = getattr(tensor, field)
        if values:
            shown = ", ".join(repr(v) for v in values[:MAX_LIST_ITEMS])
            return f"{head} = [{shown}{', …' if len(values) > MAX_LIST_ITEMS else ''}]"
    if tensor.string_val:
        text = tensor.string_val[0].decode("utf-8", errors="replace")[:MAX_TEXT]
        return f"{head} = {text!r}"
    return f"{head} ({_human_bytes(size)})" if tensor.tensor_content else head


def _human_bytes(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} kB"
    return f"{size / (1024 * 1024):.1f} MB"
