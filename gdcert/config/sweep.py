"""The ``gdcert sweep`` file: axes over problems, depths, widths, inits, step sizes, seeds.

Documented in ``docs/sweeps.md``. Relative paths resolve against the sweep file's
directory. Every error is one line naming ``file:line`` and the key::

    problem: {target: phi.npy}            # or {data: xy.npz, loss: mean}; or a list of them
    depth: [2, 3, 5, 8]                   # or 4, or {from: 2, to: 64, num: 8, log: true}
    width: 8                              # optional: hidden width(s), same forms as depth
    init: [zas, identity]                 # names, or {name: near_identity, sigma: 0.05}
    step_size: {times: [0.5, 0.9], bound: nar_sastry.cor1}   # a bound id, or edge
    # step_size: [1e-3, 1e-2]  or  {from: 1e-4, to: 1e-1, num: 7, log: true}
    seeds: 2                              # a count (0..n-1) or a list
    iterations: 20000
    tolerance: 1e-10                      # loss gap counted as converged (default: relative)
    track: {sharpness: true}
    edge: {compute: true, rtol: 0.02}     # the empirical edge per (problem, depth, init)
    output: {table: results.parquet, summary: summary.json, plot: sweep.png}
"""

from __future__ import annotations

import difflib
import hashlib
import math
from pathlib import Path
from typing import Any

from gdcert.config.document import ConfigDoc
from gdcert.config.loader import load_yaml
from gdcert.config.schema import positive_float
from gdcert.errors import InputError
from gdcert.spec import (
    BOUND_IDS,
    EDGE,
    INIT_NAMES,
    EdgeSettings,
    InitSpec,
    ProblemSource,
    SweepSpec,
    SweepStep,
)

TOP_KEYS = ("problem", "depth", "width", "init", "step_size", "seeds", "iterations",
            "tolerance", "divergence_factor", "track", "edge", "output")
RANGE_KEYS = ("from", "to", "num", "log")
#: Longest axis a range may generate (a typo such as ``num: 1e6`` fails here, not later).
MAX_AXIS = 10_000

Key = tuple[str | int, ...]


def _where(doc: ConfigDoc, keypath: Key) -> str:
    """``file:line: 'a.b'`` (the nearest enclosing key with a known line)."""
    name = ".".join(str(k) for k in keypath)
    for n in range(len(keypath), 0, -1):
        line = doc.line(keypath[:n])
        if line:
            return f"{doc.path}:{line}: '{name}'"
    return f"{doc.path}: '{name}'"


def _fail(doc: ConfigDoc, keypath: Key, message: str) -> InputError:
    return InputError(f"{_where(doc, keypath)}: {message}")


def _check_keys(doc: ConfigDoc, keypath: Key, value: dict[str, Any],
                allowed: tuple[str, ...]) -> None:
    for k in value:
        if k not in allowed:
            near = difflib.get_close_matches(str(k), allowed, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise _fail(doc, (*keypath, str(k)),
                        f"unknown key (expected one of: {', '.join(allowed)}){hint}")


def _int(doc: ConfigDoc, keypath: Key, value: Any, *, minimum: int = 1) -> int:
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok and isinstance(value, float) and value.is_integer():
        value, ok = int(value), True
    if not ok or value < minimum:
        raise _fail(doc, keypath, f"expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _range(doc: ConfigDoc, keypath: Key, value: dict[str, Any], *, integer: bool
           ) -> tuple[float, ...]:
    """``{from, to, num, log}``: ``num`` points from ``from`` to ``to`` (inclusive)."""
    _check_keys(doc, keypath, value, RANGE_KEYS)
    for k in ("from", "to", "num"):
        if k not in value:
            raise _fail(doc, keypath, f"a range needs 'from', 'to' and 'num' (missing {k!r})")
    lo = positive_float(value["from"], where=_where(doc, (*keypath, "from")))
    hi = positive_float(value["to"], where=_where(doc, (*keypath, "to")))
    num = _int(doc, (*keypath, "num"), value["num"])
    if num > MAX_AXIS:
        raise _fail(doc, (*keypath, "num"), f"at most {MAX_AXIS} points, got {num}")
    log = value.get("log", False)
    if not isinstance(log, bool):
        raise _fail(doc, (*keypath, "log"), f"expected true or false, got {log!r}")
    if hi < lo:
        raise _fail(doc, (*keypath, "to"), f"'to' ({hi:g}) is below 'from' ({lo:g})")
    if num == 1:
        points = [lo]
    elif log:
        a, b = math.log(lo), math.log(hi)
        points = [math.exp(a + (b - a) * i / (num - 1)) for i in range(num)]
        points[0], points[-1] = lo, hi
    else:
        points = [lo + (hi - lo) * i / (num - 1) for i in range(num)]
    if integer:
        # Rounded, then duplicates dropped: {from: 2, to: 64, num: 8, log: true} → 2 3 4 …
        return tuple(float(v) for v in sorted({max(1, round(p)) for p in points}))
    return tuple(points)


def _int_axis(doc: ConfigDoc, key: str, value: Any) -> tuple[int, ...]:
    """An int, a list of ints, or an integer range (rounded, duplicates dropped)."""
    if isinstance(value, dict):
        return tuple(int(v) for v in _range(doc, (key,), value, integer=True))
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _fail(doc, (key,), "empty list")
    out = [_int(doc, (key, i) if isinstance(value, list) else (key,), v)
           for i, v in enumerate(items)]
    if len(set(out)) != len(out):
        raise _fail(doc, (key,), f"repeated values in {out}")
    return tuple(out)


def _float_list(doc: ConfigDoc, keypath: Key, value: Any) -> tuple[float, ...]:
    """A positive number, a list of them, or a range."""
    if isinstance(value, dict):
        return _range(doc, keypath, value, integer=False)
    if isinstance(value, list):
        if not value:
            raise _fail(doc, keypath, "empty list")
        return tuple(positive_float(v, where=_where(doc, (*keypath, i)))
                     for i, v in enumerate(value))
    return (positive_float(value, where=_where(doc, keypath)),)


def _steps(doc: ConfigDoc, value: Any) -> tuple[SweepStep, ...]:
    key: Key = ("step_size",)
    if isinstance(value, dict) and ("bound" in value or "times" in value):
        _check_keys(doc, key, value, ("times", "bound"))
        ref = value.get("bound")
        if not isinstance(ref, str) or ref not in (*BOUND_IDS, EDGE):
            raise _fail(doc, (*key, "bound"), f"expected a bound id ({', '.join(BOUND_IDS)}) "
                        f"or {EDGE!r}, got {ref!r}")
        times = _float_list(doc, (*key, "times"), value.get("times", 1.0))
        return tuple(SweepStep(times=t, ref=ref) for t in times)
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        out: list[SweepStep] = []
        for i, v in enumerate(value):
            if isinstance(v, dict):
                out.extend(_steps(ConfigDoc(doc.path, {"step_size": v}, {
                    ("step_size", *k[2:]): line for k, line in doc.lines.items()
                    if k[:2] == ("step_size", i)}), v))
            else:
                out.append(SweepStep(eta=positive_float(v, where=_where(doc, (*key, i)))))
        return tuple(out)
    return tuple(SweepStep(eta=e) for e in _float_list(doc, key, value))


def _inits(doc: ConfigDoc, value: Any) -> tuple[InitSpec, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _fail(doc, ("init",), "empty list")
    out = []
    for i, v in enumerate(items):
        kp: Key = ("init", i) if isinstance(value, list) else ("init",)
        if isinstance(v, str):
            v = {"name": v}
        if not isinstance(v, dict):
            raise _fail(doc, kp, f"expected an init name or {{name: ..., sigma: ...}}, got {v!r}")
        _check_keys(doc, kp, v, ("name", "sigma", "rank", "scale"))
        name = v.get("name")
        names = tuple(n for n in INIT_NAMES if n != "file")
        if name not in names:
            raise _fail(doc, (*kp, "name") if "name" in v and isinstance(value, list) else kp,
                        f"unknown init {name!r}; expected one of {', '.join(names)}")
        sigma = v.get("sigma")
        rank = v.get("rank")
        out.append(InitSpec(
            name=name,
            sigma=None if sigma is None else positive_float(
                sigma, where=_where(doc, (*kp, "sigma"))),
            rank=None if rank is None else _int(doc, (*kp, "rank"), rank),
            scale=positive_float(v.get("scale", 1.0), where=_where(doc, (*kp, "scale")))))
    return tuple(out)


def _resolve(base: Path, value: str) -> str:
    name, sep, key = value.partition(":") if value.count(":") == 1 and not Path(
        value).exists() else (value, "", "")
    p = Path(name)
    full = str(p if p.is_absolute() else (base / p))
    return full + (sep + key if sep else "")


def file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _problems(doc: ConfigDoc, value: Any) -> tuple[ProblemSource, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise _fail(doc, ("problem",), "empty list")
    out = []
    base = doc.path.parent
    for i, v in enumerate(items):
        kp: Key = ("problem", i) if isinstance(value, list) else ("problem",)
        if isinstance(v, str):
            v = {"target": v}
        if not isinstance(v, dict):
            raise _fail(doc, kp, f"expected {{target: FILE}} or {{data: FILE.npz}}, got {v!r}")
        _check_keys(doc, kp, v, ("target", "data", "loss", "samples_as_rows", "name"))
        if ("target" in v) == ("data" in v):
            raise _fail(doc, kp, "give exactly one of 'target' or 'data'")
        which = "target" if "target" in v else "data"
        raw = v[which]
        if not isinstance(raw, str):
            raise _fail(doc, (*kp, which), f"expected a file name, got {raw!r}")
        path = _resolve(base, raw)
        fname = path
        if not Path(path).exists() and path.count(":") >= 1:
            fname = path.rsplit(":", 1)[0]
        if not Path(fname).is_file():
            raise _fail(doc, (*kp, which), f"file not found: {fname}")
        loss = v.get("loss", "sum")
        if loss not in ("sum", "mean"):
            raise _fail(doc, (*kp, "loss"), f"expected sum or mean, got {loss!r}")
        if which == "target" and loss != "sum":
            raise _fail(doc, (*kp, "loss"), "a target matrix has no loss convention; "
                        "'loss' is for data")
        rows = v.get("samples_as_rows", False)
        if not isinstance(rows, bool):
            raise _fail(doc, (*kp, "samples_as_rows"), f"expected true or false, got {rows!r}")
        name = v.get("name", Path(raw).stem if ":" not in raw else raw.replace(":", "-"))
        if not isinstance(name, str) or not name:
            raise _fail(doc, (*kp, "name"), f"expected a non-empty string, got {name!r}")
        out.append(ProblemSource(name=name, target=path if which == "target" else None,
                                 data=path if which == "data" else None, loss=loss,
                                 samples_as_rows=rows, sha256=file_sha256(fname)))
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise _fail(doc, ("problem",), f"two problems share the name in {names}; give "
                    "each a distinct 'name'")
    return tuple(out)


def _seeds(doc: ConfigDoc, value: Any) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(_int(doc, ("seeds",), value)))
    if isinstance(value, list) and value:
        seeds = tuple(_int(doc, ("seeds", i), v, minimum=0) for i, v in enumerate(value))
        if len(set(seeds)) != len(seeds):
            raise _fail(doc, ("seeds",), f"repeated seeds in {list(seeds)}")
        return seeds
    raise _fail(doc, ("seeds",), f"expected a positive count or a non-empty list of "
                f"non-negative integers, got {value!r}")


def _bool(doc: ConfigDoc, keypath: Key, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _fail(doc, keypath, f"expected true or false, got {value!r}")
    return value


def _section(doc: ConfigDoc, data: dict[str, Any], key: str, allowed: tuple[str, ...]
             ) -> dict[str, Any]:
    value = data.get(key) or {}
    if not isinstance(value, dict):
        raise _fail(doc, (key,), f"expected a mapping with keys {', '.join(allowed)}")
    _check_keys(doc, (key,), value, allowed)
    return value


def _edge(doc: ConfigDoc, data: dict[str, Any]) -> EdgeSettings:
    e = _section(doc, data, "edge", ("compute", "rtol", "iterations", "seeds"))
    rtol = positive_float(e.get("rtol", 0.02), where=_where(doc, ("edge", "rtol")))
    if rtol >= 1:
        raise _fail(doc, ("edge", "rtol"), f"expected a number in (0, 1), got {rtol:g}")
    seeds = None
    if "seeds" in e:
        seeds = _seeds(ConfigDoc(doc.path, {"seeds": e["seeds"]}, {("seeds",): doc.line(
            ("edge", "seeds")) or 0}), e["seeds"])
    return EdgeSettings(
        compute=_bool(doc, ("edge", "compute"), e.get("compute", False)), rtol=rtol,
        iterations=None if "iterations" not in e else _int(doc, ("edge", "iterations"),
                                                           e["iterations"]),
        seeds=seeds)


def _outputs(doc: ConfigDoc, data: dict[str, Any]) -> dict[str, str | None]:
    o = _section(doc, data, "output", ("table", "summary", "plot"))
    out: dict[str, str | None] = {}
    exts = {"table": (".parquet", ".csv"), "summary": (".json",), "plot": (".png", ".svg")}
    for k, allowed in exts.items():
        v = o.get(k)
        if v is None:
            out[k] = None
            continue
        if not isinstance(v, str) or not v.lower().endswith(allowed):
            raise _fail(doc, ("output", k), f"expected a file name ending in "
                        f"{' or '.join(allowed)}, got {v!r}")
        out[k] = _resolve(doc.path.parent, v)
    return out


def parse(doc: ConfigDoc) -> SweepSpec:
    """Validate a loaded sweep document into a :class:`SweepSpec`."""
    if not isinstance(doc.data, dict):
        raise InputError(f"{doc.path}: expected a mapping of settings (see docs/sweeps.md)")
    data = doc.data
    _check_keys(doc, (), data, TOP_KEYS)
    for k in ("problem", "depth", "step_size"):
        if k not in data:
            raise InputError(f"{doc.path}: missing required key {k!r}")
    track = _section(doc, data, "track", ("sharpness",))
    tol = data.get("tolerance")
    out = _outputs(doc, data)
    summary = out["summary"]
    if summary is None and out["table"] is not None:
        summary = str(Path(out["table"]).with_suffix(".summary.json"))
    widths = data.get("width")
    return SweepSpec(
        problems=_problems(doc, data["problem"]),
        depths=_int_axis(doc, "depth", data["depth"]),
        widths=(None,) if widths is None else _int_axis(doc, "width", widths),
        inits=_inits(doc, data.get("init", "balanced")),
        steps=_steps(doc, data["step_size"]),
        seeds=_seeds(doc, data.get("seeds", 1)),
        iterations=_int(doc, ("iterations",), data.get("iterations", 10_000)),
        tolerance=None if tol is None else positive_float(tol, where=_where(doc, ("tolerance",))),
        divergence_factor=positive_float(data.get("divergence_factor", 1e6),
                                         where=_where(doc, ("divergence_factor",))),
        track_sharpness=_bool(doc, ("track", "sharpness"), track.get("sharpness", False)),
        edge=_edge(doc, data), output_table=out["table"], output_summary=summary,
        output_plot=out["plot"], path=str(doc.path))


def load(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file (YAML)."""
    return parse(load_yaml(path))
