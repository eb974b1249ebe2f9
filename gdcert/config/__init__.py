"""Configuration files (YAML, JSON, TOML) with line numbers, key-path lookup and a schema.

YAML is read with :class:`GdcertLoader`, a ``yaml.SafeLoader`` subclass that fixes the
YAML 1.1 traps of PyYAML:

* ``1e-3``, ``1E+5``, ``.5e-2`` and ``-2e4`` are floats (PyYAML reads them as strings);
* only ``true`` / ``false`` (any case) are booleans — ``on``, ``off``, ``yes``, ``no``
  stay strings;
* integers follow YAML 1.2: ``010`` is ten (not octal eight), ``1:30`` is a string (not
  the sexagesimal 90); ``0o17`` and ``0x1f`` are octal and hex;
* a duplicated mapping key is an error naming the file and line (PyYAML keeps the last).

Every loader returns a :class:`ConfigDoc` whose :meth:`ConfigDoc.line` gives the 1-based
line where a key path is written, so errors can say ``train.yaml:12: ...``.

Schema
------
A schema maps key names to :class:`Field` objects.  ``Field.type`` is one of

* a scalar type — ``int``, ``float``, ``str``, ``bool`` or ``type(None)``; a tuple of
  them accepts any (tried in order, e.g. ``(int, type(None))`` for an optional seed);
* a nested schema (a mapping of key names to fields) for a sub-section;
* :class:`ListOf` (``ListOf(float)``, ``ListOf({"lr": Field(float)})``) for a list.

``float`` accepts ints and strings such as ``'1e-3'``; ``int`` accepts integral floats
such as ``1e4``; ``bool`` accepts only real booleans.  ``positive=True`` requires
``> 0``; ``choices`` restricts the (converted) value.  A missing optional key takes its
``default``; a missing optional section takes its fields' defaults.  Example::

    SCHEMA = {
        "problem": Field({"target": Field(str, required=True),
                          "depth": Field(int, required=True, positive=True)},
                         required=True),
        "run": Field({"iterations": Field(int, default=1000, positive=True),
                      "lr": Field(float, positive=True, help="step size"),
                      "init": Field(str, default="balanced",
                                    choices=("balanced", "identity", "random"))}),
        "step_sizes": Field(ListOf(float), default=[]),
    }
    doc = load_any("simulate.yaml")
    cfg = validate(doc, SCHEMA)   # {"problem": {...}, "run": {...}, "step_sizes": [...]}

Errors read ``simulate.yaml:7: unknown key 'lerning_rate' in 'run' (expected one of:
init, iterations, lr); did you mean 'lr'?``.
"""

from gdcert.config.document import CONFIG_EXTENSIONS, YAML_EXTENSIONS, ConfigDoc, KeyPath
from gdcert.config.keypath import format_keypath, lookup, parse_keypath
from gdcert.config.loader import GdcertLoader, load_any, load_yaml
from gdcert.config.schema import Field, ListOf, positive_float, validate

__all__ = [
    "CONFIG_EXTENSIONS",
    "YAML_EXTENSIONS",
    "ConfigDoc",
    "Field",
    "GdcertLoader",
    "KeyPath",
    "ListOf",
    "format_keypath",
    "load_any",
    "load_yaml",
    "lookup",
    "parse_keypath",
    "positive_float",
    "validate",
]
