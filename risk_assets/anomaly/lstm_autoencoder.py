"""LSTM autoencoder over sliding windows of one metric series (torch, CPU).

The model encodes a window of ``window`` standardized values into the last hidden state
of an LSTM, repeats that state ``window`` times and decodes it with a second LSTM. The
score of point ``t`` is the mean squared reconstruction error of the window that ends at
``t``, so it depends only on points ``t - window + 1 .. t``. Fitted on a leading part of
a series, the detector is causal on the rest.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

from risk_assets.anomaly.validation import as_finite_series, require_int

logger = logging.getLogger(__name__)


class _LstmAutoEncoderNet(nn.Module):
    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.encoder = nn.LSTM(input_size=1, hidden_size=hidden_size, batch_first=True)
        self.decoder = nn.LSTM(input_size=hidden_size, hidden_size=hidden_size, batch_first=True)
        self.output = nn.Linear(hidden_size, 1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        _, (hidden, _) = self.encoder(windows)
        repeated = hidden[-1].unsqueeze(1).repeat(1, windows.shape[1], 1)
        decoded, _ = self.decoder(repeated)
        return self.output(decoded)


def sliding_windows(values: np.ndarray, window: int) -> np.ndarray:
    """Return every length-``window`` slice of ``values`` as rows (oldest first)."""
    series = np.asarray(values, dtype=np.float32)
    if window < 2:
        raise ValueError(f"window must be at least 2 points, got {window}.")
    if len(series) < window:
        raise ValueError(
            f"The series has {len(series)} points, fewer than the window of {window}; "
            "pass a longer series or a smaller window."
        )
    return np.lib.stride_tricks.sliding_window_view(series, window).copy()


class LstmAutoEncoderDetector:
    """Reconstruction-error detector with an LSTM autoencoder.

    Args:
        window: Points per input window.
        hidden_size: LSTM hidden units.
        epochs: Training passes over the windows.
        batch_size: Windows per gradient step.
        learning_rate: Adam learning rate.
        random_state: Seed of weight initialization and shuffling.
    """

    name = "lstm_autoencoder"

    def __init__(
        self,
        window: int = 32,
        hidden_size: int = 16,
        epochs: int = 20,
        batch_size: int = 64,
        learning_rate: float = 1e-2,
        random_state: int = 0,
    ) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2 points, got {window}.")
        if epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {epochs}.")
        require_int(window, "window", minimum=2)
        require_int(epochs, "epochs", minimum=1)
        require_int(hidden_size, "hidden_size", minimum=1)
        require_int(batch_size, "batch_size", minimum=1)
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate!r}.")
        self.window = window
        self.hidden_size = hidden_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.center_ = 0.0
        self.scale_ = 1.0
        self.net_: _LstmAutoEncoderNet | None = None
        self.training_loss_: list[float] = []

    def _standardize(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=np.float32) - self.center_) / self.scale_

    def fit(self, values: np.ndarray) -> LstmAutoEncoderDetector:
        """Train on every window of ``values``; the standardization comes from them too.

        Raises:
            ValueError: If ``values`` is not 1-D, is shorter than the window or contains
                NaN or infinite values.
        """
        series = as_finite_series(values, "values", min_length=0)
        self.center_ = float(np.median(series))
        self.scale_ = float(np.std(series)) or 1.0
        windows = torch.from_numpy(sliding_windows(self._standardize(series), self.window))
        windows = windows.unsqueeze(-1)

        generator = torch.Generator().manual_seed(self.random_state)
        torch.manual_seed(self.random_state)
        self.net_ = _LstmAutoEncoderNet(self.hidden_size)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=self.learning_rate)
        loss_function = nn.MSELoss()
        self.training_loss_ = []
        self.net_.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(windows), generator=generator)
            total = 0.0
            for start in range(0, len(windows), self.batch_size):
                batch = windows[order[start : start + self.batch_size]]
                optimizer.zero_grad()
                loss = loss_function(self.net_(batch), batch)
                loss.backward()
                optimizer.step()
                total += loss.item() * len(batch)
            self.training_loss_.append(total / len(windows))
        logger.debug("LSTM autoencoder trained, final loss %.4f", self.training_loss_[-1])
        return self

    def score(self, values: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        """Return the reconstruction error of the window ending at each point.

        The first ``window - 1`` points have no full window and get 0.

        Raises:
            ValueError: If ``values`` is not 1-D or contains NaN or infinite values, or
                ``batch_size`` is below 1.
        """
        if self.net_ is None:
            raise RuntimeError("LstmAutoEncoderDetector is not fitted; call fit(values) first.")
        require_int(batch_size, "batch_size", minimum=1)
        series = as_finite_series(values, "values", min_length=0)
        scores = np.zeros(len(series))
        if len(series) < self.window:
            return scores
        windows = torch.from_numpy(sliding_windows(self._standardize(series), self.window))
        windows = windows.unsqueeze(-1)
        errors = []
        self.net_.eval()
        with torch.no_grad():
            for start in range(0, len(windows), batch_size):
                batch = windows[start : start + batch_size]
                errors.append(((self.net_(batch) - batch) ** 2).mean(dim=(1, 2)).numpy())
        scores[self.window - 1 :] = np.concatenate(errors)
        return scores

    def save(self, folder: str | Path) -> None:
        """Write the weights (torch state_dict) and settings (JSON) into ``folder``."""
        if self.net_ is None:
            raise RuntimeError("Cannot save an unfitted LstmAutoEncoderDetector; fit it first.")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(self.net_.state_dict(), folder / "weights.pt")
        settings = {
            "window": self.window,
            "hidden_size": self.hidden_size,
            "center": self.center_,
            "scale": self.scale_,
        }
        (folder / "settings.json").write_text(json.dumps(settings))

    @classmethod
    def load(cls, folder: str | Path) -> LstmAutoEncoderDetector:
        """Read a detector written by :meth:`save`; weights load with ``weights_only=True``."""
        folder = Path(folder)
        for file_name in ("settings.json", "weights.pt"):
            if not (folder / file_name).is_file():
                raise FileNotFoundError(
                    f"{folder / file_name} not found; pass a folder written by "
                    "LstmAutoEncoderDetector.save."
                )
        settings = json.loads((folder / "settings.json").read_text())
        detector = cls(window=settings["window"], hidden_size=settings["hidden_size"])
        detector.center_ = settings["center"]
        detector.scale_ = settings["scale"]
        detector.net_ = _LstmAutoEncoderNet(detector.hidden_size)
        state = torch.load(folder / "weights.pt", weights_only=True)
        detector.net_.load_state_dict(state)
        return detector
