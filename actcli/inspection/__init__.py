"""Looking inside a run, a network or a component.

predict, landscape, summary, advice, curves, surfaces, backprop, catalog, the lr finder and
the runs listing.
"""
