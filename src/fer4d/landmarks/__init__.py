"""fer4d.landmarks: 2D face videos and image sequences → per-frame face landmarks (stage
``landmarks``), the input of the fit to landmarks. Imports nothing, so that a stage's import
closure holds only the modules it uses."""
