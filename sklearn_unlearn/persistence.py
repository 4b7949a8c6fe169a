"""Saving a classifier with skops (pickle works as usual).

``skops.io`` refuses to load any type it has not been told to trust. These are the types
a default :class:`~sklearn_unlearn.UnlearnableClassifier` contains; review them, add the
classes of your own module and callbacks, and pass the list to ``skops.io.load``::

    import skops.io as sio
    from sklearn_unlearn.persistence import TRUSTED_TYPES

    sio.dump(clf, "model.skops")
    clf = sio.load("model.skops", trusted=TRUSTED_TYPES)

``skops.io.get_untrusted_types(file="model.skops")`` lists what a given file needs.
Caveat: skorch stores the torch state (weights, optimizer, importances, training trace)
as one pickled blob inside the file, which skops does not inspect, so load only files
you trust, as with pickle.
"""

TRUSTED_TYPES: list[str] = [
    "builtins.print",  # skorch's PrintLog writes with it
    "functools.partial",
    "sklearn_unlearn.classifier.UnlearnableClassifier",
    "sklearn_unlearn.membership.TrainedRows",
    "sklearn_unlearn.modules.MLP",
    "sklearn_unlearn.modules.SmallCNN",
    "sklearn_unlearn.trace.TrainingTrace",
    "skorch.callbacks.logging.EpochTimer",
    "skorch.callbacks.logging.PrintLog",
    "skorch.callbacks.scoring.EpochScoring",
    "skorch.callbacks.scoring.PassthroughScoring",
    "skorch.dataset.Dataset",
    "skorch.history.History",
    "skorch.setter.optimizer_setter",
    "skorch.utils._indexing_other",
    "skorch.utils.to_numpy",
    "torch.nn.modules.loss.CrossEntropyLoss",
    "torch.optim.sgd.SGD",
    "torch.utils.data.dataloader.DataLoader",
]
