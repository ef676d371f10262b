"""The ``c`` target: a ``.tflite`` for TensorFlow Lite Micro as one C header a firmware includes.

The header holds the flatbuffer as an aligned ``unsigned char`` array with its length, the batch
and each input's and output's position, columns and type, each label table (class indices come
out of the graph under the ``micro`` profile), the tensor arena the model needs (measured by TFLite
Micro's interpreter: the ``tflite-micro`` package is needed), and a macro that makes the
``MicroMutableOpResolver`` registrations the model needs. It compiles as C11 and C++11 alike (an
Arduino sketch, a Zephyr or ESP-IDF component) and defines only ``static`` objects, so several
models live in one firmware under their own prefixes. Its first line carries sklir's metadata, so
sklir recognises (and may replace) a header it wrote.

Imports neither TensorFlow nor onnx itself: the flatbuffer comes from the TF backend.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from sklir.backends import metadata_json
from sklir.backends.profiles import Profile
from sklir.ir.core import Module
from sklir.ir.types import DType

# the header's first line: this marker, sklir's metadata JSON, the comment's end
MARKER = "/* sklir "
# bytes per line of the array
BYTES_PER_LINE = 16
# TFLite Micro wants the flatbuffer 16-byte aligned
ALIGNMENT = 16

# IR dtype (as the profile emits it) -> the C type a firmware reads the tensor as
C_TYPES: dict[DType, str] = {
    DType.f32: "float", DType.i32: "int32_t", DType.i8: "int8_t", DType.i16: "int16_t", DType.i64: "int64_t",
    DType.bool: "bool",
}


def prefix_of(name: str) -> str:
    """A C identifier prefix from a file or model name: ``iris-model`` -> ``iris_model``."""
    ident = re.sub(r"\W", "_", name.lower(), flags=re.ASCII).strip("_") or "model"
    return ident if not ident[0].isdigit() else f"model_{ident}"


def identifiers(names: list[str]) -> list[str]:
    """:func:`prefix_of` each name, a later name that would repeat an earlier one's identifier
    (``a-b`` after ``a_b``) taking its position as a suffix, so no symbol is defined twice."""
    found: list[str] = []
    for position, name in enumerate(names):
        ident = prefix_of(name)
        found.append(ident if ident not in found else f"{ident}_{position}")
    return found


def c_string(text: str) -> str:
    """``text`` as a C string literal: printable ASCII as it is, every other byte an octal escape
    (three digits, so no following character is read into it), quotes and backslashes escaped."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char in '"\\?':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def comment(text: str) -> str:
    """``text`` safe inside a C comment: neither ``*/`` (which would end it) nor ``/*`` (which
    ``-Wall -Werror`` refuses) survives."""
    return text.replace("*/", "* /").replace("/*", "/ *")


def _integer(value: Any) -> str:
    # the least long long has no literal of its own
    v = int(value)
    return f"{v}LL" if v != -(2**63) else "(-9223372036854775807LL - 1)"


def _double(value: Any) -> str:
    # C has no literal for infinity or NaN: <math.h>'s constant expressions stand for them
    v = float(value)
    return repr(v) if np.isfinite(v) else "NAN" if np.isnan(v) else "INFINITY" if v > 0 else "-INFINITY"


# label dtype kind -> (C element type, how one label is written)
LABEL_TYPES: dict[str, tuple[str, Any]] = {
    "O": ("char *const", lambda v: c_string(str(v))),
    "U": ("char *const", lambda v: c_string(str(v))),
    "S": ("char *const", lambda v: c_string(str(v))),
    "b": ("unsigned char", lambda v: "1" if v else "0"),
    "i": ("long long", _integer),
    "u": ("long long", _integer),
    "f": ("double", _double),
}


def _label_table(prefix: str, output: str, table: list[Any], ident: str | None = None) -> list[str]:
    name = f"{prefix}_{ident or prefix_of(output)}_labels"
    ctype, write = LABEL_TYPES[np.asarray(table).dtype.kind]
    upper = name.upper()
    return [f"/* output '{comment(output)}' holds an index into this table: {upper}_COUNT labels */",
            f"#define {upper}_COUNT {len(table)}",
            f"static const {ctype} {name}[{len(table)}] = {{{', '.join(write(v) for v in table)}}};"]


def _array(prefix: str, data: bytes) -> list[str]:
    lines = [f"#define {prefix.upper()}_MODEL_LEN {len(data)}",
             "#if defined(__cplusplus)",
             f"alignas({ALIGNMENT}) static const unsigned char {prefix}_model[{len(data)}] = {{",
             "#else",
             f"static _Alignas({ALIGNMENT}) const unsigned char {prefix}_model[{len(data)}] = {{",
             "#endif"]
    for start in range(0, len(data), BYTES_PER_LINE):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in data[start:start + BYTES_PER_LINE]) + ",")
    lines.append("};")
    return lines


def header(module: Module, profile: Profile, data: bytes, name: str, operators: list[str], arena: int) -> str:
    """The header text for the flatbuffer ``data`` of ``module`` emitted for ``profile``."""
    prefix = prefix_of(name)
    upper = prefix.upper()
    # "*" as its JSON escape: the metadata stays valid JSON and holds no "*/" or "/*"
    meta = metadata_json(module, profile).replace("*", "\\u002a")
    source = comment(str(module.attributes.get("source", module.name)))
    lines = [f"{MARKER}{meta} */",
             f"/* {source}, compiled by sklir for TensorFlow Lite Micro ({profile.name} profile).",
             " * Run it with tflite::MicroInterpreter on <name>_model, an arena of <NAME>_ARENA_BYTES",
             " * bytes, and a MicroMutableOpResolver<<NAME>_OP_COUNT> filled by <NAME>_REGISTER_OPS. */",
             f"#ifndef {upper}_H", f"#define {upper}_H", "", "#include <math.h>", "#include <stdint.h>", "",
             "/* every call takes exactly this many rows */", f"#define {upper}_BATCH {profile.batch or 1}"]
    input_ids = identifiers([value.name or "x" for value in module.inputs])
    for position, value in enumerate(module.inputs):
        key = f"{upper}_INPUT_{input_ids[position].upper()}"
        lines += [f"/* input {position} '{comment(value.name or 'x')}': "
                  f"{C_TYPES.get(profile.emitted(value.type.dtype), value.type.dtype.value)}"
                  f"[{upper}_BATCH][{value.type.shape[-1]}] */",
                  f"#define {key}_INDEX {position}", f"#define {key}_COLUMNS {value.type.shape[-1]}"]
    tables = dict(module.attributes.get("label_tables", ()))
    output_ids = dict(zip(module.outputs, identifiers(list(module.outputs)), strict=True))
    for position, (output, value) in enumerate(module.outputs.items()):
        key = f"{upper}_OUTPUT_{output_ids[output].upper()}"
        shape = [str(d) for d in value.type.shape[1:]]
        ctype = C_TYPES.get(profile.emitted(value.type.dtype), value.type.dtype.value)
        what = " (an index into the label table below)" if output in tables else ""
        dims = "".join(f"[{d}]" for d in shape)
        lines += [f"/* output {position} '{comment(output)}': {ctype}[{upper}_BATCH]{dims}{what} */",
                  f"#define {key}_INDEX {position}",
                  f"#define {key}_COLUMNS {int(np.prod([int(d) for d in shape])) if shape else 1}"]
    for output, table in tables.items():
        lines += _label_table(prefix, output, list(table), output_ids.get(output, prefix_of(output)))
    lines += ["/* the tensor arena, as TFLite Micro's recording allocator measured it on this model on a",
              " * 64-bit host (a 32-bit board's smaller pointers need no more; allow a margin all the same) */",
              f"#define {upper}_ARENA_BYTES {arena}"]
    registrations = profile.registrations(operators)
    lines += [f"/* the op resolver registrations the model needs: {', '.join(dict.fromkeys(operators))} */",
              f"#define {upper}_OP_COUNT {len(registrations)}",
              f"#define {upper}_REGISTER_OPS(resolver) do {{ \\"]
    lines += [f"    (resolver).{call}(); \\" for call in registrations]
    lines += ["} while (0)", ""]
    lines += _array(prefix, data)
    lines += ["", f"#endif /* {upper}_H */", ""]
    return "\n".join(lines)


def emit_c(module: Module, profile: Profile, name: str | None = None) -> bytes:
    """The C header for ``module`` under ``profile`` (a fixed batch is required), its symbols
    prefixed with ``name`` (default: the module's name)."""
    from sklir.backends.tflite import emit_tflite
    from sklir.errors import BackendError
    from sklir.runtimes.litert import operators

    if profile.batch is None:
        raise BackendError("a C header is for a fixed batch: emit it with a profile that fixes one (--batch N)")
    data = emit_tflite(module, profile)
    return header(module, profile, data, name or module.name, operators(data), measured_arena(data)).encode()


def measured_arena(data: bytes) -> int:
    """The arena TFLite Micro needs for ``data``, measured by its interpreter (the header states
    it, so emitting one needs the tflite-micro package)."""
    from sklir.runtimes.micro import arena_bytes

    return arena_bytes(data)


def c_metadata_json(path: str | Path) -> str | None:
    """The metadata JSON on a header's first line when sklir wrote it, else None."""
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    if not first.startswith(MARKER):
        return None
    body = first[len(MARKER):].rstrip().removesuffix("*/").strip()
    json.loads(body)  # a ValueError for anything else
    return body


_ARRAY = re.compile(r"_model\[(\d+)\] = \{\n#endif\n(.*?)\n\};", re.DOTALL)


def flatbuffer_of(path: str | Path) -> bytes:
    """The ``.tflite`` flatbuffer inside a header sklir wrote (to run or measure it again)."""
    from sklir.errors import SklirError

    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    found = _ARRAY.search(text) if text.startswith(MARKER) else None
    if found is None:
        raise SklirError(f"{path}: not a C header sklir wrote (no model array)")
    data = bytes(int(token, 16) for token in found.group(2).replace(",", " ").split())
    if len(data) != int(found.group(1)):
        raise SklirError(f"{path}: the model array holds {len(data)} bytes, not the {found.group(1)} it declares")
    return data


_ARENA_DEFINE = re.compile(r"^#define \w+_ARENA_BYTES (\d+)$", re.MULTILINE)


def recorded_arena(path: str | Path) -> int | None:
    """The arena a header sklir wrote records (``<NAME>_ARENA_BYTES``), or None."""
    with open(path, encoding="utf-8", errors="replace") as f:
        found = _ARENA_DEFINE.search(f.read())
    return int(found.group(1)) if found else None
