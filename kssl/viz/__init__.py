"""Pictures for run directories: image grids as PNG files (Pillow) and in TensorBoard.

>>> from kssl.viz import save_image_grid, log_images
>>> save_image_grid(images, run_dir / "samples.png", ncols=8)
>>> log_images(run_dir / "logs" / "images", "samples", images, step=0)
"""

from kssl.viz.grid import image_grid, is_image_batch, save_image_grid
from kssl.viz.tensorboard import log_images, log_scalars

__all__ = ["image_grid", "is_image_batch", "log_images", "log_scalars", "save_image_grid"]
