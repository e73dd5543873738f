"""The execution core: registry, templating, runner, recovery. It never imports Flask."""
