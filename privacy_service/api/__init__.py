"""The HTTP edge. With ``main.py``, the only code that imports FastAPI or Starlette."""
