"""synthaug: does adding GAN-synthesised images to classic augmentation make a classifier better?

The library behind the Snakemake workflow. Every stage's logic lives here, importable and unit-tested;
``workflow/scripts/<rule>.py`` only reads the ``snakemake`` object and calls into this package.
"""

__version__ = "0.1.0"
