"""One run: from a prepared config to its run folder.

The parts kit, the memory budget, the tracker, the one driver, what the folder holds,
TensorBoard.
"""
