"""Class forgetting by weight filtering, after Poppi, Sarto, Cornia, Baraldi, Cucchiara (2024).

After training, every weight is frozen and one memory matrix per layer is learned,
``α_l ∈ [0, 1]^{C × K_l}``, one row per class ``c`` and one entry per output unit (linear)
or output channel (convolution). Multiplying each layer's output by ``α_l[c]`` gives the
model that has forgotten class ``c``; ``α ≡ 1`` is the original model. One training round
serves every class, so forgetting a class is a row lookup at inference.

What is reconstructed (methods.md [recon]) and exposed as parameters: the granularity
(per output unit/channel), the parametrisation (α clamped to [0, 1], starting at 1), and
the objective, per batch

    L = λ₀ · CE(M_α(x; c ≠ y), y) + λ₁ · mean 1 / CE(M_α(x; c = y), y) + λ₂ · mean(1 − α)

where half of each batch are *forget pairs* (``c`` is the row's own label) and the other
half *retain pairs* (``c`` drawn among the other classes, ``T`` times per row).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._validation import check_features, check_labels, encode_labels
from .importance import _eval_mode

FILTERED_LAYERS = (nn.Linear, nn.Conv2d)


def filtered_layers(module: nn.Module) -> dict[str, nn.Module]:
    """The layers that get a memory matrix: every Linear and Conv2d, by name."""
    return {name: m for name, m in module.named_modules() if isinstance(m, FILTERED_LAYERS)}


@contextlib.contextmanager
def filtering(module: nn.Module, alphas: dict[str, Tensor]) -> Iterator[None]:
    """Multiply each filtered layer's output by ``alphas[name]``, per row: shape (n, K) or (1, K)."""

    def hook_for(alpha: Tensor):
        def hook(_layer, _inputs, output: Tensor) -> Tensor:
            shape = alpha.shape + (1,) * (output.dim() - 2)  # broadcast over conv's spatial axes
            return output * alpha.view(shape)

        return hook

    handles = [layer.register_forward_hook(hook_for(alphas[name])) for name, layer in filtered_layers(module).items()]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def train_class_filters(
    module: nn.Module,
    X: Tensor,
    y: Tensor,
    n_classes: int,
    *,
    epochs: int,
    lr: float,
    batch_size: int,
    weights: tuple[float, float, float],
    n_retain_pairs: int,
    generator: torch.Generator,
) -> dict[str, Tensor]:
    """Learn the memory matrices of a frozen module; returns ``{layer name: α (C × K)}``."""
    device = next(module.parameters()).device
    layers = filtered_layers(module)
    if not layers:
        raise ValueError("Weight filtering needs at least one Linear or Conv2d layer in the module.")
    alphas = {name: torch.ones(n_classes, layer.weight.shape[0], device=device) for name, layer in layers.items()}
    for a in alphas.values():
        a.requires_grad_(True)
    optimizer = torch.optim.Adam(alphas.values(), lr=lr)
    w_retain, w_forget, w_sparse = weights
    frozen = {p: p.requires_grad for p in module.parameters()}
    for p in module.parameters():
        p.requires_grad_(False)
    try:
        with _eval_mode(module):
            for _ in range(epochs):
                for rows in torch.randperm(len(X), generator=generator).split(batch_size):
                    xb, yb = X[rows].to(device), y[rows].to(device)
                    half = len(rows) // 2
                    x_forget, y_forget = xb[:half], yb[:half]
                    tile = (n_retain_pairs,) + (1,) * (xb.dim() - 1)
                    x_keep, y_keep = xb[half:].repeat(*tile), yb[half:].repeat(n_retain_pairs)
                    other = torch.randint(1, n_classes, y_keep.shape, generator=generator).to(device)
                    c = torch.cat([y_forget, (y_keep + other) % n_classes])
                    per_row = {name: a[c] for name, a in alphas.items()}
                    with filtering(module, per_row):
                        logits = module(torch.cat([x_forget, x_keep]))
                    ce = F.cross_entropy(logits, torch.cat([y_forget, y_keep]), reduction="none")
                    loss = (
                        w_retain * ce[half:].mean()
                        + w_sparse * torch.cat([1 - a.reshape(-1) for a in alphas.values()]).mean()
                    )
                    if half:
                        loss = loss + w_forget * (1 / ce[:half].clamp_min(1e-3)).mean()
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    with torch.no_grad():
                        for a in alphas.values():
                            a.clamp_(0, 1)
    finally:
        for p, requires_grad in frozen.items():
            p.requires_grad_(requires_grad)
    return {name: a.detach() for name, a in alphas.items()}


class ClassFilterMixin:
    """Weight filtering on :class:`~sklearn_unlearn.UnlearnableClassifier`.

    ``fit_class_filters`` learns the memory matrices once; ``predict(X, forget_class=c)``
    and ``predict_proba(X, forget_class=c)`` then answer as the model without class
    ``c``, and ``forget_class(c)`` makes that permanent by folding ``α[c]`` into the
    weights (exact: scaling a layer's output is scaling its weight rows and bias).
    """

    def fit_class_filters(
        self,
        X,
        y,
        *,
        epochs: int = 30,
        lr: float = 0.05,
        retain_weight: float = 5.0,
        forget_weight: float = 1.0,
        sparsity_weight: float = 0.1,
        n_retain_pairs: int = 3,
    ):
        """Learn one memory matrix per layer, one row per class, with the weights frozen.

        Parameters
        ----------
        X, y : array-like
            Rows to learn the filters from (the training rows, or a sample of them).
        epochs : int, default=30
        lr : float, default=0.05
            Adam step size for the α's.
        retain_weight, forget_weight, sparsity_weight : float
            λ₀, λ₁, λ₂ of the objective (module docstring); not published, so these are
            the values that pass the digits tests.
        n_retain_pairs : int, default=3
            ``T``: how many retain pairs each retain row makes.

        Returns
        -------
        self
            With ``class_filters_`` (dict of layer name to α, shape (n_classes, K)).
        """
        self._check_fitted()
        X32 = check_features(self, X, reset=False)
        y_enc = encode_labels(check_labels(y, len(X32)), self.classes_)
        if len(self.classes_) < 2:
            raise ValueError("Class forgetting needs at least two classes.")
        seed = 0 if self.random_state is None else int(np.random.RandomState(self.random_state).randint(2**31 - 1))
        start = time.perf_counter()
        self.class_filters_ = train_class_filters(
            self.module_,
            torch.as_tensor(X32),
            torch.as_tensor(y_enc),
            len(self.classes_),
            epochs=epochs,
            lr=lr,
            batch_size=self.batch_size,
            weights=(retain_weight, forget_weight, sparsity_weight),
            n_retain_pairs=n_retain_pairs,
            generator=torch.Generator().manual_seed(seed),
        )
        self.class_filters_seconds_ = time.perf_counter() - start
        return self

    def _class_index(self, label) -> int:
        if getattr(self, "class_filters_", None) is None:
            raise ValueError("No class filters: call fit_class_filters(X, y) first.")
        matches = np.flatnonzero(self.classes_ == label)
        if len(matches) == 0:
            raise ValueError(f"Unknown class {label!r}; the model knows {self.classes_.tolist()}.")
        return int(matches[0])

    @contextlib.contextmanager
    def _forgetting_class(self, label) -> Iterator[None]:
        if label is None:
            yield
            return
        index = self._class_index(label)
        with filtering(self.module_, {name: a[index : index + 1] for name, a in self.class_filters_.items()}):
            yield

    def forget_class(self, label):
        """Forget class ``label`` for good: fold its filter row into the weights.

        The other classes' filters were learned for the old weights, so they are
        dropped (``class_filters_ = None``), and the importance cache is marked stale.

        Returns
        -------
        self
        """
        self._check_fitted()
        index = self._class_index(label)
        layers = filtered_layers(self.module_)
        with torch.no_grad():
            for name, alpha in self.class_filters_.items():
                layer = layers[name]
                row = alpha[index]
                layer.weight.mul_(row.view(-1, *([1] * (layer.weight.dim() - 1))))
                if layer.bias is not None:
                    layer.bias.mul_(row)
        self.class_filters_ = None
        self.importances_ = None
        self.forget_log_.append({"method": "class_filter", "forgotten_class": label, "seconds": 0.0})
        return self
