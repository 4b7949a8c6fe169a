"""One process of an Accelerate run, launched by torchrun from the tests: fit, forget, predict, save.

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/accelerated/run_processes.py OUT

Writes ``rank<k>.npz`` (weights after fit and at the end, predictions, importances, the
forget log, the trace counters, what each forget raised) into ``OUT``; process 0 also saves
the model there. After ``fit`` it tries three forgets: process 1 asking for other rows than
process 0 (refused everywhere), every process asking for rows never trained on (refused by
process 0's checks, and so everywhere), then the same rows everywhere. ``EPOCHS``
(environment) sets the training length.
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator
from sklearn.datasets import make_classification

from sklearn_unlearn import AcceleratedUnlearnableClassifier
from sklearn_unlearn.persistence import save


def main(out: Path) -> None:
    torch.set_num_threads(1)
    accelerator = Accelerator(cpu=True)
    rank = accelerator.process_index
    X, y = make_classification(
        n_samples=8000, n_features=12, n_informative=6, n_classes=3, class_sep=1.5, flip_y=0, random_state=0
    )
    X_train, y_train, X_test, y_test = X[:4000], y[:4000], X[4000:], y[4000:]
    y_train = y_train.copy()
    y_train[:40] = (y_train[:40] + 1) % 3  # 40 wrong labels to forget
    # The same global batch (64 rows a step) on any number of processes, as DDP runs are compared.
    batch_size = 64 // accelerator.num_processes
    clf = AcceleratedUnlearnableClassifier(
        accelerator=accelerator, max_epochs=int(os.environ.get("EPOCHS", 10)), batch_size=batch_size, random_state=0
    )
    clf.fit(X_train, y_train)
    after_fit = {k: v.detach().cpu().numpy().copy() for k, v in clf.module_.state_dict().items()}
    result = {"fit_score": clf.score(X_test, y_test), "n_processes": accelerator.num_processes}
    attempts = {
        "disagree": (X_train[:40], y_train[:40]) if rank == 0 else (X_train[40:80], y_train[40:80]),
        "unknown": (X_test[:40], y_test[:40]),  # never trained on: process 0's forget refuses them
        "agree": (X_train[:40], y_train[:40]),
    }
    for name, (X_f, y_f) in attempts.items():
        try:
            clf.forget(X_f, y_f)
            result[f"{name}_error"] = None
        except ValueError as error:
            result[f"{name}_error"] = str(error)
        if name != "agree":
            unchanged = all(np.array_equal(after_fit[k], v.cpu().numpy()) for k, v in clf.module_.state_dict().items())
            result[f"{name}_left_weights_unchanged"] = unchanged and clf.forget_log_ == []
    result["score"] = clf.score(X_test, y_test)
    result["forget_log"] = json.dumps(clf.forget_log_, sort_keys=True, default=str)
    trace = clf.forget_state_.trace
    result["trace"] = [trace.n_steps, trace.n_epochs, trace.n_rows_seen]
    result["n_train"] = clf.n_train_
    save(clf, out / "model.zip")
    np.savez(
        out / f"rank{rank}.npz",
        proba=clf.predict_proba(X_test),
        importances=np.concatenate([v.cpu().numpy().ravel() for v in clf.forget_state_.importances.values()]),
        **{f"fit_{k}": v for k, v in after_fit.items()},
        **{f"end_{k}": v.detach().cpu().numpy() for k, v in clf.module_.state_dict().items()},
        result=json.dumps(result),
    )
    # Close the group before exit: gloo's threads left running at exit can abort the process.
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
