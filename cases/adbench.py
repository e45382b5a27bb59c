"""Workloads of ADBench (the AD benchmark of Srajer, Habib and Fitzgibbon), written once for every backend.

Four objectives, each with `small` (default and --quick runs: tiny), `medium` and `large` (benchmark)
presets. The math is written here from the published problem statements; inputs are generated from the
case's seeded `numpy.random.Generator` (no data files): each input factory below says how.

* `adbench.gmm`   Gaussian mixture log-likelihood plus a Wishart prior; gradient w.r.t. alphas, means and
                  the packed inverse-covariance factors (analytic gradient written out in NumPy).
* `adbench.ba`    bundle-adjustment residuals (Rodrigues rotation, perspective division, radial
                  distortion, weighted), Jacobian w.r.t. cameras, points and weights: sparse, checked dense.
* `adbench.hand`  a reduced skinned hand: 26 pose parameters (global angle-axis and translation, 4 angles
                  per finger), a 16-bone chain, linear blend skinning, residuals against target points.
* `adbench.lstm`  ADBench's LSTM objective: stacked cells with diagonal (elementwise) weights, a softmax-style
                  normalisation of each prediction, gradient w.r.t. the cell and extra parameters.

Portability rules followed here: only names shared by array_api_compat.torch, jax.numpy, autograd.numpy
and numpy; no in-place writes; matrices built with `xp.stack`; integer index arrays are non-differentiated
inputs; no Python control flow on array values.
"""

from __future__ import annotations

import math

import numpy as np

from jacobian_harness.casedef import case


# --------------------------------------------------------------------------------------------------------
# Shared geometry: rotation matrices, written once.

def _rotate(xp, r, x):
    """Rotate vectors x (..., 3) by angle-axis vectors r (..., 3) (broadcast), by Rodrigues' formula.

    R x = cos(t) x + sin(t) (v cross x) + (1 - cos(t)) (v . x) v with t = |r|, v = r / t. Undefined at
    r = 0 (the generators never produce it: every angle-axis input is drawn from a continuous distribution)."""
    theta = xp.sqrt(xp.sum(r * r, axis=-1, keepdims=True))
    v = r / theta
    c, s = xp.cos(theta), xp.sin(theta)
    v0, v1, v2 = v[..., 0], v[..., 1], v[..., 2]
    x0, x1, x2 = x[..., 0], x[..., 1], x[..., 2]
    cross = xp.stack([v1 * x2 - v2 * x1, v2 * x0 - v0 * x2, v0 * x1 - v1 * x0], axis=-1)
    return c * x + s * cross + (1.0 - c) * xp.sum(v * x, axis=-1, keepdims=True) * v


def _rotation_matrix_np(r):
    """The matrix of the rotation by angle-axis r (3,): its columns are the rotated unit vectors."""
    return _rotate(np, np.asarray(r, dtype=np.float64)[None, :], np.eye(3)).T


# --------------------------------------------------------------------------------------------------------
# adbench.gmm

WISHART_GAMMA = 1.0   # the Wishart prior's scale: precision matrices Q^T Q ~ Wishart(I / gamma^2, d + m + 1)
WISHART_M = 1         # degrees of freedom beyond the minimum d + 1 (m log det Q appears in the prior)


def _tril_pairs(d: int) -> list[tuple[int, int]]:
    """Strictly lower-triangular positions (row, col) in packing order: column by column (column-major)."""
    return [(r, c) for c in range(d) for r in range(c + 1, d)]


def _gmm_constant(n: int, d: int, k: int) -> float:
    """The normalising constants: Gaussian -n d/2 log(2 pi), and k times the Wishart normaliser."""
    nu = d + WISHART_M + 1
    log_multigamma = d * (d - 1) / 4 * math.log(math.pi) + sum(math.lgamma(0.5 * nu + (1 - j) / 2)
                                                                for j in range(1, d + 1))
    wishart = nu * d * (math.log(WISHART_GAMMA) - 0.5 * math.log(2.0)) - log_multigamma
    return -0.5 * n * d * math.log(2.0 * math.pi) + k * wishart


def _gmm_inputs(rng, n=10, d=2, k=3):
    """alphas (k,) ~ N(0, 1); means (k, d) ~ N(0, 1); icf (k, d + d(d-1)/2) ~ N(0, 0.5^2) (log of the
    diagonal of Q, then its strictly lower part packed column-major); data x (n, d) ~ N(0, 1), a constant."""
    alphas = rng.standard_normal(k)
    means = rng.standard_normal((k, d))
    icf = 0.5 * rng.standard_normal((k, d + d * (d - 1) // 2))
    x = rng.standard_normal((n, d))
    return alphas, means, icf, x


def _logsumexp(xp, a, axis):
    top = xp.max(a, axis=axis, keepdims=True)
    return xp.log(xp.sum(xp.exp(a - top), axis=axis)) + xp.sum(top, axis=axis)


def _gmm_numpy_parts(alphas, means, icf, x):
    """Q (k, d, d), z = x - mu (k, n, d), Qz (k, n, d), the responsibilities w (k, n)."""
    k, d = means.shape
    q = np.zeros((k, d, d))
    q[:, np.arange(d), np.arange(d)] = np.exp(icf[:, :d])
    for p, (r, c) in enumerate(_tril_pairs(d)):
        q[:, r, c] = icf[:, d + p]
    z = x[None, :, :] - means[:, None, :]
    qz = np.einsum("krc,knc->knr", q, z)
    beta = alphas[:, None] + icf[:, :d].sum(axis=1)[:, None] - 0.5 * (qz ** 2).sum(axis=2)
    w = np.exp(beta - beta.max(axis=0, keepdims=True))
    return q, z, qz, w / w.sum(axis=0, keepdims=True)


def _gmm_gradient(alphas, means, icf, x):
    """The gradient, by hand: with responsibilities w_ik = softmax_k(beta_ik),
    d/d alpha_k = sum_i w_ik - n softmax(alpha)_k; d/d mu_k = sum_i w_ik Q_k^T Q_k z_ik;
    d/d Q_k = -sum_i w_ik (Q_k z_ik) z_ik^T - gamma^2 Q_k; d/d icf_diag = sum_i w_ik + m + exp(icf) * dQ_rr."""
    n, d = x.shape
    q, z, qz, w = _gmm_numpy_parts(alphas, means, icf, x)
    soft = np.exp(alphas - alphas.max())
    d_alphas = w.sum(axis=1) - n * soft / soft.sum()
    d_means = np.einsum("kn,krc,knr->kc", w, q, qz)
    d_q = -np.einsum("kn,knr,knc->krc", w, qz, z) - WISHART_GAMMA ** 2 * q
    diag = np.arange(d)
    d_icf = np.empty_like(icf)
    d_icf[:, :d] = w.sum(axis=1)[:, None] + WISHART_M + np.exp(icf[:, :d]) * d_q[:, diag, diag]
    for p, (r, c) in enumerate(_tril_pairs(d)):
        d_icf[:, d + p] = d_q[:, r, c]
    return d_alphas, d_means, d_icf


@case(id="adbench.gmm", tags={"adbench", "workload"}, inputs=_gmm_inputs, wrt=(0, 1, 2),
      sizes={"small": {"n": 10, "d": 2, "k": 3},       # 18 differentiated inputs, scalar output
             "medium": {"n": 200, "d": 4, "k": 8},     # 120 inputs
             "large": {"n": 2000, "d": 10, "k": 25}},  # 1650 inputs
      analytic=_gmm_gradient)
def gmm(xp, alphas, means, icf, x):
    """GMM log-likelihood + Wishart log-prior, w.r.t. alphas, means, packed inverse-covariance factors.

    Component k has precision Q_k^T Q_k, Q_k lower triangular with diagonal exp(icf_k[:d]) and the
    strictly lower part icf_k[d:] packed column-major. f = sum_i logsumexp_k(alpha_k + sum(icf_k[:d])
    - |Q_k (x_i - mu_k)|^2 / 2) - n logsumexp(alpha) + sum_k (m sum(icf_k[:d]) - gamma^2 |Q_k|_F^2 / 2)
    + constants (Gaussian and Wishart normalisers), gamma = 1, m = 1.
    """
    n, d = x.shape
    k = means.shape[0]
    diag = xp.exp(icf[:, :d])                                   # (k, d)
    z = x[None, :, :] - means[:, None, :]                       # (k, n, d)
    lower = {pair: p for p, pair in enumerate(_tril_pairs(d))}
    rows = []
    for r in range(d):                                          # (Q_k z)_r = exp(icf_r) z_r + sum_{c<r} L_rc z_c
        row = diag[:, r:r + 1] * z[:, :, r]
        for c in range(r):
            row = row + icf[:, d + lower[(r, c)]:d + lower[(r, c)] + 1] * z[:, :, c]
        rows.append(row)
    qz = xp.stack(rows, axis=-1)                                # (k, n, d)
    beta = (alphas + xp.sum(icf[:, :d], axis=1))[:, None] - 0.5 * xp.sum(qz * qz, axis=-1)   # (k, n)
    likelihood = xp.sum(_logsumexp(xp, beta, axis=0)) - n * _logsumexp(xp, alphas, axis=0)
    frobenius = xp.sum(diag * diag) + xp.sum(icf[:, d:] * icf[:, d:])
    prior = WISHART_M * xp.sum(icf[:, :d]) - 0.5 * WISHART_GAMMA ** 2 * frobenius
    return likelihood + prior + _gmm_constant(n, d, k)


# --------------------------------------------------------------------------------------------------------
# adbench.ba
#
# Structural sparsity of the Jacobian of the (n_obs, 3) residuals w.r.t. (cameras (n_cams, 11), points
# (n_pts, 3), weights (n_obs,)): each of the two reprojection residuals of an observation touches 10 of its
# camera's 11 parameters (only its own principal-point coordinate), its point's 3 and its weight (14
# entries); the weight residual touches only its weight (1 entry). The nonzero fraction is therefore
# 29 / (3 * (11 n_cams + 3 n_pts + n_obs)) (checked in tests/test_workload_cases.py):
#   small  (2 cams,  4 pts,    8 obs): 29 / 126  = 0.230
#   medium (6 cams,  40 pts,  120 obs): 29 / 918  = 0.0316
#   large  (10 cams, 500 pts, 1500 obs): 29 / 9330 = 0.00311

BA_SPARSITY = {"small": 29 / 126, "medium": 29 / 918, "large": 29 / 9330}


def _ba_inputs(rng, n_cams=2, n_pts=4, views=2):
    """Cameras (n_cams, 11) = [angle-axis rotation ~ N(0, 0.1^2) (3), centre (0, 0, -6) + N(0, 0.3^2) (3),
    focal 1 + N(0, 0.05^2), principal point N(0, 0.01^2) (2), radial distortion N(0, 0.01^2) (2)];
    points (n_pts, 3) ~ U(-1, 1) (in front of every camera: depth 6 +- 1.5); weights 1 + N(0, 0.1^2);
    each point seen by `views` distinct random cameras (cam_idx, pt_idx int64); observed features
    = the model's projection + N(0, 0.01^2)."""
    cams = np.concatenate([0.1 * rng.standard_normal((n_cams, 3)),
                           np.array([0.0, 0.0, -6.0]) + 0.3 * rng.standard_normal((n_cams, 3)),
                           1.0 + 0.05 * rng.standard_normal((n_cams, 1)),
                           0.01 * rng.standard_normal((n_cams, 2)),
                           0.01 * rng.standard_normal((n_cams, 2))], axis=1)
    points = rng.uniform(-1.0, 1.0, (n_pts, 3))
    cam_idx = np.concatenate([rng.choice(n_cams, size=views, replace=False) for _ in range(n_pts)]).astype(np.int64)
    pt_idx = np.repeat(np.arange(n_pts), views).astype(np.int64)
    weights = 1.0 + 0.1 * rng.standard_normal(len(pt_idx))
    feats = _ba_project(np, cams[cam_idx], points[pt_idx]) + 0.01 * rng.standard_normal((len(pt_idx), 2))
    return cams, points, weights, feats, cam_idx, pt_idx


def _ba_project(xp, cam, point):
    """Per observation: camera rows (n, 11) and points (n, 3) -> projections (n, 2)."""
    local = _rotate(xp, cam[:, 0:3], point - cam[:, 3:6])                     # R (X - C)
    p = local[:, 0:2] / local[:, 2:3]                                         # perspective division
    rsq = xp.sum(p * p, axis=1, keepdims=True)
    distortion = 1.0 + cam[:, 9:10] * rsq + cam[:, 10:11] * rsq * rsq
    return cam[:, 6:7] * distortion * p + cam[:, 7:9]


@case(id="adbench.ba", tags={"adbench", "workload", "sparse"}, inputs=_ba_inputs, wrt=(0, 1, 2),
      sizes={"small": {"n_cams": 2, "n_pts": 4, "views": 2},       # 42 inputs, 24 outputs
             "medium": {"n_cams": 6, "n_pts": 40, "views": 3},     # 306 inputs, 360 outputs
             "large": {"n_cams": 10, "n_pts": 500, "views": 3}})   # 3110 inputs, 4500 outputs
def ba(xp, cams, points, weights, feats, cam_idx, pt_idx):
    """Bundle-adjustment residuals (n_obs, 3); sparse Jacobian: nonzero fraction 0.230 small, 0.032 medium, 0.0031 large

    Per observation (camera c, point X, weight w, feature u): residual w * (f L(|p|^2) p + x0 - u) with
    p = (R X')_{0:2} / (R X')_2, X' = X - C, R from the camera's angle-axis, L(s) = 1 + k1 s + k2 s^2,
    then the weight residual 1 - w^2. Checked as a dense Jacobian (see the sparsity comment above).
    """
    projection = _ba_project(xp, cams[cam_idx], points[pt_idx])
    reprojection = weights[:, None] * (projection - feats)
    return xp.concatenate([reprojection, (1.0 - weights * weights)[:, None]], axis=1)


# --------------------------------------------------------------------------------------------------------
# adbench.hand: a reduced hand model that keeps ADBench's structure (pose -> per-bone rotations -> bone
# chain -> linear blend skinning -> global rotation and translation -> residuals to target points).
#
# Bones, numbered level by level: 0 is the wrist (root); bone 1 + 5 j + f is finger f's bone at level j
# (j = 0 proximal, 1 middle, 2 distal), whose parent is the wrist for j = 0, else bone 1 + 5 (j - 1) + f.
# Pose (26): [0:3] global angle-axis, [3:6] global translation, then per finger f, at 6 + 4 f: proximal
# flexion, proximal abduction, middle flexion, distal flexion. The chain is evaluated one level (five
# bones) at a time, so that the graph stays small.

HAND_BONES = 16
HAND_PARENT = [-1] + [0 if j == 0 else 1 + 5 * (j - 1) + f for j in range(3) for f in range(5)]
HAND_LENGTHS = (0.5, 0.35, 0.25)   # proximal, middle, distal


def _rot_x(xp, a):
    """Rotations about x by angles a (n,) -> (n, 3, 3)."""
    zero = a * 0.0
    one = zero + 1.0
    c, s = xp.cos(a), xp.sin(a)
    return xp.stack([xp.stack([one, zero, zero], axis=-1), xp.stack([zero, c, -s], axis=-1),
                     xp.stack([zero, s, c], axis=-1)], axis=-2)


def _rot_z(xp, a):
    """Rotations about z by angles a (n,) -> (n, 3, 3)."""
    zero = a * 0.0
    one = zero + 1.0
    c, s = xp.cos(a), xp.sin(a)
    return xp.stack([xp.stack([c, -s, zero], axis=-1), xp.stack([s, c, zero], axis=-1),
                     xp.stack([zero, zero, one], axis=-1)], axis=-2)


def _hand_inputs(rng, n_verts=24, n_corr=24):
    """A rest skeleton: finger f's proximal bone starts at ((f - 2) / 4, 1, 0) (the palm), bones point along
    +y with lengths 0.5, 0.35, 0.25, each proximal bone's rest rotation a random angle-axis N(0, 0.1^2).
    Vertices: a random bone each, placed along it plus N(0, 0.05^2), skinned to that bone (weight
    U(0.6, 1)) and its parent (the rest; wrist vertices weight 1); correspondences: n_corr random vertices;
    target points: the model at a pose N(0, 0.3^2) (translation N(0, 0.1^2)) plus N(0, 0.01^2); the input
    pose is that pose plus N(0, 0.1^2)."""
    rel_r = np.tile(np.eye(3), (HAND_BONES, 1, 1))
    rel_t = np.zeros((HAND_BONES, 3))
    length = np.ones(HAND_BONES)
    for j in range(3):
        for f in range(5):
            bone = 1 + 5 * j + f
            length[bone] = HAND_LENGTHS[j]
            if j == 0:
                rel_r[bone] = _rotation_matrix_np(0.1 * rng.standard_normal(3))
                rel_t[bone] = [(f - 2) / 4.0, 1.0, 0.0]
            else:
                rel_t[bone] = [0.0, HAND_LENGTHS[j - 1], 0.0]
    abs_r, abs_t = rel_r.copy(), rel_t.copy()
    for b in range(1, HAND_BONES):                      # parents come first in this numbering
        parent = HAND_PARENT[b]
        abs_r[b] = abs_r[parent] @ rel_r[b]
        abs_t[b] = abs_r[parent] @ rel_t[b] + abs_t[parent]
    inv_r = np.transpose(abs_r, (0, 2, 1))
    inv_t = -np.einsum("bij,bj->bi", inv_r, abs_t)
    bone_of = rng.integers(0, HAND_BONES, n_verts)
    along = rng.uniform(0.0, 1.0, n_verts)
    rest = (abs_t[bone_of] + (along * length[bone_of])[:, None] * abs_r[bone_of][:, :, 1]
            + 0.05 * rng.standard_normal((n_verts, 3)))
    weights = np.zeros((HAND_BONES, n_verts))
    own = rng.uniform(0.6, 1.0, n_verts)
    for v, b in enumerate(bone_of):
        if HAND_PARENT[b] < 0:
            weights[b, v] = 1.0
        else:
            weights[b, v], weights[HAND_PARENT[b], v] = own[v], 1.0 - own[v]
    rest = rest.T.copy()                                # (3, n_verts): columns are points
    corr = rng.choice(n_verts, size=n_corr, replace=n_corr > n_verts).astype(np.int64)
    true_pose = 0.3 * rng.standard_normal(26)
    true_pose[3:6] = 0.1 * rng.standard_normal(3)
    model = -hand.fn(np, true_pose, rel_r, rel_t, inv_r, inv_t, weights, rest, corr, np.zeros((n_corr, 3)))
    points = model + 0.01 * rng.standard_normal((n_corr, 3))
    pose = true_pose + 0.1 * rng.standard_normal(26)
    return pose, rel_r, rel_t, inv_r, inv_t, weights, rest, corr, points


@case(id="adbench.hand", tags={"adbench", "workload"}, inputs=_hand_inputs, wrt=(0,),
      sizes={"small": {"n_verts": 24, "n_corr": 24},         # 26 inputs, 72 outputs
             "medium": {"n_verts": 200, "n_corr": 200},      # 26 inputs, 600 outputs
             "large": {"n_verts": 2000, "n_corr": 5000}})    # 26 inputs, 15000 outputs
def hand(xp, pose, rel_r, rel_t, inv_r, inv_t, weights, rest, corr, points):
    """Hand tracking residuals (n_corr, 3) w.r.t. 26 pose parameters: 16-bone chain, linear blend skinning.

    Bone b's local transform is its rest transform (rel_r, rel_t) followed by Rz(abduction) Rx(flexion)
    from the pose; absolute transforms compose along the chain; the skinning transform of b is absolute_b
    times the inverse rest absolute (inv_r, inv_t); vertex v = sum_b weights[b, v] T_b rest[:, v]; then the
    global angle-axis rotation and translation; residual = target point - its corresponding vertex.
    """
    fingers = xp.reshape(pose[6:26], (5, 4))
    level_rotations = [xp.matmul(_rot_z(xp, fingers[:, 1]), _rot_x(xp, fingers[:, 0])),
                       _rot_x(xp, fingers[:, 2]), _rot_x(xp, fingers[:, 3])]
    abs_r, abs_t = [rel_r[0:1]], [rel_t[0:1]]           # the wrist: its rest transform (pose moves it globally)
    parent_r, parent_t = rel_r[0:1], rel_t[0:1]
    for j in range(3):
        bones = slice(1 + 5 * j, 6 + 5 * j)
        local_r = xp.matmul(rel_r[bones], level_rotations[j])                           # (5, 3, 3)
        parent_t = xp.matmul(parent_r, rel_t[bones][:, :, None])[:, :, 0] + parent_t    # (5, 3)
        parent_r = xp.matmul(parent_r, local_r)
        abs_r.append(parent_r)
        abs_t.append(parent_t)
    abs_r, abs_t = xp.concatenate(abs_r, axis=0), xp.concatenate(abs_t, axis=0)         # (16, 3, 3), (16, 3)
    skin_r = xp.matmul(abs_r, inv_r)
    skin_t = xp.matmul(abs_r, inv_t[:, :, None])[:, :, 0] + abs_t
    posed = xp.matmul(skin_r, rest) + skin_t[:, :, None]                                # (16, 3, V)
    verts = xp.sum(weights[:, None, :] * posed, axis=0)                                 # (3, V)
    world = _rotate(xp, pose[0:3], verts.T) + pose[3:6]                                 # (V, 3)
    return points - world[corr]


# --------------------------------------------------------------------------------------------------------
# adbench.lstm

def _lstm_inputs(rng, layers=2, b=2, c=3):
    """main (2 layers, 4 b): per layer a weight row and a bias row for the forget, input, output gates and
    the candidate, ~ N(0, 0.5^2); extra (3, b): input scale, output scale, output bias ~ N(0, 0.5^2);
    state (2 layers, b): hidden and cell rows ~ N(0, 0.5^2) (a constant); sequence (c, b) ~ U(-1, 1) (a constant)."""
    main = 0.5 * rng.standard_normal((2 * layers, 4 * b))
    extra = 0.5 * rng.standard_normal((3, b))
    state = 0.5 * rng.standard_normal((2 * layers, b))
    sequence = rng.uniform(-1.0, 1.0, (c, b))
    return main, extra, state, sequence


def _sigmoid(xp, a):
    return 1.0 / (1.0 + xp.exp(-a))


@case(id="adbench.lstm", tags={"adbench", "workload"}, inputs=_lstm_inputs, wrt=(0, 1),
      sizes={"small": {"layers": 2, "b": 2, "c": 3},         # 38 inputs, scalar output
             "medium": {"layers": 2, "b": 14, "c": 20},      # 266 inputs
             "large": {"layers": 4, "b": 14, "c": 1024}})    # 490 inputs (ADBench's l=4, c=1024 instance size)
def lstm(xp, main, extra, state, sequence):
    """ADBench's LSTM objective: stacked cells with diagonal weights over a sequence; w.r.t. main and extra.

    Cell (weights w, biases u, hidden h, cell s, input x): forget = sig(x w_0 + u_0), in = sig(h w_1 + u_1),
    out = sig(x w_2 + u_2), change = tanh(h w_3 + u_3), s' = s forget + in change, h' = out tanh(s'), all
    elementwise. A step feeds x * extra[0] through the layers and predicts y = h * extra[1] + extra[2];
    f = -sum_t sum(seq[t+1] * (y_t - log(sum(exp(y_t)) + 2))) / (b (c - 1)).
    """
    layers = main.shape[0] // 2
    b = main.shape[1] // 4
    count = sequence.shape[0] - 1
    hidden = [state[2 * i] for i in range(layers)]
    cell = [state[2 * i + 1] for i in range(layers)]
    total = 0.0
    for t in range(count):
        x = sequence[t] * extra[0]
        for i in range(layers):
            w, u = main[2 * i], main[2 * i + 1]
            forget = _sigmoid(xp, x * w[0:b] + u[0:b])
            ingate = _sigmoid(xp, hidden[i] * w[b:2 * b] + u[b:2 * b])
            outgate = _sigmoid(xp, x * w[2 * b:3 * b] + u[2 * b:3 * b])
            change = xp.tanh(hidden[i] * w[3 * b:4 * b] + u[3 * b:4 * b])
            cell[i] = cell[i] * forget + ingate * change
            hidden[i] = outgate * xp.tanh(cell[i])
            x = hidden[i]
        prediction = x * extra[1] + extra[2]
        normalised = prediction - xp.log(xp.sum(xp.exp(prediction)) + 2.0)
        total = total + xp.sum(sequence[t + 1] * normalised)
    return -total / (b * count)
