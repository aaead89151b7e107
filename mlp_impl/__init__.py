"""mlp-bench: the from-scratch MLP library (NumPy and CuPy from one code base).

The article's API: ``NN(layers=[Layer(7, 15, activation="relu"), Layer(15, 1, activation="sigmoid")],
loss="binary_crossentropy", optimizer=Adam())``, ``net.fit(x, y, epochs, learning_rate, sample_size)``,
``net.predict(x)``; plus ``Dense(units)`` layers, L1/L2, ``evaluate``, AMSGrad and save/load.
"""

from .backend import Backend, GPUUnavailableError, get_backend, gpu_status
from .layers import Dense, Layer
from .linear_regression import LinearRegression
from .network import NN
from .optimizers import SGD, Adam, AMSGrad, Optimizer

__all__ = [
    "NN",
    "Layer",
    "Dense",
    "SGD",
    "Adam",
    "AMSGrad",
    "Optimizer",
    "LinearRegression",
    "Backend",
    "get_backend",
    "gpu_status",
    "GPUUnavailableError",
]
