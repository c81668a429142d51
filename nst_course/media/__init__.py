"""Pictures and files: images in and out, the built-in samples and the paintings, figures
drawn to PNG, and atomic file writing. It imports only :mod:`nst_course.errors` (and torch,
PIL, matplotlib): nothing of the method.
"""
