"""A generated corpus of bad inputs: every case must exit 2 with one stderr line naming
the culprit, within a time limit, under an address-space limit (tests/test_bad_inputs.py).

``cases(tmp)`` writes the files of every case into ``tmp`` and returns them as
:class:`Case` objects: an id, a category, the ``gdcert`` arguments, and a substring the
single error line must contain (the file, key or option to blame). Nothing here needs more
than a few MB of disk or a second to build.
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.lib.format as npformat

SPD = np.diag([3.0, 2.0, 1.0, 0.5])


@dataclass(frozen=True)
class Case:
    id: str
    category: str
    args: tuple[str, ...]
    culprit: str
    env: dict[str, str] = field(default_factory=dict)
    #: Known to fail outside this worktree's files (reason, for the report), or None.
    known: str | None = None


# --------------------------------------------------------------------------- writers


def npy_with_header(path: Path, header: dict[str, object] | str, data: bytes = b"",
                    version: tuple[int, int] = (1, 0)) -> Path:
    """A .npy file with an arbitrary header (dict or raw text) and data bytes."""
    text = header if isinstance(header, str) else repr(header)
    body = text.encode("latin1")
    body += b" " * ((64 - (10 + len(body) + 1) % 64) % 64) + b"\n"
    with path.open("wb") as fh:
        fh.write(b"\x93NUMPY" + bytes(version))
        fh.write(struct.pack("<H" if version == (1, 0) else "<I", len(body)))
        fh.write(body + data)
    return path


def npz_of(path: Path, members: dict[str, bytes], *, compress: bool = False) -> Path:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def npy_bytes(header: dict[str, object], data: bytes = b"") -> bytes:
    import io

    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, header)  # type: ignore[arg-type]
    return buf.getvalue() + data


def patch_zip_sizes(path: Path, size: int) -> Path:
    """Rewrite the uncompressed size of every member (local and central headers)."""
    raw = bytearray(path.read_bytes())
    pos = 0
    while (pos := raw.find(b"PK\x03\x04", pos)) >= 0:
        raw[pos + 22: pos + 26] = struct.pack("<I", size)
        pos += 4
    pos = 0
    while (pos := raw.find(b"PK\x01\x02", pos)) >= 0:
        raw[pos + 24: pos + 28] = struct.pack("<I", size)
        pos += 4
    path.write_bytes(bytes(raw))
    return path


def nested(kind: str, depth: int) -> str:
    if kind == "yaml-flow":
        return "lr: " + "[" * depth + "1" + "]" * depth + "\n"
    if kind == "yaml-block":
        return "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "lr: 1\n"
    if kind == "json":
        return '{"lr": ' + "[" * depth + "1" + "]" * depth + "}"
    if kind == "toml":
        return "lr = " + "[" * depth + "1" + "]" * depth + "\n"
    raise ValueError(kind)


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
optimizer: {lr: *h}
"""


def simulate_yaml(target: str, **over: str) -> str:
    parts = {
        "problem": f"problem: {{target: {target}}}",
        "network": "network: {depth: 2}",
        "step_size": "step_size: 0.01",
        "iterations": "iterations: 100",
        **over,
    }
    return "\n".join(v for v in parts.values() if v) + "\n"


def relu_yaml(**over: str) -> str:
    parts = {"model": "model: relu2", "relu": "relu: {n_samples: 10, hidden: 4}",
             "step_size": "step_size: 0.001", "iterations": "iterations: 10", **over}
    return "\n".join(v for v in parts.values() if v) + "\n"


# --------------------------------------------------------------------------- the corpus


def cases(tmp: Path) -> list[Case]:  # noqa: C901 - a flat list of cases
    out: list[Case] = []
    spd = tmp / "spd.npy"
    np.save(spd, SPD)

    def add(id: str, category: str, args: list[str], culprit: str, **kw: object) -> None:
        out.append(Case(id, category, tuple(args), culprit, **kw))  # type: ignore[arg-type]

    def bound(path: Path | str, *extra: str) -> list[str]:
        return ["bound", str(path), "--depth", "2", *extra]

    def write(name: str, content: str | bytes) -> Path:
        p = tmp / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
        return p

    # ---- sizes declared by headers -------------------------------------------------
    big = {"descr": "<f8", "fortran_order": False, "shape": (100000, 100000)}
    add("npy-huge-header", "declared-size",
        bound(npy_with_header(tmp / "huge.npy", big, b"\0" * 64)), "huge.npy")
    add("npy-huge-header-v2", "declared-size",
        bound(npy_with_header(tmp / "huge2.npy", big, b"\0" * 64, version=(2, 0))), "huge2.npy")
    add("npy-3d-huge", "declared-size", bound(npy_with_header(
        tmp / "huge3.npy", {"descr": "<f8", "fortran_order": False,
                            "shape": (4096, 4096, 4096)})), "huge3.npy")
    add("npy-lying-small-data", "declared-size", bound(npy_with_header(
        tmp / "lie.npy", {"descr": "<f8", "fortran_order": False, "shape": (300, 300)},
        b"\0" * 80)), "lie.npy")
    add("npy-dim-beyond-int64", "declared-size", bound(npy_with_header(
        tmp / "i64.npy", {"descr": "<f8", "fortran_order": False, "shape": (2**70, 1)})),
        "i64.npy")
    add("npz-member-huge-header", "declared-size", bound(npz_of(
        tmp / "liar.npz", {"phi.npy": npy_bytes(big, b"\0" * 64)})), "liar.npz")
    bomb = tmp / "bomb.npz"
    npz_of(bomb, {"phi.npy": npy_bytes({"descr": "<f8", "fortran_order": False,
                                        "shape": (3000, 3000)}, bytes(3000 * 3000 * 8))},
           compress=True)
    add("npz-zip-bomb", "declared-size", ["--max-memory", "16M", *bound(bomb)], "bomb.npz")
    add("npz-zip-bomb-default-limits", "declared-size",
        bound(patch_zip_sizes(npz_of(tmp / "bomb2.npz", {"phi.npy": bytes(1000)},
                                     compress=True), 4_000_000_000)), "bomb2.npz")
    add("npz-many-members", "declared-size", bound(npz_of(
        tmp / "many.npz", {f"a{i}.npy": b"" for i in range(10_001)})), "many.npz")
    write("huge.mtx", "%%MatrixMarket matrix coordinate real general\n100000 100000 1\n"
                      "1 1 1.0\n")
    add("mtx-huge-one-entry", "declared-size", bound(tmp / "huge.mtx"), "huge.mtx")
    write("huge_array.mtx", "%%MatrixMarket matrix array real general\n100000 100000\n1.0\n")
    add("mtx-huge-array", "declared-size", bound(tmp / "huge_array.mtx"), "huge_array.mtx")
    write("entries.mtx", "%%MatrixMarket matrix coordinate real general\n4 4 "
                         "99999999999999999\n1 1 1.0\n")
    add("mtx-absurd-entry-count", "declared-size", bound(tmp / "entries.mtx"), "entries.mtx")
    import scipy.io
    import scipy.sparse

    sparse = scipy.sparse.coo_matrix(([1.0], ([0], [0])), shape=(100000, 100000))
    scipy.io.savemat(tmp / "sparse.mat", {"phi": sparse})
    add("mat-sparse-huge", "declared-size", bound(tmp / "sparse.mat"), "sparse.mat")
    add("mat-sparse-huge-keyed", "declared-size", bound(f"{tmp / 'sparse.mat'}:phi"),
        "sparse.mat")
    # a 20000-wide network is refused where its layers would be built (--verify simulates
    # it); the closed-form bounds alone need only the target's memory
    write("row.csv", ",".join(["1"] * 20000) + "\n")
    add("csv-1x20000-default-width", "declared-size", bound(tmp / "row.csv", "--verify"),
        "row.csv")
    write("col.txt", "\n".join(["1"] * 20000) + "\n")
    add("txt-20000x1-default-width", "declared-size", bound(tmp / "col.txt", "--verify"),
        "col.txt")
    write("text.csv", "1,2\n3,4\n")
    add("csv-over-memory-limit", "declared-size",
        ["--max-memory", "10", *bound(tmp / "text.csv")], "text.csv")
    rng = np.random.default_rng(0)
    np.savez(tmp / "wide_data.npz", X=rng.standard_normal((30000, 2)),
             Y=rng.standard_normal((1, 2)))
    add("data-30000-features", "declared-size",
        ["bound", "--data", str(tmp / "wide_data.npz"), "--depth", "2"], "wide_data.npz")

    # ---- sizes from options and config keys ----------------------------------------
    add("widths-20000", "option-size",
        ["bound", str(spd), "--depth", "3", "--widths", "4,20000,20000,4", "--verify"],
        "widths")
    add("widths-2**70", "option-size",
        ["bound", str(spd), "--depth", "2", "--widths", f"4,{2**70},4"], "--widths")
    add("widths-zero", "option-size",
        ["bound", str(spd), "--depth", "2", "--widths", "4,0,4"], "--widths")
    add("widths-negative", "option-size",
        ["bound", str(spd), "--depth", "2", "--widths", "4,-3,4"], "--widths")
    add("depth-2**70", "option-size", ["bound", str(spd), "--depth", str(2**70)], "depth")
    add("bound-verify-iterations-2**70", "option-size",
        [*bound(spd), "--verify", "--lr", "0.01", "--iterations", str(2**70)], "--iterations")
    add("bound-verify-seeds-1e6", "option-size",
        [*bound(spd), "--verify", "--lr", "0.01", "--seeds", "1000000"], "--seeds")
    add("edge-iterations-1e9", "option-size",
        ["edge", str(spd), "--depth", "2", "--iterations", "1000000000"], "--iterations")
    add("edge-iterations-2**70", "option-size",
        ["edge", str(spd), "--depth", "2", "--iterations", str(2**70)], "--iterations")
    add("edge-seeds-1e6", "option-size",
        ["edge", str(spd), "--depth", "2", "--seeds", "1000000"], "--seeds")
    add("check-iterations-2**70", "option-size",
        ["check", str(spd), "--depth", "2", "--lr", "0.01", "--require", "verified",
         "--iterations", str(2**70)], "--iterations")
    add("check-seeds-1e8", "option-size",
        ["check", str(spd), "--depth", "2", "--lr", "0.01", "--seeds", "100000000"], "--seeds")
    add("max-memory-garbage", "option-size", ["--max-memory", "lots", *bound(spd)],
        "--max-memory")
    add("max-iterations-negative", "option-size", ["--max-iterations", "-5", *bound(spd)],
        "--max-iterations")
    add("init-rank-2**70", "option-size",
        [*bound(spd), "--init", "balanced", "--init-rank", str(2**70)], "--init-rank")

    def sim(name: str, text: str, culprit: str, category: str = "config-value",
            **kw: object) -> None:
        add(name, category, ["simulate", str(write(f"{name}.yaml", text))], culprit, **kw)

    sim("sim-iterations-2**70", simulate_yaml("spd.npy", iterations="iterations: "
                                              "99999999999999999999"), "iterations")
    sim("sim-iterations-1e9", simulate_yaml("spd.npy", iterations="iterations: 1e9"),
        "iterations")
    sim("sim-iterations-5000-digits", simulate_yaml("spd.npy", iterations="iterations: "
                                                    + "9" * 5000), "sim-iterations-5000")
    sim("sim-seeds-1e8", simulate_yaml("spd.npy", seeds="seeds: 1e8"), "seeds")
    sim("sim-seeds-100000000", simulate_yaml("spd.npy", seeds="seeds: 100000000"), "seeds")
    sim("sim-seed-list-beyond-int64", simulate_yaml("spd.npy", seeds=f"seeds: [{2**70}]"),
        "seeds")
    sim("sim-record-every-negative", simulate_yaml(
        "spd.npy", track="track: {record_every: -1}"), "record_every")
    sim("sim-record-every-too-many", simulate_yaml(
        "spd.npy", iterations="iterations: 10000000", seeds="seeds: 100",
        track="track: {record_every: 1}"), "record_every")
    sim("sim-sigma-negative", simulate_yaml(
        "spd.npy", init="init: {name: gaussian, sigma: -1}"), "sigma")
    sim("sim-sigma-negative-unused", simulate_yaml(
        "spd.npy", init="init: {name: balanced, sigma: -1}"), "sigma")
    sim("sim-rank-zero", simulate_yaml("spd.npy", init="init: {name: balanced, rank: 0}"),
        "rank")
    sim("sim-widths-20000", simulate_yaml(
        "spd.npy", network="network: {depth: 3, widths: [4, 20000, 20000, 4]}"), "spd.npy")
    sim("sim-widths-2**70", simulate_yaml(
        "spd.npy", network=f"network: {{depth: 2, widths: [4, {2**70}, 4]}}"), "widths")
    sim("sim-widths-negative", simulate_yaml(
        "spd.npy", network="network: {depth: 2, widths: [4, -1, 4]}"), "widths")
    sim("relu-hidden-1e9", relu_yaml(relu="relu: {n_samples: 10, hidden: 1e9}"), "hidden")
    sim("relu-n-samples-1e9", relu_yaml(relu="relu: {n_samples: 1e9, hidden: 4}"),
        "n_samples")
    sim("relu-iterations-2**70", relu_yaml(iterations=f"iterations: {2**70}"), "iterations")
    sim("relu-seed-list-1e5", relu_yaml(
        relu="relu: {n_samples: 10, hidden: 4, seed: [" + ",".join(["1"] * 100_000) + "]}"),
        "seed")
    sim("relu-record-every-negative", relu_yaml(track="track: {record_every: -1}"),
        "record_every")

    # ---- parser trouble --------------------------------------------------------------
    sim("yaml-nul-byte", "problem: {target: spd.npy}\x00\n", "yaml-nul-byte", "parser")
    sim("yaml-nul-in-path", simulate_yaml('"spd\\0.npy"'), "yaml-nul-in-path", "parser")
    sim("yaml-python-tag", "problem: !!python/object/apply:os.system ['echo hi']\n",
        "yaml-python-tag", "parser")
    sim("yaml-5000-flow", nested("yaml-flow", 5000), "yaml-5000-flow", "parser")
    sim("yaml-5000-block", nested("yaml-block", 5000), "yaml-5000-block", "parser")
    sim("yaml-billion-laughs", BILLION_LAUGHS, "yaml-billion-laughs", "parser")
    write("latin.yaml", b"lr: \xff\xfe\n")
    add("yaml-binary", "parser", ["simulate", str(tmp / "latin.yaml")], "latin.yaml")
    write("large.yaml", "a: " + "x" * (17 * 1024 * 1024) + "\n")
    add("yaml-over-16mb", "parser", ["simulate", str(tmp / "large.yaml")], "large.yaml")
    for kind, ext in (("json", "json"), ("toml", "toml"), ("yaml-flow", "yaml"),
                      ("yaml-block", "yaml")):
        p = write(f"deep_{kind}.{ext}", nested(kind, 5000))
        add(f"lr-from-5000-deep-{kind}", "parser",
            ["check", str(spd), "--depth", "2", "--lr-from", f"{p}:lr"], f"deep_{kind}")
    p = write("laughs.yaml", BILLION_LAUGHS)
    add("lr-from-billion-laughs", "parser",
        ["check", str(spd), "--depth", "2", "--lr-from", f"{p}:optimizer.lr"], "laughs.yaml")
    p = write("train.yaml", "optimizer:\n  groups: [{lr: 0.1}]\n")
    add("lr-from-key-superscript-index", "parser",
        ["check", str(spd), "--depth", "2", "--lr-from", f"{p}:optimizer.groups.²"],
        "train.yaml")
    add("lr-from-key-huge-index", "parser",
        ["check", str(spd), "--depth", "2", "--lr-from", f"{p}:optimizer.groups.{'9' * 5000}"],
        "train.yaml")
    p = write("bigint.json", '{"lr": ' + "9" * 5000 + "}")
    add("lr-from-json-5000-digit-int", "parser",
        ["check", str(spd), "--depth", "2", "--lr-from", f"{p}:lr"], "bigint.json")
    p = write("bigint.toml", "lr = " + "9" * 5000 + "\n")
    add("lr-from-toml-5000-digit-int", "parser",
        ["check", str(spd), "--depth", "2", "--lr-from", f"{p}:lr"], "bigint.toml")
    p = write("huge_lr.yaml", "lr: 1e400\n")
    add("lr-from-infinite", "parser",
        ["check", str(spd), "--depth", "2", "--lr-from", f"{p}:lr"], "huge_lr.yaml")
    headers: dict[str, str] = {
        "npy-header-not-dict": "[1, 2, 3]",
        "npy-header-missing-keys": "{'descr': '<f8'}",
        "npy-header-bad-descr": "{'descr': 'zz', 'fortran_order': False, 'shape': (2, 2)}",
        "npy-header-negative-shape": "{'descr': '<f8', 'fortran_order': False, "
                                     "'shape': (2, -3)}",
        "npy-header-string-shape": "{'descr': '<f8', 'fortran_order': False, 'shape': 'ab'}",
        "npy-header-syntax": "{'descr': '<f8', 'fortran_order': False, 'shape': (2,",
        "npy-header-call": "{'descr': __import__('os').system('true')}",
        "npy-header-float-shape": "{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,)}",
    }
    for name, header in headers.items():
        add(name, "parser", bound(npy_with_header(tmp / f"{name}.npy", header, b"\0" * 32)),
            f"{name}.npy")
    write("gar.mtx", "%%MatrixMarket matrix coordinate real general\n2 2 1\n5 5 1.0\n")
    add("mtx-index-out-of-range", "parser", bound(tmp / "gar.mtx"), "gar.mtx")
    write("gar.mat", b"MATLAB 5.0 MAT-file" + b"\0" * 200)
    add("mat-garbage", "parser", bound(tmp / "gar.mat"), "gar.mat")
    write("nul.csv", "1,2\x00,3\n4,5,6\n")
    add("csv-nul-byte", "parser", bound(tmp / "nul.csv"), "nul.csv")
    write("inf.csv", "1e400,1\n1,1\n")
    add("csv-overflowing-number", "parser", bound(tmp / "inf.csv"), "inf.csv")

    # ---- magnitudes --------------------------------------------------------------------
    for exp in (110, 140, 154, 300):
        np.save(tmp / f"mag{exp}.npy", SPD * 10.0**exp)
        add(f"entries-1e{exp}", "magnitude", bound(tmp / f"mag{exp}.npy", "--json"),
            f"mag{exp}.npy")
    np.savez(tmp / "mag_data.npz", X=np.eye(3) * 1e200, Y=np.ones((2, 3)))
    add("data-entries-1e200", "magnitude",
        ["bound", "--data", str(tmp / "mag_data.npz"), "--depth", "2"], "mag_data.npz")
    np.savez(tmp / "w_huge.npz", W1=np.eye(4) * 1e100, W2=np.eye(4) * 1e100)
    add("init-weights-1e100", "magnitude", [*bound(spd), "--init", str(tmp / "w_huge.npz")],
        "w_huge.npz")
    add("solution-weights-1e100", "magnitude",
        [*bound(spd), "--weights", str(tmp / "w_huge.npz")], "w_huge.npz")
    np.savez(tmp / "w_product.npz", W1=np.eye(4) * 1e31, W2=np.eye(4) * 1e31)
    add("init-weights-product-1e62", "magnitude",
        [*bound(spd), "--init", str(tmp / "w_product.npz"), "--lr", "0.1"], "w_product.npz")
    # (a zero target is not a bad input: tests/test_limits.py checks its clean "Φ = 0" path)

    # ---- paths -----------------------------------------------------------------------
    add("path-component-300-bytes", "path", bound(tmp / ("x" * 300 + ".npy")), "xxxx")
    add("path-rich-markup-missing", "path", bound(tmp / "[red]x.npy"), "[red]x.npy")
    add("path-directory", "path", bound(tmp), str(tmp.name))
    add("path-no-extension", "path", bound(tmp / "noext"), "noext")
    add("path-newline-in-name", "path", bound(tmp / "a\nb.npy"), "a\\nb.npy")
    p = write("train_ok.yaml", "lr: 0.1\n")
    add("lr-from-file-300-bytes", "path",
        ["check", str(spd), "--depth", "2", "--lr-from", f"{tmp / ('y' * 300)}.yaml:lr"],
        "yyyy")
    add("init-file-missing", "path", [*bound(spd), "--init", str(tmp / "nope.npz")],
        "nope.npz")

    # ---- checks files ------------------------------------------------------------------
    def checks(name: str, body: str, culprit: str, *extra: str) -> None:
        d = tmp / name
        d.mkdir()
        (d / "spd.npy").write_bytes(spd.read_bytes())
        (d / "train.yaml").write_text("optimizer: {lr: 0.01}\n")
        (d / ".gdcert.yaml").write_text(body)
        add(name, "checks-file", ["check", str(d / ".gdcert.yaml"), *extra], culprit)

    checks("checks-bad-lr-from-key", "checks:\n  - {name: ok, target: spd.npy, depth: 2, "
           "lr: 0.01}\n  - {name: bad, target: spd.npy, depth: 2, lr_from: {file: train.yaml, "
           "key: optimizer.nope}}\n", "optimizer.nope")
    checks("checks-seeds-1e8", "checks:\n  - {target: spd.npy, depth: 2, lr: 0.01, "
           "init: gaussian, seeds: 1e8}\n", "seeds")
    checks("checks-iterations-2**70", "checks:\n  - {target: spd.npy, depth: 2, lr: 0.01, "
           f"require: verified, iterations: {2**70}}}\n", "iterations")
    checks("checks-widths-20000", "checks:\n  - {target: spd.npy, depth: 3, lr: 0.01, "
           "widths: [4, 20000, 20000, 4]}\n", "spd.npy")
    checks("checks-missing-target", "checks:\n  - {target: nope.npy, depth: 2, lr: 0.01}\n",
           "nope.npy")
    checks("checks-billion-laughs", BILLION_LAUGHS.replace("optimizer: {lr: *h}",
                                                           "checks: *h"), ".gdcert.yaml")
    return out


Factory = Callable[[Path], list[Case]]
