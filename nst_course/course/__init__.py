"""What the lessons use around the engine: lesson defaults, plots, measurements (analysis),
the exercise checks, the ipywidgets explorers, the layer atlas and the classroom commands' logic.
"""
