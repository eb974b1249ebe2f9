"""A small declarative schema (:class:`Field`, :class:`ListOf`) and its validator."""

from __future__ import annotations

import copy
import difflib
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

from gdcert.config.document import ConfigDoc, KeyPath, _where
from gdcert.config.keypath import format_keypath
from gdcert.errors import InputError
from gdcert.validate import INT64_MAX, brief

# --------------------------------------------------------------------------- values


def _as_float(value: Any) -> float | None:
    """A real number from an int/float or a float string; ``None`` if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:
            return math.inf
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def positive_float(value: Any, *, where: str) -> float:
    """``value`` as a finite float ``> 0``; accepts ints, floats and strings like ``'1e-3'``."""
    number = _as_float(value)
    if number is None or not math.isfinite(number) or number <= 0:
        raise InputError(f"{where}: expected a positive finite number, got {brief(value)}")
    return number


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class ListOf:
    """A list whose items all match ``item`` (a scalar type, a schema or another ListOf)."""

    item: FieldType
    min_length: int = 0


Schema: TypeAlias = Mapping[str, "Field"]
FieldType: TypeAlias = type | tuple[type, ...] | Schema | ListOf


@dataclass(frozen=True)
class Field:
    """One key of a schema; see the module docstring for the meaning of ``type``."""

    type: FieldType
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] | None = None
    help: str = ""
    positive: bool = False


_TYPE_NAMES: dict[type, str] = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    type(None): "null",
}


def _type_name(ftype: FieldType) -> str:
    if isinstance(ftype, ListOf):
        return "a list"
    if isinstance(ftype, Mapping):
        return "a mapping"
    if isinstance(ftype, tuple):
        return " or ".join(_type_name(t) for t in ftype)
    return _TYPE_NAMES.get(ftype, f"a {ftype.__name__}")


class _Mismatch(Exception):
    """A scalar did not convert; the caller words the message."""


def _convert_scalar(value: Any, ftype: type) -> Any:
    if ftype is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if ftype is int:
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, numbers.Integral):
            return int(value)
        number = _as_float(value)
        if number is not None and math.isfinite(number) and number.is_integer():
            if isinstance(value, str):
                try:
                    return int(value.strip())
                except ValueError:
                    return int(number)
            return int(number)
        raise _Mismatch
    if ftype is float:
        number = _as_float(value)
        if number is None or not math.isfinite(number):
            raise _Mismatch
        return number
    if ftype is type(None):
        if value is None:
            return None
        raise _Mismatch
    if isinstance(value, ftype) and not (isinstance(value, bool) and ftype is not bool):
        return value
    raise _Mismatch


def _shown(value: Any) -> str:
    if value is None:
        return "null (empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value) + " (not finite)"
    return brief(value)


class _Validator:
    def __init__(self, doc: ConfigDoc) -> None:
        self.doc = doc

    def fail(self, keypath: KeyPath, message: str, *, with_line: bool = True) -> InputError:
        line = self.doc.line(keypath) if with_line else None
        return InputError(f"{_where(self.doc.path, line)}: {message}")

    def mapping(self, data: Any, schema: Schema, prefix: KeyPath) -> dict[str, Any]:
        if data is None and not prefix:
            data = {}
        if not isinstance(data, dict):
            where = f"'{format_keypath(prefix)}'" if prefix else "the top level"
            raise self.fail(prefix, f"expected a mapping at {where}, got {_shown(data)}")
        allowed = list(schema)
        for key in data:
            if str(key) not in schema:
                raise self.fail((*prefix, str(key)), self.unknown(str(key), allowed, prefix))
        out: dict[str, Any] = {}
        for name, fld in schema.items():
            path = (*prefix, name)
            if name in data:
                out[name] = self.value(data[name], fld, path)
            elif fld.required:
                raise self.fail(
                    path, f"missing required key '{format_keypath(path)}'", with_line=False
                )
            elif (
                isinstance(fld.type, Mapping)
                and fld.default is None
                and not any(f.required for f in fld.type.values())
            ):
                out[name] = self.mapping({}, fld.type, path)
            else:
                out[name] = copy.deepcopy(fld.default)
        return out

    @staticmethod
    def unknown(key: str, allowed: list[str], prefix: KeyPath) -> str:
        where = f"in '{format_keypath(prefix)}'" if prefix else "at the top level"
        message = (f"unknown key {brief(key)} {where} "
                   f"(expected one of: {', '.join(sorted(allowed))})")
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        return message + (f"; did you mean {brief(close[0])}?" if close else "")

    def value(self, value: Any, fld: Field, path: KeyPath) -> Any:
        result = self.typed(value, fld.type, path, fld.positive)
        if fld.choices is not None and result not in fld.choices:
            options = ", ".join(str(c) for c in fld.choices)
            message = f"key '{format_keypath(path)}' must be one of: {options}; got {_shown(value)}"
            close = difflib.get_close_matches(str(value), [str(c) for c in fld.choices], n=1)
            raise self.fail(path, message + (f"; did you mean {brief(close[0])}?" if close else ""))
        return result

    def typed(self, value: Any, ftype: FieldType, path: KeyPath, positive: bool) -> Any:
        name = format_keypath(path)
        if isinstance(ftype, Mapping):
            return self.mapping(value, ftype, path)
        if isinstance(ftype, ListOf):
            if not isinstance(value, list):
                raise self.fail(path, f"key '{name}' must be a list, got {_shown(value)}")
            if len(value) < ftype.min_length:
                raise self.fail(
                    path,
                    f"key '{name}' must have at least {ftype.min_length} item"
                    f"{'s' if ftype.min_length != 1 else ''}, got {len(value)}",
                )
            return [
                self.typed(item, ftype.item, (*path, i), positive) for i, item in enumerate(value)
            ]
        candidates = ftype if isinstance(ftype, tuple) else (ftype,)
        for candidate in candidates:
            try:
                result = _convert_scalar(value, candidate)
            except _Mismatch:
                continue
            if (isinstance(result, int) and not isinstance(result, bool)
                    and not -INT64_MAX - 1 <= result <= INT64_MAX):
                raise self.fail(path, f"key '{name}' must fit in a 64-bit integer, got "
                                      f"{_shown(value)}")
            if positive and isinstance(result, int | float) and not isinstance(result, bool):
                if result <= 0:
                    raise self.fail(
                        path, f"key '{name}' must be positive (> 0), got {_shown(value)}"
                    )
            return result
        raise self.fail(path, f"key '{name}' must be {_type_name(ftype)}, got {_shown(value)}")


def validate(
    doc: ConfigDoc,
    schema: Schema,
    *,
    data: Any = None,
    prefix: KeyPath = (),
) -> dict[str, Any]:
    """Check ``data`` (default: ``doc.data``) against ``schema``; return converted values.

    ``prefix`` is the key path of ``data`` inside ``doc`` (for validating a sub-section);
    it is used for line numbers and key names in messages.  Missing optional keys are
    filled with their defaults.  Raises :class:`InputError` on the first problem.
    """
    if data is None and not prefix:
        data = doc.data
    return _Validator(doc).mapping(data, schema, prefix)
