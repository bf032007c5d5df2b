"""The test-vector generators, one module per format family of protocol/SPEC.md.

The single entry point is ``python -m protocol.make_vectors``; see that module.
"""
