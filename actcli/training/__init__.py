"""One run: from a prepared config to its run folder.

The drivers, the tracker, what the folder holds, TensorBoard.
"""
