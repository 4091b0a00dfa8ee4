"""The engine: tensors in, metrics out.

Networks, stacks of K networks, the training loop, checkpoints, diagnostics.
"""
