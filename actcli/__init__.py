"""actcli: see and measure what activations, losses, initializers and optimizers do."""

__version__ = "0.1.0"
