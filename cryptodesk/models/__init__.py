"""Forecasting models: the protocol (:mod:`.base`), config conventions (:mod:`.config`), the
lazy registry (:mod:`.registry`) and the models themselves (:mod:`.baselines`, :mod:`.arima`,
:mod:`.lgbm`; torch nets in ``torch_*`` modules). Importing this package imports no model
library."""
