"""jacobian_harness.evaluate: how a failure is put in one line."""

from jacobian_harness.evaluate import _first_line


def test_a_one_line_error_is_kept_and_a_header_over_a_trace_keeps_its_cause():
    assert _first_line(ValueError("bad shape\nmore detail")) == "bad shape"
    tf_style = TypeError("in user code:\n\n    File \"x.py\", line 3, in f  *\n\n    TypeError: f() takes 1 argument")
    assert _first_line(tf_style) == "in user code: ... TypeError: f() takes 1 argument"
    assert _first_line(RuntimeError("")) == ""
