"""An example jacobian-harness plugin (see pyproject.toml for its two entry points)."""
