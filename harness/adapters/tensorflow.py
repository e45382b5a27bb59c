"""TensorFlow (optional extra `tensorflow`): GradientTape.jacobian with and without pfor, batch_jacobian, and
the seed thread's tf.gradients route (one gradient per output element, inside a tf.function).

Cases written against `xp` receive `tf.experimental.numpy` with NumPy behaviour enabled, so they run
unchanged where TF's NumPy API has the function; where it does not, the pair is an error naming it.
"""

from __future__ import annotations

import functools
import os

import numpy as np

from jacobian_harness.adapters.base import Backend, Unsupported


class TensorFlowBackend(Backend):
    name = "tensorflow"
    import_name = "tensorflow"
    packages = ("tensorflow",)
    extra = "tensorflow"
    checked = ("2.21.0",)
    colour = "#6a1b9a"

    def load(self):
        # TF logs start-up notices from C++ (and, on a machine without a GPU, a failed cuInit at ERROR
        # level) unless told not to before its import; Python exceptions still say what went wrong.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        return super().load()

    def setup(self, tf):
        tf.experimental.numpy.experimental_enable_numpy_behavior(prefer_float32=False)
        return tf

    def set_threads(self, tf, threads: int) -> None:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # already initialized by an earlier pair in this process: the first setting holds
            pass

    def namespace(self, tf):
        return tf.experimental.numpy

    def asarray(self, tf, array, dtype):
        array = np.asarray(array)
        return tf.constant(array.astype(dtype) if array.dtype.kind == "f" else array)

    def to_numpy(self, tf, value):
        return value.numpy() if hasattr(value, "numpy") else np.asarray(value)

    def classify(self, exc: BaseException) -> str:
        # TF's NumPy API lacks a function the case calls (linalg, pow, atan2 ...), or an op has no
        # gradient: "this backend cannot run this case", not a wrong answer.
        if isinstance(exc, AttributeError) and "experimental.numpy" in str(exc):
            return "unsupported"
        if isinstance(exc, LookupError) and "gradient" in str(exc).lower():
            return "unsupported"
        return super().classify(exc)


tf_backend = TensorFlowBackend()
GRADIENTS_LOOP_MAX = 256
# The loop's graph grows as outputs x ops of f: gradbench.ode at its medium size (32 outputs x 2678 ops) took
# 226 s to build here, while the largest small case, adbench.hand (29,664), takes seconds.
GRADIENTS_LOOP_MAX_OPS = 50_000
method = tf_backend.method


def _graph(tf, python_function):
    """One tf.function per (case, method), traced at the first call (preparation), as TF's guide does it:
    eager, GradientTape.jacobian converts its pfor loop again on every call (0.7 s a call here, and a
    retracing warning). No autograph: see _gradients_loop."""
    return functools.partial(tf.function, autograph=False)(python_function)


def _tape_jacobian(tf, p, use_pfor: bool):
    zero = tf.UnconnectedGradients.ZERO

    def jacobian(*args):
        with tf.GradientTape(persistent=not use_pfor) as tape:
            for arg in args:
                tape.watch(arg)
            y = p.fn(*args)
        return tuple(tape.jacobian(y, list(args), experimental_use_pfor=use_pfor, unconnected_gradients=zero))

    graph = _graph(tf, jacobian)
    return lambda: graph(*p.args)


def _graph_baseline(tf, fn):
    return _graph(tf, fn)  # f as the methods run it, so that J/f compares graph with graph


@method("tensorflow.jacobian", mode="reverse", baseline=_graph_baseline)
def _jacobian_pfor(tf, p):
    """tf.GradientTape.jacobian (experimental_use_pfor=True, the default: vectorized by pfor), in a tf.function."""
    return _tape_jacobian(tf, p, use_pfor=True)


@method("tensorflow.jacobian[while-loop]", mode="reverse", baseline=_graph_baseline)
def _jacobian_loop(tf, p):
    """tf.GradientTape.jacobian(experimental_use_pfor=False): one gradient per output in a tf.while_loop, in a
    tf.function."""
    return _tape_jacobian(tf, p, use_pfor=False)


@method("tensorflow.batch_jacobian", mode="reverse", baseline=_graph_baseline)
def _batch_jacobian(tf, p):
    """tf.GradientTape.batch_jacobian: per-sample Jacobians of per-sample cases (one input), in a tf.function."""
    if not p.per_sample or len(p.args) != 1 or len(p.args[0].shape) < 2 or len(p.out_shape) < 2:
        raise Unsupported("batch_jacobian needs a per-sample case with one differentiated input, and input "
                          "and output of rank 2 or more (a batch of vectors)")

    def jacobian(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = p.fn(x)
        return (tape.batch_jacobian(y, x, unconnected_gradients=tf.UnconnectedGradients.ZERO),)

    graph = _graph(tf, jacobian)
    return lambda: graph(*p.args)


@method("tensorflow.gradients-loop", mode="reverse", baseline=_graph_baseline)
def _gradients_loop(tf, p):
    """The seed thread's route: tf.gradients of each output element, in one tf.function graph."""
    n_out = int(np.prod(p.out_shape))
    if n_out > GRADIENTS_LOOP_MAX:
        # One gradient subgraph per output: for adbench.hand that alone took 53 s here.
        raise Unsupported(f"{n_out} outputs: the tf.gradients loop builds one subgraph per output "
                          f"(at most {GRADIENTS_LOOP_MAX} here)")
    ops = len(tf.function(p.fn, autograph=False).get_concrete_function(*p.args).graph.get_operations())
    if n_out * ops > GRADIENTS_LOOP_MAX_OPS:
        raise Unsupported(f"{n_out} outputs x {ops} graph ops of f: the tf.gradients loop builds one subgraph "
                          f"per output (at most {GRADIENTS_LOOP_MAX_OPS} ops in all here)")

    # No autograph: the loop unrolls at trace time anyway, and autograph caches its conversion of a case
    # helper by code object, so in a long-lived worker a helper of an earlier case (same code, other closure)
    # was called instead ("tf___skew() takes 1 positional argument but 3 were given" on op.cross).
    @functools.partial(_graph, tf)
    def jacobian(*args):
        y = tf.reshape(p.fn(*args), [-1])
        rows = [tf.gradients(y[i], list(args), unconnected_gradients=tf.UnconnectedGradients.ZERO)
                for i in range(n_out)]
        return tuple(tf.reshape(tf.stack([row[k] for row in rows]), list(p.out_shape) + list(a.shape))
                     for k, a in enumerate(args))

    return lambda: jacobian(*p.args)
