"""The coordinator's steps, in the order data flows: collect the submissions, prepare each
notebook (prepare), make its job (jobs), run it here or on Dask workers (cluster, worker),
explain what failed (diagnosis, explain), record it (record), all driven by grade; the
execution cache (cache) and the inert notebook formgrader shows (inert)."""
