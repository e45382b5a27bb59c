"""The operator families of the built-in library and of the opinfo pack's generated ids (harness.families):
operators whose derivatives share rules, so that a speed change of those rules shows as one change of the
family in a comparison. A case of a user's case file names its own (`family=`)."""

from jacobian_harness.families import register_family

register_family("det", "op.det", "op.det-singular", "op.slogdet", "opinfo.det.*", "opinfo.linalg.det.*",
                "opinfo.linalg.slogdet.*", "opinfo.logdet.*")
register_family("solve", "op.solve", "op.inv", "opinfo.linalg.solve*", "opinfo.linalg.inv*", "opinfo.inverse.*",
                "opinfo.linalg.lstsq*", "opinfo.cholesky_solve.*", "opinfo.cholesky_inverse.*", "opinfo.lu_solve.*",
                "opinfo.linalg.lu_solve.*", "opinfo.triangular_solve.*", "opinfo.linalg.pinv*", "opinfo.pinverse.*",
                "opinfo.linalg.tensorsolve.*", "opinfo.linalg.tensorinv.*")
register_family("decomposition", "op.eigh", "op.svd-values", "op.cholesky", "opinfo.linalg.eig*", "opinfo.svd.*",
                "opinfo.linalg.svd*", "opinfo.cholesky.*", "opinfo.linalg.cholesky*", "opinfo.linalg.qr.*",
                "opinfo.qr.*", "opinfo.lu.*", "opinfo.linalg.lu*", "opinfo.linalg.ldl_factor*", "opinfo.geqrf.*",
                "opinfo.ormqr.*", "opinfo.svd_lowrank.*", "opinfo.pca_lowrank.*")
register_family("norm", "reduction.norm", "kink.norm-at-zero", "op.cdist", "op.pdist", "opinfo.norm.*",
                "opinfo.linalg.norm.*", "opinfo.linalg.vector_norm.*", "opinfo.linalg.matrix_norm.*",
                "opinfo.nn.functional.normalize.*", "opinfo.cdist.*", "opinfo.nn.functional.pdist.*",
                "opinfo.renorm.*", "opinfo.dist.*", "opinfo.linalg.cond.*")
register_family("softmax", "reduction.logsumexp", "reduction.softmax", "hessian.logsumexp", "gradbench.lse",
                "opinfo.softmax.*", "opinfo.log_softmax.*", "opinfo.logsumexp.*", "opinfo.nn.functional.softmin.*",
                "opinfo.special.log_softmax.*", "opinfo.special.softmax.*", "opinfo.nn.functional.gumbel_softmax.*")
register_family("scan", "op.cumsum", "op.cumprod*", "opinfo.cumsum.*", "opinfo.cumprod.*", "opinfo.cummax.*",
                "opinfo.cummin.*", "opinfo.logcumsumexp.*", "opinfo.cumulative_trapezoid.*")
register_family("sort", "op.sort*", "op.topk*", "kink.max-ties", "kink.amax-ties", "opinfo.sort.*",
                "opinfo.topk.*", "opinfo.msort.*", "opinfo.kthvalue.*", "opinfo.median.*", "opinfo.nanmedian.*",
                "opinfo.quantile.*", "opinfo.nanquantile.*", "opinfo.max.*", "opinfo.min.*", "opinfo.amax.*",
                "opinfo.amin.*")
register_family("pow", "op.pow*", "opinfo.pow.*", "opinfo.float_power.*", "opinfo.__rpow__.*")
register_family("variance", "op.std*", "op.var", "opinfo.std*", "opinfo.var*")
register_family("product", "op.prod*", "opinfo.prod.*")
