"""Unbound Flask extensions, bound to the app in `create_app` with `init_app`."""

from flask_session import Session
from flask_wtf.csrf import CSRFProtect

session_store = Session()
csrf = CSRFProtect()
