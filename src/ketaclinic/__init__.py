"""ketaclinic: software to run a supervised ketamine and esketamine treatment programme.

ketaclinic supports clinical judgement; it never replaces it.
"""

__version__ = "0.1.0"

CLINICAL_DISCLAIMER = (
    "ketaclinic supports clinical judgement; it does not replace it. Every decision, dose "
    "and alert it shows must be reviewed by a qualified clinician."
)
