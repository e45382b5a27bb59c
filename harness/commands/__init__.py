"""The commands, one module each: name -> (module, one-line help). A new command is one module with
`add_arguments(parser)` and `run(args) -> exit code`, and one line here."""

COMMANDS = {
    "list": ("jacobian_harness.commands.listing", "cases and methods, with availability"),
    "run": ("jacobian_harness.commands.run", "evaluate, compare and time (case, method) pairs"),
    "ab": ("jacobian_harness.commands.ab", "interleaved A/B: the same pairs alternately in two Python environments, "
                                  "then compared (exit as `compare`)"),
    "sweep": ("jacobian_harness.commands.sweep", "time every method over a grid of sizes of a case family"),
    "compare": ("jacobian_harness.commands.compare", "what changed from BASE to NEW: verdicts, values, speed "
                                            "(exit 1 on a regression or drift)"),
    "merge": ("jacobian_harness.commands.merge", "join the results of `run --shard` parts into one run"),
    "report": ("jacobian_harness.commands.report", "render report.md again from a results directory"),
}
