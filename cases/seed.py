"""Seed cases from the forum thread "How to compute Jacobian matrix in PyTorch?".

The thread's own linear example, the two kinds of network its readers differentiated (a small conv
classifier and a VAE decoder), and its `divergence` / `laplace` helpers, which differentiate through
`torch.autograd.grad(..., create_graph=True)`: their Jacobians are second- and third-order derivatives.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases._common import diverging

# --------------------------------------------------------------------------------------------------------
# A known torch bug met by the thread's own example.

FORWARD_MODE_1D_MATMUL = diverging(
    ["torch.autograd.functional.jacobian[forward-mode]"],
    kind="bug",
    reason=("torch.autograd.functional.jacobian(f, torch.ones(3), vectorize=True, strategy='forward-mode') with "
            "f = lambda x: (x @ torch.ones(3, 2)) * 1 raises 'RuntimeError: Trying to set a forward gradient that "
            "has a different size than that of the original Tensor ... size [2] while the given forward gradient is "
            "of size [1, 2]': a 1-D @ 2-D matmul followed by any op, under the legacy vmap + forward AD; "
            "torch.func.jacfwd, torch.forward_ad and (x[None] @ M)[0] are fine"),
    issue="no dedicated upstream issue found; related: pytorch/pytorch#10223 (comment of 2021-12-06 on 1-D "
          "linear inputs under forward AD + vmap)",
)

# --------------------------------------------------------------------------------------------------------
# seed.linear: the thread's example, verbatim numbers.

_W = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, -1.0]])
_B = np.array([1.0, 2.0])


@case(id="seed.linear", tags={"seed", "linalg"},
      inputs=lambda rng: (np.array([1.0, 2.0, 3.0]), _W.copy(), _B.copy()),
      wrt=(0,), row_independent=True,
      analytic=lambda x, w, b: w,
      divergences=FORWARD_MODE_1D_MATMUL)
def linear(xp, x, w, b):
    """The thread's example: y = x @ w.T + b, Jacobian with respect to x (it is w)."""
    return xp.matmul(x, w.T) + b


# --------------------------------------------------------------------------------------------------------
# seed.classifier: conv (1 -> 4 channels, 3x3) -> tanh -> linear (64 -> 3), batch of 2 images 6x6.

def _classifier_inputs(rng):
    x = rng.standard_normal((2, 1, 6, 6))
    kernel = 0.5 * rng.standard_normal((4, 1, 3, 3))
    kernel_bias = 0.1 * rng.standard_normal(4)
    weight = rng.standard_normal((3, 64)) / 8.0
    bias = 0.1 * rng.standard_normal(3)
    return x, kernel, kernel_bias, weight, bias


def _classifier_jacobian(x, kernel, kernel_bias, weight, bias):
    """Per-sample Jacobian (batch, 3, 1, 6, 6), by the chain rule written out with explicit loops."""
    batch, channels, height, width = x.shape
    n_out, _, kh, kw = kernel.shape
    oh, ow = height - kh + 1, width - kw + 1
    conv = np.zeros((batch, n_out, oh, ow))
    for o in range(n_out):
        for r in range(oh):
            for c in range(ow):
                conv[:, o, r, c] = np.einsum("bcij,cij->b", x[:, :, r:r + kh, c:c + kw], kernel[o]) + kernel_bias[o]
    slope = 1.0 - np.tanh(conv) ** 2                                       # (batch, O, oh, ow)
    jacobian = np.zeros((batch, weight.shape[0], channels, height, width))
    for o in range(n_out):
        for r in range(oh):
            for c in range(ow):
                # d logits / d hidden[o, r, c] times d hidden / d x over the receptive field
                scale = weight[:, o * oh * ow + r * ow + c][None, :] * slope[:, o, r, c][:, None]   # (batch, 3)
                jacobian[:, :, :, r:r + kh, c:c + kw] += scale[:, :, None, None, None] * kernel[o][None, None]
    return jacobian


def _classifier_torch(x, kernel, kernel_bias, weight, bias):
    # The way users meet it: torch.nn.functional.conv2d, same weights, an independent implementation.
    import torch

    hidden = torch.tanh(torch.nn.functional.conv2d(x, kernel, kernel_bias))
    return torch.nn.functional.linear(hidden.flatten(1), weight, bias)


@case(id="seed.classifier", tags={"seed", "network"}, inputs=_classifier_inputs, wrt=(0,), per_sample=True,
      analytic=_classifier_jacobian,
      impls={"torch": _classifier_torch})
def classifier(xp, x, kernel, kernel_bias, weight, bias):
    """A small conv classifier, images (2, 1, 6, 6) -> logits (2, 3); the conv written as im2col + matmul."""
    batch, channels, height, width = x.shape
    n_out, _, kh, kw = kernel.shape
    oh, ow = height - kh + 1, width - kw + 1
    # im2col: one row per (channel, kernel offset), one column per output pixel.
    columns = [xp.reshape(x[:, c, i:i + oh, j:j + ow], (batch, oh * ow))
               for c in range(channels) for i in range(kh) for j in range(kw)]
    patches = xp.stack(columns, axis=1)                                    # (batch, C*kh*kw, oh*ow)
    conv = xp.matmul(xp.reshape(kernel, (n_out, channels * kh * kw)), patches) + kernel_bias[:, None]
    hidden = xp.tanh(xp.reshape(conv, (batch, n_out * oh * ow)))          # flattened as (channel, row, col)
    return xp.matmul(hidden, weight.T) + bias


# --------------------------------------------------------------------------------------------------------
# seed.vae-decoder: latent z (32) -> tanh layer (16) -> sigmoid layer -> 8x8 image.

def _decoder_inputs(rng):
    z = rng.standard_normal(32)
    w1 = rng.standard_normal((32, 16)) / np.sqrt(32)
    b1 = 0.1 * rng.standard_normal(16)
    w2 = rng.standard_normal((16, 64)) / np.sqrt(16)
    b2 = 0.1 * rng.standard_normal(64)
    return z, w1, b1, w2, b2


def _decoder_jacobian(z, w1, b1, w2, b2):
    """d image / d z = diag(s (1 - s)) W2^T diag(1 - h^2) W1^T, reshaped to (8, 8, 32)."""
    hidden = np.tanh(z @ w1 + b1)
    image = 1.0 / (1.0 + np.exp(-(hidden @ w2 + b2)))
    jacobian = (image * (1.0 - image))[:, None] * (w2.T * (1.0 - hidden ** 2)[None, :]) @ w1.T
    return jacobian.reshape(8, 8, z.shape[-1])


@case(id="seed.vae-decoder", tags={"seed", "network"}, inputs=_decoder_inputs, wrt=(0,), row_independent=True,
      analytic=_decoder_jacobian, divergences=FORWARD_MODE_1D_MATMUL)
def vae_decoder(xp, z, w1, b1, w2, b2):
    """A VAE decoder: latent (32,) -> image (8, 8), tanh then sigmoid."""
    hidden = xp.tanh(xp.matmul(z, w1) + b1)
    logits = xp.matmul(hidden, w2) + b2
    image = 1.0 / (1.0 + xp.exp(-logits))
    return xp.reshape(image, tuple(z.shape[:-1]) + (8, 8))


# --------------------------------------------------------------------------------------------------------
# The thread's vector-calculus helpers, reimplemented: each differentiates with torch.autograd.grad and
# create_graph=True, so that the result can itself be differentiated.

def _thread_gradient(y, x):
    """d(sum y)/dx by one torch.autograd.grad call, keeping the graph (the thread's `gradient`)."""
    import torch

    return torch.autograd.grad(y, [x], grad_outputs=torch.ones_like(y), create_graph=True)[0]


def _thread_divergence(y, x):
    """sum_i dy_i/dx_i, one torch.autograd.grad call per component i (the thread's `divergence`).

    Returns shape (..., 1), as the thread's helper does."""
    import torch

    total = 0.0
    for i in range(y.shape[-1]):
        component = y[..., i]
        grad = torch.autograd.grad(component, x, torch.ones_like(component), create_graph=True)[0]
        total = total + grad[..., i:i + 1]
    return total


def _grad_enabled_leaf(x):
    """The helpers need x to require grad; make it so without cutting x off from outer differentiation.

    Inside torch.func's forward-mode transforms (jacfwd, jvp) x cannot be made to require grad: torch
    refuses requires_grad_() there, a limitation documented in torch.func's "UX Limitations" (torch.autograd
    APIs inside a transformed function). That makes the method unable to run this case: Unsupported.
    The check runs outside dynamo (torch.compiler.disable), so that under torch.compile torch's refusal is
    seen here too rather than surfacing as an InternalTorchDynamoError from the trace."""
    import torch

    return torch.compiler.disable(_make_leaf)(x)


def _make_leaf(x):
    from jacobian_harness.adapters.base import Unsupported

    if x.requires_grad:
        return x
    try:
        return x.clone().requires_grad_(True)
    except RuntimeError as exc:
        if "functorch transform" not in str(exc):
            raise
        raise Unsupported("torch.func forward-mode transforms cannot run torch.autograd.grad inside the "
                          "transformed function (torch.func UX Limitations: torch.autograd APIs); torch says: "
                          + str(exc).strip().splitlines()[0]) from exc


def _run_thread_helper(compute, x):
    """Run `compute(x)` (built on the thread's helpers) with grad mode on and x requiring grad.

    A torch.compile'd f cannot run it twice-differentiated: the helpers' torch.autograd.grad backpropagates
    through an AOT-compiled graph, and torch refuses ("torch.compile with aot_autograd does not currently
    support double backward"), a documented limitation: Unsupported, with torch's words."""
    import torch

    from jacobian_harness.adapters.base import Unsupported

    with torch.enable_grad():
        x = _grad_enabled_leaf(x)
        try:
            return compute(x)
        except RuntimeError as exc:
            if "does not currently support double backward" not in str(exc):
                raise
            raise Unsupported("torch.compile cannot differentiate through the thread's helpers here; torch says: "
                              + str(exc).strip().splitlines()[0]) from exc


def _points(rng):
    return (rng.uniform(-1.0, 1.0, (4, 3)),)


def _field(xp, x):
    """The vector field g: R^3 -> R^3 whose divergence is taken, on points x of shape (..., 3)."""
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    return xp.stack([xp.sin(x0 * x1) + x2 * x2,
                     xp.tanh(x1 + x0 * x2),
                     x1 * xp.exp(x0) * xp.cos(x2)], axis=-1)


def _field_divergence_grad(x):
    """d(div g)/dx per point, derived by hand: shape (N, 3)."""
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    t = np.tanh(x1 + x0 * x2)
    dt = -2.0 * t * (1.0 - t * t)  # d(1 - tanh(s)^2)/ds
    return np.stack([-x1 * x1 * np.sin(x0 * x1) + dt * x2 - x1 * np.exp(x0) * np.sin(x2),
                     np.cos(x0 * x1) - x0 * x1 * np.sin(x0 * x1) + dt - np.exp(x0) * np.sin(x2),
                     dt * x0 - x1 * np.exp(x0) * np.cos(x2)], axis=-1)


def _divergence_torch(x):
    import array_api_compat.torch as xp

    return _run_thread_helper(lambda x: _thread_divergence(_field(xp, x), x)[..., 0], x)


def _divergence_jax(x):
    import jax
    import jax.numpy as jnp

    jacobian = jax.jacfwd(lambda p: _field(jnp, p))
    return jax.vmap(lambda p: jnp.trace(jacobian(p)))(x)


def _divergence_autograd(x):
    import autograd
    import autograd.numpy as anp

    jacobian = autograd.jacobian(lambda p: _field(anp, p))
    return anp.stack([anp.trace(jacobian(x[i])) for i in range(x.shape[0])])


@case(id="seed.divergence", tags={"seed", "higher-order"}, inputs=_points, per_sample=True,
      analytic=lambda x: _field_divergence_grad(x),
      impls={"torch": _divergence_torch, "jax": _divergence_jax, "autograd": _divergence_autograd})
def divergence(xp, x):
    """div g at 4 points: torch by the thread's helper, jax/autograd by Jacobian traces, NumPy by formula."""
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    t = xp.tanh(x1 + x0 * x2)
    return x1 * xp.cos(x0 * x1) + (1.0 - t * t) - x1 * xp.exp(x0) * xp.sin(x2)


# --------------------------------------------------------------------------------------------------------
# seed.laplacian: the thread's laplace(u, x) = divergence(gradient(u, x), x).

def potential(xp, x):
    """The scalar field u: R^3 -> R, on points x of shape (..., 3)."""
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    return xp.sin(x0) * x1 * x1 + xp.exp(x1 * x2) + x0 * x2 * x2 * x2


def _laplacian_grad(x):
    """d(lap u)/dx per point, derived by hand: shape (N, 3)."""
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    e = np.exp(x1 * x2)
    r2 = x1 * x1 + x2 * x2
    return np.stack([np.cos(x0) * (2.0 - x1 * x1) + 6.0 * x2,
                     -2.0 * x1 * np.sin(x0) + 2.0 * x1 * e + r2 * x2 * e,
                     2.0 * x2 * e + r2 * x1 * e + 6.0 * x0], axis=-1)


def _laplacian_torch(x):
    import array_api_compat.torch as xp

    return _run_thread_helper(lambda x: _thread_divergence(_thread_gradient(potential(xp, x), x), x)[..., 0], x)


def _laplacian_jax(x):
    import jax
    import jax.numpy as jnp

    hessian = jax.hessian(lambda p: potential(jnp, p))
    return jax.vmap(lambda p: jnp.trace(hessian(p)))(x)


def _laplacian_autograd(x):
    import autograd
    import autograd.numpy as anp

    hessian = autograd.hessian(lambda p: potential(anp, p))
    return anp.stack([anp.trace(hessian(x[i])) for i in range(x.shape[0])])


@case(id="seed.laplacian", tags={"seed", "higher-order"}, inputs=_points, per_sample=True,
      analytic=lambda x: _laplacian_grad(x),
      impls={"torch": _laplacian_torch, "jax": _laplacian_jax, "autograd": _laplacian_autograd})
def laplacian(xp, x):
    """Laplacian of u at 4 points: torch by the thread's helpers, jax/autograd by Hessian traces, NumPy by formula."""
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    return xp.sin(x0) * (2.0 - x1 * x1) + (x1 * x1 + x2 * x2) * xp.exp(x1 * x2) + 6.0 * x0 * x2
