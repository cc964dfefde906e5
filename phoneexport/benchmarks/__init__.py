"""Benchmarks run by `make bench`: each measures one figure beside a bare baseline of the same run."""
