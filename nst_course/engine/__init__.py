"""The method: VGG-19 with the paper's layer names and its weights, the losses, the objective,
the settings of a run, THE optimisation loop (:mod:`.loop`), the three tasks (reconstruct,
texture, transfer), time and memory estimates, colour handling, devices, and feature
visualisation. It imports only :mod:`nst_course.media` and :mod:`nst_course.errors`.
"""
