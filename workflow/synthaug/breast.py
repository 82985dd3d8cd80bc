"""The breast region of a full mammogram (``dataset.image: full``): background and film labels removed.

A scanned mammogram is mostly dark background around one bright breast, often with bright film labels, scanner
rulers or text in the corners. Model input should be the breast alone, at the largest scale the image size allows:

1. threshold a blurred 8-bit copy with Otsu's method (blurring first keeps film grain from speckling the mask);
2. find the breast as the largest connected component after an opening with a disc about 4% of the image's shorter
   side: the opening cuts thin bright strips along the film's edge (unexposed borders, rulers) loose from the breast,
   and labels and text blobs are separate, smaller components anyway;
3. take back the thresholded pixels within one disc of that component (the breast's thin skin line, which the
   opening shaved off) and fill its outline (dense tissue inside a fatty breast can fall below the threshold);
4. zero everything outside it and cut the image to its bounding box.

Steps 1-3 run on a copy shrunk by a whole factor until its shorter side is at most ``WORK_SIDE`` pixels (block
average), and the mask is scaled back with nearest-neighbour: every step is relative to the image's size, and a
full-size CBIS-DDSM mammogram (about 4,600 x 3,100) otherwise spends seconds in the opening with a 120-pixel disc.
The mask's outline is then exact to one working pixel (7 full-size pixels there, a tenth of a pixel of 64-px model
input); images whose shorter side is at most ``WORK_SIDE`` (the phantom's, all crops) are processed at full size.

Preprocessing then resizes the cut-out like any crop (:mod:`synthaug.preprocess`).
"""

from __future__ import annotations

import cv2
import numpy as np

BLUR_KERNEL = 9  # odd; wide enough to smooth film grain, small next to any breast
DISC_SHARE = 0.04  # opening disc diameter / shorter image side: thicker than film-edge strips, thinner than a breast
WORK_SIDE = 512  # steps 1-3 run at most at this shorter side (see the module docstring)


def breast_mask(image: np.ndarray) -> np.ndarray:
    """uint8 mask (1 = breast) of a grey image in [0, 1] (steps 1-3 of the module docstring), of the image's shape."""
    factor = -(-min(image.shape) // WORK_SIDE)  # the smallest whole factor that brings it to WORK_SIDE or less
    if factor == 1:
        return _breast_mask(image)
    # a whole factor takes OpenCV's block-average path, several times faster than INTER_AREA at any other scale
    small = cv2.resize(image, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_AREA)
    h, w = image.shape
    return cv2.resize(_breast_mask(small), (w, h), interpolation=cv2.INTER_NEAREST)


def _breast_mask(image: np.ndarray) -> np.ndarray:
    grey = np.clip(image * 255.0, 0, 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(grey, (BLUR_KERNEL, BLUR_KERNEL), 0)
    _, foreground = cv2.threshold(blurred, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    size = max(3, round(DISC_SHARE * min(image.shape)) | 1)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    # outside the image counts as background, or strips along the edge would survive the opening
    opened = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, disc, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(opened)
    mask = np.zeros_like(grey)
    if n < 2:  # a flat image: nothing stands out from the background
        return mask
    core = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    breast = foreground & cv2.dilate(core, disc)
    contours, _ = cv2.findContours(breast, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(mask, contours, -1, 1, thickness=cv2.FILLED)
    return mask


def crop_breast(image: np.ndarray) -> np.ndarray:
    """The breast region of a grey float image in [0, 1], background zeroed; a flat image is returned unchanged."""
    mask = breast_mask(image)
    x, y, w, h = cv2.boundingRect(mask)
    if w == 0:  # an empty mask
        return image
    box = (slice(y, y + h), slice(x, x + w))  # multiply inside the box only: the same pixels, less work
    return (image[box] * mask[box]).astype(image.dtype, copy=False)
