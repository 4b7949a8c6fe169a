"""An epoch-level progress bar for skorch training (tqdm)."""

from __future__ import annotations

from typing import Any

from skorch.callbacks import Callback


class EpochProgress(Callback):
    """One tqdm bar per training run, advanced each epoch, showing the training loss.

    Lighter than skorch's per-batch ``ProgressBar``; pass it in ``callbacks``.

    Parameters
    ----------
    desc : str, default="training"
        Label of the bar.
    """

    def __init__(self, desc: str = "training") -> None:
        self.desc = desc

    def on_train_begin(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        from tqdm.auto import tqdm  # here, not at import: tqdm.auto warns in notebooks without ipywidgets

        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch", leave=False)

    def on_epoch_end(self, net: Any, **kwargs: Any) -> None:
        self.bar_.update(1)
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4f}")

    def on_train_end(self, net: Any, X: Any = None, y: Any = None, **kwargs: Any) -> None:
        self.bar_.close()
        self.bar_ = None  # an open bar holds a stream, which cannot be pickled

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "bar_": None}
