"""`merge`: join the results of `run --shard` parts into one run (harness.document.merge)."""

from __future__ import annotations

from jacobian_harness.commands.common import EXIT_FAIL, EXIT_OK, UsageError, load_run, prepare_out, write_run


def add_arguments(parser) -> None:
    parser.add_argument("parts", nargs="+", metavar="DIR", help="result directories of the parts")
    parser.add_argument("--out", required=True, metavar="DIR", help="where the merged run goes")
    parser.add_argument("--allow-different-machines", action="store_true",
                        help="accept parts run on different CPUs (CI runners of one job matrix often are): "
                             "verdicts and values still compare, speed is then not judged")


def run(args) -> int:
    from jacobian_harness.document import DocumentError, merge
    from jacobian_harness.records import passed
    from jacobian_harness.render.ci_summary import append_step_summary
    from jacobian_harness.render.console import render_summary
    from jacobian_harness.render.run_markdown import render_markdown

    parts = [(path, *load_run(path)[:2]) for path in args.parts]
    try:
        merged, arrays = merge(parts, args.allow_different_machines)
    except DocumentError as exc:
        raise UsageError(str(exc)) from None
    out = prepare_out(args.out)
    write_run(out, merged, arrays)
    print(render_summary(merged, out))
    append_step_summary(render_markdown(merged))
    return EXIT_OK if passed(merged["results"]) else EXIT_FAIL
