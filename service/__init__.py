"""The HTTP service: a FastAPI application over `moderation` (contract, errors, web page; no ML logic).

>>> from service.app import create_app  # doctest: +SKIP
>>> from service.settings import Settings  # doctest: +SKIP
>>> app = create_app(Settings(model_dir="models/current"))  # doctest: +SKIP
"""
