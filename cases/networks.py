"""Networks, the way users meet them: MLPs differentiated with respect to their input and their parameters.

Two questions from the forum thread "How to compute Jacobian matrix in PyTorch?":

* the Jacobian of a network's output with respect to its *input* (a sensitivity map), here for MLPs of
  several widths and depths, tanh activations, weights as constants;
* the Jacobian with respect to the *parameters* ("I don't see a way to extend it to parameter vectors"):
  every weight and bias is a differentiated input and the data is a constant, so that each method returns
  one block per parameter, of shape out.shape + param.shape. The torch implementation is a real
  `torch.nn.Sequential` evaluated with `torch.func.functional_call`, which is how that question is
  answered in today's PyTorch.

Weights are float64 draws of the seeded generator, scaled by 1/sqrt(fan-in) so that tanh stays away from
saturation and every Jacobian entry is of order one.
"""

from __future__ import annotations

import numpy as np

from jacobian_harness.casedef import case
from jacobian_harness.cases.seed import FORWARD_MODE_1D_MATMUL
from jacobian_harness.cases.seed import _classifier_inputs as _seed_classifier_inputs
from jacobian_harness.cases.seed import classifier as _seed_classifier


# --------------------------------------------------------------------------------------------------------
# Shared pieces: an MLP stored as (W, b) pairs with W of shape (in, out), applied as x @ W + b, so that
# the same code maps over any number of leading axes of x.

def _layers(rng, widths):
    """Weights (in, out) and biases (out,) for consecutive widths, as a flat tuple W1, b1, W2, b2, ..."""
    params = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        params.append(rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in))
        params.append(0.1 * rng.standard_normal(fan_out))
    return tuple(params)


def _mlp(xp, x, params):
    """tanh on every hidden layer, linear output layer; x has shape (..., in)."""
    pairs = list(zip(params[0::2], params[1::2], strict=True))
    h = x
    for k, (w, b) in enumerate(pairs):
        h = xp.matmul(h, w) + b
        if k < len(pairs) - 1:
            h = xp.tanh(h)
    return h


def _mlp_input_jacobian(x, *params):
    """d out / d x by the chain rule: W_L^T diag(1 - h_{L-1}^2) W_{L-1}^T ... diag(1 - h_1^2) W_1^T.

    x has shape (in,) or (batch, in); the result is (out, in) or, per sample, (batch, out, in).
    """
    batched = np.atleast_2d(x)                                    # (B, in)
    pairs = list(zip(params[0::2], params[1::2], strict=True))
    jacobian = np.broadcast_to(np.eye(batched.shape[-1]), (batched.shape[0],) + (batched.shape[-1],) * 2)
    h = batched
    for k, (w, b) in enumerate(pairs):
        h = h @ w + b
        jacobian = np.einsum("oi,bin->bon", w.T, jacobian)        # through the linear map
        if k < len(pairs) - 1:
            h = np.tanh(h)
            jacobian = (1.0 - h ** 2)[:, :, None] * jacobian      # through tanh
    return jacobian[0] if np.ndim(x) == 1 else jacobian


def _mlp_inputs(widths, batch=None):
    def make(rng):
        shape = (widths[0],) if batch is None else (batch, widths[0])
        return (rng.standard_normal(shape),) + _layers(rng, widths)

    return make


# --------------------------------------------------------------------------------------------------------
# Jacobians with respect to the input. One point (1-D x) is how a sensitivity map is usually asked for,
# and it meets the known torch bug of 1-D @ 2-D matmul under autograd.functional.jacobian's forward mode
# (declared in cases.seed); the deep MLP takes a batch of points instead, one Jacobian per sample.

@case(id="net.mlp-narrow", tags={"network", "mlp"}, inputs=_mlp_inputs((4, 8, 3)), wrt=(0,),
      row_independent=True, analytic=_mlp_input_jacobian, divergences=FORWARD_MODE_1D_MATMUL)
def mlp_narrow(xp, x, w1, b1, w2, b2):
    """A narrow MLP 4 -> 8 -> 3 (tanh), Jacobian (3, 4) of the output with respect to one input point."""
    return _mlp(xp, x, (w1, b1, w2, b2))


@case(id="net.mlp-wide", tags={"network", "mlp"}, inputs=_mlp_inputs((16, 64, 16)), wrt=(0,),
      row_independent=True, analytic=_mlp_input_jacobian, divergences=FORWARD_MODE_1D_MATMUL)
def mlp_wide(xp, x, w1, b1, w2, b2):
    """A wide MLP 16 -> 64 -> 16 (tanh), Jacobian (16, 16) with respect to one input point."""
    return _mlp(xp, x, (w1, b1, w2, b2))


@case(id="net.mlp-deep", tags={"network", "mlp"}, inputs=_mlp_inputs((8, 8, 8, 8, 4), batch=3), wrt=(0,),
      per_sample=True, analytic=_mlp_input_jacobian)
def mlp_deep(xp, x, w1, b1, w2, b2, w3, b3, w4, b4):
    """A deep MLP 8 -> 8 -> 8 -> 8 -> 4 (tanh) on a batch of 3 points: per-sample Jacobians (3, 4, 8)."""
    return _mlp(xp, x, (w1, b1, w2, b2, w3, b3, w4, b4))


# --------------------------------------------------------------------------------------------------------
# net.mlp-params: the Jacobian of a small MLP's outputs with respect to every weight and bias.
# Layout of torch.nn.Linear: weight (out, in), applied as x @ W.T + b, so that the very same arrays can be
# handed to the module by torch.func.functional_call.

_PARAM_WIDTHS = (4, 5, 2)
_PARAM_NAMES = ("0.weight", "0.bias", "2.weight", "2.bias")


def _params_inputs(rng):
    n_in, n_hidden, n_out = _PARAM_WIDTHS
    x = rng.standard_normal((3, n_in))
    w1 = rng.standard_normal((n_hidden, n_in)) / np.sqrt(n_in)
    b1 = 0.1 * rng.standard_normal(n_hidden)
    w2 = rng.standard_normal((n_out, n_hidden)) / np.sqrt(n_hidden)
    b2 = 0.1 * rng.standard_normal(n_out)
    return x, w1, b1, w2, b2


def _params_jacobian(x, w1, b1, w2, b2):
    """One block per parameter, each (batch, out) + param.shape, by the chain rule.

    With h = tanh(x W1^T + b1) and y = h W2^T + b2:
    dy[n,i]/dW2[j,k] = [i=j] h[n,k];  dy[n,i]/db2[j] = [i=j];
    dy[n,i]/db1[k] = W2[i,k] (1 - h[n,k]^2);  dy[n,i]/dW1[k,l] = W2[i,k] (1 - h[n,k]^2) x[n,l].
    """
    h = np.tanh(x @ w1.T + b1)
    n_out = w2.shape[0]
    eye = np.eye(n_out)
    through_hidden = w2[None, :, :] * (1.0 - h ** 2)[:, None, :]             # (batch, out, hidden)
    d_w1 = np.einsum("nik,nl->nikl", through_hidden, x)
    d_b1 = through_hidden
    d_w2 = np.einsum("ij,nk->nijk", eye, h)
    d_b2 = np.broadcast_to(eye, (x.shape[0], n_out, n_out)).copy()
    return d_w1, d_b1, d_w2, d_b2


def _mlp_params_torch(x, w1, b1, w2, b2):
    import torch

    module = _torch_mlp_module(w1.dtype)
    return torch.func.functional_call(module, dict(zip(_PARAM_NAMES, (w1, b1, w2, b2), strict=True)), (x,))


@case(id="net.mlp-params", tags={"network", "mlp", "parameters"}, inputs=_params_inputs, wrt=(1, 2, 3, 4),
      analytic=_params_jacobian,
      impls={"torch": _mlp_params_torch})
def mlp_params(xp, x, w1, b1, w2, b2):
    """MLP 4 -> 5 -> 2 (tanh) on a constant batch of 3 inputs, Jacobian with respect to W1, b1, W2, b2."""
    hidden = xp.tanh(xp.matmul(x, w1.T) + b1)
    return xp.matmul(hidden, w2.T) + b2


# One torch.nn.Sequential per (dtype, widths), built on first use: a user builds the module once and asks
# for Jacobians with respect to its parameters many times.
_TORCH_MODULES: dict = {}


def _torch_mlp_module(dtype):
    import torch

    key = (dtype, _PARAM_WIDTHS)
    module = _TORCH_MODULES.get(key)
    if module is None:
        n_in, n_hidden, n_out = _PARAM_WIDTHS
        module = torch.nn.Sequential(torch.nn.Linear(n_in, n_hidden), torch.nn.Tanh(),
                                     torch.nn.Linear(n_hidden, n_out)).to(dtype)
        module.requires_grad_(False)   # its own parameters are placeholders: functional_call swaps them out
        _TORCH_MODULES[key] = module
    return module


# --------------------------------------------------------------------------------------------------------
# net.classifier-params: seed.classifier's conv classifier, differentiated with respect to its conv kernel
# and kernel bias (the images and the dense layer are constants). torch runs torch.nn.functional.conv2d.

def _classifier_params_jacobian(x, kernel, kernel_bias, weight, bias):
    """d logits / d kernel (2, 3, 4, 1, 3, 3) and d logits / d kernel_bias (2, 3, 4), by the chain rule."""
    batch, channels, height, width = x.shape
    n_out, _, kh, kw = kernel.shape
    oh, ow = height - kh + 1, width - kw + 1
    # patches[b, c, i, j, r, s] = x[b, c, r + i, s + j]: the input under kernel offset (i, j) at pixel (r, s)
    patches = np.empty((batch, channels, kh, kw, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patches[:, :, i, j] = x[:, :, i:i + oh, j:j + ow]
    conv = np.einsum("ocij,bcijrs->bors", kernel, patches) + kernel_bias[None, :, None, None]
    slope = 1.0 - np.tanh(conv) ** 2                                        # (batch, O, oh, ow)
    dense = weight.reshape(weight.shape[0], n_out, oh, ow)                  # (classes, O, oh, ow)
    through = dense[None] * slope[:, None]                                  # (batch, classes, O, oh, ow)
    d_kernel = np.einsum("bmors,bcijrs->bmocij", through, patches)
    d_bias = through.sum(axis=(3, 4))
    return d_kernel, d_bias


def _classifier_params_torch(x, kernel, kernel_bias, weight, bias):
    return _seed_classifier.impl_for("torch")(x, kernel, kernel_bias, weight, bias)


@case(id="net.classifier-params", tags={"network", "conv", "parameters"}, inputs=_seed_classifier_inputs,
      wrt=(1, 2), analytic=_classifier_params_jacobian,
      impls={"torch": _classifier_params_torch})
def classifier_params(xp, x, kernel, kernel_bias, weight, bias):
    """seed.classifier's conv net (2 images 6x6 -> 3 logits), Jacobian with respect to its conv kernel and bias."""
    return _seed_classifier.fn(xp, x, kernel, kernel_bias, weight, bias)
