"""Default torch modules: an MLP for tabular data and a small CNN for images."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class MLP(nn.Module):
    """Multi-layer perceptron of ``Linear → BatchNorm1d → ReLU`` blocks.

    The architecture of the ASSD paper's DataCo experiment. It returns logits;
    the classifier pairs it with ``CrossEntropyLoss``.

    Parameters
    ----------
    n_features : int
        Width of the input. Inferred by ``UnlearnableClassifier`` at fit.
    n_classes : int
        Number of outputs. Inferred by ``UnlearnableClassifier`` at fit.
    hidden_layer_sizes : sequence of int, default=(100, 100, 100)
        Units of each hidden block, as in ``sklearn.neural_network.MLPClassifier``.
        The paper's models are ``(50,) * 2``, ``(100,) * 3`` and ``(250,) * 5``.
    batch_norm : bool, default=True
        Put a ``BatchNorm1d`` after each hidden ``Linear``.
    dropout : float, default=0.0
        Dropout probability after each block's activation.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        hidden_layer_sizes: Sequence[int] = (100, 100, 100),
        batch_norm: bool = True,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for units in hidden_layer_sizes:
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits of the rows.

        Parameters
        ----------
        X : Tensor of shape (n_samples, n_features)
            Rows (any trailing shape is flattened).

        Returns
        -------
        Tensor of shape (n_samples, n_classes)
            One logit per class.
        """
        return self.layers(X.flatten(1))


class SmallCNN(nn.Module):
    """A small convolutional network for little grayscale images (e.g. 8×8 digits).

    ``Conv2d → BatchNorm2d → ReLU`` blocks, an adaptive average pool to a ``pool × pool``
    grid (so some spatial layout survives, which digits need) and a linear head. Inputs
    may be ``(n, channels, h, w)`` or flat ``(n, h * w)`` rows of a square image.

    Parameters
    ----------
    n_features : int
        Either the number of channels (4-D input) or ``h * w`` (flat rows).
    n_classes : int
        Number of outputs.
    channels : sequence of int, default=(16, 32)
        Output channels of the convolution blocks.
    batch_norm : bool, default=True
        Put a ``BatchNorm2d`` after each convolution.
    pool : int, default=2
        Side of the pooled grid the head reads.
    """

    def __init__(
        self,
        n_features: int,
        n_classes: int,
        channels: Sequence[int] = (16, 32),
        batch_norm: bool = True,
        pool: int = 2,
    ) -> None:
        super().__init__()
        side = int(round(n_features**0.5))
        # A flat row of a square image is reshaped in forward; a 4-D input keeps its channels.
        self._side = side if side * side == n_features and n_features > 3 else None
        in_channels = 1 if self._side else n_features
        blocks: list[nn.Module] = []
        for out_channels in channels:
            blocks.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(out_channels))
            blocks.append(nn.ReLU())
            in_channels = out_channels
        blocks.append(nn.AdaptiveAvgPool2d(pool))
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(in_channels * pool * pool, n_classes)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Logits of the images.

        Parameters
        ----------
        X : Tensor of shape (n_samples, channels, height, width) or (n_samples, side * side)
            Images; flat square ones are reshaped.

        Returns
        -------
        Tensor of shape (n_samples, n_classes)
            One logit per class.
        """
        if X.dim() == 2 and self._side:
            X = X.view(-1, 1, self._side, self._side)
        return self.head(self.features(X).flatten(1))
