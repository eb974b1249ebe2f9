"""Tests for gdcert.config: the safe YAML loader, JSON/TOML line numbers, lookup, schema."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from gdcert.config import (
    ConfigDoc,
    Field,
    GdcertLoader,
    ListOf,
    load_any,
    load_yaml,
    lookup,
    positive_float,
    validate,
)
from gdcert.errors import InputError


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _yaml(text: str) -> Any:
    return yaml.load(textwrap.dedent(text), Loader=GdcertLoader)  # noqa: S506 - safe loader


def _expect(match: str):
    return pytest.raises(InputError, match=match)


# --------------------------------------------------------------------------- YAML scalars


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1e-3", 1e-3),
        ("1E+5", 1e5),
        (".5e-2", 0.005),
        ("-2e4", -2e4),
        ("+3e2", 300.0),
        ("1.0e-3", 1e-3),
        ("2.5", 2.5),
        ("1.", 1.0),
        (".5", 0.5),
        ("-.25", -0.25),
        ("1_000.5", 1000.5),
    ],
)
def test_yaml_floats(text: str, value: float) -> None:
    got = _yaml(f"lr: {text}")["lr"]
    assert isinstance(got, float) and got == value


def test_yaml_special_floats() -> None:
    data = _yaml("a: .inf\nb: -.Inf\nc: .nan\n")
    assert data["a"] == math.inf and data["b"] == -math.inf and math.isnan(data["c"])


@pytest.mark.parametrize(
    ("text", "value"),
    [("10", 10), ("-3", -3), ("010", 10), ("0o17", 15), ("0x1f", 31), ("10_000", 10000)],
)
def test_yaml_ints_follow_yaml_1_2(text: str, value: int) -> None:
    got = _yaml(f"n: {text}")["n"]
    assert type(got) is int and got == value


@pytest.mark.parametrize("word", ["on", "off", "yes", "no", "y", "n", "On", "NO", "Yes"])
def test_yaml_1_1_booleans_stay_strings(word: str) -> None:
    assert _yaml(f"flag: {word}")["flag"] == word


@pytest.mark.parametrize(("word", "value"), [("true", True), ("False", False), ("TRUE", True)])
def test_yaml_true_false_any_case(word: str, value: bool) -> None:
    assert _yaml(f"flag: {word}")["flag"] is value


def test_yaml_sexagesimal_is_a_string() -> None:
    assert _yaml("t: 1:30")["t"] == "1:30"


def test_yaml_quoted_numbers_stay_strings() -> None:
    assert _yaml("lr: '1e-3'")["lr"] == "1e-3"


def test_yaml_unsafe_tags_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "evil.yaml", "x: !!python/object/apply:os.system ['true']\n")
    with _expect(r"evil\.yaml:1: invalid YAML: could not determine a constructor"):
        load_yaml(path)


def test_stock_safe_loader_has_the_traps_we_fix() -> None:
    # Guards the premise of GdcertLoader: if PyYAML ever changes, revisit it.
    data = yaml.safe_load("lr: 1e-3\nflag: on\n")
    assert data == {"lr": "1e-3", "flag": True}


# --------------------------------------------------------------------------- YAML files


def test_yaml_duplicate_key_with_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "train.yaml",
        """
        run:
          lr: 0.1
          momentum: 0.9
          lr: 0.2
        """,
    )
    with _expect(rf"^{path}:4: duplicate key 'lr'$"):
        load_yaml(path)


def test_yaml_duplicate_top_level_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.yaml", "a: 1\nb: 2\na: 3\n")
    with _expect(r"d\.yaml:3: duplicate key 'a'"):
        load_yaml(path)


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "m.yaml",
        """
        base: &base
          lr: 0.1
          wd: 0.0
        run:
          <<: *base
          lr: 0.5
        """,
    )
    doc = load_yaml(path)
    assert doc.data["run"] == {"lr": 0.5, "wd": 0.0}
    assert doc.line(("run", "lr")) == 6


def test_yaml_syntax_error_is_one_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    with pytest.raises(InputError) as exc:
        load_yaml(path)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:") and ": invalid YAML: " in message


def test_yaml_bad_indentation_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "ind.yaml", "run:\n  lr: 1\n   wd: 2\n")
    with _expect(r"ind\.yaml:3: invalid YAML: mapping values are not allowed here"):
        load_yaml(path)


def test_yaml_empty_document(tmp_path: Path) -> None:
    path = _write(tmp_path, "empty.yaml", "# only a comment\n")
    doc = load_yaml(path)
    assert doc.data is None and doc.path == path


def test_yaml_multiple_documents_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "two.yaml", "a: 1\n---\nb: 2\n")
    with _expect(r"two\.yaml:2: invalid YAML: .*single document"):
        load_yaml(path)


def test_yaml_missing_file(tmp_path: Path) -> None:
    with _expect(r"nope\.yaml: file not found"):
        load_yaml(tmp_path / "nope.yaml")


def test_yaml_directory(tmp_path: Path) -> None:
    (tmp_path / "d.yaml").mkdir()
    with _expect(r"d\.yaml: is not a regular file; expected a YAML file"):
        load_yaml(tmp_path / "d.yaml")


def test_yaml_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with _expect(r"latin\.yaml: is not UTF-8 text"):
        load_yaml(path)


def test_yaml_alias_bomb_does_not_blow_up_line_map(tmp_path: Path) -> None:
    lines = ['a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        name = chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    path = _write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    doc = load_yaml(path)  # 10**9 paths if aliases were expanded; must stay instant
    assert doc.line(("i",)) == 9


# --------------------------------------------------------------------------- line numbers

YAML_DOC = """
# training configuration
problem:
  target: data/t.npy
  depth: 3
optimizers:
  - name: sgd
    lr: 1e-3
  - name: momentum
    lr: 0.01
    momentum: 0.9
stages:
  - lr: 0.1
  -
    lr: 0.2
"""

JSON_DOC = """
{
  "problem": {
    "target": "data/t.npy",
    "depth": 3
  },
  "optimizers": [
    {"name": "sgd", "lr": 0.001},
    {
      "name": "momentum",
      "lr": 0.01,
      "momentum": 0.9
    }
  ],
  "stages": [
    {"lr": 0.1},
    {"lr": 0.2}
  ]
}
"""

TOML_DOC = """
# training configuration
[problem]
target = "data/t.npy"
depth = 3

[[optimizers]]
name = "sgd"
lr = 1e-3

[[optimizers]]
name = "momentum"
lr = 0.01
momentum = 0.9

[[stages]]
lr = 0.1

[[stages]]
lr = 0.2
"""

# (key path, YAML line, JSON line, TOML line)
LINES = [
    ("problem", 2, 2, 2),
    ("problem.target", 3, 3, 3),
    ("problem.depth", 4, 4, 4),
    ("optimizers", 5, 6, 6),
    ("optimizers[0].lr", 7, 7, 8),
    ("optimizers.1.name", 8, 9, 11),
    ("optimizers[1].lr", 9, 10, 12),
    ("optimizers[1].momentum", 10, 11, 13),
    ("stages[0].lr", 12, 15, 16),
    ("stages.1.lr", 14, 16, 19),
]


@pytest.mark.parametrize(
    ("name", "text", "column"),
    [
        ("c.yaml", YAML_DOC, 1),
        ("c.yml", YAML_DOC, 1),
        ("c.json", JSON_DOC, 2),
        ("c.toml", TOML_DOC, 3),
    ],
)
def test_nested_lookup_and_lines(tmp_path: Path, name: str, text: str, column: int) -> None:
    doc = load_any(_write(tmp_path, name, text))
    assert lookup(doc, "optimizers[1].momentum")[0] == 0.9
    assert lookup(doc, "optimizers.0.lr")[0] == pytest.approx(1e-3)
    assert isinstance(lookup(doc, "optimizers[0].lr")[0], float)
    for row in LINES:
        key = row[0]
        assert lookup(doc, key)[1] == row[column], key


def test_line_method_accepts_int_or_str_indices(tmp_path: Path) -> None:
    doc = load_any(_write(tmp_path, "c.yaml", YAML_DOC))
    assert doc.line(("optimizers", 1, "lr")) == 9
    assert doc.line(("optimizers", "1", "lr")) == 9
    assert doc.line(("nope",)) is None


def test_json_lines_with_escaped_strings(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "e.json",
        """
        {"a": "has \\"quotes\\" and } and ]",
         "b": [1, [2, 3],
               {"c": null}],
         "d": {}}
        """,
    )
    doc = load_any(path)
    assert lookup(doc, "b[2].c") == (None, 3)
    assert lookup(doc, "d")[1] == 4


def test_toml_lines_dotted_quoted_inline_and_multiline(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "t.toml",
        '''
        title = "x"
        [run]
        model.depth = 3
        "odd key" = 1
        notes = """
        [not_a_table]
        fake = 1
        """
        lrs = [
          0.1,
          0.2,  # comment
        ]
        inline = { a = 1, b = [3, 4] }
        [[run.stages]]
        lr = 1e-2
        [run.stages.opt]
        beta = 0.9
        ''',
    )
    doc = load_any(path)
    assert "not_a_table" not in doc.data
    assert lookup(doc, "run.model.depth") == (3, 3)
    assert lookup(doc, "run.odd key") == (1, 4)
    assert lookup(doc, "run.lrs[1]") == (0.2, 11)
    assert lookup(doc, "run.inline.b[1]") == (4, 13)
    assert lookup(doc, "run.stages[0].lr") == (0.01, 15)
    assert lookup(doc, "run.stages[0].opt.beta") == (0.9, 17)


# --------------------------------------------------------------------------- JSON / TOML errors


def test_json_duplicate_key_with_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.json", '{\n  "run": {\n    "lr": 1,\n    "lr": 2\n  }\n}\n')
    with _expect(rf"^{path}:4: duplicate key 'lr'$"):
        load_any(path)


def test_json_syntax_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.json", '{\n  "a": 1,\n}\n')
    with _expect(r"bad\.json:3: invalid JSON: Expecting property name .*\(column 1\)"):
        load_any(path)


def test_toml_syntax_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.toml", "[run]\nlr = \n")
    with _expect(r"bad\.toml:2: invalid TOML: Invalid value"):
        load_any(path)


def test_toml_duplicate_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "dup.toml", "[run]\nlr = 1\nlr = 2\n")
    with _expect(r"dup\.toml:3: invalid TOML: Cannot overwrite a value"):
        load_any(path)


def test_unknown_config_extension(tmp_path: Path) -> None:
    path = _write(tmp_path, "c.ini", "[run]\n")
    with _expect(r"c\.ini: unsupported config file type \('\.ini'\); supported: \.yaml, \.yml"):
        load_any(path)


def test_load_any_missing_file(tmp_path: Path) -> None:
    with _expect(r"gone\.json: file not found"):
        load_any(tmp_path / "gone.json")


# --------------------------------------------------------------------------- lookup errors


@pytest.fixture
def train(tmp_path: Path) -> ConfigDoc:
    path = _write(
        tmp_path,
        "train.yaml",
        """
        optimizer:
          momentum: 0.9
          wd: 0.0
        optimizers:
          - lr: 0.1
          - lr: 0.2
        """,
    )
    return load_yaml(path)


def test_lookup_missing_key_names_file_path_and_last_key(train: ConfigDoc) -> None:
    with _expect(
        r"train\.yaml: key 'optimizer\.lr' not found: 'optimizer' has no key 'lr' "
        r"\(keys: momentum, wd\)$"
    ):
        lookup(train, "optimizer.lr")


def test_lookup_missing_top_level_key(train: ConfigDoc) -> None:
    with _expect(r"key 'model' not found: the top level has no key 'model' \(keys: optimizer"):
        lookup(train, "model")


def test_lookup_index_out_of_range(train: ConfigDoc) -> None:
    with _expect(
        r"train\.yaml: key 'optimizers\[2\]\.lr' not found: 'optimizers' has 2 items "
        r"\(index 2 out of range\)"
    ):
        lookup(train, "optimizers[2].lr")


def test_lookup_through_a_scalar(train: ConfigDoc) -> None:
    with _expect(r"key 'optimizer\.wd\.x' not found: 'optimizer\.wd' is a number, not a mapping"):
        lookup(train, "optimizer.wd.x")


def test_lookup_bracket_on_mapping(train: ConfigDoc) -> None:
    with _expect(r"'optimizer' is a mapping, not a list"):
        lookup(train, "optimizer[0]")


def test_lookup_name_on_list(train: ConfigDoc) -> None:
    with _expect(r"'optimizers' is a list; expected an index, got 'lr'"):
        lookup(train, "optimizers.lr")


@pytest.mark.parametrize("bad", ["", "a..b", ".a", "a.", "a[x]", "a[-1]", "a]"])
def test_lookup_invalid_path_syntax(train: ConfigDoc, bad: str) -> None:
    with _expect(r"train\.yaml: invalid key path"):
        lookup(train, bad)


def test_lookup_on_empty_file(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path, "e.yaml", ""))
    with _expect(r"e\.yaml: key 'a' not found: the file is empty, not a mapping"):
        lookup(doc, "a")


def test_lookup_integer_mapping_keys(tmp_path: Path) -> None:
    doc = load_yaml(_write(tmp_path, "i.yaml", "stages:\n  1: {lr: 0.5}\n"))
    assert lookup(doc, "stages.1.lr") == (0.5, 2)


# --------------------------------------------------------------------------- positive_float


@pytest.mark.parametrize(("value", "out"), [(1, 1.0), (0.5, 0.5), ("1e-3", 1e-3), (" 2 ", 2.0)])
def test_positive_float_accepts(value: Any, out: float) -> None:
    assert positive_float(value, where="run.lr") == out


@pytest.mark.parametrize(
    "value", [0, -1.0, "abc", True, False, None, math.nan, math.inf, "inf", []]
)
def test_positive_float_refuses(value: Any) -> None:
    with _expect(rf"^t\.yaml:3: expected a positive finite number, got {_re(repr(value))}$"):
        positive_float(value, where="t.yaml:3")


def _re(text: str) -> str:
    import re

    return re.escape(text)


@given(st.floats(min_value=1e-300, max_value=1e300))
def test_positive_float_roundtrips_repr(x: float) -> None:
    assert positive_float(repr(x), where="w") == x


# --------------------------------------------------------------------------- schema

SCHEMA: dict[str, Field] = {
    "problem": Field(
        {
            "target": Field(str, required=True, help="target matrix"),
            "depth": Field(int, required=True, positive=True),
        },
        required=True,
    ),
    "run": Field(
        {
            "iterations": Field(int, default=1000, positive=True),
            "lr": Field(float, positive=True),
            "shift": Field(float, default=0.0),
            "init": Field(str, default="balanced", choices=("balanced", "identity", "random")),
            "verbose": Field(bool, default=False),
            "seed": Field((int, type(None)), default=None),
        }
    ),
    "stages": Field(ListOf({"lr": Field(float, required=True, positive=True)}), default=[]),
    "sweep": Field(ListOf(float, min_length=1)),
}


def _doc(tmp_path: Path, text: str, name: str = "sim.yaml") -> ConfigDoc:
    return load_any(_write(tmp_path, name, text))


def test_validate_fills_defaults_and_converts(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
        problem:
          target: t.npy
          depth: 3
        run:
          lr: 1e-3
          iterations: 1e4
          shift: -2
        stages:
          - lr: '5e-2'
        sweep: [1, 2.5, '1e-3']
        """,
    )
    cfg = validate(doc, SCHEMA)
    assert cfg["problem"] == {"target": "t.npy", "depth": 3}
    assert cfg["run"] == {
        "iterations": 10000,
        "lr": 1e-3,
        "shift": -2.0,
        "init": "balanced",
        "verbose": False,
        "seed": None,
    }
    assert type(cfg["run"]["iterations"]) is int and type(cfg["run"]["shift"]) is float
    assert cfg["stages"] == [{"lr": 0.05}]
    assert cfg["sweep"] == [1.0, 2.5, 1e-3]


def test_validate_missing_optional_section_gets_defaults(tmp_path: Path) -> None:
    cfg = validate(_doc(tmp_path, "problem: {target: t.npy, depth: 2}\n"), SCHEMA)
    assert cfg["run"]["iterations"] == 1000 and cfg["run"]["lr"] is None
    assert cfg["stages"] == [] and cfg["sweep"] is None


def test_validate_default_is_not_shared(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t.npy, depth: 2}\n")
    first = validate(doc, SCHEMA)
    first["stages"].append("x")
    assert validate(doc, SCHEMA)["stages"] == []


def test_validate_unknown_key_with_line_and_suggestion(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
        problem:
          target: t.npy
          depth: 3
        run:
          iterations: 10
          initt: identity
        """,
    )
    with _expect(
        rf"^{doc.path}:6: unknown key 'initt' in 'run' \(expected one of: init, iterations, lr, "
        r"seed, shift, verbose\); did you mean 'init'\?$"
    ):
        validate(doc, SCHEMA)


def test_validate_unknown_top_level_key(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 1}\nrun_s: {}\n")
    with _expect(r"sim\.yaml:2: unknown key 'run_s' at the top level .*did you mean 'run'\?"):
        validate(doc, SCHEMA)


def test_validate_unknown_key_without_close_match(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 1}\nzzz: 1\n")
    with pytest.raises(InputError) as exc:
        validate(doc, SCHEMA)
    assert "did you mean" not in str(exc.value)


def test_validate_wrong_type_names_key_and_line(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 1}\nrun:\n  iterations: abc\n")
    with _expect(rf"^{doc.path}:3: key 'run\.iterations' must be an integer, got 'abc'$"):
        validate(doc, SCHEMA)


def test_validate_non_integral_float_for_int(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2.5}\n")
    with _expect(r"sim\.yaml:1: key 'problem\.depth' must be an integer, got 2\.5"):
        validate(doc, SCHEMA)


def test_validate_missing_required(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem:\n  depth: 2\n")
    with _expect(rf"^{doc.path}: missing required key 'problem\.target'$"):
        validate(doc, SCHEMA)


def test_validate_missing_required_section_and_empty_file(tmp_path: Path) -> None:
    with _expect(r"empty\.yaml: missing required key 'problem'$"):
        validate(_doc(tmp_path, "", name="empty.yaml"), SCHEMA)


def test_validate_positive(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nrun:\n  lr: -1e-3\n")
    with _expect(r"sim\.yaml:3: key 'run\.lr' must be positive \(> 0\), got -0\.001"):
        validate(doc, SCHEMA)


def test_validate_bool_is_not_a_number(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: true}\n")
    with _expect(r"key 'problem\.depth' must be an integer, got True"):
        validate(doc, SCHEMA)


def test_validate_on_is_not_a_boolean(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nrun:\n  verbose: on\n")
    with _expect(r"sim\.yaml:3: key 'run\.verbose' must be true or false, got 'on'"):
        validate(doc, SCHEMA)


def test_validate_null_value(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nrun:\n  lr:\n")
    with _expect(r"sim\.yaml:3: key 'run\.lr' must be a number, got null \(empty value\)"):
        validate(doc, SCHEMA)


def test_validate_union_with_none(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nrun: {seed: 7}\n")
    assert validate(doc, SCHEMA)["run"]["seed"] == 7
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nrun: {seed: x}\n")
    with _expect(r"key 'run\.seed' must be an integer or null, got 'x'"):
        validate(doc, SCHEMA)


def test_validate_choices_with_suggestion(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nrun:\n  init: identiy\n")
    with _expect(
        r"sim\.yaml:3: key 'run\.init' must be one of: balanced, identity, random; "
        r"got 'identiy'; did you mean 'identity'\?"
    ):
        validate(doc, SCHEMA)


def test_validate_section_not_a_mapping(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nrun: [1, 2]\n")
    with _expect(r"sim\.yaml:2: expected a mapping at 'run', got a list"):
        validate(doc, SCHEMA)


def test_validate_list_items_with_index_and_line(tmp_path: Path) -> None:
    doc = _doc(
        tmp_path,
        """
        problem: {target: t, depth: 2}
        stages:
          - lr: 0.1
          - lr: fast
        """,
    )
    with _expect(r"sim\.yaml:4: key 'stages\[1\]\.lr' must be a number, got 'fast'"):
        validate(doc, SCHEMA)


def test_validate_list_item_unknown_key(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nstages:\n  - lr: 1\n    lrr: 2\n")
    with _expect(r"sim\.yaml:4: unknown key 'lrr' in 'stages\[0\]'.*did you mean 'lr'\?"):
        validate(doc, SCHEMA)


def test_validate_list_required_in_item(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nstages:\n  - {}\n")
    with _expect(r"sim\.yaml: missing required key 'stages\[0\]\.lr'$"):
        validate(doc, SCHEMA)


def test_validate_list_min_length_and_type(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nsweep: []\n")
    with _expect(r"sim\.yaml:2: key 'sweep' must have at least 1 item, got 0"):
        validate(doc, SCHEMA)
    doc = _doc(tmp_path, "problem: {target: t, depth: 2}\nsweep: 0.1\n")
    with _expect(r"sim\.yaml:2: key 'sweep' must be a list, got 0\.1"):
        validate(doc, SCHEMA)


def test_validate_string_is_strict(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "problem: {target: 12, depth: 2}\n")
    with _expect(r"key 'problem\.target' must be a string, got 12"):
        validate(doc, SCHEMA)


def test_validate_sub_section_with_prefix(tmp_path: Path) -> None:
    doc = _doc(tmp_path, "tools:\n  gdcert:\n    lr: 1e-3\n    lrr: 1\n")
    schema = {"lr": Field(float, positive=True)}
    with _expect(r"sim\.yaml:4: unknown key 'lrr' in 'tools\.gdcert'"):
        validate(doc, schema, data=doc.data["tools"]["gdcert"], prefix=("tools", "gdcert"))


def test_validate_json_and_toml_lines(tmp_path: Path) -> None:
    json_doc = _doc(
        tmp_path,
        '{\n  "problem": {"target": "t", "depth": 2},\n  "run": {\n    "itrations": 5\n  }\n}\n',
        name="sim.json",
    )
    with _expect(r"sim\.json:4: unknown key 'itrations' in 'run'.*did you mean 'iterations'\?"):
        validate(json_doc, SCHEMA)
    toml_doc = _doc(
        tmp_path,
        '[problem]\ntarget = "t"\ndepth = 2\n\n[run]\niterations = "many"\n',
        name="sim.toml",
    )
    with _expect(r"sim\.toml:6: key 'run\.iterations' must be an integer, got 'many'"):
        validate(toml_doc, SCHEMA)
