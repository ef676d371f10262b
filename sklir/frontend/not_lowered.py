"""The scikit-learn classes sklir does not lower, and why: one table, read by the error a user
gets (:func:`sklir.frontend.registry.unsupported_message`) and by the support matrix
(``tools/support_matrix.py`` writes ``docs/supported.md`` from it).

``NOT_APPLICABLE``: classes with no method that applies to new data (they label or embed only the
rows they were fitted on, or transform targets rather than features): nothing to deploy.
``BLOCKED``: classes with inference on new data that sklir does not lower, with what blocks it.
Keys are the public names :func:`~sklir.frontend.registry.public_name` gives.
"""

from __future__ import annotations

_FIT_PREDICT = "fit_predict only: it labels the rows it was fitted on and has no predict for new rows"
_FIT_TRANSFORM = "fit_transform only: it embeds the rows it was fitted on and has no transform for new rows"
_TARGETS = "it transforms targets (y), not the features a model reads"
_TEXT = ("it tokenises raw text with regular expressions, which neither TFLite's builtin ops nor standard "
         "ONNX ops do; lower the model after it on the count matrix (TfidfTransformer lowers)")

NOT_APPLICABLE: dict[str, str] = {
    **dict.fromkeys(("sklearn.cluster.AgglomerativeClustering", "sklearn.cluster.DBSCAN", "sklearn.cluster.HDBSCAN",
                     "sklearn.cluster.OPTICS", "sklearn.cluster.SpectralClustering"), _FIT_PREDICT),
    **dict.fromkeys(("sklearn.cluster.SpectralBiclustering", "sklearn.cluster.SpectralCoclustering"),
                    "it biclusters the matrix it was fitted on and has no method for new rows"),
    **dict.fromkeys(("sklearn.manifold.TSNE", "sklearn.manifold.MDS", "sklearn.manifold.ClassicalMDS",
                     "sklearn.manifold.SpectralEmbedding"), _FIT_TRANSFORM),
    **dict.fromkeys(("sklearn.preprocessing.LabelBinarizer", "sklearn.preprocessing.LabelEncoder",
                     "sklearn.preprocessing.MultiLabelBinarizer"), _TARGETS),
}

BLOCKED: dict[str, str] = {
    **dict.fromkeys(("sklearn.feature_extraction.text.CountVectorizer",
                     "sklearn.feature_extraction.text.TfidfVectorizer",
                     "sklearn.feature_extraction.text.HashingVectorizer"), _TEXT),
    "sklearn.feature_extraction.DictVectorizer": "it reads Python dicts of feature names, not tensors",
    "sklearn.feature_extraction.FeatureHasher": ("it hashes feature names with MurmurHash3, which neither "
                                                 "TFLite's builtin ops nor standard ONNX ops compute"),
    "sklearn.feature_extraction.image.PatchExtractor": ("it cuts a batch of 2-D images into patches, not a "
                                                        "model over feature rows"),
    **dict.fromkeys(("sklearn.decomposition.NMF", "sklearn.decomposition.MiniBatchNMF"),
                    "its transform solves a non-negative least squares problem per row by iterating to "
                    "convergence, which no fixed graph of ops computes"),
    "sklearn.decomposition.LatentDirichletAllocation": ("its transform runs variational inference per row "
                                                        "(an E-step iterated to convergence), which no fixed "
                                                        "graph of ops computes"),
    "sklearn.manifold.LocallyLinearEmbedding": ("its transform solves a regularised k x k linear system per "
                                                "row (the barycentre weights); TFLite has no builtin solver"),
    "sklearn.neighbors.NearestNeighbors": ("it has neither predict nor transform: kneighbors returns indices "
                                           "into the training rows, which the output contract has no output for"),
}


def reason(public: str) -> tuple[str, str] | None:
    """``("not applicable" | "blocked", why)`` for a class by public name, or None."""
    if public in NOT_APPLICABLE:
        return "not applicable", NOT_APPLICABLE[public]
    if public in BLOCKED:
        return "blocked", BLOCKED[public]
    return None
