import dataclasses
import sys

import numpy as np
import pytest

from jacobian_harness.casedef import Case, CaseError, Divergence, case, load_case_file, make_case, resolve_dotted


def test_decorator_registers_under_function_name(registry):
    @case(inputs=lambda rng: (rng.standard_normal(5),), tags={"mine"})
    def wavy(xp, x):
        return xp.sin(x) * x

    assert isinstance(wavy, Case)
    assert registry["wavy"] is wavy
    assert wavy.tags == frozenset({"mine"})
    assert wavy.source.endswith("test_casedef.py")


def test_impl_decorator_records_backend_override(registry):
    @case(id="custom.id", inputs=(np.ones(3),))
    def f(xp, x):
        return x

    @f.impl("torch")
    def _(x):
        return x * 1

    assert registry["custom.id"].impls["torch"] is _


def test_impl_decorator_registers_a_copy_and_keeps_earlier_implementations(registry):
    @case(id="custom.two", inputs=(np.ones(3),))
    def f(xp, x):
        return x

    @f.impl("torch")
    def torch_impl(x):
        return x

    @f.impl("jax")
    def jax_impl(x):
        return x

    assert registry["custom.two"].impls == {"torch": torch_impl, "jax": jax_impl}
    assert f.impls == {}  # the case that was declared is not changed


def test_impl_decorator_on_an_unregistered_case_says_to_pass_impls():
    unregistered = make_case(lambda xp, x: x, id="loose", inputs=(np.ones(2),))
    with pytest.raises(CaseError, match=r"pass impls=\{'torch': \.\.\.\}"):
        unregistered.impl("torch")(lambda x: x)


def test_a_case_is_frozen(registry):
    @case(id="frozen.case", inputs=(np.ones(2),), impls={"torch": "math.sqrt"})
    def f(xp, x):
        return x

    for name, value in (("pack", "other"), ("impls", {}), ("divergences", ())):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(f, name, value)
    assert registry["frozen.case"] is f and f.impls == {"torch": "math.sqrt"}


def test_a_dotted_implementation_is_imported_only_when_its_backend_runs_it(registry, monkeypatch):
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    resolve_dotted.cache_clear()

    @case(id="dotted.lazy", inputs=(np.ones(2),), impls={"torch": "colorsys.rgb_to_hsv", "jax": lambda x: x})
    def f(xp, x):
        return x

    assert "colorsys" not in sys.modules  # declaring the case imported nothing
    resolved = f.impl_for("torch")
    import colorsys

    assert resolved is colorsys.rgb_to_hsv
    assert f.impl_for("jax") is f.impls["jax"] and f.impl_for("autograd") is None


@pytest.mark.parametrize("name, message", [
    ("math.no_such_function", r"'math\.no_such_function': math has no attribute 'no_such_function'"),
    ("os.path.no_such", r"'os\.path\.no_such': os\.path has no attribute 'no_such'"),
    ("no_such_module_here.f", r"'no_such_module_here\.f': no module 'no_such_module_here' is installed"),
    ("math.pi", r"'math\.pi' is a float, not a function"),
])
def test_a_dotted_implementation_that_names_nothing_is_a_clear_error(registry, name, message):
    @case(id="dotted.missing", inputs=(np.ones(2),), impls={"torch": name})
    def f(xp, x):
        return x

    with pytest.raises(CaseError, match=r"case 'dotted\.missing', torch implementation: " + message):
        f.impl_for("torch")


def test_inputs_are_bit_identical_and_float64(registry):
    @case(inputs=lambda rng: (rng.standard_normal(4).astype(np.float32), np.arange(3)))
    def g(xp, x, i):
        return x

    first, second = g.make_inputs(), g.make_inputs()
    assert first[0].dtype == np.float64 and first[1].dtype.kind == "i"
    assert first[0].tobytes() == second[0].tobytes()
    assert g.wrt_indices(first) == (0,)
    assert g.make_inputs(seed=1)[0].tobytes() != first[0].tobytes()


def test_inputs_must_be_a_tuple(registry):
    @case(inputs=lambda rng: rng.standard_normal(3))
    def bad(xp, x):
        return x

    with pytest.raises(CaseError, match="tuple of NumPy arrays"):
        bad.make_inputs()


def test_complex_inputs_are_refused(registry):
    @case(inputs=(np.ones(2, dtype=complex),))
    def cplx(xp, x):
        return x

    with pytest.raises(CaseError, match="complex"):
        cplx.make_inputs()


def test_duplicate_ids_name_both_sources(registry):
    @case(id="twice", inputs=(np.ones(1),))
    def a(xp, x):
        return x

    with pytest.raises(CaseError, match="defined twice"):
        @case(id="twice", inputs=(np.ones(1),))
        def b(xp, x):
            return x


def test_divergence_matches_glob_and_version():
    bug = Divergence("torch.func.*", reason="r", kind="bug", issue="x#1", versions="<2.14")
    assert bug.applies_to("torch.func.jacrev", "2.13.0+cpu")
    assert not bug.applies_to("torch.func.jacrev", "2.14.1")
    assert not bug.applies_to("jax.jacrev", "2.13.0")
    assert "x#1" in bug.describe()


def test_divergence_rejects_bad_kind_and_specifier():
    with pytest.raises(CaseError, match="kind"):
        Divergence("*", reason="r", kind="feature")
    with pytest.raises(CaseError, match="PEP 440"):
        Divergence("*", reason="r", versions="not a version")


def test_case_file_loads_and_reports_its_cases(registry, tmp_path):
    path = tmp_path / "mine.py"
    path.write_text("from jacobian_harness import case\n"
                    "@case(inputs=lambda rng: (rng.standard_normal(2),))\n"
                    "def mine(xp, x):\n    return xp.exp(x)\n")
    assert load_case_file(path) == ["mine"]
    assert registry["mine"].source == str(path)


@pytest.mark.parametrize("text, expected", [
    ("def broken(:\n", r"mine\.py, line 1"),
    ("import no_such_module_here\n", r"mine\.py, line 1: ModuleNotFoundError"),
    ("x = 1\nraise ValueError('boom')\n", r"mine\.py, line 2: ValueError: boom"),
])
def test_broken_case_file_names_file_and_line(registry, tmp_path, text, expected):
    path = tmp_path / "mine.py"
    path.write_text(text)
    with pytest.raises(CaseError, match=expected):
        load_case_file(path)


def test_missing_case_file(registry, tmp_path):
    with pytest.raises(CaseError, match="does not exist"):
        load_case_file(tmp_path / "nope.py")
