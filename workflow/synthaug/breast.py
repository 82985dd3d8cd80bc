"""The breast region of a full mammogram (``dataset.image: full``): background and film labels removed.

A scanned mammogram is mostly dark background around one bright breast, often with bright film labels, scanner
rulers or text in the corners. Model input should be the breast alone, at the largest scale the image size allows:

1. threshold a blurred 8-bit copy with Otsu's method (blurring first keeps film grain from speckling the mask);
2. keep the largest connected component, the breast: labels and text blobs are separate, smaller components;
3. fill that component's outline (dense tissue inside a fatty breast can fall below the threshold);
4. zero everything outside it and cut the image to its bounding box.

Preprocessing then resizes the cut-out like any crop (:mod:`synthaug.preprocess`).
"""

from __future__ import annotations

import cv2
import numpy as np

BLUR_KERNEL = 9  # odd; wide enough to smooth film grain, small next to any breast


def breast_mask(image: np.ndarray) -> np.ndarray:
    """uint8 mask (1 = breast) of a grey image in [0, 1]: the filled largest bright component (steps 1-3)."""
    grey = np.clip(image * 255.0, 0, 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(grey, (BLUR_KERNEL, BLUR_KERNEL), 0)
    _, foreground = cv2.threshold(blurred, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
    mask = np.zeros_like(grey)
    if n < 2:  # a flat image: nothing stands out from the background
        return mask
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    contours, _ = cv2.findContours((labels == largest).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(mask, contours, -1, 1, thickness=cv2.FILLED)
    return mask


def crop_breast(image: np.ndarray) -> np.ndarray:
    """The breast region of a grey float image in [0, 1], background zeroed; a flat image is returned unchanged."""
    mask = breast_mask(image)
    if not mask.any():
        return image
    x, y, w, h = cv2.boundingRect(mask)
    return (image * mask)[y : y + h, x : x + w].astype(image.dtype, copy=False)
