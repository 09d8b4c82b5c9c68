"""Pure preprocessing functions on NumPy images, one module per concern.

- `dermnet.transforms.functional.image`: `check_image`, and the dtype, range and batch
  handling every function shares.
- `.colour`: colour constancy (`shades_of_gray`, `gray_world`, `max_rgb`) and
  `convert_color`.
- `.hair`: `hair_mask`, `remove_hair`.
- `.contrast`: `clahe`, `equalize_histogram`.
- `.filters`: `gaussian_blur`, `median_blur`, `bilateral_filter`, `denoise_nl_means`,
  `unsharp_mask`.
- `.edges`: `edge_map`, `enhance_edges`.
- `.geometry`: `resize`, `center_crop`, `mask_bbox`, `crop_to_mask`.
- `.reinhard`: `reinhard_stats`, `reinhard_normalize` (microscopy).

Every name is importable from here (``from dermnet.transforms import functional as F``).
The contract every function keeps (the per-function docstrings say where it differs):

- **Input**: one image of shape ``HxWx3`` (``HxW`` or ``HxWx1`` too where a function says
  it takes gray images), or a batch ``NxHxWxC`` for the functions that keep the size.
- **dtype and range**: uint8 (values 0-255) or floating point with values in [0, 1] or in
  [0, 255]. A float image whose maximum is at most 1 is taken as [0, 1]. The output has
  the input's dtype and value range (results are clipped to it).
- **Shape**: the output keeps the input's rank; functions that change the channel count
  (`convert_color` to gray, `enhance_edges` with ``mode="channel"``) say so.
- **Determinism**: the same input and parameters always give the same output.
- **Precision**: OpenCV operations that only exist for 8-bit images (CLAHE, histogram
  equalisation, non-local means, inpainting, Canny, median blur with a kernel above 5)
  run on float input rounded to 8 bits, then return floats in the input's range.

Bad input raises `ParameterError` naming the function and the parameter; each function
declares its parameter checks once, with `dermnet.transforms._constraints.constrained`.
"""

from dermnet.transforms.functional.colour import (
    COLOR_SPACES,
    convert_color,
    gray_world,
    max_rgb,
    shades_of_gray,
)
from dermnet.transforms.functional.contrast import clahe, equalize_histogram
from dermnet.transforms.functional.edges import edge_map, enhance_edges
from dermnet.transforms.functional.filters import (
    bilateral_filter,
    denoise_nl_means,
    gaussian_blur,
    median_blur,
    unsharp_mask,
)
from dermnet.transforms.functional.geometry import center_crop, crop_to_mask, mask_bbox, resize
from dermnet.transforms.functional.hair import hair_mask, remove_hair
from dermnet.transforms.functional.image import check_image
from dermnet.transforms.functional.reinhard import reinhard_normalize, reinhard_stats

__all__ = [
    "COLOR_SPACES",
    "bilateral_filter",
    "center_crop",
    "check_image",
    "clahe",
    "convert_color",
    "crop_to_mask",
    "denoise_nl_means",
    "edge_map",
    "enhance_edges",
    "equalize_histogram",
    "gaussian_blur",
    "gray_world",
    "hair_mask",
    "mask_bbox",
    "max_rgb",
    "median_blur",
    "reinhard_normalize",
    "reinhard_stats",
    "remove_hair",
    "resize",
    "shades_of_gray",
    "unsharp_mask",
]
