"""The embedded phantom: simulated mammograms with masses whose labels follow their appearance only in part.

``anatomy`` makes the breast and its 1/f^beta tissue background, ``lesion`` draws a mass's parameters theta,
its label and its outline, ``mammogram`` puts lesions into a breast and simulates the detector.
``synthaug.simulate`` writes the whole dataset in CBIS-DDSM's layout.
"""
