"""The paper's experiments (Figs 3-7 of Gatys, Ecker & Bethge, CVPR 2016), run with the engine."""
