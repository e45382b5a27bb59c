"""A standalone repro of one opinfo finding: a short Python script, runnable with torch and NumPy alone (no
harness), that rebuilds the sample from literal values, computes the method's result the way the method does,
and finite differences of torch's own forward values, and prints both and their largest difference."""

from __future__ import annotations

import numpy as np
import torch

# Where an OpInfo's callable may live, so that the repro can call it by name.
_MODULES = (("torch", torch), ("torch.nn.functional", torch.nn.functional), ("torch.linalg", torch.linalg),
            ("torch.special", torch.special), ("torch.fft", torch.fft))

# How each torch method computes the Jacobian of f(*xs), as an expression (one per method family).
_JACOBIAN = {
    "torch.func.jacrev": "torch.func.jacrev(f, argnums=ARGNUMS)(*xs)",
    "torch.func.jacfwd": "torch.func.jacfwd(f, argnums=ARGNUMS)(*xs)",
    "torch.autograd.functional.jacobian": "torch.autograd.functional.jacobian(f, tuple(xs))",
    "torch.autograd.functional.jacobian[vectorize]": "torch.autograd.functional.jacobian(f, tuple(xs), vectorize=True)",
    "torch.autograd.functional.jacobian[forward-mode]":
        "torch.autograd.functional.jacobian(f, tuple(xs), vectorize=True, strategy='forward-mode')",
    # One backward (forward) pass per output (input) element, as these methods do.
    "torch.grad-loop": "torch.autograd.functional.jacobian(f, tuple(xs))",
    "torch.backward-onehot": "torch.autograd.functional.jacobian(f, tuple(xs))",
    "torch.forward_ad": "torch.autograd.functional.jacobian(f, tuple(xs), vectorize=True, strategy='forward-mode')",
    "torch.compile[jacrev]": "torch.compile(torch.func.jacrev(f, argnums=ARGNUMS))(*xs)",
    "torch.compile[jacfwd]": "torch.compile(torch.func.jacfwd(f, argnums=ARGNUMS))(*xs)",
}
# The second-order checks (harness.adapters.base.second_order_directions draws w, u, v in this order): the inner
# derivative w . J v, then its derivative along u (outer-inner).
_INNER = {"fwd": "(w * torch.func.jvp(f, tuple(p), tuple(v))[1]).sum()",
          "rev": "sum((a * b).sum() for a, b in zip(torch.func.vjp(f, *p)[1](w), v))"}
_OUTER = {"fwd": "torch.func.jvp(inner, tuple(xs), tuple(u))[1]",
          "rev": "sum((a * b).sum() for a, b in zip(torch.func.grad(inner, argnums=ARGNUMS)(*xs), u))"}


def _name_of(op) -> str | None:
    for prefix, module in _MODULES:
        attribute = op.name.rsplit(".", 1)[-1]
        if getattr(module, attribute, None) is op.op:
            return f"{prefix}.{attribute}"
    return None


def _source(value) -> str:
    """Python source that rebuilds a sample leaf (tensors as literals, exactly: repr of float64 round-trips)."""
    if isinstance(value, torch.Tensor):
        dtype = str(value.dtype)
        return f"torch.tensor({value.tolist()!r}, dtype={dtype})"
    if isinstance(value, np.ndarray):
        return f"torch.tensor({value.tolist()!r}, dtype=torch.float64)"
    if isinstance(value, (list, tuple)):
        return _sequence([_source(v) for v in value], isinstance(value, tuple))
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (torch.dtype, torch.memory_format, torch.layout)):
        return str(value)
    return repr(value)


def _sequence(items: list[str], is_tuple: bool) -> str:
    if not is_tuple:
        return f"[{', '.join(items)}]"
    return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"


def repro_script(op, sample, arrays, meta, method_id: str, reference_method_id: str) -> str:
    from torch.utils import _pytree as pytree

    names = [f"x{k}" for k in range(len(arrays))]
    leaves = list(sample.leaves)
    markers = {}
    for k, position in enumerate(sample.wrt):
        markers[id(leaves[position])] = names[k]
    sample_input, args, kwargs = pytree.tree_unflatten(leaves, sample.spec)

    def source(value):
        if isinstance(value, torch.Tensor) and id(value) in markers:
            return markers[id(value)]
        if isinstance(value, (list, tuple)):
            return _sequence([source(v) for v in value], isinstance(value, tuple))
        if isinstance(value, dict):
            return "{" + ", ".join(f"{k!r}: {source(v)}" for k, v in value.items()) + "}"
        return _source(value)

    name = _name_of(op)
    process = getattr(sample.process, "__qualname__", "")
    wrapper = getattr(op.gradcheck_wrapper, "__name__", "<lambda>")
    lookup = name is None or not process.startswith("SampleInput.__init__") or wrapper != "<lambda>"
    lines = [f"# Standalone repro written by jacobian-harness (opinfo pack), torch {torch.__version__}:",
             f"# {meta.get('moved_from', '') and 'moved twin of '}{meta['op']}"
             f"{'.' + meta['variant'] if meta['variant'] else ''} sample {meta['sample']} ({meta['fingerprint']})",
             f"# {method_id} against finite differences of torch's forward values ({reference_method_id} in the run)",
             "# Run: python THIS_FILE  (needs torch and numpy" + (", and expecttest for op_db)" if lookup else ")"),
             "import numpy as np", "import torch", ""]
    if lookup:
        variant = meta["variant"]
        lines += ["from torch.testing._internal.common_methods_invocations import op_db",
                  f"OP = next(o for o in op_db if o.name == {meta['op']!r} and o.variant_test_name == {variant!r})",
                  "op = OP.op" if wrapper == "<lambda>" else
                  f"op = lambda *a, **k: OP.gradcheck_wrapper(OP.op, *a, **k)  # as torch's tests call it ({wrapper})"]
        if not process.startswith("SampleInput.__init__"):
            lines += ["# The sample post-processes the output (e.g. eigenvector signs): take that from op_db too.",
                      "import itertools, zlib",
                      f"torch.manual_seed(zlib.crc32({('opinfo.' + meta['op'] + ('.' + variant if variant else ''))!r}"
                      ".encode()))",
                      f"process = list(itertools.islice(OP.sample_inputs('cpu', torch.float64, requires_grad=True), "
                      f"{meta['sample'] + 1}))[-1].output_process_fn_grad"]
        else:
            lines += ["process = lambda out: out"]
    else:
        lines += [f"op = {name}", "process = lambda out: out"]
    lines += ["", f"xs = [{', '.join(_source(a) for a in arrays)}]", "",
              f"def f({', '.join(names)}):",
              f"    out = process(op({source(sample_input)}, *{source(args)}, **{source(kwargs)}))",
              "    outs = [t for t in (out if isinstance(out, (tuple, list)) else (out,))",
              "            if isinstance(t, torch.Tensor) and t.is_floating_point()]",
              f"    outs = [outs[k] for k in {list(sample.checked or ())!r}]  # those torch marks differentiable",
              "    return outs[0] if len(outs) == 1 else torch.cat([t.reshape(-1) for t in outs])", "",
              f"ARGNUMS = tuple(range({len(arrays)}))",
              "y = f(*xs).detach()", ""]
    if method_id.startswith("torch.second-order["):
        lines += _second_order_lines(method_id)
    elif "second-order" in method_id:
        lines += [f"# {method_id} is not torch's: torch's reverse-over-reverse composition shown instead",
                  *_second_order_lines("torch.second-order[rev-rev]")]
    elif method_id in _JACOBIAN:
        lines += _jacobian_lines(_JACOBIAN[method_id])
    else:
        lines += [f"# {method_id} has no one-line torch equivalent here: torch.func.jacrev shown instead",
                  *_jacobian_lines(_JACOBIAN["torch.func.jacrev"])]
    return "\n".join(lines) + "\n"


def _jacobian_lines(expression: str) -> list[str]:
    return [
        f"got = {expression}",
        "got = [np.asarray(b.detach(), dtype=np.float64) for b in (got if isinstance(got, (tuple, list)) else (got,))]",
        "",
        "# Central differences of torch's forward values, step eps**(1/3) * max(1, |x|) per entry.",
        "want = []",
        "for k, x in enumerate(xs):",
        "    block = np.empty((y.numel(), x.numel()))",
        "    for j in range(x.numel()):",
        "        step = np.finfo(np.float64).eps ** (1 / 3) * max(1.0, abs(float(x.reshape(-1)[j])))",
        "        up, down = [t.clone() for t in xs], [t.clone() for t in xs]",
        "        up[k].view(-1)[j] += step",
        "        down[k].view(-1)[j] -= step",
        "        with torch.no_grad():",
        "            block[:, j] = ((f(*up) - f(*down)).reshape(-1) / (2 * step)).numpy()",
        "    want.append(block.reshape(tuple(y.shape) + tuple(x.shape)))",
        "",
        "np.set_printoptions(precision=6, suppress=True, linewidth=120)",
        "for k, (g, w) in enumerate(zip(got, want)):",
        "    print(f'block {k} (d out / d x{k}), method:', g, 'finite differences:', w, sep='\\n')",
        "    print('largest difference:', float(np.nanmax(np.abs(g - w))) if g.shape == w.shape else "
        "f'shapes {g.shape} vs {w.shape}')",
    ]


def _second_order_lines(method_id: str) -> list[str]:
    composition = method_id[method_id.index("[") + 1:-1]
    outer, inner = composition.split("-")
    return [
        "# The second-order check: w^T f''(x)[u, v] for the run's fixed random directions (seed 20261203).",
        "rng = np.random.default_rng(20261203)",
        "w = torch.tensor(rng.standard_normal(tuple(y.shape)))",
        "u = [torch.tensor(rng.standard_normal(tuple(x.shape))) for x in xs]",
        "v = [torch.tensor(rng.standard_normal(tuple(x.shape))) for x in xs]",
        "",
        "def inner(*p):",
        f"    return {_INNER[inner]}",
        "",
        f"got = float({_OUTER[outer]})",
        "",
        "# Mixed central second difference of g(t, s) = w . f(x + t u + s v), in float64.",
        "def g(t, s):",
        "    with torch.no_grad():",
        "        return float((w * f(*[x + t * a + s * b for x, a, b in zip(xs, u, v)])).sum())",
        "h = 1e-4",
        "want = (g(h, h) - g(h, -h) - g(-h, h) + g(-h, -h)) / (4 * h * h)",
        f"print('{method_id}:', got)",
        "print('finite differences:', want)",
        "print('difference:', got - want)",
    ]
