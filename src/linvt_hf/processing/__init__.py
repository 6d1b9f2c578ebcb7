"""Video input: decoding and frame sampling, shot segmentation (AutoShot) and the LinVT processor.

Nothing here imports linvt_hf.modeling.
"""
