"""Views of run, comparison and sweep documents: markdown, HTML, JUnit, the console."""
