"""Domain vocabulary in one place: views, laterality, pathologies, labels, splits, arms and column names."""

VIEWS = ("CC", "MLO")
BREASTS = ("LEFT", "RIGHT")

MALIGNANT = "MALIGNANT"
BENIGN = "BENIGN"
BENIGN_WITHOUT_CALLBACK = "BENIGN_WITHOUT_CALLBACK"
PATHOLOGIES = (MALIGNANT, BENIGN, BENIGN_WITHOUT_CALLBACK)
# label 1 = malignant (the positive class everywhere), 0 = benign of either kind.
LABEL_OF_PATHOLOGY = {MALIGNANT: 1, BENIGN: 0, BENIGN_WITHOUT_CALLBACK: 0}
CLASS_NAMES = ("benign", "malignant")  # indexed by label

SPLITS = ("train", "val", "test")  # the splits models see (train: the arms' real images)
RESERVE = "reserve"  # training patients held back (experiment.reserve): the more_real arms' extra real images
SPLIT_VALUES = (*SPLITS, RESERVE)  # the values of split.csv's split column
SOURCE_SPLITS = ("train", "test")  # CBIS-DDSM's own Training / Test division

# Arm kinds (names and counts in synthaug.arm_names) and generators of synthetic images.
ARMS = ("baseline", "augmented", "synthetic", "combined", "augmented_equal", "more_real", "augmented_extra",
        "augmented_more_real", "synthetic_only", "pretrain", "pretrain_augmented")
MODELS = ("simple_cnn", "vgg16", "densenet169", "inception_resnet_v2")
# (Generators of synthetic images: the table in synthaug.generators.)

# Image files the readers take (synthaug.imageio), by suffix: DICOM, and rasters that OpenCV reads (8/16-bit PNG, TIFF).
DICOM_SUFFIXES = (".dcm", ".dicom")
RASTER_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff")

# The 14 columns of CBIS-DDSM's mass case CSVs, spelled exactly as in the files.
MASS_CSV_COLUMNS = (
    "patient_id",
    "breast_density",
    "left or right breast",
    "image view",
    "abnormality id",
    "abnormality type",
    "mass shape",
    "mass margins",
    "assessment",
    "pathology",
    "subtlety",
    "image file path",
    "cropped image file path",
    "ROI mask file path",
)
# The calcification CSVs spell density with a space and describe calcifications instead of masses.
CALC_CSV_COLUMNS = (
    "patient_id",
    "breast density",
    "left or right breast",
    "image view",
    "abnormality id",
    "abnormality type",
    "calc type",
    "calc distribution",
    "assessment",
    "pathology",
    "subtlety",
    "image file path",
    "cropped image file path",
    "ROI mask file path",
)
CASE_CSV_FILES = {
    ("mass", "train"): "mass_case_description_train_set.csv",
    ("mass", "test"): "mass_case_description_test_set.csv",
    ("calc", "train"): "calc_case_description_train_set.csv",
    ("calc", "test"): "calc_case_description_test_set.csv",
}
# Subject prefixes of the TCIA collection, by (abnormality, source split).
SUBJECT_PREFIXES = {
    ("mass", "train"): "Mass-Training",
    ("mass", "test"): "Mass-Test",
    ("calc", "train"): "Calc-Training",
    ("calc", "test"): "Calc-Test",
}
# What simulate_phantom writes into the phantom's dataset.root, and nothing else. The marker is written first and
# names the folder as the workflow's own: only a folder holding nothing but these entries, marker included, may be
# replaced by a new phantom (a user's dataset folder is never written to).
PHANTOM_MARKER = "synthaug-phantom.json"
METADATA_FILE = "metadata.csv"
GROUND_TRUTH_FILE = "ground_truth.csv"
PHANTOM_IMAGES_DIR = "CBIS-DDSM"
PHANTOM_ENTRIES = frozenset(
    {PHANTOM_MARKER, METADATA_FILE, GROUND_TRUTH_FILE, PHANTOM_IMAGES_DIR,
     CASE_CSV_FILES[("mass", "train")], CASE_CSV_FILES[("mass", "test")]}
)
# dataset.name: digits, the embedded second domain: export_digits writes scikit-learn's handwritten digits into
# dataset.root as an image folder, one class folder per digit, and nothing else (marker first, as the phantom's).
DIGITS_MARKER = "synthaug-digits.json"
DIGIT_FOLDERS = tuple(f"digit_{k}" for k in range(10))
DIGITS_ENTRIES = frozenset({DIGITS_MARKER, *DIGIT_FOLDERS})
# Its default sides: the low digits against the high ones (all 1,797 images; each side a mixture of five shapes).
DIGITS_CLASSES = {"negative": list(DIGIT_FOLDERS[:5]), "positive": list(DIGIT_FOLDERS[5:])}
# dataset.name: image-folder: root/<class>/** images and an optional manifest beside the class folders.
IMAGE_FOLDER_MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("path", "label")  # required; patient_id and split are optional
MANIFEST_PATIENT, MANIFEST_SPLIT = "patient_id", "split"

# Smallest square input (pixels) each classifier accepts (keras.applications' own limits; InceptionResNetV2's stem
# of unpadded strided convolutions needs 75 px); the CGAN upsamples 4 times by 2, so its size is a multiple of 16.
MIN_IMAGE_SIZE = {"simple_cnn": 16, "simple_cnn_tuned": 16, "vgg16": 32, "densenet169": 32, "inception_resnet_v2": 75}
GAN_SIZE_MULTIPLE = 16

# SeriesDescription values used by TCIA / the Kaggle dicom_info.csv.
SERIES_FULL = "full mammogram images"
SERIES_CROP = "cropped images"
SERIES_MASK = "ROI mask images"

# The canonical case table (results/data/cases.csv): the contract every dataset adapter produces.
CASE_COLUMNS = (
    "case_id",
    "patient_id",
    "breast",
    "view",
    "abnormality_id",
    "abnormality_type",
    "pathology",
    "label",
    "source_split",
    "image_path",
    "crop_path",
    "mask_path",
)
SPLIT_COLUMNS = ("case_id", "patient_id", "label", "split")
QC_COLUMNS = ("source_file", "row", "case_id", "action", "reason", "detail")

# metrics.json keys (malignant is the positive class).
METRIC_KEYS = ("accuracy", "auc", "sensitivity", "specificity", "precision", "f1", "train_accuracy")
